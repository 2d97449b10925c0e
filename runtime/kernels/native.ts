/**
 * Loader and raw API of the tfw N-API addon (native/, built by `make native`).
 *
 * The addon is optional: when it is not built for this platform (or
 * `TFW_NATIVE=0`), `nativeAddon()` returns null, `nativeAvailable()` is false and
 * everything runs on WebAssembly. `requireNative(what)` throws
 * BackendUnavailableError naming how to build it.
 *
 * Search order: `TFW_NATIVE_PATH` (a .node file); then, relative to this module
 * (sources, build/js/ and the bundled runtime in an image), every directory that
 * has `prebuilds/<platform>-<arch>/` (node-gyp-build layout), then a local
 * `native/build/Release/tfw.node` from `node-gyp rebuild`.
 *
 * Raw kernels for the `native` backend (the lead wires them behind aead.ts /
 * erasure.ts): `nativeAead` (ChaCha20-Poly1305, XChaCha20-Poly1305, RFC 8439)
 * and `nativeRs` (GF(2^8) matrix times shards, poly 0x11d); `nativeForward`
 * (DIR-24-8 / Poptrie tables and the packet classifier, behind forward.ts via
 * forward-native.ts). All take caller buffers and allocate nothing per call.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BackendUnavailableError } from '../errors.js';
import type { SelfTestResult } from '../selftest.js';
import { setNativeProbe } from './backend.js';

/** ABI of the addon's exports this file expects (addon's `abiVersion`). */
const ABI_VERSION = 1;

/** AEAD algorithm ids understood by the addon. */
export const AEAD_CHACHA20POLY1305 = 0;
export const AEAD_XCHACHA20POLY1305 = 1;

