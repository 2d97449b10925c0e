/**
 * Engines behind tfw/erasure: one interface, one implementation per backend
 * (after klauspost/reedsolomon's one-Encoder-many-engines layout). An engine
 * multiplies shards by a GF(2^8) coefficient matrix; the ReedSolomon class picks
 * the matrix. A native (N-API) engine registers itself with `registerNativeEngine`.
 */
import { Buffer } from 'node:buffer';
import { instantiateKernel, type ConcreteBackend } from './backend.js';
import { BackendUnavailableError } from '../errors.js';
import { gfMulTable } from './erasure-gf.js';

/** A rows x cols coefficient matrix, row-major. Engines may cache derived tables per object. */
export interface CodingMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly coeffs: Uint8Array;
}

export interface ErasureEngine {
  readonly backend: ConcreteBackend;
  /** Bytes of working memory the engine holds (wasm: its linear memory); constant across calls. */
  readonly memoryBytes: number;
  /**
   * outputs[o][0..size) = XOR over j of coeffs[o][j] * inputs[j][0..size) in GF(2^8).
   * inputs.length === m.cols, outputs.length === m.rows, every array >= size bytes
   * (validated by the caller); outputs are overwritten, inputs are not touched.
   */
  mulMatrix(m: CodingMatrix, inputs: readonly Uint8Array[], outputs: readonly Uint8Array[], size: number): void;
  /** True when every expected[o][0..size) equals the product; stops at the first mismatching chunk. */
  checkMatrix(m: CodingMatrix, inputs: readonly Uint8Array[], expected: readonly Uint8Array[], size: number): boolean;
}

/** Limits an engine is built for: at most `maxIn` inputs and `maxOut` outputs per call. */
export interface EngineShape {
  maxIn: number;
  maxOut: number;
  /** Bytes per shard per pass (multiple of 64); default sized so one pass fits in L2. */
  chunkBytes?: number;
}

type NativeFactory = (shape: EngineShape) => ErasureEngine;
let nativeFactory: NativeFactory | undefined;
/** Lets the native addon plug in its engine (same contract, byte-identical output). */
export function registerNativeEngine(factory: NativeFactory): void {
  nativeFactory = factory;
}

/** Creates the engine for a concrete backend. @throws BackendUnavailableError */
export function createEngine(backend: ConcreteBackend, shape: EngineShape): ErasureEngine {
  if (backend === 'native') {
    if (!nativeFactory) throw new BackendUnavailableError('erasure: the native addon has no erasure engine');
    return nativeFactory(shape);
  }
  return new WasmEngine(backend, shape);
}

/** About 256 KiB of inputs + outputs per pass: stays in L2 on the machines we target. */
export function defaultChunkBytes(shards: number): number {
  const c = Math.floor((256 * 1024) / shards) & ~63;
  return Math.min(32768, Math.max(1024, c));
}

interface KernelExports {
  memory: WebAssembly.Memory;
  reserve(bytes: number): number;
  setMulTable(ptr: number): void;
  mulMatrix(tab: number, inBase: number, nIn: number, outBase: number, nOut: number, stride: number, len: number): void;
}

/**
 * wasm/erasure on one private instance. Memory is reserved once at construction
 * (tables, maxIn input rows then maxOut output rows of chunkBytes each); shards
 * are copied through it chunk by chunk, so memory never grows per call. Rows sit
 * `stride` = chunkBytes + 64 bytes apart: with a power-of-two stride every row's
 * n-th byte would fall in the same L1 set, and 14 rows overflow its 8 ways.
 */
class WasmEngine implements ErasureEngine {
  readonly backend: ConcreteBackend;
  private readonly k: KernelExports;
  private readonly simd: boolean;
  private readonly chunk: number;
  private readonly stride: number;
  private readonly tab: number;
  private readonly inBase: number;
  private readonly outBase: number;
  private mem: Uint8Array;
  private loaded: CodingMatrix | undefined;
  private readonly tables = new WeakMap<CodingMatrix, Uint8Array>();

