/**
 * XXH64 (checksum.ts): both engines, the addon's (native/src/xxh64_napi.c) and
 * hash-wasm's, give the spec's sums (vectors checked against Debian's xxhsum)
 * and the same sums on random inputs of every length class the algorithm
 * treats apart (< 4, < 8, < 32 bytes, stripes of 32, a tail of each) and over
 * split parts; bad arguments to the addon throw naming the field.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Buffer } from 'node:buffer';
import { nativeAddon } from '../../../runtime/kernels/native.js';
import { xxh64, xxh64Engine, xxh64Wasm } from '../../../runtime/storage/checksum.js';
import { prng } from '../../helpers.js';

const VECTORS: Array<[string, string]> = [
  ['', 'ef46db3751d8e999'],
  ['a', 'd24ec4f1a98c6e5b'],
  ['abc', '44bc2cf5ad770999'],
  ['message digest', '066ed728fceeb3be'],
  ['abcdefghijklmnopqrstuvwxyz', 'cfe1f278fa89835c'],
  ['1234567890'.repeat(8), 'e04a477f19ee145d'],
];

const engines = { xxh64, xxh64Wasm };

test('the spec vectors, on both engines, whole and split in two', () => {
  for (const [name, f] of Object.entries(engines)) {
    for (const [s, hex] of VECTORS) {
      assert.is(f(Buffer.from(s)).toString('hex'), hex, `${name}(${JSON.stringify(s)})`);
      const cut = s.length >> 1;
      assert.is(f(Buffer.from(s.slice(0, cut)), Buffer.from(s.slice(cut))).toString('hex'), hex, `${name} split at ${cut}`);
    }
    assert.is(f().toString('hex'), 'ef46db3751d8e999', `${name}() of no parts`);
  }
});

test('native and wasm agree on random inputs of every length class, at odd offsets, in random parts', () => {
  if (xxh64Engine !== 'native') console.log('  (addon without xxh64 here: the native engine is the wasm one; cross-check trivially equal)');
  const r = prng(64);
  const big = Buffer.from(r.bytes(1 << 20));
  const lengths = [0, 1, 3, 4, 7, 8, 31, 32, 33, 63, 64, 100, 1000, 4096 + 5, 430 * 1024 + 3, big.length - 7];
  for (const n of lengths) {
    const at = n < big.length - 7 ? r.int(7) : 0;
    const v = big.subarray(at, at + n);
    assert.ok(xxh64(v).equals(xxh64Wasm(v)), `${n} bytes at offset ${at}`);
    const parts: Buffer[] = [];
    for (let p = 0; p < n; ) {
      const q = Math.min(n, p + 1 + r.int(50000));
      parts.push(v.subarray(p, q));
      p = q;
    }
    if (parts.length && parts.length <= 64) assert.ok(xxh64(...parts).equals(xxh64Wasm(v)), `${n} bytes in ${parts.length} parts`);
  }
});

test('the addon: bad arguments throw naming the field', () => {
  const a = nativeAddon();
  if (!a?.xxh64) return;
  assert.throws(() => a.xxh64!([Buffer.from('x')], new Uint8Array(7)), /out: expected at least 8 bytes/);
  assert.throws(() => a.xxh64!([], new Uint8Array(8)), /parts: expected 1..64/);
  assert.throws(() => a.xxh64!(['x' as unknown as Uint8Array], new Uint8Array(8)), /parts\[i\]/);
});

test.run();
