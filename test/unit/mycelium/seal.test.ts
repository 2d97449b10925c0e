// Mycelium's end-to-end box (runtime/overlay/mycelium/seal.ts): X25519 shared
// secret as the AES-256-GCM key, box = ciphertext | tag | nonce. Mycelium's
// crypto.rs tests use random keys (no fixed vectors), so the checks are theirs
// (expected size, both directions of the DH open each other's boxes) plus a
// cross-check against @noble/ciphers' independent AES-GCM and a fixed vector
// made with the NIST GCM test case 14 key/nonce layout. Every check runs with
// both engines (gcmEngines: the addon's gcm_napi.c over the process's OpenSSL,
// and node:crypto), each with keys of its own kind (pairKey).
import { spawnSync } from 'node:child_process';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gcm } from '@noble/ciphers/aes.js';
import { nativeAddon } from '../../../runtime/kernels/native.js';
import {
  BOX_OVERHEAD, gcmEngine, gcmEngines, l3Plaintext, openBox, openBoxInPlace, pairKey, sealBox, sealL3Into, sharedKey, USER_HEADER_BYTES,
  type GcmEngine,
} from '../../../runtime/overlay/mycelium/seal.js';
import { generatePrivateKey, publicKeyFromPrivate } from '../../../runtime/overlay/wireguard/keys.js';
import { hex, prng, unhex } from '../../helpers.js';

const engines: readonly GcmEngine[] = gcmEngines;

test('engine: native whenever the addon has the gcm functions and TFW_NATIVE is not 0', () => {
  const a = process.env.TFW_MYCELIUM_GCM === 'node' ? null : nativeAddon();
  const expected = a?.gcmKey && a.gcmSeal && a.gcmOpen ? 'native' : 'node:crypto';
  assert.is(gcmEngine, expected);
  if (process.env.TFW_NATIVE !== '0' && a) assert.ok(a.gcmKey, 'the addon built from this tree has gcmKey (this process has libcrypto)');
  if (expected === 'node:crypto') console.log('  (no native AES-GCM here: only node:crypto is checked)');
  assert.equal([...engines].sort(), expected === 'native' ? ['native', 'node:crypto'] : ['node:crypto']);
  // The default pair key is the engine's kind: a KeyObject only for node:crypto.
  const k = pairKey(new Uint8Array(32));
  assert.is(k.constructor.name === 'KeyObject' || k.constructor.name === 'SecretKeyObject', gcmEngine === 'node:crypto');
});