/** Functions exported by native/src/*.c (see the comment at the top of each file). */
export interface NativeAddon {
  abiVersion: number;
  // io.c: batched packet I/O on a non-blocking fd
  readBatch(fd: number, bufs: Uint8Array[], sizes: Int32Array): number;
  writeBatch(fd: number, bufs: Uint8Array[], sizes: Int32Array, count: number): number;
  closeFd(fd: number): void;
  // poll.c: uv_poll readiness callbacks
  pollStart(fd: number, cb: (err: Error | null) => void): object;
  pollStop(handle: object): void;
  pollRef(handle: object, ref: boolean): void;
  // tun.c
  tunOpen(name: string, multiQueue: boolean): [fd: number, name: string];
  tunSetMtu(name: string, mtu: number): void;
  tunGetMtu(name: string): number;
  tunUp(name: string): void;
  // udp.c: endpoints are 20-byte records (see runtime/overlay/links/conn.ts)
  udpOpen(host: string | null, port: number, reuseAddr: boolean, rcvbuf: number, sndbuf: number, gso: boolean): [fd: number, port: number, family: 4 | 6];
  udpRecvBatch(fd: number, bufs: Uint8Array[], sizes: Int32Array, endpoints: Uint8Array): number;
  udpSendBatch(fd: number, family: number, bufs: Uint8Array[], sizes: Int32Array, endpoints: Uint8Array, count: number): number;
  // aead_napi.c
  aeadSeal(alg: number, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array | null, out: Uint8Array): number;
  aeadOpen(alg: number, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array | null, out: Uint8Array): number;
  aeadSealBatch(alg: number, keys: Uint8Array, nonces: Uint8Array, bufs: Uint8Array[], sizes: Int32Array, count: number): number;
  aeadOpenBatch(alg: number, keys: Uint8Array, nonces: Uint8Array, bufs: Uint8Array[], sizes: Int32Array, count: number): number;
  aeadPoolRun(mem: Uint8Array, base: number, count: number, open: boolean): number;
  chacha20(key: Uint8Array, nonce: Uint8Array, counter: number, input: Uint8Array, out: Uint8Array): void;
  hchacha20(key: Uint8Array, nonce16: Uint8Array, out: Uint8Array): void;
  poly1305(key: Uint8Array, message: Uint8Array, out: Uint8Array): void;
  // (absent from addons built before the AEAD kernel choice; abiVersion unchanged: nothing else changed)
  aeadIsa?(): string;
  aeadSetIsa?(name: string): string;
  // rs_napi.c
  rsEncode(matrix: Uint8Array, rows: number, inputs: Uint8Array[], outputs: Uint8Array[], len: number): void;
  rsIsa(): string;
  rsSetIsa(name: string): string;
  // xxh64_napi.c (absent from addons built before it; abiVersion unchanged: nothing else changed)
  xxh64?(parts: Uint8Array[], out: Uint8Array): void;
  // gcm_napi.c: AES-256-GCM through the process's libcrypto (absent from older addons, and when
  // the process has no EVP_* symbols; abiVersion unchanged: nothing else changed)
  gcmKey?(key: Uint8Array): object;
  gcmSeal?(key: object, header: Uint8Array, packet: Uint8Array, out: Uint8Array, off: number): number;
  gcmOpen?(key: object, buf: Uint8Array, off: number, len: number): number;
  // forward_napi.c (absent from addons built before the forward kernel)
  fwdCreate?(): object;
  fwdV4Insert(h: object, addr: number, length: number, nextHop: number): number;
  fwdV4Delete(h: object, addr: number, length: number, coverNextHop: number, coverLength: number): void;
  fwdV4Lookup(h: object, addr: number): number;
  fwdV4LookupBatch(h: object, addrs: Uint8Array, count: number, out: Int32Array): void;
  fwdV6Insert(h: object, bytes: Uint8Array, length: number, nextHop: number, isNew: boolean): number;
  fwdV6Delete(h: object, bytes: Uint8Array, length: number): number;
  fwdV6Lookup(h: object, bytes: Uint8Array): number;
  fwdV6LookupBatch(h: object, addrs: Uint8Array, count: number, out: Int32Array): void;
  fwdV6Begin(h: object): number;
  fwdV6Commit(h: object): number;
  fwdBytes(h: object, family: 4 | 6): number;
  fwdSetLocal(h: object, family: 4 | 6, bytes: Uint8Array, lengths: Uint8Array): void;
  fwdClassify(h: object, pool: Uint8Array, descriptors: Uint32Array, count: number, verdicts: Uint32Array): void;
}

let addon: NativeAddon | null | undefined;
let loadError = '';

function candidates(): string[] {
  const out: string[] = [];
  if (process.env.TFW_NATIVE_PATH) return [process.env.TFW_NATIVE_PATH];
  const here = dirname(fileURLToPath(import.meta.url));
  const roots = [join(here, '..'), join(here, '../..'), join(here, '../../../..')];
  const tuple = `${process.platform}-${process.arch}`;
  for (const r of roots) {
    const dir = join(r, 'prebuilds', tuple);
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) if (f.endsWith('.node')) out.push(join(dir, f));
  }
  for (const r of roots) out.push(join(r, 'native/build/Release/tfw.node'));
  return out.filter((f, i) => out.indexOf(f) === i && existsSync(f));
}

