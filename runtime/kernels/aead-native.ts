/**
 * The `native` AEAD engine: an adapter from AeadEngine to the N-API addon's raw
 * kernels (runtime/kernels/native.ts, C, libsodium-style). Single calls map
 * one to one. Packet pools live in an ArrayBuffer with the same layout and
 * descriptor as the wasm pools (aead-pool.ts); a batch is one addon call
 * (`aeadPoolRun`) that walks the same descriptor.
 */
import { AEAD_CHACHA20POLY1305, AEAD_XCHACHA20POLY1305, nativeAead } from './native.js';
import { KEY_BYTES, TAG_BYTES, type AeadEngine, type PoolMemory } from './aead-engine.js';

export class NativeAeadEngine implements AeadEngine {
  readonly backend = 'native' as const;

  seal(key: Uint8Array, nonce12: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, into?: Uint8Array): Uint8Array {
    const out = into ?? new Uint8Array(plaintext.length + TAG_BYTES);
    nativeAead.seal(AEAD_CHACHA20POLY1305, key, nonce12, plaintext, aad, out);
    return out;
  }

  open(key: Uint8Array, nonce12: Uint8Array, sealed: Uint8Array, aad: Uint8Array, into?: Uint8Array): Uint8Array | null {
    const out = into ?? new Uint8Array(sealed.length - TAG_BYTES);
    return nativeAead.open(AEAD_CHACHA20POLY1305, key, nonce12, sealed, aad, out) < 0 ? null : out;
  }

  xseal(key: Uint8Array, nonce24: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, into?: Uint8Array): Uint8Array {
    const out = into ?? new Uint8Array(plaintext.length + TAG_BYTES);
    nativeAead.seal(AEAD_XCHACHA20POLY1305, key, nonce24, plaintext, aad, out);
    return out;
  }

  xopen(key: Uint8Array, nonce24: Uint8Array, sealed: Uint8Array, aad: Uint8Array, into?: Uint8Array): Uint8Array | null {
    const out = into ?? new Uint8Array(sealed.length - TAG_BYTES);
    return nativeAead.open(AEAD_XCHACHA20POLY1305, key, nonce24, sealed, aad, out) < 0 ? null : out;
  }

  chacha20(key: Uint8Array, nonce12: Uint8Array, counter: number, data: Uint8Array): Uint8Array {
    const out = new Uint8Array(data.length);
    nativeAead.chacha20(key, nonce12, counter, data, out);
    return out;
  }

  hchacha20(key: Uint8Array, nonce16: Uint8Array): Uint8Array {
    const out = new Uint8Array(KEY_BYTES);
    nativeAead.hchacha20(key, nonce16, out);
    return out;
  }

  poly1305(key: Uint8Array, message: Uint8Array): Uint8Array {
    const out = new Uint8Array(TAG_BYTES);
    nativeAead.poly1305(key, message, out);
    return out;
  }

  createPool(totalBytes: number): PoolMemory {
    const buffer = new ArrayBuffer(totalBytes);
    const u8 = new Uint8Array(buffer);
    // One addon call per batch over the pool layout of aead-pool.ts (the
    // descriptor at `base`); a rejected packet keeps its bytes.
    return {
      buffer,
      base: 0,
      seal: (count) => nativeAead.poolRun(u8, 0, count, false),
      open: (count) => nativeAead.poolRun(u8, 0, count, true),
    };
  }
}
