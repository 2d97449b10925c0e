/**
 * The forward kernel's engine interface: what a backend (wasm today, the N-API
 * addon later) implements below the `Fib` / `Classifier` API. One engine holds one
 * IPv4 FIB, one IPv6 FIB, the local-address set and a packet pool. The RIB
 * bookkeeping (which prefixes exist, covering prefixes for IPv4 deletes) stays in
 * TypeScript, so a backend only mirrors the data-plane structures.
 */
import { BackendUnavailableError, TfwError } from '../errors.js';
import { instantiateKernel, type ConcreteBackend } from './backend.js';

/** Thrown when a table cannot grow (linear memory exhausted); the table is unchanged for IPv4. */
export class ForwardMemoryError extends TfwError {
  constructor(what: string) {
    super('ERR_TFW_FORWARD_MEMORY', `forward: out of memory while ${what}`);
  }
}

export interface ForwardEngine {
  readonly backend: ConcreteBackend;
  /** Insert or replace; `addr` host-order u32 with host bits clear. */
  v4Insert(addr: number, length: number, nextHop: number): void;
  /** Delete; entries take the covering route (`coverNextHop` -1: none). */
  v4Delete(addr: number, length: number, coverNextHop: number, coverLength: number): void;
  v4Lookup(addr: number): number;
  /** `addrs`: count x 4 bytes network order; results into `out[0..count)`. */
  v4LookupBatch(addrs: Uint8Array, count: number, out: Int32Array): void;
  v4Bytes(): number;
  /** `bytes`: 16 network-order bytes, host bits clear. `isNew`: not present before. */
  v6Insert(bytes: Uint8Array, length: number, nextHop: number, isNew: boolean): void;
  v6Delete(bytes: Uint8Array, length: number): boolean;
  v6Lookup(bytes: Uint8Array): number;
  v6LookupBatch(addrs: Uint8Array, count: number, out: Int32Array): void;
  /** Bulk update: structure rebuilds deferred to v6Commit. */
  v6Begin(): void;
  v6Commit(): void;
  v6Bytes(): number;
  /** Local set: (network bytes, length) pairs; at most 64 per family. */
  setLocal4(entries: Array<{ bytes: Uint8Array; length: number }>): void;
  setLocal6(entries: Array<{ bytes: Uint8Array; length: number }>): void;
  /** Packet pool; views must be re-read after any table change (memory may move). */
  reservePool(poolBytes: number, maxPackets: number): void;
  poolView(): Uint8Array;
  descriptorView(): Uint32Array;
  verdictView(): Uint32Array;
  classify(count: number): void;
  /**
   * Classifies over a caller's packet pool (descriptors are offsets into
   * `pool`), for engines that can read memory they do not own (native only:
   * wasm reads its own linear memory). Absent = not supported.
   */
  classifyIn?(pool: Uint8Array, descriptors: Uint32Array, count: number, verdicts: Uint32Array): void;
}

type NativeFactory = () => ForwardEngine;
let nativeFactory: NativeFactory | undefined;
/** Called by the native addon's loader to provide the C engine. */
export function registerNativeForwardEngine(factory: NativeFactory): void {
  nativeFactory = factory;
}

/** Creates an engine for a resolved backend. @throws BackendUnavailableError */
export function createEngine(backend: ConcreteBackend): ForwardEngine {
  if (backend === 'native') {
    if (!nativeFactory) throw new BackendUnavailableError('forward: the native addon has no forward engine (use backend wasm)');
    return nativeFactory();
  }
  return new WasmForwardEngine(backend);
}

interface Exports {
  memory: WebAssembly.Memory;
  reserve(bytes: number): number;
  blockFree(p: number, bytes: number): void;
  v4Insert(ip: number, depth: number, nh: number): number;
  v4Delete(ip: number, depth: number, coverNh: number, coverDepth: number): void;
  v4LookupBatch(addrs: number, n: number, out: number): void;
  v4Bytes(): bigint;
  v6Insert(hi: bigint, lo: bigint, len: number, nh: number, isNew: number): number;
  v6Delete(hi: bigint, lo: bigint, len: number): number;
  v6LookupBatch(addrs: number, n: number, out: number): void;
  v6Begin(): number;
  v6Commit(): number;
  v6Bytes(): bigint;
  setLocal4(i: number, addr: number, mask: number, count: number): void;
  setLocal6(i: number, hi: bigint, lo: bigint, mhi: bigint, mlo: bigint, count: number): void;
  classify(pool: number, poolLen: number, desc: number, n: number, out: number): void;
}

