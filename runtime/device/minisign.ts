/**
 * minisign's key and signature formats (https://jedisct1.github.io/minisign/,
 * "Signature format" and "Public key format"), so release signatures made by
 * `tfw release` verify with Debian's `minisign -Vm FILE -p KEY.pub` and keys
 * made by `minisign -G -W` sign tfw releases. The signatures are Ed25519 (RFC
 * 8032) from node:crypto over the BLAKE2b-512 hash of the file (algorithm
 * `ED`, minisign's default "prehashed" mode; legacy `Ed` signatures over the
 * raw file are verified too), plus the global signature over the signature and
 * the trusted comment. No crypto is implemented here: Ed25519 and BLAKE2b-512
 * come from node:crypto (OpenSSL), the key checksum's BLAKE2b-256 from
 * @noble/hashes.
 *
 * Layouts (all integers little-endian):
 * - public key: `Ed` | key id (8) | Ed25519 public key (32)
 * - secret key: `Ed` | kdf `Sc` or 0x0000 | `B2` | salt (32) | opslimit (8) |
 *   memlimit (8) | key id (8) | Ed25519 secret key (64: seed, public) |
 *   BLAKE2b-256(`Ed` | key id | secret key) (32). tfw writes and reads keys
 *   without a password (kdf 0x0000, as `minisign -G -W`).
 * - signature file: untrusted comment line, base64(`ED` | key id | signature
 *   (64)), `trusted comment: ...`, base64(Ed25519(signature | trusted comment)).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { blake2b } from '@noble/hashes/blake2';
import { TfwError } from '../errors.js';

/** A signature, key or signed file that does not verify or parse; `code` ERR_TFW_SIGNATURE. */
export class SignatureError extends TfwError {
  constructor(message: string) {
    super('ERR_TFW_SIGNATURE', message);
  }
}

export interface MinisignPublicKey {
  /** Key id: 8 bytes, shown as 16 upper-case hex digits (most significant byte first, as minisign prints it). */
  keyId: Uint8Array;
  /** Ed25519 public key, 32 bytes. */
  publicKey: Uint8Array;
}

export interface MinisignSecretKey extends MinisignPublicKey {
  /** Ed25519 seed, 32 bytes. */
  seed: Uint8Array;
}

export interface MinisignSignature {
  /** `ED` (BLAKE2b-512 of the file signed) or `Ed` (legacy: the file itself). */
  algorithm: 'ED' | 'Ed';
  keyId: Uint8Array;
  signature: Uint8Array;
  trustedComment: string;
  globalSignature: Uint8Array;
}

/** The key id as minisign prints it ("untrusted comment: minisign public key <ID>"): the 8 bytes reversed, in hex. */
export const keyIdHex = (id: Uint8Array): string => Buffer.from(id).reverse().toString('hex').toUpperCase();

const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');

function edPrivate(seed: Uint8Array, pub: Uint8Array): KeyObject {
  return createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64url(seed), x: b64url(pub) }, format: 'jwk' });
}
function edPublic(pub: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(pub) }, format: 'jwk' });
}

/** The base64 payload line of a minisign file (the first line that is not a comment). */
function payload(text: string, what: string, length: number): Buffer {
  const line = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l && !/^(untrusted|trusted) comment:/.test(l));
  const b = line && /^[A-Za-z0-9+/]+=*$/.test(line) ? Buffer.from(line, 'base64') : undefined;
  if (!b || b.length !== length) throw new SignatureError(`${what}: expected a minisign ${what} (a comment line, then base64 of ${length} bytes)`);
  return b;
}

/** A new key pair, with a random key id. */
export function generateSigningKey(): MinisignSecretKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' }) as { d: string; x: string };
  return { keyId: new Uint8Array(randomBytes(8)), seed: new Uint8Array(Buffer.from(jwk.d, 'base64url')), publicKey: new Uint8Array(Buffer.from(jwk.x, 'base64url')) };
}

/** The public key file text (`NAME.pub`), as `minisign -G` writes it. */
export function formatPublicKey(k: MinisignPublicKey): string {
  const body = Buffer.concat([Buffer.from('Ed'), k.keyId, k.publicKey]).toString('base64');
  return `untrusted comment: minisign public key ${keyIdHex(k.keyId)}\n${body}\n`;
}

/** The secret key file text, unencrypted (kdf 0x0000, as `minisign -G -W`). */
export function formatSecretKey(k: MinisignSecretKey): string {
  const sk = Buffer.concat([k.seed, k.publicKey]);
  const chk = blake2b(Buffer.concat([Buffer.from('Ed'), k.keyId, sk]), { dkLen: 32 });
  const body = Buffer.concat([Buffer.from('Ed'), Buffer.alloc(2), Buffer.from('B2'), Buffer.alloc(32 + 8 + 8), k.keyId, sk, chk]);
  return `untrusted comment: minisign secret key (unencrypted; keep it offline)\n${body.toString('base64')}\n`;
}

/**
 * Parses a public key file (or its base64 line alone).
 * @throws SignatureError when it is not 42 bytes starting with `Ed`
 */
export function parsePublicKey(text: string): MinisignPublicKey {
  const b = payload(text, 'public key', 42);
  if (b.toString('latin1', 0, 2) !== 'Ed') throw new SignatureError('public key: expected algorithm Ed (Ed25519)');
  return { keyId: new Uint8Array(b.subarray(2, 10)), publicKey: new Uint8Array(b.subarray(10)) };
}

/**
 * Parses an unencrypted secret key file and checks its checksum.
 * @throws SignatureError for another layout, a password-protected key or a bad checksum
 */
