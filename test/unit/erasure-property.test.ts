// tfw/erasure properties on each wasm backend: every erasure pattern of up to m
// shards recovers the data (small codes exhaustively, large ones sampled), verify
// catches any single changed byte, and parity equals a byte-at-a-time reference
// at sizes from 1 byte to 4 MiB, across chunk boundaries and SIMD tails.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ReedSolomon, xorshift32Bytes, type Shards } from '../../runtime/kernels/erasure.js';
import { BACKENDS, clone, makeShards, referenceParity, subsets } from '../vectors/erasure/helpers.js';
import { prng } from '../helpers.js';

const rng = prng();
console.log(`tfw: test: erasure-property seed ${rng.seed} (set TFW_TEST_SEED to replay)`);
/** Seeded bytes, fast enough for 4 MiB shards (xorshift32 seeded from the test PRNG). */
const bytes = (n: number): Uint8Array => {
  const b = new Uint8Array(n);
  xorshift32Bytes(1 + rng.int(0xfffffffe), b);
  return b;
};

function checkPattern(rs: ReedSolomon, full: Shards, lost: number[], label: string): void {
  const k = rs.dataShards;
  const a = clone(full);
  for (const i of lost) a[i] = null;
  rs.reconstruct(a);
  assert.equal(a, full, `${label} reconstruct lost ${lost}`);
  const b = clone(full);
  for (const i of lost) b[i] = null;
  rs.reconstructData(b);
  for (let i = 0; i < rs.totalShards; i++) {
    if (i < k) assert.equal(b[i], full[i], `${label} reconstructData lost ${lost} shard ${i}`);
    else assert.is(b[i] === null, lost.includes(i), `${label} reconstructData must leave parity ${i} alone`);
  }
}

for (const backend of BACKENDS) {
  test(`${backend}: every erasure pattern of up to m shards, (4,2) and (5,3)`, () => {
    for (const [k, m] of [[4, 2], [5, 3]]) {
      for (const size of [1, 37, 100]) {
        const rs = new ReedSolomon(k, m, { backend });
        const full = makeShards(k, m, size, bytes);
        rs.encode(full);
        let n = 0;
        for (const lost of subsets(k + m, m)) {
          checkPattern(rs, full, lost, `(${k},${m}) size ${size}`);
          n++;
        }
        assert.is(n, k === 4 ? 21 : 92);
      }
    }
  });

  test(`${backend}: sampled erasure patterns for (10,4), (17,3), (200,56) and (128,128)`, () => {
    for (const [k, m, size, rounds] of [[10, 4, 4111, 40], [17, 3, 999, 30], [200, 56, 257, 6], [128, 128, 33, 4]]) {
      const rs = new ReedSolomon(k, m, { backend });
      const full = makeShards(k, m, size, bytes);
      rs.encode(full);
      assert.equal(full.slice(k), referenceParity(k, m, full.slice(0, k) as Uint8Array[]), `(${k},${m}) parity`);
      for (let r = 0; r < rounds; r++) {
        const count = 1 + rng.int(m);
        const lost = new Set<number>();
        while (lost.size < count) lost.add(rng.int(k + m));
        checkPattern(rs, full, [...lost], `(${k},${m})`);
      }
      // Fewer than k survivors is refused even for wide codes.
      const tooMany = clone(full);
      for (let i = 0; i <= m; i++) tooMany[i] = null;
      assert.throws(() => rs.reconstruct(tooMany), /present, at least/);
    }
  });

  test(`${backend}: decode-matrix cache stays correct past its capacity`, () => {
    const rs = new ReedSolomon(6, 3, { backend });
    const full = makeShards(6, 3, 48, bytes);
    rs.encode(full);
    const patterns = [...subsets(9, 3)];
    for (let pass = 0; pass < 2; pass++) for (const lost of patterns) checkPattern(rs, full, lost, '(6,3) cache');
  });

  test(`${backend}: parity equals the reference at sizes 1 B .. 4 MiB incl. non-multiples of 16 and 64`, () => {
    const sizes = [1, 2, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 127, 1000, 1023, 1024, 1025, 4097, 65536 + 3, 1 << 20, 4 << 20];
    for (const size of sizes) {
      const [k, m] = size >= 1 << 20 ? [4, 2] : [5, 3];
      const rs = new ReedSolomon(k, m, { backend });
      const full = makeShards(k, m, size, bytes);
      rs.encode(full);
      assert.equal(full.slice(k), referenceParity(k, m, full.slice(0, k) as Uint8Array[]), `size ${size}`);
      assert.ok(rs.verify(full), `verify size ${size}`);
      if (size >= 1 << 20) checkPattern(rs, full, [1, 3], `size ${size}`);
    }
  });

  test(`${backend}: small chunks: shards crossing many chunk boundaries`, () => {
    for (const size of [1024 * 3, 1024 * 3 + 5, 4096 + 17]) {
      const rs = new ReedSolomon(7, 5, { backend, chunkBytes: 1024 });
      const full = makeShards(7, 5, size, bytes);
      rs.encode(full);
      assert.equal(full.slice(7), referenceParity(7, 5, full.slice(0, 7) as Uint8Array[]), `size ${size}`);
      checkPattern(rs, full, [0, 2, 6, 8, 11], `chunked size ${size}`);
    }
  });

  test(`${backend}: verify detects any single changed byte in data or parity`, () => {
    for (const [k, m, size] of [[4, 2, 1], [4, 2, 77], [10, 4, 4099], [16, 4, 1000]]) {
      const rs = new ReedSolomon(k, m, { backend });
      const full = makeShards(k, m, size, bytes);
      rs.encode(full);
      assert.ok(rs.verify(full));
      const positions = new Set([0, size - 1, Math.floor(size / 2), Math.min(size - 1, 15), Math.min(size - 1, 16), Math.min(size - 1, 64)]);
      for (let r = 0; r < 8; r++) positions.add(rng.int(size));
      for (let s = 0; s < k + m; s++) {
        for (const pos of positions) {
          const shard = full[s]!;
          const old = shard[pos];
          shard[pos] = old ^ (1 + rng.int(255));
          assert.not.ok(rs.verify(full), `(${k},${m}) shard ${s} byte ${pos}`);
          shard[pos] = old;
        }
      }
      assert.ok(rs.verify(full));
    }
  });

  test(`${backend}: encode overwrites stale parity and keeps data untouched`, () => {
    const rs = new ReedSolomon(10, 4, { backend });
    const full = makeShards(10, 4, 333, bytes);
    const data = full.slice(0, 10).map((s) => s!.slice());
    for (let p = 10; p < 14; p++) full[p] = bytes(333);
    rs.encode(full);
    assert.equal(full.slice(0, 10), data);
    assert.equal(full.slice(10), referenceParity(10, 4, data));
  });
}

test.run();
