/**
 * The storage format's integrity checksum: XXH64 (xxhash.com, spec
 * github.com/Cyan4973/xxHash doc/xxhash_spec.md), seed 0, from `hash-wasm`
 * (WebAssembly, no native build). It detects damage (bit rot, torn writes,
 * a wrong shard), not tampering: the AEAD tag of every chunk and of the
 * metadata authenticates. 0-db itself checks records with CRC32; XXH64 runs
 * at about 5x SHA-256's speed here (SHA-NI) and has 64 bits.
 *
 * Used for the object store's shard sums (metadata v2, object-format.ts;
 * v1 objects keep SHA-256 ones) and to check format-1 records of the record
 * log (record-log.ts), which still writes SHA-256 records (format 0) so that a
 * device rolled back to the release before keeps them.
 */
import { Buffer } from 'node:buffer';
import { createXXHash64 } from 'hash-wasm';

/** Bytes of an XXH64 checksum. */
export const XXH64_BYTES = 8;

// the hasher instance is reused (init per call): creating one per call costs a wasm instance
const hasher = await createXXHash64(0, 0);

/**
 * XXH64 (seed 0) of the concatenation of `parts`.
 * @returns 8 bytes, the canonical (big-endian) form
 */
export function xxh64(...parts: Uint8Array[]): Buffer {
  hasher.init();
  for (const p of parts) hasher.update(p);
  const d = hasher.digest('binary');
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}
