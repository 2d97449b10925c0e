/** Chunking a stream (runtime/storage/rechunk.ts): exact chunk boundaries whatever the piece sizes. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Buffer } from 'node:buffer';
import { rechunk } from '../../../runtime/storage/rechunk.js';
import { prng } from '../../helpers.js';

async function collect(source: Uint8Array | AsyncIterable<Uint8Array>, size: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of rechunk(source, size)) out.push(Buffer.from(c)); // copy: chunks may be views
  return out;
}

test('pieces of random sizes come out as exact chunks, the last one short, bytes in order', async () => {
  const rnd = prng(21);
  const data = Buffer.from(rnd.bytes(100_003));
  for (const size of [1, 1000, 4096, 100_003, 200_000]) {
    async function* pieces() {
      for (let o = 0; o < data.length; ) {
        const n = 1 + rnd.int(Math.min(30_000, data.length - o));
        yield data.subarray(o, o + n);
        o += n;
      }
    }
    const chunks = await collect(pieces(), size);
    assert.equal(Buffer.concat(chunks), data, `size ${size}`);
    chunks.slice(0, -1).forEach((c) => assert.is(c.length, size));
    assert.is(chunks.length, Math.ceil(data.length / size));
  }
});

test('bytes and empty input: no chunk for 0 bytes', async () => {
  assert.equal(await collect(new Uint8Array(0), 10), []);
  async function* none() {}
  assert.equal(await collect(none(), 10), []);
  assert.equal((await collect(Buffer.from('abcdefghijk'), 5)).map(String), ['abcde', 'fghij', 'k']);
});

test.run();