/** The loaded addon, or null when it is not built / not loadable here (reason in `nativeLoadError()`). */
export function nativeAddon(): NativeAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (process.env.TFW_NATIVE === '0') {
    loadError = 'disabled by TFW_NATIVE=0';
    return addon;
  }
  const files = candidates();
  if (files.length === 0) {
    loadError = `no addon for ${process.platform}-${process.arch} (run \`make native\`, or set TFW_NATIVE_PATH)`;
    return addon;
  }
  const req = createRequire(import.meta.url);
  const errors: string[] = [];
  for (const f of files) {
    try {
      const a = req(f) as NativeAddon;
      if (a.abiVersion !== ABI_VERSION) {
        errors.push(`${f}: abiVersion ${a.abiVersion}, expected ${ABI_VERSION} (rebuild with \`make native\`)`);
        continue;
      }
      addon = a;
      return addon;
    } catch (err) {
      errors.push(`${f}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  loadError = `${errors.join('; ')} (run \`make native\` to build for ${process.platform}-${process.arch})`;
  return addon;
}

/** Why the addon is not available ('' when it is). */
export function nativeLoadError(): string {
  nativeAddon();
  return loadError;
}

/** True when the addon is built and loadable on this platform. */
export function nativeAvailable(): boolean {
  return nativeAddon() !== null;
}

/**
 * The addon, or a BackendUnavailableError saying how to get it.
 * @param what the feature asking, e.g. 'tun' (goes into the message)
 */
export function requireNative(what: string): NativeAddon {
  const a = nativeAddon();
  if (!a) throw new BackendUnavailableError(`${what}: native addon not available: ${loadError}`);
  return a;
}

setNativeProbe(nativeAvailable);

// ---------------------------------------------------------------------------
// Raw kernels for the `native` backend. Lengths are checked in C; errors are
// TypeError/RangeError-like with code ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE.

/**
 * ChaCha20-Poly1305 (RFC 8439 section 2.8) and XChaCha20-Poly1305
 * (draft-irtf-cfrg-xchacha-03: HChaCha20 subkey, section 2.2) in C.
 * `alg` is AEAD_CHACHA20POLY1305 (12-byte nonce) or AEAD_XCHACHA20POLY1305 (24-byte nonce).
 */
export const nativeAead = {
  /**
   * Seals `plaintext` into `out` (ciphertext then the 16-byte tag); `out` may be
   * the same memory as `plaintext` (in place). Returns bytes written
   * (plaintext.length + 16). Throws when key is not 32 bytes, the nonce has the
   * wrong length, or `out` is shorter than plaintext.length + 16.
   */
  seal(alg: number, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array | null, out: Uint8Array): number {
    return requireNative('aead').aeadSeal(alg, key, nonce, plaintext, aad, out);
  },
  /**
   * Opens `sealed` (ciphertext + tag) into `out` (may alias `sealed`). Returns
   * the plaintext length, or -1 when the tag does not verify (constant-time
   * compare; `out` is then zeroed). Throws on bad lengths only.
   */
  open(alg: number, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array | null, out: Uint8Array): number {
    return requireNative('aead').aeadOpen(alg, key, nonce, sealed, aad, out);
  },
  /**
   * Seals `count` packets in place, no AAD: packet i is bufs[i][0..sizes[i]),
   * key i is keys[32i..32i+32) (or the one key when keys is 32 bytes), nonce i is
   * nonces[ni..ni+n) (n = 12 or 24). The tag goes after the plaintext and
   * sizes[i] grows by 16, so bufs[i] needs 16 spare bytes. Returns count.
   */
  sealBatch(alg: number, keys: Uint8Array, nonces: Uint8Array, bufs: Uint8Array[], sizes: Int32Array, count: number): number {
    return requireNative('aead').aeadSealBatch(alg, keys, nonces, bufs, sizes, count);
  },
  /**
   * Opens `count` packets in place (layout as sealBatch): sizes[i] becomes the
   * plaintext length, or -1 when packet i fails authentication (or is shorter
   * than 16 bytes). Returns the number that verified.
   */
  openBatch(alg: number, keys: Uint8Array, nonces: Uint8Array, bufs: Uint8Array[], sizes: Int32Array, count: number): number {
    return requireNative('aead').aeadOpenBatch(alg, keys, nonces, bufs, sizes, count);
  },
  /**
   * Seals (open = false) or opens the first `count` entries of an AeadPacketPool
   * (runtime/kernels/aead-pool.ts layout: the 14-word descriptor at `mem[base]`,
   * absolute addresses within `mem`) in one call, ChaCha20-Poly1305 with the
   * entry's AAD: in place, lengths and status bytes updated as the pool
   * contract says (status 0 ok, 1 auth failed and bytes kept, 2 invalid entry).
   * Returns the number of failures. Throws when the descriptor points outside `mem`.
   */
  poolRun(mem: Uint8Array, base: number, count: number, open: boolean): number {
    return requireNative('aead').aeadPoolRun(mem, base, count, open);
  },
  /** ChaCha20 (RFC 8439 section 2.4) keystream XOR from block `counter`; out.length >= input.length. */
  chacha20(key: Uint8Array, nonce12: Uint8Array, counter: number, input: Uint8Array, out: Uint8Array): void {
    requireNative('aead').chacha20(key, nonce12, counter, input, out);
  },
  /** HChaCha20 (draft-irtf-cfrg-xchacha-03 section 2.2): 32-byte subkey into out. */
  hchacha20(key: Uint8Array, nonce16: Uint8Array, out: Uint8Array): void {
    requireNative('aead').hchacha20(key, nonce16, out);
  },
  /** Poly1305 (RFC 8439 section 2.5) one-time MAC: 16-byte tag into out. */
  poly1305(key32: Uint8Array, message: Uint8Array, out: Uint8Array): void {
    requireNative('aead').poly1305(key32, message, out);
  },
  /**
   * Kernel the addon picked at load time: 'avx512' (ChaCha20 16 blocks in
   * AVX-512F/VL, Poly1305 4 lanes in AVX2), 'avx2' (ChaCha20 8 blocks, Poly1305
   * AVX2), 'neon' (AArch64, ChaCha20 4 blocks) or 'portable' (C, GCC vector
   * extensions). Every kernel gives the same bytes (docs/native.md).
   */
  isa(): string {
    return aeadIsaFns().isa();
  },
  /**
   * Forces a kernel ('auto' = the best this CPU runs) for tests and benches; a
   * kernel this CPU lacks gives 'portable'. Process-wide (all threads). Returns
   * the one in use. Throws ERR_INVALID_ARG_VALUE for an unknown name.
   */
  setIsa(name: 'auto' | 'avx512' | 'avx2' | 'neon' | 'portable'): string {
    return aeadIsaFns().setIsa(name);
  },
};

function aeadIsaFns(): { isa(): string; setIsa(name: string): string } {
  const a = requireNative('aead');
  if (!a.aeadIsa || !a.aeadSetIsa) throw new BackendUnavailableError('aead: the native addon predates the AEAD kernel choice (run `make native`)');
  return { isa: a.aeadIsa, setIsa: a.aeadSetIsa };
}

/**
 * Reed-Solomon arithmetic over GF(2^8), polynomial 0x11d (x^8+x^4+x^3+x^2+1),
 * matrix-agnostic: the caller (erasure.ts) builds the encoding or decoding matrix.
 */
export const nativeRs = {
  /**
   * outputs[r][b] = XOR over j of matrix[r*k + j] * inputs[j][b], for r < rows,
   * j < k = inputs.length, b < len (outputs overwritten). `matrix` is row-major,
   * rows*k bytes. Uses, chosen at run time, GFNI (GF2P8AFFINEQB with one 8x8
   * bit matrix per coefficient, Intel SDM; AVX-512 or AVX2 width), else AVX2/SSSE3
   * (PSHUFB) or NEON (TBL) split-nibble tables (Plank, Greenan, Miller, FAST'13),
   * scalar otherwise.
   * Throws when a shard is shorter than len or the matrix size is not rows*k.
   */
  encode(matrix: Uint8Array, rows: number, inputs: Uint8Array[], outputs: Uint8Array[], len: number): void {
    requireNative('erasure').rsEncode(matrix, rows, inputs, outputs, len);
  },
  /** Kernel the addon picked: 'gfni-avx512', 'gfni-avx2', 'avx2', 'ssse3', 'neon' or 'scalar'. */
  isa(): string {
    return requireNative('erasure').rsIsa();
  },
  /**
   * Forces a kernel ('gfni-avx512' needs GFNI + AVX-512F/BW, 'gfni-avx2' GFNI +
   * AVX2, 'avx2', 'ssse3', 'neon', 'scalar'; 'auto' = the best this CPU runs, in
   * that order) for tests and benches; an ISA this CPU lacks falls back to scalar.
   * Returns the one in use.
   */
  setIsa(name: 'auto' | 'gfni-avx512' | 'gfni-avx2' | 'avx2' | 'ssse3' | 'neon' | 'scalar'): string {
    return requireNative('erasure').rsSetIsa(name);
  },
};

/** Opaque handle of one native forward engine (an N-API external). */
export type NativeFibHandle = object;

/**
 * The forward kernel in C (native/src/fib4.c DIR-24-8, fib6.c Poptrie,
 * classify.c): the same structures, lookups, verdicts and memory figures as
 * the wasm kernel (docs/forward.md). One handle holds an IPv4 table, an IPv6
 * table and a local set in its own arena, unmapped when the handle is
 * collected. `addr` is a host-order u32; prefixes must have their host bits
 * clear; next hops 0..65535. Bad arguments throw (code ERR_INVALID_ARG_TYPE /
 * ERR_OUT_OF_RANGE); out of memory is a -1 return. Address batches, packets,
 * descriptors and verdicts are the caller's typed arrays, used in place.
 */
export const nativeForward = {
  /** True when the loaded addon has the forward kernel (addons built before it do not). */
  available(): boolean {
    return typeof nativeAddon()?.fwdCreate === 'function';
  },
  /** A new, empty engine. @throws BackendUnavailableError without the addon */
  create(): NativeFibHandle {
    const a = requireNative('forward');
    if (!a.fwdCreate) throw new BackendUnavailableError('forward: the native addon predates the forward kernel (run `make native`)');
    return a.fwdCreate();
  },
  /** Inserts or replaces addr/length -> nextHop: 0, or -1 out of memory (table unchanged). */
  v4Insert(h: NativeFibHandle, addr: number, length: number, nextHop: number): number {
    return requireNative('forward').fwdV4Insert(h, addr, length, nextHop);
  },
  /** Deletes addr/length; its entries take the covering route (coverNextHop -1: none). */
  v4Delete(h: NativeFibHandle, addr: number, length: number, coverNextHop: number, coverLength: number): void {
    requireNative('forward').fwdV4Delete(h, addr, length, coverNextHop, coverLength);
  },
  /** Longest-prefix match: next hop or -1. */
  v4Lookup(h: NativeFibHandle, addr: number): number {
    return requireNative('forward').fwdV4Lookup(h, addr);
  },
  /** `addrs`: >= count x 4 bytes network order; out[0..count) (must not overlap addrs). */
  v4LookupBatch(h: NativeFibHandle, addrs: Uint8Array, count: number, out: Int32Array): void {
    requireNative('forward').fwdV4LookupBatch(h, addrs, count, out);
  },
  /** 16 network-order bytes; isNew: the caller knows the prefix is absent. 0, or -1 out of memory. */
  v6Insert(h: NativeFibHandle, bytes: Uint8Array, length: number, nextHop: number, isNew: boolean): number {
    return requireNative('forward').fwdV6Insert(h, bytes, length, nextHop, isNew);
  },
  /** 1 deleted, 0 absent, -1 out of memory while rebuilding. */
  v6Delete(h: NativeFibHandle, bytes: Uint8Array, length: number): number {
    return requireNative('forward').fwdV6Delete(h, bytes, length);
  },
  v6Lookup(h: NativeFibHandle, bytes: Uint8Array): number {
    return requireNative('forward').fwdV6Lookup(h, bytes);
  },
  /** `addrs`: >= count x 16 bytes; out[0..count) (must not overlap addrs). */
  v6LookupBatch(h: NativeFibHandle, addrs: Uint8Array, count: number, out: Int32Array): void {
    requireNative('forward').fwdV6LookupBatch(h, addrs, count, out);
  },
  /** Bulk IPv6 update: rebuilds deferred to v6Commit. 0, or -1 out of memory. */
  v6Begin(h: NativeFibHandle): number {
    return requireNative('forward').fwdV6Begin(h);
  },
  v6Commit(h: NativeFibHandle): number {
    return requireNative('forward').fwdV6Commit(h);
  },
  /** Bytes of one family's tables (same accounting as the wasm kernel). */
  bytes(h: NativeFibHandle, family: 4 | 6): number {
    return requireNative('forward').fwdBytes(h, family);
  },
  /** Replaces the local set: n addresses (4 or 16 bytes each) and n prefix lengths; n <= 64. */
  setLocal(h: NativeFibHandle, family: 4 | 6, bytes: Uint8Array, lengths: Uint8Array): void {
    requireNative('forward').fwdSetLocal(h, family, bytes, lengths);
  },
  /**
   * Classifies descriptors 0..count-1 (offset, length pairs into `pool`) into
   * 8-byte verdicts (docs/forward.md), rewriting forwarded packets in place.
   */
  classify(h: NativeFibHandle, pool: Uint8Array, descriptors: Uint32Array, count: number, verdicts: Uint32Array): void {
    requireNative('forward').fwdClassify(h, pool, descriptors, count, verdicts);
  },
};

const hexOf = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const bytesOf = (h: string): Uint8Array => Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16)));

