/**
 * Object metadata (runtime/storage/metadata.ts) and store.yaml validation:
 * 2+2 shards decode from any two, a half-rewritten record reads as one whole
 * generation, another secret is a WrongSecretError, a flipped bit is dropped.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { decodeMeta, encodeMeta, metaRecordKey, type ObjectMeta } from '../../../runtime/storage/metadata.js';
import { validateStoreConfig } from '../../../runtime/storage/store-config.js';
import { DataLostError, WrongSecretError } from '../../../runtime/storage/errors.js';
import { ConfigError } from '../../../runtime/errors.js';

const secret = new Uint8Array(randomBytes(32));
const meta = (size: number): ObjectMeta => ({
  v: 1, name: 'dir/file.bin', size, created: 1700000000000, k: 4, m: 2, chunkSize: 4194304, id: new Uint8Array(randomBytes(16)),
  backends: ['127.0.0.1:1/a', '127.0.0.1:2/a'], chunks: [{ n: 100, z: 1, s: [[0, new Uint8Array(16).fill(1)], [1, new Uint8Array(16).fill(2)]] }],
});
const rk = metaRecordKey('dir/file.bin');

test('2+2 metadata decodes from any two of its four shards', () => {
  const m = meta(123);
  const v = encodeMeta(secret, m, 2, 2);
  assert.is(v.length, 4);
  for (let a = 0; a < 4; a++) {
    for (let b = a + 1; b < 4; b++) {
      const got = decodeMeta(secret, rk, v.map((x, i) => (i === a || i === b ? x : null)));
      assert.equal(got!.meta, m);
      assert.is(got!.shards, 2);
      assert.is(got!.total, 4);
    }
  }
  assert.is(decodeMeta(secret, rk, [null, null, null, null]), null);
  assert.throws(() => decodeMeta(secret, rk, [v[0], null, null, null]), (e: Error) => e instanceof DataLostError);
});

test('a record half rewritten (two old shards, two new) reads as the newer whole generation, one new shard as the old', async () => {
  const old = encodeMeta(secret, meta(1), 2, 2);
  await new Promise((r) => setTimeout(r, 5)); // a later "written at"
  const neu = encodeMeta(secret, meta(2), 2, 2);
  assert.is(decodeMeta(secret, rk, [neu[0], neu[1], old[2], old[3]])!.meta.size, 2);
  assert.is(decodeMeta(secret, rk, [neu[0], old[1], old[2], old[3]])!.meta.size, 1);
});

test('a flipped bit makes a shard count as missing; another secret is a WrongSecretError', () => {
  const v = encodeMeta(secret, meta(9), 2, 2);
  v[0][100] ^= 1;
  assert.is(decodeMeta(secret, rk, v)!.shards, 3);
  const other = new Uint8Array(randomBytes(32));
  assert.throws(() => decodeMeta(other, rk, v), (e: Error) => e instanceof WrongSecretError && (e as WrongSecretError).code === 'ERR_TFW_STORE_SECRET' && /another secret/.test(e.message));
});

test('store.yaml: errors name the field and what was expected', () => {
  const ok = { secret: Buffer.from(secret).toString('base64'), dataShards: 4, parityShards: 2, backends: [{ address: '127.0.0.1:9900' }] };
  assert.is(validateStoreConfig(ok).chunkSize, 4 << 20);
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ ...ok, secret: 'short' }, /^secret: expected base64 of 32 bytes.*got \(hidden\)/],
    [{ ...ok, dataShards: 0 }, /^dataShards: /],
    [{ ...ok, backends: [{ address: 'nohost' }] }, /^backends\.0\.address: expected HOST:PORT/],
    [{ ...ok, backends: [{ address: '127.0.0.1:1' }, { address: '127.0.0.1:1' }] }, /^backends\.1: duplicate backend/],
    [{ ...ok, dataShards: 1, chunkSize: 64 << 20 }, /^chunkSize: .*8 MiB/],
    // A typo is named with the closest field; the backend's password is not echoed.
    [{ ...ok, backends: [{ address: '127.0.0.1:9900', pasword: 'hunter2' }] }, /^backends\.0\.pasword: unknown field; did you mean password\? \(expected one of address, namespace, password, group\)$/],
    [{ ...ok, backends: [{ address: 'nohost', password: 'hunter2' }] }, /^backends\.0\.address: expected HOST:PORT.*\(got "nohost"\)$/],
    [{ ...ok, dataShard: 4 }, /^dataShard: unknown field; did you mean dataShards\?/],
  ];
  for (const [cfg, re] of bad) assert.throws(() => validateStoreConfig(cfg), (e: Error) => e instanceof ConfigError && re.test(e.message) && !e.message.includes('hunter2'));
});

test.run();
