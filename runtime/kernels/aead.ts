/**
 * tfw/aead: ChaCha20-Poly1305 (RFC 8439) and XChaCha20-Poly1305
 * (draft-irtf-cfrg-xchacha-03) on the wasm-simd, wasm-scalar (and later native)
 * backends, plus AeadPacketPool for batches of packets in kernel memory.
 *
 * All inputs are Uint8Array; outputs are fresh Uint8Arrays. Sizes are in bytes.
 * Every function takes an optional last argument `{ backend }`
 * ('auto' | 'wasm' | 'native' | 'wasm-simd' | 'wasm-scalar', default
 * TFW_BACKEND or 'auto'); all backends give byte-identical results.
 *
 * Errors: TypeError (ArgumentTypeError, code ERR_TFW_ARG_TYPE) for a
 * non-Uint8Array argument or one whose buffer is detached, on every backend;
 * RangeError (ArgumentRangeError, ERR_TFW_ARG_RANGE) naming the argument and
 * the expected size; AuthenticationError (code ERR_TFW_AEAD_AUTH)
 * when a tag does not verify; BackendUnavailableError when the backend cannot load.
 *
 * Seal and open take `{ out }` among their options: a caller-owned buffer of
 * exactly the result's length that receives the result (and is returned),
 * instead of a fresh array: a stream of large messages then reuses its
 * buffers instead of faulting in new memory for each (the object store does).
 * `out` must not overlap the input; after a failed open its bytes are undefined.
 *
 * Single calls copy the inputs into a scratch area in the kernel's linear memory,
 * which grows only when a message (plus AAD) is larger than any before on that
 * backend; messages are limited to 1 GiB per call.
 */
import { performance } from 'node:perf_hooks';
import { registerCalibration, resolveBackend, type BackendOptions } from './backend.js';
import { AuthenticationError, HNONCE_BYTES, KEY_BYTES, NONCE_BYTES, TAG_BYTES, XNONCE_BYTES, type AeadEngine } from './aead-engine.js';
import { engineFor } from './aead-registry.js';
import { AeadPacketPool } from './aead-pool.js';
import { bytesArg } from './args.js';
import { ArgumentRangeError } from '../errors.js';
import type { SelfTestResult } from '../selftest.js';

export { AuthenticationError, KEY_BYTES, NONCE_BYTES, XNONCE_BYTES, TAG_BYTES } from './aead-engine.js';
export type { AeadEngine, PoolMemory } from './aead-engine.js';
export { registerAeadEngine } from './aead-registry.js';
export { AeadPacketPool, AEAD_STATUS_OK, AEAD_STATUS_AUTH, AEAD_STATUS_INVALID, type AeadPacketPoolOptions } from './aead-pool.js';

const MAX_MESSAGE = 1 << 30;

const bytes = (name: string, v: unknown, len?: number): Uint8Array => bytesArg(name, v, len, MAX_MESSAGE);

const EMPTY = new Uint8Array(0);

/** Options of seal and open: the backend, and optionally where the result goes. */
export interface AeadCallOptions extends BackendOptions {
  /** Receives the result: exactly its length (sealed: plaintext + 16; opened: sealed - 16), not overlapping the input. */
  out?: Uint8Array;
}

/** Splits the optional (aad?, opts?) tail: `seal(k, n, m, { backend })` is accepted too. */
function tail(aad: Uint8Array | AeadCallOptions | undefined, opts: AeadCallOptions | undefined): [Uint8Array, AeadEngine, AeadCallOptions | undefined] {
  if (aad !== undefined && aad !== null && !(aad instanceof Uint8Array) && opts === undefined && typeof aad === 'object') {
    return [EMPTY, engineFor(resolveBackend(aad as BackendOptions, 'aead')), aad as AeadCallOptions];
  }
  const a = aad === undefined || aad === null ? EMPTY : bytes('aad', aad);
  return [a, engineFor(resolveBackend(opts, 'aead')), opts];
}

/** The caller's `out` checked for the result length, or undefined. @throws ArgumentRangeError, ArgumentTypeError */
function outArg(o: AeadCallOptions | undefined, len: number): Uint8Array | undefined {
  return o?.out === undefined ? undefined : bytes('out', o.out, len);
}

/** `r` in `out` when one was given (an engine registered from outside may return a fresh array instead). */
function placed<T extends Uint8Array | null>(r: T, out: Uint8Array | undefined): T | Uint8Array {
  if (!out || r === null || r === out) return r;
  out.set(r);
  return out;
}