const M64 = (1n << 64n) - 1n;
const mask6 = (length: number): [bigint, bigint] => {
  const m = length === 0 ? 0n : (((1n << BigInt(length)) - 1n) << BigInt(128 - length)) & ((1n << 128n) - 1n);
  return [m >> 64n, m & M64];
};

/** The AssemblyScript kernel (build/wasm/forward[-simd].wasm) as an engine. */
export class WasmForwardEngine implements ForwardEngine {
  readonly backend: ConcreteBackend;
  private readonly x: Exports;
  private buf: ArrayBuffer;
  private u8: Uint8Array;
  private i32: Int32Array;
  private dv: DataView;
  // Batch scratch (addresses in, results out), grown on demand and reused.
  private scratchIn = 0;
  private scratchOut = 0;
  private scratchCap = 0;
  // One 16-byte address slot for single lookups.
  private one = 0;
  private pool = 0;
  private poolBytes = 0;
  private desc = 0;
  private verdicts = 0;
  private maxPackets = 0;

  constructor(backend: 'wasm-simd' | 'wasm-scalar') {
    this.backend = backend;
    const exports = instantiateKernel('forward', backend).exports;
    // A WASI reactor build exports `_initialize` (run once before other exports;
    // empty for this kernel, so a second call by the loader is harmless).
    if (typeof exports._initialize === 'function') (exports._initialize as () => void)();
    this.x = exports as unknown as Exports;
    this.one = this.x.reserve(16);
    this.buf = this.x.memory.buffer;
    this.u8 = new Uint8Array(this.buf);
    this.i32 = new Int32Array(this.buf);
    this.dv = new DataView(this.buf);
  }

  private refresh(): void {
    if (this.buf !== this.x.memory.buffer) {
      this.buf = this.x.memory.buffer;
      this.u8 = new Uint8Array(this.buf);
      this.i32 = new Int32Array(this.buf);
      this.dv = new DataView(this.buf);
    }
  }

  private hilo(bytes: Uint8Array): [bigint, bigint] {
    this.refresh();
    this.u8.set(bytes, this.one);
    return [this.dv.getBigUint64(this.one, false), this.dv.getBigUint64(this.one + 8, false)];
  }

  private ensureScratch(count: number): void {
    if (count <= this.scratchCap) return;
    let cap = Math.max(1024, this.scratchCap);
    while (cap < count) cap *= 2;
    if (this.scratchCap) {
      this.x.blockFree(this.scratchIn, this.scratchCap * 16);
      this.x.blockFree(this.scratchOut, this.scratchCap * 4);
    }
    this.scratchIn = this.x.reserve(cap * 16);
    this.scratchOut = this.x.reserve(cap * 4);
    if (!this.scratchIn || !this.scratchOut) throw new ForwardMemoryError(`reserving a batch of ${count} addresses`);
    this.scratchCap = cap;
  }

