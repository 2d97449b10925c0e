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
 *
 * Two engines, one chosen at load (`gcmEngine`): 'native', the addon's
 * native/src/gcm_napi.c, which calls the OpenSSL libcrypto already in the
 * Node process (EVP, key schedule once per pair key, the box written straight
 * into the caller's buffer and opened in place), when the addon loads, has the
 * gcm functions, TFW_NATIVE is not 0 and TFW_MYCELIUM_GCM is not 'node';
 * else 'node:crypto' (a secret
 * KeyObject per pair key; the output comes back in new buffers and is copied
 * into place). Both make and open the same boxes.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomFillSync, type KeyObject } from 'node:crypto';
import { nativeAddon, type NativeAddon } from '../../kernels/native.js';
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

type NativeGcm = Required<Pick<NativeAddon, 'gcmKey' | 'gcmSeal' | 'gcmOpen'>>;
// TFW_MYCELIUM_GCM=node keeps node:crypto with the addon loaded (the fallback, tested on its own).
const addon = process.env.TFW_MYCELIUM_GCM === 'node' ? null : nativeAddon();
const nativeGcm: NativeGcm | null = addon?.gcmKey && addon.gcmSeal && addon.gcmOpen ? (addon as NativeGcm) : null;

/** The engine names: the addon over the process's libcrypto, or node:crypto. */
export type GcmEngine = 'native' | 'node:crypto';
/** The engine pair keys (`pairKey`) use, chosen once at load: 'native' when available, else 'node:crypto'. */
export const gcmEngine: GcmEngine = nativeGcm ? 'native' : 'node:crypto';
/** The engines this process can use (node:crypto always; native when the addon has the gcm functions). */
export const gcmEngines: readonly GcmEngine[] = nativeGcm ? ['native', 'node:crypto'] : ['node:crypto'];

/** A pair key of the native engine: the addon's key (two EVP contexts, key schedule done), freed when collected. */
class NativeGcmKey {
  constructor(readonly handle: object) {}
}

/** A pair key ready for sealing and opening: the engine's own form of the 32 bytes (see `pairKey`). */
export type PairKey = KeyObject | NativeGcmKey;

/** The user header of an L3 packet; the empty one for sealBox (the plaintext carries its own). */
const L3_HEADER = Uint8Array.of(USER_DATA_VERSION, USER_DATA_L3, 0, 0);
const NO_HEADER = new Uint8Array(0);

/** Bytes of a raw key, a secret KeyObject or a native key (always 32). */
const keyBytes = (key: Uint8Array | PairKey): number =>
  key instanceof Uint8Array ? key.length : key instanceof NativeGcmKey ? 32 : key.symmetricKeySize ?? 0;

/**
 * The pair key for `engine` (default `gcmEngine`): the key schedule done once
 * (native: two OpenSSL contexts, freed when the key is collected; node:crypto:
 * a secret KeyObject, which spares importing the raw bytes per packet, about
 * 40% of a 1,348-byte seal's cost). Throws RangeError for a key that is not
 * 32 bytes, Error when `engine` is 'native' and not available here.
 */
export function pairKey(key: Uint8Array, engine: GcmEngine = gcmEngine): PairKey {
  if (key.length !== 32) throw new RangeError(`key: expected 32 bytes, got ${key.length}`);
  if (engine === 'node:crypto') return createSecretKey(key);
  if (!nativeGcm) throw new Error('pairKey: the native AES-GCM engine is not available (addon without gcm, or TFW_NATIVE=0)');
  return new NativeGcmKey(nativeGcm.gcmKey(key));
}

/** Seals header | packet with the native engine into out[off..); the nonce is already at its place. Returns the box length. */
function nativeSeal(key: NativeGcmKey, header: Uint8Array, packet: Uint8Array, out: Uint8Array, off: number): number {
  const n = nativeGcm!.gcmSeal(key.handle, header, packet, out, off);
  // OpenSSL refusing a context it accepted at pairKey: not an input of any peer.
  if (n < 0) throw new Error('seal: OpenSSL AES-256-GCM failed');
  return n;
}

/**
 * Seals `plaintext` (user header included) under `key` (32 raw bytes, or a
 * pairKey of either engine) with a fresh random nonce, or with `nonce` (12
 * bytes) when given (tests). Returns ciphertext | tag | nonce
 * (plaintext.length + 28 bytes), a new array. Throws RangeError for a key
 * that is not 32 bytes or a nonce not 12.
 */
