/**
 * Object metadata, encrypted and itself erasure-coded over the backends as
 * zstor does (0-stor_v2 docs: metadata encrypted, spread 2+2 over four
 * backends), so no single machine holds the only copy of anything.
 *
 * The metadata (CBOR) is sealed with XChaCha20-Poly1305 under
 * HKDF(secret, "tfw-store metadata v1") with a random 24-byte nonce and the
 * record key as AAD, split into META_K data + META_M parity shards, and each
 * shard is stored under the record key "m" || SHA-256("tfw-store name\0" ||
 * name)[0..20] on its own backend, with a 64-byte header (little-endian):
 *
 *   0  magic "TFWM"      4  version u8 = 1   5  k u8   6  m u8   7  shard index u8
 *   8  generation, 16 random bytes (one per write of this metadata)
 *  24  written at, u64 Unix ms
 *  32  sealed length u32
 *  36  secret fingerprint, 8 bytes: HKDF(secret, "tfw-store fingerprint v1")
 *  44  SHA-256(header[0..44] || shard)[0..16]
 *  60  reserved (0)
 *
 * Readers take the newest generation with k intact shards, so a write that
 * died halfway (a mix of old and new shards) still reads as the old or the new
 * object, never a blend. The fingerprint tells "written with another secret"
 * (WrongSecretError) from "corrupt".
 */
import { Buffer } from 'node:buffer';
import { createHash, randomBytes } from 'node:crypto';
import { decode, encode } from 'cbor-x';
import { xchacha20poly1305Open, xchacha20poly1305Seal } from '../kernels/aead.js';
import { ReedSolomon } from '../kernels/erasure.js';
import { AuthenticationError } from '../errors.js';
import { DataLostError, WrongSecretError } from './errors.js';
import { deriveKey } from './object-format.js';

export const META_HEADER = 64;
const MAGIC = 0x4d574654; // "TFWM" little-endian

/** One chunk of an object: its sealed length, compression flag and where each shard lives. */
export interface ChunkMeta {
  /** Sealed length (bytes joined from the data shards). */
  n: number;
  /** 1 when the chunk was compressed before sealing. */
  z: 0 | 1;
  /** Per shard: [index into ObjectMeta.backends, shardSum(shard, v) (object-format.ts)]. */
  s: Array<[number, Uint8Array]>;
}

export interface ObjectMeta {
  /** Format: 2 = XXH64 shard sums (written now); 1 = SHA-256 ones (read only). */
  v: 1 | 2;
  name: string;
  /** Plaintext bytes. */
  size: number;
  /** Unix ms. */
  created: number;
  k: number;
  m: number;
  chunkSize: number;
  /** 16 random bytes: salt of the object key, prefix of the shard keys. */
  id: Uint8Array;
  /** Backend labels (`address/namespace`) the chunks refer to by index. */
  backends: string[];
  chunks: ChunkMeta[];
}

/** A decoded metadata shard (header fields + the shard bytes). */
export interface MetaShard {
  k: number;
  m: number;
  index: number;
  generation: Buffer;
  writtenAt: number;
  sealedLength: number;
  fingerprint: Buffer;
  shard: Buffer;
}

export const metaRecordKey = (name: string): Buffer =>
  Buffer.concat([Buffer.from('m'), createHash('sha256').update('tfw-store name\0').update(name).digest().subarray(0, 20)]);

export const isMetaRecordKey = (k: Uint8Array): boolean => k.length === 21 && k[0] === 0x6d;

export const metaKey = (secret: Uint8Array) => deriveKey(secret, new Uint8Array(0), 'tfw-store metadata v1');
export const fingerprint = (secret: Uint8Array) => Buffer.from(deriveKey(secret, new Uint8Array(0), 'tfw-store fingerprint v1', 8));

/** Shard counts for metadata over `backends` backends: 2+2 as zstor, fewer when there are fewer backends. */
export function metaShape(backends: number): { k: number; m: number } {
  if (backends >= 4) return { k: 2, m: 2 };
  return { k: 1, m: Math.max(0, backends - 1) };
}

/**
 * Seals and erasure-codes the metadata; returns one stored value per shard.
 */