  v4Insert(addr: number, length: number, nextHop: number): void {
    if (this.x.v4Insert(addr | 0, length, nextHop) < 0) throw new ForwardMemoryError('growing the IPv4 table');
  }
  v4Delete(addr: number, length: number, coverNextHop: number, coverLength: number): void {
    this.x.v4Delete(addr | 0, length, coverNextHop, coverLength);
  }
  v4Lookup(addr: number): number {
    this.refresh();
    this.dv.setUint32(this.one, addr >>> 0, false);
    this.x.v4LookupBatch(this.one, 1, this.one + 4);
    this.refresh();
    return this.dv.getInt32(this.one + 4, true);
  }
  v4LookupBatch(addrs: Uint8Array, count: number, out: Int32Array): void {
    this.batch(addrs, count, out, 4, this.x.v4LookupBatch);
  }
  private batch(addrs: Uint8Array, count: number, out: Int32Array, width: number, fn: (a: number, n: number, o: number) => void): void {
    this.ensureScratch(count);
    this.refresh();
    if (addrs.length === count * width) this.u8.set(addrs, this.scratchIn);
    else this.u8.set(addrs.subarray(0, count * width), this.scratchIn);
    fn(this.scratchIn, count, this.scratchOut);
    const i32 = this.i32;
    const base = this.scratchOut >> 2;
    for (let i = 0; i < count; i++) out[i] = i32[base + i];
  }
  v4Bytes(): number {
    return Number(this.x.v4Bytes());
  }
  v6Insert(bytes: Uint8Array, length: number, nextHop: number, isNew: boolean): void {
    const [hi, lo] = this.hilo(bytes);
    if (this.x.v6Insert(hi, lo, length, nextHop, isNew ? 1 : 0) < 0) throw new ForwardMemoryError('growing the IPv6 table');
  }
  v6Delete(bytes: Uint8Array, length: number): boolean {
    const [hi, lo] = this.hilo(bytes);
    const r = this.x.v6Delete(hi, lo, length);
    if (r < 0) throw new ForwardMemoryError('rebuilding the IPv6 table');
    return r === 1;
  }
  v6Lookup(bytes: Uint8Array): number {
    this.refresh();
    this.u8.set(bytes, this.one);
    this.x.v6LookupBatch(this.one, 1, this.one);
    this.refresh();
    return this.dv.getInt32(this.one, true);
  }
  v6LookupBatch(addrs: Uint8Array, count: number, out: Int32Array): void {
    this.batch(addrs, count, out, 16, this.x.v6LookupBatch);
  }
  v6Begin(): void {
    if (this.x.v6Begin() < 0) throw new ForwardMemoryError('creating the IPv6 table');
  }
  v6Commit(): void {
    if (this.x.v6Commit() < 0) throw new ForwardMemoryError('rebuilding the IPv6 table');
  }
  v6Bytes(): number {
    return Number(this.x.v6Bytes());
  }
  setLocal4(entries: Array<{ bytes: Uint8Array; length: number }>): void {
    if (entries.length === 0) this.x.setLocal4(0, 0, 0, 0);
    entries.forEach((e, i) => {
      const a = ((e.bytes[0] << 24) | (e.bytes[1] << 16) | (e.bytes[2] << 8) | e.bytes[3]) >>> 0;
      const m = e.length === 0 ? 0 : (0xffffffff << (32 - e.length)) >>> 0;
      this.x.setLocal4(i, a | 0, m | 0, entries.length);
    });
  }
  setLocal6(entries: Array<{ bytes: Uint8Array; length: number }>): void {
    if (entries.length === 0) this.x.setLocal6(0, 0n, 0n, 0n, 0n, 0);
    entries.forEach((e, i) => {
      const [hi, lo] = this.hilo(e.bytes);
      const [mhi, mlo] = mask6(e.length);
      this.x.setLocal6(i, BigInt.asIntN(64, hi), BigInt.asIntN(64, lo), BigInt.asIntN(64, mhi), BigInt.asIntN(64, mlo), entries.length);
    });
  }
  reservePool(poolBytes: number, maxPackets: number): void {
    this.pool = this.x.reserve(poolBytes);
    this.desc = this.x.reserve(maxPackets * 8);
    this.verdicts = this.x.reserve(maxPackets * 8);
    if (!this.pool || !this.desc || !this.verdicts) throw new ForwardMemoryError(`reserving a ${poolBytes}-byte packet pool`);
    this.poolBytes = poolBytes;
    this.maxPackets = maxPackets;
  }
  poolView(): Uint8Array {
    this.refresh();
    return new Uint8Array(this.buf, this.pool, this.poolBytes);
  }
  descriptorView(): Uint32Array {
    this.refresh();
    return new Uint32Array(this.buf, this.desc, this.maxPackets * 2);
  }
  verdictView(): Uint32Array {
    this.refresh();
    return new Uint32Array(this.buf, this.verdicts, this.maxPackets * 2);
  }
  classify(count: number): void {
    this.x.classify(this.pool, this.poolBytes, this.desc, count, this.verdicts);
  }
}