for (const engine of engines) {
  /** The engine's key for raw bytes. */
  const K = (raw: Uint8Array) => pairKey(raw, engine);

  test(`${engine}: crypto.rs encryption_succeeds: box size = data + header (4) + tag (16) + nonce (12)`, () => {
    const ss = sharedKey(generatePrivateKey(), publicKeyFromPrivate(generatePrivateKey()))!;
    const data = new TextEncoder().encode('vnno30nv f654q364 vfsv 44');
    const box = sealBox(K(ss), l3Plaintext(data));
    assert.is(box.length, data.length + USER_HEADER_BYTES + BOX_OVERHEAD);
  });

  test(`${engine}: crypto.rs encrypt_decrypt_roundtrip: the other side derives the same key and opens it`, () => {
    const k1 = generatePrivateKey();
    const k2 = generatePrivateKey();
    const ss1 = sharedKey(k1, publicKeyFromPrivate(k2))!;
    const ss2 = sharedKey(k2, publicKeyFromPrivate(k1))!;
    assert.is(hex(ss1), hex(ss2));
    const data = new TextEncoder().encode('dsafjiqjo23  u2953u8 3oid fjo321j');
    const opened = openBox(K(ss2), sealBox(K(ss1), l3Plaintext(data)))!;
    assert.is(hex(opened.subarray(USER_HEADER_BYTES)), hex(data));
    assert.equal(Array.from(opened.subarray(0, 4)), [1, 0, 0, 0]);
  });

  test(`${engine}: layout: nonce last, tag before it; cross-checked with @noble/ciphers AES-GCM`, () => {
    const r = prng();
    for (let i = 0; i < 20; i++) {
      const key = r.bytes(32);
      const nonce = r.bytes(12);
      const pt = r.bytes(1 + r.int(1500));
      const box = sealBox(K(key), pt, nonce);
      assert.is(hex(box.subarray(box.length - 12)), hex(nonce));
      const ref = gcm(key, nonce).encrypt(pt); // ciphertext | tag
      assert.is(hex(box.subarray(0, box.length - 12)), hex(ref));
    }
  });

  test(`${engine}: fixed vector: NIST GCM test case 14 (zero key, zero nonce, 16 zero bytes)`, () => {
    // McGrew & Viega, "The Galois/Counter Mode of Operation", test case 14.
    const box = sealBox(K(new Uint8Array(32)), new Uint8Array(16), new Uint8Array(12));
    assert.is(hex(box.subarray(0, 16)), 'cea7403d4d606b6e074ec5d3baf39d18');
    assert.is(hex(box.subarray(16, 32)), 'd0d1c8a799996bf0265b98b5d48ab919');
    assert.is(hex(openBox(K(new Uint8Array(32)), box)!), '00'.repeat(16));
  });

  test(`${engine}: tampered tag, ciphertext or nonce, wrong keys and short boxes give null, never a throw`, () => {
    const key = K(unhex('11'.repeat(32)));
    const box = sealBox(key, l3Plaintext(new Uint8Array(40)));
    for (let i = 0; i < box.length; i++) {
      const t = box.slice();
      t[i] ^= 1 << (i % 8);
      assert.is(openBox(key, t), null, `bit flipped in byte ${i}`);
      assert.is(openBoxInPlace(key, t.slice()), null, `in place, bit flipped in byte ${i}`);
    }
    assert.ok(openBox(key, box), 'the untampered box opens');
    // openBox leaves its input as it was, a Buffer (whose slice is a view) too, opened or refused.
    const buf = Buffer.from(box);
    assert.ok(openBox(key, buf));
    assert.is(hex(buf), hex(box), 'a Buffer opened by openBox is unchanged');
    buf[0] ^= 1;
    assert.is(openBox(key, buf), null);
    buf[0] ^= 1;
    assert.is(hex(buf), hex(box), 'a Buffer refused by openBox is unchanged');
    assert.is(openBox(K(unhex('22'.repeat(32))), box), null);
    for (let n = 0; n < USER_HEADER_BYTES + BOX_OVERHEAD; n++) assert.is(openBox(key, box.subarray(0, n)), null);
    // A low-order public key (all zero) gives no key rather than an all-zero one.
    assert.is(sharedKey(generatePrivateKey(), new Uint8Array(32)), null);
  });

  test(`${engine}: cross-check with node:crypto both ways, random keys, nonces and lengths 0..1500, at offsets`, () => {
    const r = prng();
    const lengths = [0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255, 256, 1280, 1348, 1499, 1500];
    for (let i = 0; i < 60; i++) lengths.push(r.int(1501));
    for (const len of lengths) {
      const raw = r.bytes(32);
      const key = K(raw);
      const pkt = r.bytes(len);
      const off = r.int(9);
      // This engine seals (L3 header + packet) into a buffer at an offset; node:crypto opens it.
      const out = r.bytes(off + len + 32 + r.int(5));
      const before = out.slice();
      const n = sealL3Into(key, pkt, out, off);
      assert.is(n, len + 32);
      assert.is(hex(out.subarray(0, off)), hex(before.subarray(0, off)), 'bytes before the box untouched');
      assert.is(hex(out.subarray(off + n)), hex(before.subarray(off + n)), 'bytes after the box untouched');
      const box = out.subarray(off, off + n);
      const nonce = box.subarray(n - 12);
      const d = createDecipheriv('aes-256-gcm', raw, nonce);
      d.setAuthTag(box.subarray(n - 28, n - 12));
      const pt = Buffer.concat([d.update(box.subarray(0, n - 28)), d.final()]);
      assert.is(hex(pt), '01000000' + hex(pkt), `${len} bytes: node:crypto opens the box`);
      // node:crypto seals; this engine opens, in place and not.
      const n2 = r.bytes(12);
      const c = createCipheriv('aes-256-gcm', raw, n2);
      const box2 = Buffer.concat([c.update(pkt), c.final(), c.getAuthTag(), n2]);
      const copy = new Uint8Array(box2.length + 3);
      copy.set(box2, 3);
      const view = copy.subarray(3);
      if (len < USER_HEADER_BYTES) {
        // Shorter than a user header: not a Mycelium box, refused before any crypto.
        assert.is(openBox(key, box2), null);
        assert.is(openBoxInPlace(key, view), null);
        continue;
      }
      assert.is(hex(openBox(key, box2)!), hex(pkt), `${len} bytes: opened`);
      const plain = openBoxInPlace(key, view);
      assert.is(hex(plain!), hex(pkt), `${len} bytes: opened in place`);
      if (engine === 'native') assert.is(plain!.buffer, copy.buffer, 'native: the plaintext is a view of the box');
    }
  });

  test(`${engine}: in-place open of a tampered box delivers nothing: null, and (native) no plaintext left behind`, () => {
    const raw = unhex('33'.repeat(32));
    const key = K(raw);
    const pkt = new Uint8Array(200).fill(0xab);
    const box = sealBox(key, l3Plaintext(pkt));
    box[box.length - 13] ^= 0x80; // last tag byte
    const t = box.slice();
    assert.is(openBoxInPlace(key, t), null);
    const ct = t.subarray(0, t.length - BOX_OVERHEAD);
    if (engine === 'native') assert.ok(ct.every((b) => b === 0), 'the bytes the unverified plaintext went to are zeroed');
    else assert.is(hex(t), hex(box), 'node:crypto leaves the box as it was');
    assert.not.ok(hex(ct).includes('ab'.repeat(16)), 'no run of the plaintext in the box');
  });

  test(`${engine}: bad arguments: keys not 32 bytes, outputs too short`, () => {
    assert.throws(() => pairKey(new Uint8Array(31), engine), /key: expected 32 bytes, got 31/);
    const key = K(new Uint8Array(32));
    assert.throws(() => sealL3Into(key, new Uint8Array(10), new Uint8Array(41), 0), /out: expected 42 bytes from 0, got 41/);
    assert.throws(() => sealL3Into(key, new Uint8Array(10), new Uint8Array(50), 9), /out: expected 42 bytes from 9, got 41/);
  });
}