/**
 * AEAD_CHACHA20_POLY1305 encryption (RFC 8439 §2.8).
 * @param key       32 bytes
 * @param nonce12   12 bytes, unique per key
 * @param plaintext 0..1 GiB
 * @param aad       additional authenticated data (optional, default empty)
 * @returns ciphertext (plaintext.length bytes) followed by the 16-byte tag
 */
export function chacha20poly1305Seal(key: Uint8Array, nonce12: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array | AeadCallOptions, opts?: AeadCallOptions): Uint8Array {
  bytes('key', key, KEY_BYTES);
  bytes('nonce', nonce12, NONCE_BYTES);
  bytes('plaintext', plaintext);
  const [a, e, o] = tail(aad, opts);
  const dst = outArg(o, plaintext.length + TAG_BYTES);
  return placed(e.seal(key, nonce12, plaintext, a, dst), dst);
}

/**
 * AEAD_CHACHA20_POLY1305 decryption (RFC 8439 §2.8): verifies the tag in constant
 * time before decrypting.
 * @param sealed ciphertext followed by the 16-byte tag (at least 16 bytes)
 * @returns the plaintext (sealed.length - 16 bytes)
 * @throws AuthenticationError when the tag does not verify
 */
export function chacha20poly1305Open(key: Uint8Array, nonce12: Uint8Array, sealed: Uint8Array, aad?: Uint8Array | AeadCallOptions, opts?: AeadCallOptions): Uint8Array {
  bytes('key', key, KEY_BYTES);
  bytes('nonce', nonce12, NONCE_BYTES);
  bytes('sealed', sealed);
  if (sealed.length < TAG_BYTES) throw new ArgumentRangeError(`sealed: expected at least ${TAG_BYTES} bytes (the tag), got ${sealed.length}`);
  const [a, e, o] = tail(aad, opts);
  const dst = outArg(o, sealed.length - TAG_BYTES);
  const out = placed(e.open(key, nonce12, sealed, a, dst), dst);
  if (!out) throw new AuthenticationError();
  return out;
}

/**
 * AEAD_XChaCha20_Poly1305 encryption (draft-irtf-cfrg-xchacha-03 §2): the
 * subkey is HChaCha20(key, nonce24[0..16]), the ChaCha20 nonce is
 * 4 zero bytes || nonce24[16..24]. A random 24-byte nonce is safe.
 * @param nonce24 24 bytes
 * @returns ciphertext followed by the 16-byte tag
 */
export function xchacha20poly1305Seal(key: Uint8Array, nonce24: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array | AeadCallOptions, opts?: AeadCallOptions): Uint8Array {
  bytes('key', key, KEY_BYTES);
  bytes('nonce', nonce24, XNONCE_BYTES);
  bytes('plaintext', plaintext);
  const [a, e, o] = tail(aad, opts);
  const dst = outArg(o, plaintext.length + TAG_BYTES);
  return placed(e.xseal(key, nonce24, plaintext, a, dst), dst);
}

/**
 * AEAD_XChaCha20_Poly1305 decryption (draft-irtf-cfrg-xchacha-03 §2).
 * @throws AuthenticationError when the tag does not verify
 */
export function xchacha20poly1305Open(key: Uint8Array, nonce24: Uint8Array, sealed: Uint8Array, aad?: Uint8Array | AeadCallOptions, opts?: AeadCallOptions): Uint8Array {
  bytes('key', key, KEY_BYTES);
  bytes('nonce', nonce24, XNONCE_BYTES);
  bytes('sealed', sealed);
  if (sealed.length < TAG_BYTES) throw new ArgumentRangeError(`sealed: expected at least ${TAG_BYTES} bytes (the tag), got ${sealed.length}`);
  const [a, e, o] = tail(aad, opts);
  const dst = outArg(o, sealed.length - TAG_BYTES);
  const out = placed(e.xopen(key, nonce24, sealed, a, dst), dst);
  if (!out) throw new AuthenticationError();
  return out;
}

/**
 * The ChaCha20 stream cipher (RFC 8439 §2.4): XORs `data` with the keystream
 * starting at block `counter` (64-byte blocks).
 * @param counter 32-bit initial block counter, 0..2^32-1; the data must not run past block 2^32-1
 * @returns data.length bytes
 */
