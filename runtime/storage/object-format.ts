/**
 * The object store's formats and key derivation: per-object keys, record keys,
 * the chunk pipeline (compress -> seal -> split + parity -> checksum per shard)
 * and its inverse. zstor (threefoldtech/0-stor_v2, `zstor` docs "Architecture")
 * runs the same stages: snappy, AES-256-GCM, Reed-Solomon; here XChaCha20-
 * Poly1305 (draft-irtf-cfrg-xchacha-03) from tfw/aead seals, and tfw/erasure
 * (klauspost-compatible) codes.
 *
 *   object key   = HKDF-SHA256(secret, salt = object id (16 random bytes), info "tfw-store object v1")
 *   chunk nonce  = u32le(chunk index) || 20 zero bytes (the key is unique per stored object)
 *   chunk AAD    = object id || u32le(chunk index) || u8(compressed)
 *   shard key    = "d" || object id || u32le(chunk index) || u8(shard index)   (22 bytes)
 *   shard sum    = XXH64(shard), 8 bytes (metadata v2; checksum.ts);
 *                  metadata v1 (written before): SHA-256(shard)[0..16]
 */
import { Buffer } from 'node:buffer';
import { createHash, hkdfSync } from 'node:crypto';
import snappy from 'snappyjs';
import { xchacha20poly1305Open, xchacha20poly1305Seal } from '../kernels/aead.js';
import { AuthenticationError } from '../errors.js';
import type { ReedSolomon, Shards } from '../kernels/erasure.js';
import { xxh64 } from './checksum.js';
import { CorruptRecordError } from './errors.js';

export const OBJECT_ID_BYTES = 16;
/** The metadata format written now (ObjectMeta.v): 2 = XXH64 shard sums; 1 (read only) = SHA-256 ones. */
export const META_VERSION = 2;
/**
 * Bytes compressed first to decide whether a chunk compresses (incompressible
 * data skips snappy). snappyjs is pure JS: 16 KiB instead of 64 KiB saves
 * 0.05-0.1 CPU s/GiB of a put in 4 MiB chunks here.
 */
const PROBE_BYTES = 16 * 1024;
/** A chunk is stored compressed only when the probe shrinks below this ratio. */
const PROBE_RATIO = 0.9;

/** HKDF-SHA256 (RFC 5869) of the store secret. */
export function deriveKey(secret: Uint8Array, salt: Uint8Array, info: string, length = 32): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', secret, salt, info, length));
}

export const objectKey = (secret: Uint8Array, id: Uint8Array) => deriveKey(secret, id, 'tfw-store object v1');

export function shardKey(id: Uint8Array, chunk: number, shard: number): Buffer {
  const k = Buffer.alloc(1 + OBJECT_ID_BYTES + 5);
  k[0] = 0x64; // 'd'
  Buffer.from(id).copy(k, 1);
  k.writeUInt32LE(chunk, 1 + OBJECT_ID_BYTES);
  k[1 + OBJECT_ID_BYTES + 4] = shard;
  return k;
}

/** Parses a shard key; null for other keys. */
export function parseShardKey(k: Uint8Array): { id: Buffer; chunk: number; shard: number } | null {
  if (k.length !== 1 + OBJECT_ID_BYTES + 5 || k[0] !== 0x64) return null;
  const b = Buffer.from(k);
  return { id: b.subarray(1, 1 + OBJECT_ID_BYTES), chunk: b.readUInt32LE(1 + OBJECT_ID_BYTES), shard: b[1 + OBJECT_ID_BYTES + 4] };
}

/**
 * The checksum of one stored shard, as the metadata of format `version` records it:
 * 2 (now): XXH64, 8 bytes; 1: SHA-256(shard)[0..16].
 */
export const shardSum = (shard: Uint8Array, version = META_VERSION): Buffer =>
  version === 1 ? createHash('sha256').update(shard).digest().subarray(0, 16) : xxh64(shard);

function nonce(chunk: number): Uint8Array {
  const n = new Uint8Array(24);
  new DataView(n.buffer).setUint32(0, chunk, true);
  return n;
}

function aad(id: Uint8Array, chunk: number, compressed: boolean): Uint8Array {
  const a = Buffer.alloc(OBJECT_ID_BYTES + 5);
  Buffer.from(id).copy(a);
  a.writeUInt32LE(chunk, OBJECT_ID_BYTES);
  a[OBJECT_ID_BYTES + 4] = compressed ? 1 : 0;
  return a;
}

/** The buffers one encoded chunk lives in, handed back to encodeChunk for a later chunk once its shards are stored. */
export interface ChunkBuffers {
  /** The sealed chunk is written at its start (the data shards are views of it). */
  sealed: Uint8Array;
  /** m parity shards. */
  parity: Uint8Array[];
}

