/**
 * The WebAssembly engines of the AEAD kernel (build/wasm/aead-simd.wasm and
 * build/wasm/aead.wasm, built from wasm/aead/). Single calls copy their inputs
 * into a scratch area in the instance's linear memory: the area is allocated
 * once (64 KiB) and replaced by a larger one only when a message (plus AAD)
 * is larger than any before, so memory grows only then and never on the
 * steady-state path. Each packet pool gets its own instance, sized once, so the
 * views handed to callers never detach.
 */
import { instantiateKernel } from './backend.js';
import { KEY_BYTES, TAG_BYTES, type AeadEngine, type PoolMemory } from './aead-engine.js';

export interface AeadExports {
  memory: WebAssembly.Memory;
  alloc(size: number): number;
  variant(): number;
  chacha20Xor(key: number, nonce: number, counter: number, src: number, dst: number, len: number): void;
  hchacha20(key: number, nonce16: number, out: number): void;
  xchachaPrepare(key: number, nonce24: number, subkeyOut: number, nonce12Out: number): void;
  poly1305(key: number, m: number, len: number, tag: number): void;
  aeadSeal(key: number, nonce: number, aad: number, aadLen: number, src: number, dst: number, len: number, tagOut: number): void;
  aeadOpen(key: number, nonce: number, aad: number, aadLen: number, src: number, dst: number, len: number, tag: number): number;
  batchSeal(desc: number, count: number): number;
  batchOpen(desc: number, count: number): number;
}

// Parameter block at the start of the scratch area (byte offsets).
const P_KEY = 0; // 32
const P_NONCE = 32; // up to 24
const P_TAG = 64; // 16 (received or computed tag)
const P_SUBKEY = 80; // 32 (XChaCha subkey)
const P_NONCE12 = 112; // 12 (XChaCha derived nonce)
const P_BYTES = 128;
const INITIAL_SCRATCH = 64 * 1024;

export class WasmAeadEngine implements AeadEngine {
  readonly backend: 'wasm-simd' | 'wasm-scalar';
  private readonly x: AeadExports;
  private mem: Uint8Array;
  private scratch = 0;
  private capacity = 0;

  constructor(backend: 'wasm-simd' | 'wasm-scalar') {
    this.backend = backend;
    this.x = instantiateKernel('aead', backend).exports as unknown as AeadExports;
    this.mem = new Uint8Array(this.x.memory.buffer);
    this.reserve(INITIAL_SCRATCH);
  }

  /** Makes the scratch area hold at least `bytes` after the parameter block (grows, never shrinks). */
  private reserve(bytes: number): void {
    if (bytes <= this.capacity) return;
    const cap = Math.max(bytes, this.capacity * 2, INITIAL_SCRATCH);
    this.scratch = this.x.alloc(P_BYTES + cap);
    this.capacity = cap;
    this.mem = new Uint8Array(this.x.memory.buffer);
  }

  /** Copies key (and nonce) into the parameter block; returns the scratch base. */
  private params(key: Uint8Array, nonce: Uint8Array | null, need: number): number {
    this.reserve(need);
    const s = this.scratch;
    this.mem.set(key, s + P_KEY);
    if (nonce) this.mem.set(nonce, s + P_NONCE);
    return s;
  }

  private wipe(s: number): void {
    this.mem.fill(0, s, s + P_BYTES);
  }

  seal(key: Uint8Array, nonce12: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, into?: Uint8Array): Uint8Array {
    const s = this.params(key, nonce12, aad.length + plaintext.length + TAG_BYTES);
    return this.sealAt(s, s + P_KEY, s + P_NONCE, plaintext, aad, into);
  }

  private sealAt(s: number, keyPtr: number, noncePtr: number, plaintext: Uint8Array, aad: Uint8Array, into?: Uint8Array): Uint8Array {
    const aadPtr = s + P_BYTES;
    const data = aadPtr + aad.length;
    const len = plaintext.length;
    this.mem.set(aad, aadPtr);
    this.mem.set(plaintext, data);
    this.x.aeadSeal(keyPtr, noncePtr, aadPtr, aad.length, data, data, len, data + len);
    let out: Uint8Array;
    if (into) (out = into).set(this.mem.subarray(data, data + len + TAG_BYTES));
    else out = this.mem.slice(data, data + len + TAG_BYTES);
    this.wipe(s);
    return out;
  }