export function chacha20(key: Uint8Array, nonce12: Uint8Array, counter: number, data: Uint8Array, opts?: BackendOptions): Uint8Array {
  bytes('key', key, KEY_BYTES);
  bytes('nonce', nonce12, NONCE_BYTES);
  if (typeof counter !== 'number' || !Number.isInteger(counter) || counter < 0 || counter > 0xffffffff) {
    throw new ArgumentRangeError(`counter: expected an integer in [0, 4294967295], got ${String(counter)}`);
  }
  bytes('data', data);
  const blocks = Math.ceil(data.length / 64);
  if (counter + blocks > 0x100000000) throw new ArgumentRangeError(`data: ${data.length} bytes from block ${counter} run past the 32-bit block counter`);
  return engineFor(resolveBackend(opts, 'aead')).chacha20(key, nonce12, counter, data);
}

/**
 * HChaCha20 (draft-irtf-cfrg-xchacha-03 §2.2): derives a 32-byte subkey.
 * @param nonce16 16 bytes
 * @returns 32 bytes
 */
export function hchacha20(key: Uint8Array, nonce16: Uint8Array, opts?: BackendOptions): Uint8Array {
  bytes('key', key, KEY_BYTES);
  bytes('nonce', nonce16, HNONCE_BYTES);
  return engineFor(resolveBackend(opts, 'aead')).hchacha20(key, nonce16);
}

/**
 * Poly1305 one-time authenticator (RFC 8439 §2.5). Never reuse a key.
 * @param key32 32-byte one-time key (r || s)
 * @returns the 16-byte tag
 */
export function poly1305(key32: Uint8Array, message: Uint8Array, opts?: BackendOptions): Uint8Array {
  bytes('key', key32, KEY_BYTES);
  bytes('message', message);
  return engineFor(resolveBackend(opts, 'aead')).poly1305(key32, message);
}

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));

/**
 * Start-up self-test (RFC 8439 §2.8.2 known answer, sealed and opened) and a
 * quick throughput figure: 64 packets of 1,420 bytes sealed in one batch, for
 * about 50 ms. Runs on the backend `opts` selects.
 */
export function selfTest(opts?: BackendOptions): SelfTestResult {
  const backend = resolveBackend(opts, 'aead');
  const o = { backend };
  const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
  const nonce = hex('070000004041424344454647');
  const aad = hex('50515253c0c1c2c3c4c5c6c7');
  const pt = new TextEncoder().encode("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
  const sealed = chacha20poly1305Seal(key, nonce, pt, aad, o);
  const tag = Array.from(sealed.subarray(pt.length), (b) => b.toString(16).padStart(2, '0')).join('');
  let ok = tag === '1ae10b594f09e26a7e902ecbd0600691' && sealed[0] === 0xd3 && sealed[pt.length - 1] === 0x16;
  try {
    const back = chacha20poly1305Open(key, nonce, sealed, aad, o);
    ok = ok && back.every((b, i) => b === pt[i]);
  } catch {
    ok = false;
  }
  const pool = getSelfTestPool(backend);
  const t0 = performance.now();
  let n = 0;
  do {
    for (let i = 0; i < 64; i++) pool.setPacket(i, i, 1420, 0, n * 64 + i);
    pool.seal(64);
    n++;
  } while (performance.now() - t0 < 50);
  const mbs = (n * 64 * 1420) / ((performance.now() - t0) / 1000) / 1e6;
  return { kernel: 'aead', backend, ok, figure: `${mbs.toFixed(0)} MB/s (batch 64 x 1420 B)` };
}

const selfTestPools = new Map<string, AeadPacketPool>();
function getSelfTestPool(backend: string): AeadPacketPool {
  let p = selfTestPools.get(backend);
  if (!p) {
    p = new AeadPacketPool({ slots: 64, slotBytes: 1536, keys: 1, backend: backend as BackendOptions['backend'] });
    p.setKey(0, new Uint8Array(32).fill(7));
    selfTestPools.set(backend, p);
  }
  return p;
}

// `auto` calibration job: one batch of 16 packets of 1,420 bytes (the overlay's
// hot path) sealed in the backend's packet pool.
registerCalibration('aead', (backend) => {
  const pool = getSelfTestPool(backend);
  for (let i = 0; i < 16; i++) pool.setPacket(i, i, 1420, 0, i);
  pool.seal(16);
});
