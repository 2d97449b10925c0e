/**
 * Cross-checks against independent implementations (node:crypto's OpenSSL
 * chacha20-poly1305 and chacha20, @noble/ciphers' xchacha20poly1305 and
 * poly1305) on random inputs, tamper tests, and argument validation.
 * Lengths come from a seeded PRNG (TFW_TEST_SEED replays a failure).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { poly1305 as noblePoly1305 } from '@noble/ciphers/_poly1305.js';
import { xchacha20poly1305 as nobleX } from '@noble/ciphers/chacha.js';
import {
  AuthenticationError, chacha20, chacha20poly1305Open, chacha20poly1305Seal, hchacha20, poly1305,
  xchacha20poly1305Open, xchacha20poly1305Seal,
} from '../../runtime/kernels/aead.js';
import { hex, prng, rand } from '../helpers.js';
import { aeadBackends } from '../vectors/aead-fixtures.js';

const CASES = 2000;

function nodeSeal(key: Uint8Array, nonce: Uint8Array, pt: Uint8Array, aad: Uint8Array): Buffer {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  c.setAAD(aad, { plaintextLength: pt.length });
  return Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
}
function nodeOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer {
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  d.setAAD(aad, { plaintextLength: sealed.length - 16 });
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]);
}

for (const backend of aeadBackends) {
  const o = { backend };

  test(`${backend}: ChaCha20-Poly1305 equals node:crypto on ${CASES} random cases (0..17000 bytes, AAD 0..64)`, () => {
    const r = prng();
    for (let i = 0; i < CASES; i++) {
      // Half short (packet-sized) messages, half spread over the whole range.
      const len = i % 2 ? r.int(17001) : r.int(300);
      const key = rand(32), nonce = rand(12), pt = rand(len), aad = rand(r.int(65));
      const ours = chacha20poly1305Seal(key, nonce, pt, aad, o);
      const theirs = nodeSeal(key, nonce, pt, aad);
      if (!theirs.equals(ours)) assert.unreachable(`seal differs at case ${i} (seed ${r.seed}, len ${len}, aad ${aad.length})`);
      if (!Buffer.from(chacha20poly1305Open(key, nonce, theirs, aad, o)).equals(pt)) assert.unreachable(`open differs at case ${i}`);
      if (i % 8 === 0 && !nodeOpen(key, nonce, ours, aad).equals(pt)) assert.unreachable(`node rejects ours at case ${i}`);
    }
  });

  test(`${backend}: ChaCha20 stream equals node:crypto chacha20 at random counters`, () => {
    const r = prng(11);
    for (let i = 0; i < 300; i++) {
      const key = rand(32), nonce = rand(12), data = rand(r.int(2000));
      const counter = i % 3 === 0 ? r.int(1 << 30) : r.int(8);
      const iv = new Uint8Array(16);
      new DataView(iv.buffer).setUint32(0, counter, true);
      iv.set(nonce, 4);
      const theirs = createCipheriv('chacha20', key, iv).update(data);
      assert.is(hex(chacha20(key, nonce, counter, data, o)), hex(theirs), `case ${i}`);
    }
  });

  test(`${backend}: XChaCha20-Poly1305 equals @noble/ciphers on random cases`, () => {
    const r = prng(12);
    for (let i = 0; i < 400; i++) {
      const key = rand(32), nonce = rand(24), pt = rand(i % 2 ? r.int(5000) : r.int(200)), aad = rand(r.int(65));
      const theirs = nobleX(key, nonce, aad).encrypt(pt);
      const ours = xchacha20poly1305Seal(key, nonce, pt, aad, o);
      assert.is(hex(ours), hex(theirs), `case ${i}`);
      assert.is(hex(xchacha20poly1305Open(key, nonce, theirs, aad, o)), hex(pt));
    }
  });

  test(`${backend}: Poly1305 equals @noble/ciphers on random lengths (incl. all-ones keys)`, () => {
    const r = prng(13);
    for (let i = 0; i < 400; i++) {
      const key = i % 10 === 0 ? new Uint8Array(32).fill(0xff) : rand(32);
      const msg = i % 10 === 1 ? new Uint8Array(r.int(300)).fill(0xff) : rand(r.int(1100));
      assert.is(hex(poly1305(key, msg, o)), hex(noblePoly1305(msg, key)), `case ${i}`);
    }
  });

  test(`${backend}: every flipped bit of ciphertext, tag and AAD is rejected`, () => {
    const key = rand(32), nonce = rand(12), pt = rand(37), aad = rand(21);
    const sealed = chacha20poly1305Seal(key, nonce, pt, aad, o);
    const rejects = (s: Uint8Array, a: Uint8Array) => {
      try {
        chacha20poly1305Open(key, nonce, s, a, o);
        return false;
      } catch (err) {
        return err instanceof AuthenticationError && err.code === 'ERR_TFW_AEAD_AUTH';
      }
    };
    for (let bit = 0; bit < sealed.length * 8; bit++) {
      const s = sealed.slice();
      s[bit >> 3] ^= 1 << (bit & 7);
      if (!rejects(s, aad)) assert.unreachable(`flipped sealed bit ${bit} accepted`);
    }
    for (let bit = 0; bit < aad.length * 8; bit++) {
      const a = aad.slice();
      a[bit >> 3] ^= 1 << (bit & 7);
      if (!rejects(sealed, a)) assert.unreachable(`flipped AAD bit ${bit} accepted`);
    }
    assert.ok(rejects(sealed.subarray(0, sealed.length - 1), aad), 'truncated message accepted');
    assert.is(hex(chacha20poly1305Open(key, nonce, sealed, aad, o)), hex(pt));
  });

  test(`${backend}: bad sizes throw RangeError naming the argument; non-bytes throw TypeError`, () => {
    const k = rand(32), n = rand(12), m = rand(10);
    const range = (f: () => unknown, re: RegExp) => assert.throws(f, (e: Error) => e instanceof RangeError && re.test(e.message));
    range(() => chacha20poly1305Seal(rand(31), n, m, undefined, o), /^key: expected 32 bytes, got 31/);
    range(() => chacha20poly1305Seal(k, rand(24), m, undefined, o), /^nonce: expected 12 bytes, got 24/);
    range(() => chacha20poly1305Open(k, n, rand(15), undefined, o), /^sealed: expected at least 16 bytes/);
    range(() => xchacha20poly1305Seal(k, rand(12), m, undefined, o), /^nonce: expected 24 bytes, got 12/);
    range(() => xchacha20poly1305Open(rand(16), rand(24), rand(20), undefined, o), /^key: expected 32 bytes/);
    range(() => hchacha20(k, rand(12), o), /^nonce: expected 16 bytes/);
    range(() => poly1305(rand(16), m, o), /^key: expected 32 bytes/);
    range(() => chacha20(k, n, -1, m, o), /^counter: expected an integer/);
    range(() => chacha20(k, n, 2 ** 32, m, o), /^counter/);
    range(() => chacha20(k, n, 2 ** 32 - 1, rand(65), o), /^data: .* run past/);
    assert.throws(() => chacha20poly1305Seal('key' as never, n, m, undefined, o), (e: Error) => e instanceof TypeError && /^key: expected a Uint8Array/.test(e.message));
    assert.throws(() => chacha20poly1305Seal(k, n, [1, 2] as never, undefined, o), (e: Error) => e instanceof TypeError && /^plaintext/.test(e.message));
    assert.throws(() => chacha20poly1305Seal(k, n, m, 'x' as never, o), (e: Error) => e instanceof TypeError && /^aad/.test(e.message));
    // The options object may take the AAD's place.
    assert.is(hex(chacha20poly1305Seal(k, n, m, o)), hex(chacha20poly1305Seal(k, n, m, new Uint8Array(0), o)));
    // A Buffer is a Uint8Array and is accepted.
    assert.is(hex(chacha20poly1305Seal(Buffer.from(k), Buffer.from(n), Buffer.from(m), undefined, o)), hex(chacha20poly1305Seal(k, n, m, undefined, o)));
  });
}

test('wasm-simd and wasm-scalar agree byte for byte on large messages (scratch growth)', () => {
  if (aeadBackends.length < 2) return;
  const key = rand(32), nonce = rand(12);
  for (const len of [65_535, 65_536, 200_001, 1_048_576 + 3]) {
    const pt = rand(len), aad = rand(len % 50);
    const a = chacha20poly1305Seal(key, nonce, pt, aad, { backend: 'wasm-simd' });
    const b = chacha20poly1305Seal(key, nonce, pt, aad, { backend: 'wasm-scalar' });
    assert.ok(Buffer.from(a).equals(Buffer.from(b)), `len ${len}`);
    assert.ok(Buffer.from(a).equals(nodeSeal(key, nonce, pt, aad)), `node len ${len}`);
  }
});

test.run();
