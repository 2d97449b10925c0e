/**
 * End-to-end packet crypto as Mycelium does it: the key for a node pair is
 * the raw X25519 shared secret of the two node keys (no KDF), the cipher is
 * AES-256-GCM with a random 96-bit nonce and no associated data, and the box
 * is `ciphertext | tag (16) | nonce (12)`: the nonce goes last. The
 * plaintext starts with a 4-byte user-data header (version 1, type: 0 for an
 * IPv6 packet, 1 for a message, 2 for an out-of-band ICMP), then the packet.
 * Source: threefoldtech/mycelium mycelium/src/crypto.rs (SharedSecret::encrypt
 * / decrypt, PacketBuffer) and mycelium/src/data.rs (USER_DATA_* constants).
 *
 * Relays never call this: they hold neither node's private key, so the box
 * crosses them as opaque bytes.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomFillSync, type KeyObject } from 'node:crypto';
import { dh } from '../wireguard/keys.js';

export const AES_TAG_BYTES = 16;
export const AES_NONCE_BYTES = 12;
export const USER_HEADER_BYTES = 4;
/** Bytes a box adds to its plaintext (header excluded). */
export const BOX_OVERHEAD = AES_TAG_BYTES + AES_NONCE_BYTES;
export const USER_DATA_VERSION = 1;
export const USER_DATA_L3 = 0;
export const USER_DATA_MESSAGE = 1;
export const USER_DATA_OOB_ICMP = 2;

/**
 * The 32-byte AES key of a node pair: X25519(ours, theirs), raw.
 * Returns null when the DH fails (a low-order public key gives an all-zero
 * secret, which node:crypto refuses): the caller counts a drop.
 */
export function sharedKey(privateKey: Uint8Array | KeyObject, peerPublicKey: Uint8Array): Uint8Array | null {
  try {
    return dh(privateKey, peerPublicKey);
  } catch {
    return null;
  }
}

/**
 * Seals `plaintext` (user header included) under `key` (32 bytes) with a
 * fresh random nonce, or with `nonce` (12 bytes) when given (tests).
 * Returns ciphertext | tag | nonce (plaintext.length + 28 bytes).
 * Throws RangeError for a key that is not 32 bytes or a nonce not 12.
 */
export function sealBox(key: Uint8Array, plaintext: Uint8Array, nonce?: Uint8Array): Uint8Array {
  if (key.length !== 32) throw new RangeError(`key: expected 32 bytes, got ${key.length}`);
  const out = new Uint8Array(plaintext.length + BOX_OVERHEAD);
  const n = out.subarray(plaintext.length + AES_TAG_BYTES);
  if (nonce) {
    if (nonce.length !== AES_NONCE_BYTES) throw new RangeError(`nonce: expected ${AES_NONCE_BYTES} bytes, got ${nonce.length}`);
    n.set(nonce);
  } else randomFillSync(n);
  const c = createCipheriv('aes-256-gcm', key, n);
  const a = c.update(plaintext);
  const b = c.final();
  out.set(a);
  out.set(b, a.length);
  out.set(c.getAuthTag(), plaintext.length);
  return out;
}

/** Bytes of a raw key or a secret KeyObject. */
const keyBytes = (key: Uint8Array | KeyObject): number => (key instanceof Uint8Array ? key.length : key.symmetricKeySize ?? 0);

/**
 * A pair key as a node:crypto secret KeyObject: a cipher made from it skips
 * importing the raw bytes each time (about 40% of a 1,348-byte seal's cost).
 * Throws RangeError for a key that is not 32 bytes.
 */
export function pairKeyObject(key: Uint8Array): KeyObject {
  if (key.length !== 32) throw new RangeError(`key: expected 32 bytes, got ${key.length}`);
  return createSecretKey(key);
}

/**
 * Opens a box made by sealBox (or by Mycelium) with a 32-byte key (raw, or
 * from pairKeyObject). Returns the plaintext (user header included), or null
 * when the box is shorter than header + tag + nonce or the tag does not
 * verify. Never throws for box contents.
 */
export function openBox(key: Uint8Array | KeyObject, box: Uint8Array): Uint8Array | null {
  if (keyBytes(key) !== 32 || box.length < USER_HEADER_BYTES + BOX_OVERHEAD) return null;
  const ctLen = box.length - BOX_OVERHEAD;
  try {
    const d = createDecipheriv('aes-256-gcm', key, box.subarray(ctLen + AES_TAG_BYTES));
    d.setAuthTag(box.subarray(ctLen, ctLen + AES_TAG_BYTES));
    const a = d.update(box.subarray(0, ctLen));
    const b = d.final();
    if (b.length === 0) return new Uint8Array(a.buffer, a.byteOffset, a.length);
    const out = new Uint8Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  } catch {
    return null;
  }
}

/** The plaintext of an IPv6 packet: user header (version 1, type L3) + packet. */
export function l3Plaintext(packet: Uint8Array): Uint8Array {
  const p = new Uint8Array(USER_HEADER_BYTES + packet.length);
  p[0] = USER_DATA_VERSION;
  p[1] = USER_DATA_L3;
  p.set(packet, USER_HEADER_BYTES);
  return p;
}

const L3_HEADER = Uint8Array.of(USER_DATA_VERSION, USER_DATA_L3, 0, 0);
/** Random nonces drawn from the CSPRNG 1,024 at a time (one call instead of one per packet); each is used once. */
const NONCE_BLOCK = 1024;
const noncePool = new Uint8Array(NONCE_BLOCK * AES_NONCE_BYTES);
let nonceNext = NONCE_BLOCK;

/** Writes a fresh random 12-byte nonce into out[off..off+12). */
function freshNonce(out: Uint8Array, off: number): void {
  if (nonceNext === NONCE_BLOCK) {
    randomFillSync(noncePool);
    nonceNext = 0;
  }
  const p = nonceNext++ * AES_NONCE_BYTES;
  for (let i = 0; i < AES_NONCE_BYTES; i++) out[off + i] = noncePool[p + i];
  // Spent: a nonce is never handed out twice, even if the pool were read again.
  noncePool.fill(0, p, p + AES_NONCE_BYTES);
}

/**
 * Seals the L3 plaintext of `packet` (user header + packet, as l3Plaintext
 * builds it, without building it) into out[off..), fresh random nonce (from
 * the CSPRNG, drawn in blocks): the
 * same box as sealBox(key, l3Plaintext(packet)). Returns the box length
 * (packet.length + 32). Throws RangeError for a key that is not 32 bytes or
 * an `out` too short. `key`: raw 32 bytes or pairKeyObject's.
 */
export function sealL3Into(key: Uint8Array | KeyObject, packet: Uint8Array, out: Uint8Array, off: number): number {
  if (keyBytes(key) !== 32) throw new RangeError(`key: expected 32 bytes, got ${keyBytes(key)}`);
  const ptLen = USER_HEADER_BYTES + packet.length;
  const n = ptLen + BOX_OVERHEAD;
  if (out.length - off < n) throw new RangeError(`out: expected ${n} bytes from ${off}, got ${out.length - off}`);
  const nonce = out.subarray(off + ptLen + AES_TAG_BYTES, off + n);
  freshNonce(out, off + ptLen + AES_TAG_BYTES);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  // GCM is a stream mode: the header and the packet are encrypted as one plaintext, in two calls.
  let p = off;
  for (const part of [c.update(L3_HEADER), c.update(packet), c.final()]) {
    out.set(part, p);
    p += part.length;
  }
  out.set(c.getAuthTag(), off + ptLen);
  return n;
}
