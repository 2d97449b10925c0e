/**
 * Seal and open into a caller's buffer (`{ out }`): the same bytes as a fresh
 * result, on every backend, checked against @noble/ciphers; the buffer is
 * returned and reused across calls; a wrong length is refused naming `out`;
 * a tampered message still fails its tag.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { xchacha20poly1305 as nobleX } from '@noble/ciphers/chacha.js';
import { AuthenticationError, chacha20poly1305Open, chacha20poly1305Seal, xchacha20poly1305Open, xchacha20poly1305Seal } from '../../runtime/kernels/aead.js';
import { ArgumentRangeError } from '../../runtime/errors.js';
import { prng } from '../helpers.js';
import { aeadBackends } from '../vectors/aead-fixtures.js';

for (const backend of aeadBackends) {
  test(`${backend}: XChaCha20-Poly1305 seal/open into a reused out buffer equals @noble/ciphers`, () => {
    const r = prng();
    const key = r.bytes(32);
    const aad = r.bytes(21);
    const sealedBuf = new Uint8Array(70000 + 16);
    const openBuf = new Uint8Array(70000);
    for (const len of [0, 1, 63, 64, 65, 4096, 70000]) {
      const nonce = r.bytes(24);
      const pt = r.bytes(len);
      const out = sealedBuf.subarray(0, len + 16);
      out.fill(0xa5); // stale bytes from an earlier use must not leak through
      const got = xchacha20poly1305Seal(key, nonce, pt, aad, { backend, out });
      assert.ok(got === out, 'seal returns the out buffer');
      assert.equal(Array.from(got), Array.from(nobleX(key, nonce, aad).encrypt(pt)));
      const back = xchacha20poly1305Open(key, nonce, got, aad, { backend, out: openBuf.subarray(0, len) });
      assert.ok(back.buffer === openBuf.buffer && back.byteOffset === 0);
      assert.equal(Array.from(back), Array.from(pt));
      if (len) {
        got[r.int(len)] ^= 1;
        assert.throws(() => xchacha20poly1305Open(key, nonce, got, aad, { backend, out: openBuf.subarray(0, len) }), (e: Error) => e instanceof AuthenticationError);
      }
    }
  });

  test(`${backend}: ChaCha20-Poly1305 into out equals the fresh result; out of the wrong length is refused naming it`, () => {
    const r = prng();
    const key = r.bytes(32);
    const nonce = r.bytes(12);
    const pt = r.bytes(1000);
    const fresh = chacha20poly1305Seal(key, nonce, pt, { backend });
    const out = new Uint8Array(1016);
    assert.equal(Array.from(chacha20poly1305Seal(key, nonce, pt, { backend, out })), Array.from(fresh));
    assert.equal(Array.from(chacha20poly1305Open(key, nonce, out, undefined, { backend, out: new Uint8Array(1000) })), Array.from(pt));
    assert.throws(() => chacha20poly1305Seal(key, nonce, pt, { backend, out: new Uint8Array(1000) }), (e: Error) => e instanceof ArgumentRangeError && /^out: expected 1016 bytes, got 1000/.test(e.message));
    assert.throws(() => xchacha20poly1305Open(key, r.bytes(24), out, undefined, { backend, out: new Uint8Array(5) }), (e: Error) => e instanceof ArgumentRangeError && /^out: expected 1000 bytes/.test(e.message));
  });
}

test.run();
