/**
 * Curve25519 keys (RFC 7748) for the overlay, through node:crypto's X25519 so
 * no JavaScript big-number code runs on the handshake path. Keys are raw
 * 32-byte arrays at the edges; base64 is only for configs and the CLI (as in
 * wg(8)).
 *
 * Import cost matters under a handshake flood: OpenSSL 3 decodes a DER key in
 * 0.1-0.4 ms, a JWK public key in about 10 us and a DH with two ready
 * KeyObjects takes about 35 us. So a static private key is imported once
 * (`privateKeyObject`, held by the device), a peer's static public key once
 * (held by its Handshake), ephemeral key pairs are generated as KeyObjects
 * (`generateEphemeral`) and the remote ephemeral key is imported from JWK.
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';

// DER prefix of the PKCS#8 wrapper for X25519 (RFC 8410 section 7): JWK import needs the public half too.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

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

/** Imports a raw private key as a node:crypto KeyObject (DER, ~0.4 ms: once per key). */
export function privateKeyObject(priv: Uint8Array): KeyObject {
  check32(priv, 'privateKey');
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, priv]), format: 'der', type: 'pkcs8' });
}

/** Imports a raw public key as a node:crypto KeyObject (JWK, ~10 us). */
export function publicKeyObject(pub: Uint8Array): KeyObject {
  check32(pub, 'publicKey');
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(pub.buffer, pub.byteOffset, 32).toString('base64url') }, format: 'jwk' });
}

/** The raw 32 bytes of an X25519 public KeyObject. */
const rawPublic = (k: KeyObject): Uint8Array => new Uint8Array(Buffer.from(k.export({ format: 'jwk' }).x!, 'base64url'));

/** The X25519 public key (32 bytes) of a raw private key or private KeyObject. */
export function publicKeyFromPrivate(priv: Uint8Array | KeyObject): Uint8Array {
  return rawPublic(createPublicKey(priv instanceof Uint8Array ? privateKeyObject(priv) : priv));
}

/** A fresh ephemeral key pair: the private half stays a KeyObject, the public half is raw (whitepaper 5.4.2 `DH-GENERATE`). */
export function generateEphemeral(): { privateKey: KeyObject; publicKey: Uint8Array } {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return { privateKey, publicKey: rawPublic(publicKey) };
}

/**
 * X25519(priv, pub) -> 32-byte shared secret. Raw keys are imported on each
 * call; pass KeyObjects for keys used more than once. Throws (from OpenSSL)
 * when the result is all zeros, i.e. `pub` is a low-order point (RFC 7748
 * section 6.1); the handshake code treats that as a failed handshake.
 */
export function dh(priv: Uint8Array | KeyObject, pub: Uint8Array | KeyObject): Uint8Array {
  const privateKey = priv instanceof Uint8Array ? privateKeyObject(priv) : priv;
  const publicKey = pub instanceof Uint8Array ? publicKeyObject(pub) : pub;
  return new Uint8Array(diffieHellman({ privateKey, publicKey }));
}

export const toBase64 = (k: Uint8Array): string => Buffer.from(k).toString('base64');
export const fromBase64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
