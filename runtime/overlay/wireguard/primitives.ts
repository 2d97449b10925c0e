/**
 * The cryptographic functions of the WireGuard whitepaper (Donenfeld, NDSS 2017,
 * section 5.4): HASH = BLAKE2s-256, MAC = keyed BLAKE2s-128, HMAC = HMAC-BLAKE2s
 * (RFC 2104 with a 64-byte block), KDF1..3 = HKDF (RFC 5869) over HMAC-BLAKE2s
 * with an empty info, AEAD = ChaCha20-Poly1305 (RFC 8439) with the 64-bit counter
 * as nonce (4 zero bytes || little-endian counter), XAEAD = XChaCha20-Poly1305.
 * Handshake-rate code only; the per-packet transport AEAD lives in seal.ts.
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { blake2s } from '@noble/hashes/blake2s';
import { AuthenticationError } from '../../kernels/aead-engine.js';

/** AEAD open failed: wrong key, tampered ciphertext or tag (the aead kernel's class, ERR_TFW_AEAD_AUTH). */
export { AuthenticationError };

/** HASH(a || b || ...) = BLAKE2s-256. */
export function HASH(...parts: Uint8Array[]): Uint8Array {
  const h = blake2s.create({});
  for (const p of parts) h.update(p);
  return h.digest();
}

/** MAC(key, input) = keyed BLAKE2s with a 16-byte output (whitepaper 5.4). */
export const MAC = (key: Uint8Array, input: Uint8Array): Uint8Array => blake2s(input, { key, dkLen: 16 });

/**
 * HMAC-BLAKE2s(key, input) -> 32 bytes (RFC 2104 with BLAKE2s-256's 64-byte
 * block, as WireGuard uses it): node:crypto's HMAC over OpenSSL's BLAKE2s256,
 * about twice as fast as the JavaScript one on the handshake path.
 */
export function HMAC(key: Uint8Array, ...input: Uint8Array[]): Uint8Array {
  const h = createHmac('blake2s256', key);
  for (const p of input) h.update(p);
  const d = h.digest();
  return new Uint8Array(d.buffer, d.byteOffset, d.length);
}

const ONE = Uint8Array.of(1);
const TWO = Uint8Array.of(2);
const THREE = Uint8Array.of(3);

/** KDF_n(key, input): tau0 = HMAC(key, input), tau_i = HMAC(tau0, tau_{i-1} || i) (whitepaper 5.4). */
export function KDF1(key: Uint8Array, input: Uint8Array): Uint8Array {
  return HMAC(HMAC(key, input), ONE);
}
export function KDF2(key: Uint8Array, input: Uint8Array): [Uint8Array, Uint8Array] {
  const t0 = HMAC(key, input);
  const t1 = HMAC(t0, ONE);
  return [t1, HMAC(t0, t1, TWO)];
}
export function KDF3(key: Uint8Array, input: Uint8Array): [Uint8Array, Uint8Array, Uint8Array] {
  const t0 = HMAC(key, input);
  const t1 = HMAC(t0, ONE);
  const t2 = HMAC(t0, t1, TWO);
  return [t1, t2, HMAC(t0, t2, THREE)];
}

/** The 12-byte AEAD nonce for a 64-bit message counter: 4 zero bytes || LE64(counter). */
export function counterNonce(counter: number, out = new Uint8Array(12)): Uint8Array {
  out.fill(0, 0, 4);
  const lo = counter >>> 0;
  const hi = Math.floor(counter / 0x100000000) >>> 0;
  out[4] = lo; out[5] = lo >>> 8; out[6] = lo >>> 16; out[7] = lo >>> 24;
  out[8] = hi; out[9] = hi >>> 8; out[10] = hi >>> 16; out[11] = hi >>> 24;
  return out;
}

/** AEAD(key, nonce12, plaintext, aad) -> ciphertext || 16-byte tag (RFC 8439 section 2.8). */
export function aeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  c.setAAD(aad, { plaintextLength: plaintext.length });
  const body = c.update(plaintext);
  c.final();
  const out = new Uint8Array(plaintext.length + 16);
  out.set(body);
  out.set(c.getAuthTag(), plaintext.length);
  return out;
}

/** Opens ciphertext || tag; throws AuthenticationError on any mismatch. */
export function aeadOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  if (sealed.length < 16) throw new AuthenticationError('sealed message shorter than the 16-byte tag');
  const n = sealed.length - 16;
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  d.setAAD(aad, { plaintextLength: n });
  d.setAuthTag(sealed.subarray(n));
  const body = d.update(sealed.subarray(0, n));
  try {
    d.final();
  } catch {
    throw new AuthenticationError();
  }
  return new Uint8Array(body.buffer, body.byteOffset, body.length);
}

/**
 * HChaCha20(key32, nonce16) -> 32-byte subkey (draft-irtf-cfrg-xchacha section
 * 2.2): 20 ChaCha rounds over the constants, key and nonce, output words 0-3 and
 * 12-15 without the final addition.
 */
export function hchacha20(key: Uint8Array, nonce: Uint8Array): Uint8Array {
  const s = new Uint32Array(16);
  s[0] = 0x61707865; s[1] = 0x3320646e; s[2] = 0x79622d32; s[3] = 0x6b206574;
  const kv = new DataView(key.buffer, key.byteOffset, 32);
  const nv = new DataView(nonce.buffer, nonce.byteOffset, 16);
  for (let i = 0; i < 8; i++) s[4 + i] = kv.getUint32(i * 4, true);
  for (let i = 0; i < 4; i++) s[12 + i] = nv.getUint32(i * 4, true);
  const qr = (a: number, b: number, c: number, d: number) => {
    s[a] += s[b]; s[d] ^= s[a]; s[d] = (s[d] << 16) | (s[d] >>> 16);
    s[c] += s[d]; s[b] ^= s[c]; s[b] = (s[b] << 12) | (s[b] >>> 20);
    s[a] += s[b]; s[d] ^= s[a]; s[d] = (s[d] << 8) | (s[d] >>> 24);
    s[c] += s[d]; s[b] ^= s[c]; s[b] = (s[b] << 7) | (s[b] >>> 25);
  };
  for (let i = 0; i < 10; i++) {
    qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15);
    qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14);
  }
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) {
    ov.setUint32(i * 4, s[i], true);
    ov.setUint32(16 + i * 4, s[12 + i], true);
  }
  return out;
}

function xnonce(nonce24: Uint8Array): Uint8Array {
  const n = new Uint8Array(12);
  n.set(nonce24.subarray(16, 24), 4);
  return n;
}

/** XAEAD(key, nonce24, plaintext, aad): XChaCha20-Poly1305 (used by cookie replies, whitepaper 5.4.7). */
export function xaeadSeal(key: Uint8Array, nonce24: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  return aeadSeal(hchacha20(key, nonce24.subarray(0, 16)), xnonce(nonce24), plaintext, aad);
}

/** Opens an XAEAD message; throws AuthenticationError on mismatch. */
export function xaeadOpen(key: Uint8Array, nonce24: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  return aeadOpen(hchacha20(key, nonce24.subarray(0, 16)), xnonce(nonce24), sealed, aad);
}
