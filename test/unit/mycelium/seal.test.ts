// Mycelium's end-to-end box (runtime/overlay/mycelium/seal.ts): X25519 shared
// secret as the AES-256-GCM key, box = ciphertext | tag | nonce. Mycelium's
// crypto.rs tests use random keys (no fixed vectors), so the checks are theirs
// (expected size, both directions of the DH open each other's boxes) plus a
// cross-check against @noble/ciphers' independent AES-GCM and a fixed vector
// made with the NIST GCM test case 14 key/nonce layout.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gcm } from '@noble/ciphers/aes.js';
import { BOX_OVERHEAD, l3Plaintext, openBox, sealBox, sharedKey, USER_HEADER_BYTES } from '../../../runtime/overlay/mycelium/seal.js';
import { generatePrivateKey, publicKeyFromPrivate } from '../../../runtime/overlay/wireguard/keys.js';
import { hex, prng, unhex } from '../../helpers.js';

test('crypto.rs encryption_succeeds: box size = data + header (4) + tag (16) + nonce (12)', () => {
  const k1 = generatePrivateKey();
  const k2 = generatePrivateKey();
  const ss = sharedKey(k1, publicKeyFromPrivate(k2))!;
  const data = new TextEncoder().encode('vnno30nv f654q364 vfsv 44');
  const box = sealBox(ss, l3Plaintext(data));
  assert.is(box.length, data.length + USER_HEADER_BYTES + BOX_OVERHEAD);
});

test('crypto.rs encrypt_decrypt_roundtrip: the other side derives the same key and opens it', () => {
  const k1 = generatePrivateKey();
  const k2 = generatePrivateKey();
  const ss1 = sharedKey(k1, publicKeyFromPrivate(k2))!;
  const ss2 = sharedKey(k2, publicKeyFromPrivate(k1))!;
  assert.is(hex(ss1), hex(ss2));
  const data = new TextEncoder().encode('dsafjiqjo23  u2953u8 3oid fjo321j');
  const opened = openBox(ss2, sealBox(ss1, l3Plaintext(data)))!;
  assert.is(hex(opened.subarray(USER_HEADER_BYTES)), hex(data));
  assert.equal(Array.from(opened.subarray(0, 4)), [1, 0, 0, 0]);
});

test('layout: nonce last, tag before it; cross-checked with @noble/ciphers AES-GCM', () => {
  const r = prng();
  for (let i = 0; i < 20; i++) {
    const key = r.bytes(32);
    const nonce = r.bytes(12);
    const pt = r.bytes(1 + r.int(1500));
    const box = sealBox(key, pt, nonce);
    assert.is(hex(box.subarray(box.length - 12)), hex(nonce));
    const ref = gcm(key, nonce).encrypt(pt); // ciphertext | tag
    assert.is(hex(box.subarray(0, box.length - 12)), hex(ref));
  }
});

test('fixed vector: NIST GCM test case 14 (zero key, zero nonce, 16 zero bytes)', () => {
  // McGrew & Viega, "The Galois/Counter Mode of Operation", test case 14.
  const box = sealBox(new Uint8Array(32), new Uint8Array(16), new Uint8Array(12));
  assert.is(hex(box.subarray(0, 16)), 'cea7403d4d606b6e074ec5d3baf39d18');
  assert.is(hex(box.subarray(16, 32)), 'd0d1c8a799996bf0265b98b5d48ab919');
});

test('tampering, wrong keys and short boxes give null, never a throw', () => {
  const key = unhex('11'.repeat(32));
  const box = sealBox(key, l3Plaintext(new Uint8Array(40)));
  for (let i = 0; i < box.length; i += 7) {
    const t = box.slice();
    t[i] ^= 1;
    assert.is(openBox(key, t), null);
  }
  assert.is(openBox(unhex('22'.repeat(32)), box), null);
  for (let n = 0; n < USER_HEADER_BYTES + BOX_OVERHEAD; n++) assert.is(openBox(key, box.subarray(0, n)), null);
  // A low-order public key (all zero) gives no key rather than an all-zero one.
  assert.is(sharedKey(generatePrivateKey(), new Uint8Array(32)), null);
});

test.run();