export function parseSecretKey(text: string): MinisignSecretKey {
  const b = payload(text, 'secret key', 158);
  if (b.toString('latin1', 0, 2) !== 'Ed' || b.toString('latin1', 4, 6) !== 'B2') throw new SignatureError('secret key: expected algorithms Ed and B2');
  if (b[2] !== 0 || b[3] !== 0) throw new SignatureError('secret key: is password-protected (kdf scrypt); use one without a password (tfw keygen --signing, or minisign -G -W)');
  const keyId = b.subarray(54, 62);
  const sk = b.subarray(62, 126);
  const chk = blake2b(Buffer.concat([Buffer.from('Ed'), keyId, sk]), { dkLen: 32 });
  // minisign 0.11 leaves the checksum zero in unencrypted (-W) keys; the seed/public-key check below still catches corruption.
  const stored = b.subarray(126, 158);
  if (!stored.every((x) => x === 0) && !Buffer.from(chk).equals(stored)) throw new SignatureError('secret key: checksum mismatch (corrupt key file)');
  const k = { keyId: new Uint8Array(keyId), seed: new Uint8Array(sk.subarray(0, 32)), publicKey: new Uint8Array(sk.subarray(32)) };
  const derived = (createPublicKey(edPrivate(k.seed, k.publicKey)).export({ format: 'jwk' }) as { x: string }).x;
  if (derived !== b64url(k.publicKey)) throw new SignatureError('secret key: public half does not match the seed (corrupt key file)');
  return k;
}

/**
 * Parses a `.minisig` file.
 * @throws SignatureError naming the line that is missing or malformed
 */
export function parseSignature(text: string): MinisignSignature {
  const lines = text.split(/\r?\n/);
  if (!lines[0]?.startsWith('untrusted comment:')) throw new SignatureError('signature: expected "untrusted comment:" on line 1');
  const sig = /^[A-Za-z0-9+/]+=*$/.test(lines[1]?.trim() ?? '') ? Buffer.from(lines[1].trim(), 'base64') : Buffer.alloc(0);
  if (sig.length !== 74) throw new SignatureError('signature: expected base64 of 74 bytes on line 2');
  const algorithm = sig.toString('latin1', 0, 2);
  if (algorithm !== 'ED' && algorithm !== 'Ed') throw new SignatureError(`signature: expected algorithm ED or Ed, got ${JSON.stringify(algorithm)}`);
  const tc = /^trusted comment: (.*)$/.exec(lines[2] ?? '');
  if (!tc) throw new SignatureError('signature: expected "trusted comment: ..." on line 3');
  const global = /^[A-Za-z0-9+/]+=*$/.test(lines[3]?.trim() ?? '') ? Buffer.from(lines[3].trim(), 'base64') : Buffer.alloc(0);
  if (global.length !== 64) throw new SignatureError('signature: expected base64 of the 64-byte global signature on line 4');
  return { algorithm, keyId: new Uint8Array(sig.subarray(2, 10)), signature: new Uint8Array(sig.subarray(10)), trustedComment: tc[1], globalSignature: new Uint8Array(global) };
}

/** BLAKE2b-512 of a file, streamed (node:crypto / OpenSSL). */
export function hashFile(path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const h = createHash('blake2b512');
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest()));
  });
}

/**
 * Signs a file: the `.minisig` text for it (algorithm ED). `trustedComment`
 * defaults to minisign's `timestamp:<s>\tfile:<name>\thashed`.
 */
export async function signFile(path: string, key: MinisignSecretKey, trustedComment: string): Promise<string> {
  const priv = edPrivate(key.seed, key.publicKey);
  const sig = sign(null, await hashFile(path), priv);
  const global = sign(null, Buffer.concat([sig, Buffer.from(trustedComment, 'utf8')]), priv);
  return `untrusted comment: signature from tfw secret key ${keyIdHex(key.keyId)}\n${Buffer.concat([Buffer.from('ED'), key.keyId, sig]).toString('base64')}\ntrusted comment: ${trustedComment}\n${global.toString('base64')}\n`;
}

/**
 * Verifies a file against a `.minisig` text and a list of trusted keys; returns
 * the key that signed it and the trusted comment.
 * @throws SignatureError: the signature's key id is not among `trusted`, the
 *   file's signature does not verify, or the trusted comment's does not
 */
export async function verifyFile(path: string, signatureText: string, trusted: MinisignPublicKey[]): Promise<{ key: MinisignPublicKey; trustedComment: string }> {
  const s = parseSignature(signatureText);
  const key = trusted.find((k) => Buffer.from(k.keyId).equals(s.keyId));
  if (!key) throw new SignatureError(`signed by key ${keyIdHex(s.keyId)}, which is not trusted (${trusted.length ? `trusted: ${trusted.map((k) => keyIdHex(k.keyId)).join(', ')}` : 'no trusted keys'})`);
  const pub = edPublic(key.publicKey);
  const message = s.algorithm === 'ED' ? await hashFile(path) : await readAll(path);
  if (!verify(null, message, pub, s.signature)) throw new SignatureError(`signature by key ${keyIdHex(s.keyId)} does not match the file`);
  if (!verify(null, Buffer.concat([s.signature, Buffer.from(s.trustedComment, 'utf8')]), pub, s.globalSignature)) {
    throw new SignatureError('the trusted comment does not match its signature');
  }
  return { key, trustedComment: s.trustedComment };
}

async function readAll(path: string): Promise<Buffer> {
  const { readFile } = await import('node:fs/promises');
  return readFile(path);
}