/**
 * Start-up self-test of the addon's kernels: the RFC 8439 section 2.8.2 AEAD
 * tag and a Reed-Solomon product checked against a scalar computation, plus
 * a quick AEAD throughput figure (about 50 ms). When the addon is not built it
 * reports `backend: 'none'`, ok, and the reason (native is optional).
 */
export function selfTest(): SelfTestResult {
  const a = nativeAddon();
  if (!a) return { kernel: 'native', backend: 'none', ok: true, figure: `not loaded: ${loadError}` };
  const pt = new TextEncoder().encode("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
  const out = new Uint8Array(pt.length + 16);
  a.aeadSeal(AEAD_CHACHA20POLY1305, bytesOf('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f'), bytesOf('070000004041424344454647'), pt, bytesOf('50515253c0c1c2c3c4c5c6c7'), out);
  let ok = hexOf(out.subarray(pt.length)) === '1ae10b594f09e26a7e902ecbd0600691';
  // GF(2^8): [2, 3] x [[0x80...], [0x01...]] = 2*0x80 ^ 3*0x01 = 0x1d ^ 0x03 = 0x1e (poly 0x11d)
  const rsOut = [new Uint8Array(40)];
  a.rsEncode(Uint8Array.of(2, 3), 1, [new Uint8Array(40).fill(0x80), new Uint8Array(40).fill(0x01)], rsOut, 40);
  ok = ok && rsOut[0].every((x) => x === 0x1e);
  const buf = new Uint8Array(1420 + 16);
  const key = new Uint8Array(32);
  const nonce = new Uint8Array(12);
  let n = 0;
  const start = process.hrtime.bigint();
  let ns = 0n;
  do {
    for (let i = 0; i < 64; i++) a.aeadSeal(AEAD_CHACHA20POLY1305, key, nonce, buf.subarray(0, 1420), null, buf);
    n += 64;
    ns = process.hrtime.bigint() - start;
  } while (ns < 50_000_000n);
  const mbps = (n * 1420) / (Number(ns) / 1e3);
  const aeadIsa = a.aeadIsa ? `, aead ${a.aeadIsa()}` : '';
  return { kernel: 'native', backend: `native (rs ${a.rsIsa()}${aeadIsa})`, ok, figure: `${mbps.toFixed(0)} MB/s aead 1420 B` };
}