  open(key: Uint8Array, nonce12: Uint8Array, sealed: Uint8Array, aad: Uint8Array, into?: Uint8Array): Uint8Array | null {
    const s = this.params(key, nonce12, aad.length + sealed.length);
    return this.openAt(s, s + P_KEY, s + P_NONCE, sealed, aad, into);
  }

  private openAt(s: number, keyPtr: number, noncePtr: number, sealed: Uint8Array, aad: Uint8Array, into?: Uint8Array): Uint8Array | null {
    const aadPtr = s + P_BYTES;
    const data = aadPtr + aad.length;
    const len = sealed.length - TAG_BYTES;
    this.mem.set(aad, aadPtr);
    this.mem.set(sealed, data);
    const ok = this.x.aeadOpen(keyPtr, noncePtr, aadPtr, aad.length, data, data, len, data + len);
    let out: Uint8Array | null = null;
    if (ok && into) (out = into).set(this.mem.subarray(data, data + len));
    else if (ok) out = this.mem.slice(data, data + len);
    this.wipe(s);
    return out;
  }

  xseal(key: Uint8Array, nonce24: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, into?: Uint8Array): Uint8Array {
    const s = this.params(key, nonce24, aad.length + plaintext.length + TAG_BYTES);
    this.x.xchachaPrepare(s + P_KEY, s + P_NONCE, s + P_SUBKEY, s + P_NONCE12);
    return this.sealAt(s, s + P_SUBKEY, s + P_NONCE12, plaintext, aad, into);
  }

  xopen(key: Uint8Array, nonce24: Uint8Array, sealed: Uint8Array, aad: Uint8Array, into?: Uint8Array): Uint8Array | null {
    const s = this.params(key, nonce24, aad.length + sealed.length);
    this.x.xchachaPrepare(s + P_KEY, s + P_NONCE, s + P_SUBKEY, s + P_NONCE12);
    return this.openAt(s, s + P_SUBKEY, s + P_NONCE12, sealed, aad, into);
  }

  chacha20(key: Uint8Array, nonce12: Uint8Array, counter: number, data: Uint8Array): Uint8Array {
    const s = this.params(key, nonce12, data.length);
    const d = s + P_BYTES;
    this.mem.set(data, d);
    this.x.chacha20Xor(s + P_KEY, s + P_NONCE, counter >>> 0, d, d, data.length);
    const out = this.mem.slice(d, d + data.length);
    this.wipe(s);
    return out;
  }

  hchacha20(key: Uint8Array, nonce16: Uint8Array): Uint8Array {
    const s = this.params(key, nonce16, 0);
    this.x.hchacha20(s + P_KEY, s + P_NONCE, s + P_SUBKEY);
    const out = this.mem.slice(s + P_SUBKEY, s + P_SUBKEY + KEY_BYTES);
    this.wipe(s);
    return out;
  }

  poly1305(key: Uint8Array, message: Uint8Array): Uint8Array {
    const s = this.params(key, null, message.length);
    const d = s + P_BYTES;
    this.mem.set(message, d);
    this.x.poly1305(s + P_KEY, d, message.length, s + P_TAG);
    const out = this.mem.slice(s + P_TAG, s + P_TAG + TAG_BYTES);
    this.wipe(s);
    return out;
  }

  createPool(totalBytes: number): PoolMemory {
    // A fresh instance per pool: its memory is sized once here and never grows after.
    const x = instantiateKernel('aead', this.backend).exports as unknown as AeadExports;
    const base = x.alloc(totalBytes);
    return {
      buffer: x.memory.buffer,
      base,
      seal: (count: number) => x.batchSeal(base, count),
      open: (count: number) => x.batchOpen(base, count),
    };
  }
}