  constructor(backend: 'wasm-simd' | 'wasm-scalar', shape: EngineShape) {
    this.backend = backend;
    this.simd = backend === 'wasm-simd';
    this.k = instantiateKernel('erasure', backend).exports as unknown as KernelExports;
    this.chunk = shape.chunkBytes ?? defaultChunkBytes(shape.maxIn + shape.maxOut);
    const tabBytes = shape.maxIn * shape.maxOut * (this.simd ? 32 : 1);
    this.tab = this.k.reserve(tabBytes + 64) >>> 0;
    this.stride = this.chunk + 64;
    this.inBase = this.k.reserve((shape.maxIn + shape.maxOut) * this.stride) >>> 0;
    this.outBase = this.inBase + shape.maxIn * this.stride;
    this.mem = new Uint8Array(this.k.memory.buffer);
    if (!this.simd) {
      const mul = this.k.reserve(65536) >>> 0;
      this.view().set(gfMulTable(), mul);
      this.k.setMulTable(mul);
    }
  }

  get memoryBytes(): number {
    return this.k.memory.buffer.byteLength;
  }

  private view(): Uint8Array {
    if (this.mem.buffer !== this.k.memory.buffer) this.mem = new Uint8Array(this.k.memory.buffer);
    return this.mem;
  }

  /** SIMD: 32-byte nibble tables per coefficient (lo[x] = c*x, hi[x] = c*(x<<4)); scalar: the bytes. */
  private load(m: CodingMatrix): void {
    if (this.loaded === m) return;
    let t = this.tables.get(m);
    if (!t) {
      if (this.simd) {
        const mul = gfMulTable();
        t = new Uint8Array(m.coeffs.length * 32);
        for (let i = 0; i < m.coeffs.length; i++) {
          const row = m.coeffs[i] * 256;
          for (let x = 0; x < 16; x++) {
            t[i * 32 + x] = mul[row + x];
            t[i * 32 + 16 + x] = mul[row + (x << 4)];
          }
        }
      } else {
        t = m.coeffs;
      }
      this.tables.set(m, t);
    }
    this.view().set(t, this.tab);
    this.loaded = m;
  }

  /** Runs one chunk [off, off+len) through the kernel; the products are at outBase + o*stride. */
  private pass(m: CodingMatrix, inputs: readonly Uint8Array[], off: number, len: number): Uint8Array {
    const mem = this.view();
    for (let j = 0; j < m.cols; j++) mem.set(inputs[j].subarray(off, off + len), this.inBase + j * this.stride);
    this.k.mulMatrix(this.tab, this.inBase, m.cols, this.outBase, m.rows, this.stride, len);
    return mem;
  }

  mulMatrix(m: CodingMatrix, inputs: readonly Uint8Array[], outputs: readonly Uint8Array[], size: number): void {
    this.load(m);
    for (let off = 0; off < size; off += this.chunk) {
      const len = Math.min(this.chunk, size - off);
      const mem = this.pass(m, inputs, off, len);
      for (let o = 0; o < m.rows; o++) {
        const p = this.outBase + o * this.stride;
        outputs[o].set(mem.subarray(p, p + len), off);
      }
    }
  }

  checkMatrix(m: CodingMatrix, inputs: readonly Uint8Array[], expected: readonly Uint8Array[], size: number): boolean {
    this.load(m);
    for (let off = 0; off < size; off += this.chunk) {
      const len = Math.min(this.chunk, size - off);
      const mem = this.pass(m, inputs, off, len);
      for (let o = 0; o < m.rows; o++) {
        const got = Buffer.from(mem.buffer, mem.byteOffset + this.outBase + o * this.stride, len);
        const want = expected[o];
        if (!got.equals(want.subarray(off, off + len))) return false;
      }
    }
    return true;
  }
}
