/**
 * Known-answer tests: every RFC 8439 §2.x example and Appendix A vector, and the
 * draft-irtf-cfrg-xchacha-03 HChaCha20, XChaCha20 and XChaCha20-Poly1305 vectors
 * (test/vectors/aead-*.json, transcribed from the RFC / draft text), on each
 * wasm backend. The vector files are also checked against node:crypto and
 * @noble/ciphers, so a transcription slip cannot pass unnoticed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCipheriv } from 'node:crypto';
import { poly1305 as noblePoly1305 } from '@noble/ciphers/_poly1305.js';
import { xchacha20poly1305 as nobleX } from '@noble/ciphers/chacha.js';
import {
  AuthenticationError, chacha20, chacha20poly1305Open, chacha20poly1305Seal, hchacha20, poly1305,
  xchacha20poly1305Open, xchacha20poly1305Seal,
} from '../../runtime/kernels/aead.js';
import { hex, unhex } from '../helpers.js';
import { aeadBackends, field, loadVectors } from '../vectors/aead-fixtures.js';

const rfc = loadVectors('aead-rfc8439.json');
const xv = loadVectors('aead-xchacha.json');
const concat = (a: Uint8Array, b: Uint8Array) => { const o = new Uint8Array(a.length + b.length); o.set(a); o.set(b, a.length); return o; };
const messageOf = (v: Record<string, unknown>) =>
  v.messageRef ? field(rfc.encrypt.find((e: { section: string }) => e.section === v.messageRef), 'plaintext') : field(v, 'message');

test('vector files agree with node:crypto and @noble/ciphers (transcription check)', () => {
  for (const v of rfc.encrypt) {
    const iv = new Uint8Array(16);
    new DataView(iv.buffer).setUint32(0, v.counter, true);
    iv.set(unhex(v.nonce), 4);
    const c = createCipheriv('chacha20', unhex(v.key), iv);
    assert.is(hex(c.update(field(v, 'plaintext'))), hex(unhex(v.ciphertext)), v.section);
  }
  for (const v of rfc.aead) {
    const c = createCipheriv('chacha20-poly1305', unhex(v.key), unhex(v.nonce), { authTagLength: 16 });
    c.setAAD(unhex(v.aad), { plaintextLength: field(v, 'plaintext').length });
    const ct = c.update(field(v, 'plaintext'));
    c.final();
    assert.is(hex(ct), hex(unhex(v.ciphertext)), v.section);
    assert.is(hex(c.getAuthTag()), hex(unhex(v.tag)), v.section);
  }
  for (const v of rfc.poly1305) assert.is(hex(noblePoly1305(messageOf(v), unhex(v.key))), hex(unhex(v.tag)), v.section);
  const x = xv.aead;
  const sealed = nobleX(unhex(x.key), unhex(x.nonce), unhex(x.aad)).encrypt(field(x, 'plaintext'));
  assert.is(hex(sealed), hex(concat(unhex(x.ciphertext), unhex(x.tag))));
});

for (const backend of aeadBackends) {
  const o = { backend };

  test(`${backend}: ChaCha20 block function (RFC 8439 §2.3.2, A.1 #1-#5)`, () => {
    for (const v of rfc.block) {
      assert.is(hex(chacha20(unhex(v.key), unhex(v.nonce), v.counter, new Uint8Array(64), o)), hex(unhex(v.keystream)), v.section);
    }
  });

  test(`${backend}: ChaCha20 encryption (RFC 8439 §2.4.2, A.2 #1-#3) and decryption`, () => {
    for (const v of rfc.encrypt) {
      const pt = field(v, 'plaintext');
      const ct = chacha20(unhex(v.key), unhex(v.nonce), v.counter, pt, o);
      assert.is(hex(ct), hex(unhex(v.ciphertext)), v.section);
      assert.is(hex(chacha20(unhex(v.key), unhex(v.nonce), v.counter, ct, o)), hex(pt), v.section);
    }
  });

  test(`${backend}: Poly1305 (RFC 8439 §2.5.2, A.3 #1-#11)`, () => {
    for (const v of rfc.poly1305) assert.is(hex(poly1305(unhex(v.key), messageOf(v), o)), hex(unhex(v.tag)), v.section);
  });

  test(`${backend}: Poly1305 key generation (RFC 8439 §2.6.2, A.4 #1-#3, A.5)`, () => {
    for (const v of rfc.polyKey) {
      assert.is(hex(chacha20(unhex(v.key), unhex(v.nonce), 0, new Uint8Array(32), o)), hex(unhex(v.otk)), v.section);
    }
    const a5 = rfc.aead[1];
    assert.is(hex(chacha20(unhex(a5.key), unhex(a5.nonce), 0, new Uint8Array(32), o)), hex(unhex(a5.polyKey)));
  });

  test(`${backend}: AEAD seal and open (RFC 8439 §2.8.2, A.5 decryption)`, () => {
    for (const v of rfc.aead) {
      const key = unhex(v.key), nonce = unhex(v.nonce), aad = unhex(v.aad), pt = field(v, 'plaintext');
      const sealed = concat(unhex(v.ciphertext), unhex(v.tag));
      assert.is(hex(chacha20poly1305Seal(key, nonce, pt, aad, o)), hex(sealed), v.section);
      assert.is(hex(chacha20poly1305Open(key, nonce, sealed, aad, o)), hex(pt), v.section);
      // Wrong AAD, nonce or key: rejected with the stable code.
      const bad = [
        () => chacha20poly1305Open(key, nonce, sealed, undefined, o),
        () => chacha20poly1305Open(key, unhex('000000000102030405060709'), sealed, aad, o),
        () => chacha20poly1305Open(new Uint8Array(32), nonce, sealed, aad, o),
      ];
      for (const f of bad) {
        try {
          f();
          assert.unreachable('accepted a forged message');
        } catch (err) {
          assert.instance(err, AuthenticationError);
          assert.is((err as AuthenticationError).code, 'ERR_TFW_AEAD_AUTH');
        }
      }
    }
  });

  test(`${backend}: HChaCha20 (draft-irtf-cfrg-xchacha-03 §2.2.1)`, () => {
    const v = xv.hchacha20;
    assert.is(hex(hchacha20(unhex(v.key), unhex(v.nonce), o)), hex(unhex(v.subkey)));
  });

  test(`${backend}: XChaCha20 keystream (draft-irtf-cfrg-xchacha-03 A.2.1) via HChaCha20 + ChaCha20`, () => {
    const v = xv.stream;
    const n = unhex(v.nonce);
    const subkey = hchacha20(unhex(v.key), n.subarray(0, 16), o);
    const n12 = new Uint8Array(12);
    n12.set(n.subarray(16), 4);
    assert.is(hex(chacha20(subkey, n12, v.counter, new Uint8Array(304), o)), hex(unhex(v.keystream)));
  });

  test(`${backend}: XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03 A.1)`, () => {
    const v = xv.aead;
    const key = unhex(v.key), nonce = unhex(v.nonce), aad = unhex(v.aad), pt = field(v, 'plaintext');
    const sealed = concat(unhex(v.ciphertext), unhex(v.tag));
    assert.is(hex(xchacha20poly1305Seal(key, nonce, pt, aad, o)), hex(sealed));
    assert.is(hex(xchacha20poly1305Open(key, nonce, sealed, aad, o)), hex(pt));
    assert.throws(() => xchacha20poly1305Open(key, nonce, sealed, new Uint8Array(0), o), (e: Error) => e instanceof AuthenticationError);
    const n12 = new Uint8Array(12);
    n12.set(nonce.subarray(16), 4);
    const subkey = hchacha20(key, nonce.subarray(0, 16), o);
    assert.is(hex(chacha20(subkey, n12, 0, new Uint8Array(32), o)), hex(unhex(v.polyKey)));
  });
}

test.run();
