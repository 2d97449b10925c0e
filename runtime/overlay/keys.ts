/**
 * Curve25519 keys (RFC 7748) for the overlay, through node:crypto's X25519 so
 * no JavaScript big-number code runs on the handshake path. Keys are raw
 * 32-byte arrays; base64 is only for configs and the CLI (as in wg(8)).
 */
import { createPrivateKey, createPublicKey, diffieHellman, randomBytes, type KeyObject } from 'node:crypto';

// DER prefixes of PKCS#8 / SPKI wrappers for X25519 (RFC 8410 section 7 / 4).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

/** Clamps a 32-byte scalar in place (RFC 7748 section 5), as `wg genkey` does. */
export function clamp(k: Uint8Array): Uint8Array {
  k[0] &= 248;
  k[31] = (k[31] & 127) | 64;
  return k;
}

/** A fresh clamped private key (32 bytes). */
export const generatePrivateKey = (): Uint8Array => clamp(new Uint8Array(randomBytes(32)));

function check32(k: Uint8Array, what: string): void {
  if (!(k instanceof Uint8Array) || k.length !== 32) throw new RangeError(`${what}: expected 32 bytes, got ${k?.length}`);
}

/** Imports a raw private key as a node:crypto KeyObject. */
export function privateKeyObject(priv: Uint8Array): KeyObject {
  check32(priv, 'privateKey');
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, priv]), format: 'der', type: 'pkcs8' });
}

/** Imports a raw public key as a node:crypto KeyObject. */
export function publicKeyObject(pub: Uint8Array): KeyObject {
  check32(pub, 'publicKey');
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pub]), format: 'der', type: 'spki' });
}

/** The X25519 public key (32 bytes) of a raw private key. */
export function publicKeyFromPrivate(priv: Uint8Array): Uint8Array {
  const der = createPublicKey(privateKeyObject(priv)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 32));
}

/**
 * X25519(priv, pub) -> 32-byte shared secret. Throws (from OpenSSL) when the
 * result is all zeros, i.e. `pub` is a low-order point (RFC 7748 section 6.1);
 * the handshake code treats that as a failed handshake.
 */
export function dh(priv: Uint8Array | KeyObject, pub: Uint8Array): Uint8Array {
  const privateKey = priv instanceof Uint8Array ? privateKeyObject(priv) : priv;
  return new Uint8Array(diffieHellman({ privateKey, publicKey: publicKeyObject(pub) }));
}

export const toBase64 = (k: Uint8Array): string => Buffer.from(k).toString('base64');
export const fromBase64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
