/**
 * The internal engine contract of the AEAD kernel: one implementation per
 * backend (aead-wasm.ts for wasm-simd and wasm-scalar, aead-native.ts for the
 * N-API addon). The public API in aead.ts validates every argument first, so
 * engines receive well-formed input: keys of 32 bytes, nonces of 12/16/24
 * bytes, sealed inputs of at least 16 bytes. Another implementation plugs in
 * with `registerAeadEngine(backend, () => engine)` (aead-registry.ts).
 */
import type { ConcreteBackend } from './backend.js';

export { AuthenticationError } from '../errors.js';

/** Byte sizes fixed by RFC 8439 and draft-irtf-cfrg-xchacha-03. */
export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const XNONCE_BYTES = 24;
export const HNONCE_BYTES = 16;
export const TAG_BYTES = 16;

/** Where a packet pool lives: one contiguous, never-detached buffer holding the descriptor at `base`. */
export interface PoolMemory {
  /** The memory holding the pool; it never grows or detaches after creation. */
  readonly buffer: ArrayBuffer;
  /** Byte offset of the pool (the 64-byte descriptor) in `buffer`. */
  readonly base: number;
  /** Seals entries 0..count-1 (see aead-pool.ts for the layout); returns the number of failures. */
  seal(count: number): number;
  /** Opens entries 0..count-1; returns the number of failures. */
  open(count: number): number;
}

/**
 * One backend's implementation. All byte arrays returned are fresh copies owned
 * by the caller, except that seal and open write into `out` when given (its
 * length checked by the caller to be exactly the result's; it must not overlap
 * the input, which nothing checks) and return it.
 */
export interface AeadEngine {
  readonly backend: ConcreteBackend;
  /** ciphertext || 16-byte tag. */
  seal(key: Uint8Array, nonce12: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, out?: Uint8Array): Uint8Array;
  /** plaintext, or null when the tag does not verify. `sealed` is at least 16 bytes. */
  open(key: Uint8Array, nonce12: Uint8Array, sealed: Uint8Array, aad: Uint8Array, out?: Uint8Array): Uint8Array | null;
  xseal(key: Uint8Array, nonce24: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, out?: Uint8Array): Uint8Array;
  xopen(key: Uint8Array, nonce24: Uint8Array, sealed: Uint8Array, aad: Uint8Array, out?: Uint8Array): Uint8Array | null;
  chacha20(key: Uint8Array, nonce12: Uint8Array, counter: number, data: Uint8Array): Uint8Array;
  hchacha20(key: Uint8Array, nonce16: Uint8Array): Uint8Array;
  poly1305(key: Uint8Array, message: Uint8Array): Uint8Array;
  /** Allocates a packet pool of `totalBytes` (layout computed by aead-pool.ts) in memory that never grows. */
  createPool(totalBytes: number): PoolMemory;
}
