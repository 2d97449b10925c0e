/**
 * The storage format's integrity checksum: XXH64 (xxhash.com, spec
 * github.com/Cyan4973/xxHash doc/xxhash_spec.md), seed 0. It detects damage
 * (bit rot, torn writes, a wrong shard), not tampering: the AEAD tag of every
 * chunk and of the metadata authenticates. 0-db itself checks records with
 * CRC32; XXH64 runs at about 5x SHA-256's speed here (SHA-NI) and has 64 bits.
 *
 * Two engines give the same sums: the native addon's (native/src/xxh64_napi.c,
 * Debian's xxhash.h compiled in), which hashes the bytes where they lie, and
 * `hash-wasm` (WebAssembly), which copies them into its memory first; the
 * addon's is used when it loads and has `xxh64` (`TFW_NATIVE=0` turns it off).
 *
 * Used for the object store's shard sums (metadata v2, object-format.ts;
 * v1 objects keep SHA-256 ones) and to check format-1 records of the record
 * log (record-log.ts), which still writes SHA-256 records (format 0) so that a
 * device rolled back to the release before keeps them.
 */
import { Buffer } from 'node:buffer';
import { createXXHash64 } from 'hash-wasm';
import { nativeAddon } from '../kernels/native.js';

/** Bytes of an XXH64 checksum. */
export const XXH64_BYTES = 8;

// the hasher instance is reused (init per call): creating one per call costs a wasm instance
const hasher = await createXXHash64(0, 0);
const native = nativeAddon()?.xxh64 ? nativeAddon() : null;

/** Which engine `xxh64` uses: 'native' (the addon) or 'wasm' (hash-wasm). */
export const xxh64Engine: 'native' | 'wasm' = native ? 'native' : 'wasm';

/**
 * XXH64 (seed 0) of the concatenation of `parts` (at most 64 of them), on hash-wasm.
 * @returns 8 bytes, the canonical (big-endian) form
 */
export function xxh64Wasm(...parts: Uint8Array[]): Buffer {
  hasher.init();
  for (const p of parts) hasher.update(p);
  const d = hasher.digest('binary');
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

/**
 * XXH64 (seed 0) of the concatenation of `parts` (at most 64 of them), on the
 * addon when it is there (xxh64Engine), else on hash-wasm; both give the same sums.
 * @returns 8 bytes, the canonical (big-endian) form
 */
export function xxh64(...parts: Uint8Array[]): Buffer {
  if (!native) return xxh64Wasm(...parts);
  const out = Buffer.allocUnsafe(XXH64_BYTES);
  native.xxh64!(parts.length ? parts : [out.subarray(0, 0)], out);
  return out;
}