export interface EncodedChunk {
  /** k + m shards of equal length. */
  shards: Uint8Array[];
  sums: Buffer[];
  /** Length of the sealed chunk (what `join` returns). */
  sealedLength: number;
  compressed: boolean;
  /** What the shards are views of: reusable once every shard is written. */
  buffers: ChunkBuffers;
}

/**
 * Compresses (when it pays), seals and erasure-codes one chunk.
 * @param plain 1 byte .. chunkSize
 * @param reuse optional buffers of an earlier chunk, used where they are large
 *   enough (sealed) or of the shard length (parity), else new ones are
 *   allocated: a put reuses them once a chunk is stored, instead of faulting in
 *   fresh memory for every chunk (0.3-0.5 CPU s/GiB here)
 */
export function encodeChunk(key: Uint8Array, id: Uint8Array, index: number, plain: Uint8Array, rs: ReedSolomon, compression: 'snappy' | 'none', reuse?: ChunkBuffers): EncodedChunk {
  let body = plain;
  let compressed = false;
  if (compression === 'snappy') {
    const probe = snappy.compress(plain.subarray(0, PROBE_BYTES));
    if (probe.length < PROBE_RATIO * Math.min(plain.length, PROBE_BYTES)) {
      const z = snappy.compress(plain);
      if (z.length < plain.length) {
        body = z;
        compressed = true;
      }
    }
  }
  const n = body.length + 16;
  const sealedBuf = reuse && reuse.sealed.length >= n ? reuse.sealed : new Uint8Array(Math.max(n, plain.length + 16));
  const sealed = xchacha20poly1305Seal(key, nonce(index), body, aad(id, index, compressed), { out: sealedBuf.subarray(0, n) });
  const parity = reuse?.parity;
  // rs.split's layout (ceil(n/k)-byte shards, the last zero-padded) without copying the chunk:
  // the data shards are views of `sealed`, only a short last one is copied and padded
  const k = rs.dataShards;
  const per = Math.ceil(sealed.length / k);
  const shards: Shards = Array.from({ length: rs.totalShards }, (_, i) => {
    if (i >= k) return parity && parity.length === rs.parityShards && parity[i - k].length === per ? parity[i - k] : null; // null: encode allocates it
    if ((i + 1) * per <= sealed.length) return sealed.subarray(i * per, (i + 1) * per);
    const padded = new Uint8Array(per);
    padded.set(sealed.subarray(Math.min(i * per, sealed.length), sealed.length));
    return padded;
  });
  rs.encode(shards);
  const full = shards as Uint8Array[];
  return { shards: full, sums: full.map((x) => shardSum(x)), sealedLength: sealed.length, compressed, buffers: { sealed: sealedBuf, parity: full.slice(k) } };
}

/**
 * The first `size` bytes of the k data shards as one view, when they already lie
 * back to back in one buffer (ObjectStore.fetchChunk receives them so); else null.
 */
function contiguous(shards: Shards, k: number, size: number): Uint8Array | null {
  const first = shards[0];
  if (!first) return null;
  const per = first.length;
  if (per * k < size) return null;
  for (let i = 1; i < k; i++) {
    const s = shards[i];
    if (!s || s.buffer !== first.buffer || s.length !== per || s.byteOffset !== first.byteOffset + i * per) return null;
  }
  return new Uint8Array(first.buffer, first.byteOffset, size);
}

/**
 * Rebuilds, opens and decompresses one chunk from at least k checked shards
 * (missing ones null; they are filled in place).
 * @param out optional buffer the plaintext of an uncompressed chunk is opened
 *   into (when at least sealedLength - 16 bytes; the result is then a view of it)
 * @throws CorruptRecordError when the AEAD tag fails (shards passed their sums, so the metadata or key is wrong)
 */
export function decodeChunk(key: Uint8Array, id: Uint8Array, index: number, shards: Shards, sealedLength: number, compressed: boolean, rs: ReedSolomon, out?: Uint8Array): Uint8Array {
  if (shards.slice(0, rs.dataShards).some((s) => s === null)) rs.reconstructData(shards);
  const sealed = contiguous(shards, rs.dataShards, sealedLength) ?? rs.join(shards, sealedLength);
  let body: Uint8Array;
  try {
    const into = out && !compressed && out.length >= sealedLength - 16 ? { out: out.subarray(0, sealedLength - 16) } : undefined;
    body = xchacha20poly1305Open(key, nonce(index), sealed, aad(id, index, compressed), into);
  } catch (err) {
    if (err instanceof AuthenticationError) throw new CorruptRecordError(`chunk ${index}: authentication failed after its shards passed their checksums`);
    throw err;
  }
  return compressed ? snappy.uncompress(body) : body;
}