test('native C entry points: argument checks throw one-line errors, never crash', () => {
  const a = nativeAddon();
  if (!a?.gcmKey || !a.gcmSeal || !a.gcmOpen) return;
  assert.throws(() => a.gcmKey!(new Uint8Array(16)), /key: expected 32 bytes, got 16/);
  const k = a.gcmKey(new Uint8Array(32));
  assert.throws(() => a.gcmSeal!({} as object, new Uint8Array(4), new Uint8Array(4), new Uint8Array(64), 0), /key: expected a key from gcmKey/);
  assert.throws(() => a.gcmSeal!(k, new Uint8Array(4), new Uint8Array(4), new Uint8Array(35), 0), /out: expected 36 bytes from 0/);
  assert.throws(() => a.gcmSeal!(k, new Uint8Array(4), new Uint8Array(4), new Uint8Array(64), -1), /out: expected 36 bytes from -1/);
  // The packet inside the box region: refused (GCM would read bytes it already overwrote).
  const buf = new Uint8Array(100);
  assert.throws(() => a.gcmSeal!(k, new Uint8Array(4), buf.subarray(10, 20), buf, 0), /does not overlap/);
  assert.is(a.gcmSeal(k, new Uint8Array(4), buf.subarray(60, 70), buf, 0), 42, 'a packet after the box region is fine');
  assert.throws(() => a.gcmOpen!(k, buf, 90, 20), /buf: expected 20 bytes from 90/);
  assert.is(a.gcmOpen(k, buf, 0, 27), -1, 'shorter than tag + nonce');
  assert.is(a.gcmOpen(k, buf, 0, 42), 14, 'the box sealed above opens (header + packet)');
});

for (const env of [{ TFW_NATIVE: '0' }, { TFW_MYCELIUM_GCM: 'node' }]) test(`${Object.entries(env)[0].join('=')}: node:crypto, and its boxes open with this process's engines`, () => {
  const script = `import { gcmEngine, sealBox, pairKey } from './runtime/overlay/mycelium/seal.ts';
    const box = sealBox(pairKey(new Uint8Array(32).fill(7)), new Uint8Array(100).fill(9));
    console.log('RESULT ' + JSON.stringify({ engine: gcmEngine, box: Buffer.from(box).toString('hex') }));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000, cwd: new URL('../../..', import.meta.url).pathname,
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  assert.ok(line, `probe failed: ${r.stderr}`);
  const out = JSON.parse(line!.slice(7)) as { engine: string; box: string };
  assert.is(out.engine, 'node:crypto');
  for (const engine of engines) assert.is(hex(openBox(pairKey(new Uint8Array(32).fill(7), engine), unhex(out.box))!), '09'.repeat(100), engine);
});

test.run();