export function encodeMeta(secret: Uint8Array, meta: ObjectMeta, k: number, m: number): Buffer[] {
  const recordKey = metaRecordKey(meta.name);
  const nonce = randomBytes(24);
  const sealed = Buffer.concat([nonce, xchacha20poly1305Seal(metaKey(secret), nonce, encode(meta), recordKey)]);
  const generation = randomBytes(16);
  let shards: Uint8Array[];
  if (m === 0 || k === 1) {
    shards = Array.from({ length: k + m }, () => sealed); // replicas: RS(1, m) is replication
  } else {
    const rs = new ReedSolomon(k, m);
    const s = rs.split(sealed);
    rs.encode(s);
    shards = s as Uint8Array[];
  }
  const fp = fingerprint(secret);
  const now = Date.now();
  return shards.map((shard, index) => {
    const h = Buffer.alloc(META_HEADER);
    h.writeUInt32LE(MAGIC, 0);
    h[4] = 1;
    h[5] = k;
    h[6] = m;
    h[7] = index;
    generation.copy(h, 8);
    h.writeBigUInt64LE(BigInt(now), 24);
    h.writeUInt32LE(sealed.length, 32);
    fp.copy(h, 36);
    createHash('sha256').update(h.subarray(0, 44)).update(shard).digest().copy(h, 44, 0, 16);
    return Buffer.concat([h, shard]);
  });
}

/** Parses one stored metadata value; null when malformed or its checksum fails. */
export function parseMetaShard(v: Uint8Array): MetaShard | null {
  const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (b.length < META_HEADER || b.readUInt32LE(0) !== MAGIC || b[4] !== 1) return null;
  const shard = b.subarray(META_HEADER);
  const sum = createHash('sha256').update(b.subarray(0, 44)).update(shard).digest().subarray(0, 16);
  if (!sum.equals(b.subarray(44, 60))) return null;
  return {
    k: b[5], m: b[6], index: b[7], generation: b.subarray(8, 24), writtenAt: Number(b.readBigUInt64LE(24)),
    sealedLength: b.readUInt32LE(32), fingerprint: b.subarray(36, 44), shard,
  };
}

/**
 * Decodes the newest generation that has k intact shards.
 * @param recordKey the record key (metaRecordKey(name)), also the AAD
 * @param values what each backend returned for the record key (null: absent or unreachable)
 * @returns the metadata and the generation's shard count, or null when no shard exists at all
 * @throws WrongSecretError when shards exist but were written with another secret;
 *         DataLostError when no generation has k intact shards
 */
export function decodeMeta(secret: Uint8Array, recordKey: Buffer, values: Array<Uint8Array | null>, name = `record ${recordKey.toString('hex')}`): { meta: ObjectMeta; shards: number; total: number; generation: Buffer } | null {
  const parsed = values.map((v) => (v ? parseMetaShard(v) : null));
  const present = values.filter((v) => v !== null).length;
  if (present === 0) return null;
  const fp = fingerprint(secret);
  const mine = parsed.filter((p): p is MetaShard => p !== null && p.fingerprint.equals(fp));
  if (mine.length === 0 && parsed.some((p) => p !== null)) {
    throw new WrongSecretError(`secret: the metadata of ${name} was written with another secret (fingerprint mismatch); check store.yaml's secret`);
  }
  const gens = new Map<string, MetaShard[]>();
  for (const p of mine) {
    const g = p.generation.toString('hex');
    const list = gens.get(g) ?? [];
    if (!list.some((x) => x.index === p.index)) list.push(p);
    gens.set(g, list);
  }
  const order = [...gens.values()].sort((a, b) => b[0].writtenAt - a[0].writtenAt);
  for (const list of order) {
    const { k, m, sealedLength } = list[0];
    if (list.length < k) continue;
    let sealed: Buffer;
    if (m === 0 || k === 1) sealed = list[0].shard.subarray(0, sealedLength);
    else {
      const rs = new ReedSolomon(k, m);
      const shards: Array<Uint8Array | null> = Array.from({ length: k + m }, () => null);
      for (const p of list) if (p.index < k + m) shards[p.index] = p.shard;
      rs.reconstructData(shards);
      sealed = Buffer.from(rs.join(shards, sealedLength));
    }
    let plain: Uint8Array;
    try {
      plain = xchacha20poly1305Open(metaKey(secret), sealed.subarray(0, 24), sealed.subarray(24), recordKey);
    } catch (err) {
      if (err instanceof AuthenticationError) throw new WrongSecretError(`secret: the metadata of ${name} does not open with this secret (AEAD tag mismatch)`);
      throw err;
    }
    const meta = decode(plain) as ObjectMeta;
    if (meta.v !== 1 && meta.v !== 2) throw new DataLostError(`${name}: metadata format v${String(meta.v)}: expected v1 or v2 (written by a newer tfw?)`);
    if (!metaRecordKey(meta.name).equals(recordKey)) throw new DataLostError(`${name}: metadata names another object`);
    meta.id = new Uint8Array(meta.id);
    for (const c of meta.chunks) c.s = c.s.map(([b, s]) => [b, new Uint8Array(s)]);
    return { meta, shards: list.length, total: k + m, generation: list[0].generation };
  }
  throw new DataLostError(`metadata of ${name}: no generation has enough intact shards (${mine.length} found)`);
}