export function sealBox(key: Uint8Array | PairKey, plaintext: Uint8Array, nonce?: Uint8Array): Uint8Array {
  if (keyBytes(key) !== 32) throw new RangeError(`key: expected 32 bytes, got ${keyBytes(key)}`);
  const out = new Uint8Array(plaintext.length + BOX_OVERHEAD);
  const n = out.subarray(plaintext.length + AES_TAG_BYTES);
  if (nonce) {
    if (nonce.length !== AES_NONCE_BYTES) throw new RangeError(`nonce: expected ${AES_NONCE_BYTES} bytes, got ${nonce.length}`);
    n.set(nonce);
  } else freshNonce(out, plaintext.length + AES_TAG_BYTES);
  if (key instanceof NativeGcmKey) {
    nativeSeal(key, NO_HEADER, plaintext, out, 0);
    return out;
  }
  const c = createCipheriv('aes-256-gcm', key, n);
  const a = c.update(plaintext);
  const b = c.final();
  out.set(a);
  out.set(b, a.length);
  out.set(c.getAuthTag(), plaintext.length);
  return out;
}

/**
 * Opens a box made by sealBox (or by Mycelium) with a 32-byte key (raw, or
 * a pairKey of either engine). Returns the plaintext (user header included)
 * in a new array, or null when the box is shorter than header + tag + nonce
 * or the tag does not verify. `box` is left as it was. Never throws for box
 * contents.
 */
export function openBox(key: Uint8Array | PairKey, box: Uint8Array): Uint8Array | null {
  // A copy to open in place (new Uint8Array: Buffer's slice would be a view of `box`).
  if (key instanceof NativeGcmKey) return openBoxInPlace(key, new Uint8Array(box));
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

/**
 * Opens `box` where it lies when the key's engine can: native, the
 * plaintext overwrites the ciphertext and is returned as a view of `box`
 * (box[0 .. length - 28)); node:crypto, as openBox (a new array, `box`
 * untouched). Null when the box is too short or does not verify; then, with
 * the native engine, the bytes the unverified plaintext went to are zeroed,
 * so nothing of it can be delivered (the caller drops the frame). Never
 * throws for box contents. `key`: raw 32 bytes or a pairKey.
 */
export function openBoxInPlace(key: Uint8Array | PairKey, box: Uint8Array): Uint8Array | null {
  if (!(key instanceof NativeGcmKey)) return openBox(key, box);
  if (box.length < USER_HEADER_BYTES + BOX_OVERHEAD) return null;
  const n = nativeGcm!.gcmOpen(key.handle, box, 0, box.length);
  return n < 0 ? null : box.subarray(0, n);
}

/** The plaintext of an IPv6 packet: user header (version 1, type L3) + packet. */
export function l3Plaintext(packet: Uint8Array): Uint8Array {
  const p = new Uint8Array(USER_HEADER_BYTES + packet.length);
  p[0] = USER_DATA_VERSION;
  p[1] = USER_DATA_L3;
  p.set(packet, USER_HEADER_BYTES);
  return p;
}

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
 * the CSPRNG, drawn in blocks): the same box as sealBox(key, l3Plaintext(packet)).
 * With a native pairKey the ciphertext and tag are written there by OpenSSL
 * (nothing copied); with node:crypto its output is copied in. Returns the box
 * length (packet.length + 32). Throws RangeError for a key that is not 32
 * bytes or an `out` too short (or, native, overlapping `packet`).
 * `key`: raw 32 bytes or a pairKey.
 */
export function sealL3Into(key: Uint8Array | PairKey, packet: Uint8Array, out: Uint8Array, off: number): number {
  if (keyBytes(key) !== 32) throw new RangeError(`key: expected 32 bytes, got ${keyBytes(key)}`);
  const ptLen = USER_HEADER_BYTES + packet.length;
  const n = ptLen + BOX_OVERHEAD;
  if (out.length - off < n) throw new RangeError(`out: expected ${n} bytes from ${off}, got ${out.length - off}`);
  freshNonce(out, off + ptLen + AES_TAG_BYTES);
  if (key instanceof NativeGcmKey) return nativeSeal(key, L3_HEADER, packet, out, off);
  const nonce = out.subarray(off + ptLen + AES_TAG_BYTES, off + n);
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
