/**
 * tfw/erasure: systematic Reed-Solomon erasure coding over GF(2^8), shard for
 * shard interoperable with klauspost/reedsolomon's default `reedsolomon.New(k, m)`
 * (and Backblaze JavaReedSolomon, Rust reed-solomon-erasure): same field (0x11d),
 * same Vandermonde-derived systematic matrix, so parity bytes are identical.
 *
 * Shards are `Uint8Array`s of equal length, data shards first then parity shards;
 * a missing shard is `null`. The data loops run in wasm/erasure (split-nibble SIMD,
 * Plank et al., FAST'13, or a scalar product-table build), behind the engine
 * interface of erasure-engine.ts. No method leaves shards half-written: inputs are
 * validated before anything is written, and new shards are attached only when
 * complete.
 */
import { Buffer } from 'node:buffer';
import { registerCalibration, resolveBackend, type BackendOptions, type ConcreteBackend } from './backend.js';
import { createEngine, type CodingMatrix, type ErasureEngine } from './erasure-engine.js';
import './erasure-native.js'; // registers the native engine (used only when the addon loads)
import { ShardCountError, ShardSizeError, ShortDataError, TooFewShardsError } from './erasure-errors.js';
import { encodingMatrix, matInvert, matMul } from './erasure-gf.js';
import { bytesArg, isDetached } from './args.js';
import { ArgumentRangeError } from '../errors.js';
import type { SelfTestResult } from '../selftest.js';

export { ShardCountError, ShardSizeError, ShortDataError, TooFewShardsError } from './erasure-errors.js';
export type { CodingMatrix, ErasureEngine } from './erasure-engine.js';
export { registerNativeEngine } from './erasure-engine.js';

/** A shard set: k data shards then m parity shards; `null` marks a missing shard. */
export type Shards = Array<Uint8Array | null>;

export interface ReedSolomonOptions extends BackendOptions {
  /** Bytes per shard copied into the engine per pass (multiple of 64, 1 KiB..1 MiB); default fits one pass in L2. */
  chunkBytes?: number;
}

/** Decode matrices kept per erasure pattern (least recently used dropped first). */
const DECODE_CACHE_SIZE = 32;

export class ReedSolomon {
  /** k: number of data shards. */
  readonly dataShards: number;
  /** m: number of parity shards. */
  readonly parityShards: number;
  /** k + m. */
  readonly totalShards: number;
  /** The engine running the data loops: 'wasm-simd', 'wasm-scalar' or 'native'. */
  readonly backend: ConcreteBackend;
  private readonly engine: ErasureEngine;
  /** (k+m) x k systematic encoding matrix. */
  private readonly matrix: Uint8Array;
  private readonly parity: CodingMatrix;
  private readonly decodeCache = new Map<string, CodingMatrix>();

  /**
   * @param dataShards   k, 1 <= k
   * @param parityShards m, 1 <= m, k + m <= 256
   * @throws RangeError for k or m out of range or `chunkBytes` not a multiple of 64
   *         in [1 KiB, 1 MiB]; BackendUnavailableError when the backend cannot load.
   */
  constructor(dataShards: number, parityShards: number, options: ReedSolomonOptions = {}) {
    if (!Number.isInteger(dataShards) || dataShards < 1 || dataShards > 255) {
      throw new ArgumentRangeError(`dataShards: expected an integer in [1, 255], got ${dataShards}`);
    }
    if (!Number.isInteger(parityShards) || parityShards < 1 || dataShards + parityShards > 256) {
      throw new ArgumentRangeError(`parityShards: expected an integer >= 1 with dataShards + parityShards <= 256, got ${parityShards} (dataShards ${dataShards})`);
    }
    const chunk = options.chunkBytes;
    if (chunk !== undefined && (!Number.isInteger(chunk) || chunk % 64 !== 0 || chunk < 1024 || chunk > 1 << 20)) {
      throw new ArgumentRangeError(`chunkBytes: expected a multiple of 64 in [1024, 1048576], got ${chunk}`);
    }
    this.dataShards = dataShards;
    this.parityShards = parityShards;
    this.totalShards = dataShards + parityShards;
    this.backend = resolveBackend(options, 'erasure');
    this.engine = createEngine(this.backend, { maxIn: dataShards, maxOut: parityShards, chunkBytes: chunk });
    this.matrix = encodingMatrix(dataShards, parityShards);
    this.parity = { rows: parityShards, cols: dataShards, coeffs: this.matrix.slice(dataShards * dataShards) };
  }

  /**
   * Computes the m parity shards from the k data shards, in place. A `null` parity
   * entry is replaced by a new shard of the data shards' length.
   * @throws ShardCountError when shards.length !== k + m; ShardSizeError when a data
   *         shard is missing, empty, or any shard's length differs from shards[0]'s.
   */
  encode(shards: Shards): void {
    const size = this.checkShards(shards, 'encode');
    for (let i = 0; i < this.dataShards; i++) {
      if (!shards[i]) throw new ShardSizeError(i, 'data shard missing (null); encode needs every data shard');
    }
    const outputs = shards.slice(this.dataShards).map((s) => s ?? new Uint8Array(size));
    this.engine.mulMatrix(this.parity, shards.slice(0, this.dataShards) as Uint8Array[], outputs, size);
    for (let p = 0; p < this.parityShards; p++) shards[this.dataShards + p] = outputs[p];
  }

  /**
   * True when the parity shards match the data shards (any changed byte in any
   * shard makes it false). Needs every shard.
   * @throws ShardCountError, ShardSizeError (a shard missing, empty or of another length)
   */
  verify(shards: Shards): boolean {
    const size = this.checkShards(shards, 'verify');
    for (let i = 0; i < this.totalShards; i++) {
      if (!shards[i]) throw new ShardSizeError(i, 'missing (null); verify needs every shard');
    }
    const all = shards as Uint8Array[];
    return this.engine.checkMatrix(this.parity, all.slice(0, this.dataShards), all.slice(this.dataShards), size);
  }

  /**
   * Recreates every missing (`null`) shard, data and parity, from any k present ones.
   * @throws TooFewShardsError when fewer than k shards are present; ShardCountError,
   *         ShardSizeError (present shards differ in length or are empty). Nothing is
   *         written when it throws.
   */
  reconstruct(shards: Shards): void {
    this.rebuild(shards, false);
  }

  /** As `reconstruct`, but recreates only the missing data shards (parity stays `null`). */
  reconstructData(shards: Shards): void {
    this.rebuild(shards, true);
  }

  /**
   * Splits `data` into k data shards of ceil(len / k) bytes (the last padded with
   * zeros) plus m zeroed parity shards, ready for `encode` (klauspost's Split).
   * The shards are views of one new buffer; `data` is copied, not aliased.
   * @throws ShortDataError when data is empty
   */
  split(data: Uint8Array): Uint8Array[] {
    bytesArg('data', data);
    if (data.length === 0) throw new ShortDataError('data: 0 bytes, expected at least 1 byte to split');
    const per = Math.ceil(data.length / this.dataShards);
    const buf = new Uint8Array(per * this.totalShards);
    buf.set(data);
    const out: Uint8Array[] = [];
    for (let i = 0; i < this.totalShards; i++) out.push(buf.subarray(i * per, (i + 1) * per));
    return out;
  }

  /**
   * Concatenates the data shards and returns the first `size` bytes (klauspost's Join).
   * @throws ShardCountError when fewer than k shards are given; ShardSizeError when a
   *         needed data shard is null (call reconstructData first); ShortDataError
   *         when the data shards hold fewer than `size` bytes; RangeError for a bad size.
   */
  join(shards: Shards, size: number): Uint8Array {
    if (!Array.isArray(shards) || shards.length < this.dataShards) {
      throw new ShardCountError(`shards: ${Array.isArray(shards) ? shards.length : typeof shards} given, expected at least ${this.dataShards} (the data shards)`);
    }
    if (!Number.isSafeInteger(size) || size < 0) throw new ArgumentRangeError(`size: expected a non-negative integer, got ${size}`);
    const out = new Uint8Array(size);
    let have = 0;
    for (let i = 0; i < this.dataShards && have < size; i++) {
      const s = shards[i];
      if (!s) throw new ShardSizeError(i, 'data shard missing (null); call reconstructData first');
      const n = Math.min(s.length, size - have);
      out.set(s.subarray(0, n), have);
      have += n;
    }
    if (have < size) throw new ShortDataError(`size: ${size} bytes asked, the data shards hold only ${have}`);
    return out;
  }

  /** Validates the array and the present shards; returns the common shard length. */
  private checkShards(shards: Shards, op: string): number {
    if (!Array.isArray(shards) || shards.length !== this.totalShards) {
      throw new ShardCountError(
        `${op}: shards: expected an array of ${this.totalShards} shards (${this.dataShards} data + ${this.parityShards} parity), got ${Array.isArray(shards) ? shards.length : typeof shards}`,
      );
    }
    let size = -1;
    let first = -1;
    for (let i = 0; i < shards.length; i++) {
      const s = shards[i];
      if (s === null || s === undefined) continue;
      if (!(s instanceof Uint8Array)) throw new ShardSizeError(i, `expected a Uint8Array or null, got ${typeof s}`);
      if (s.length === 0) throw new ShardSizeError(i, isDetached(s) ? 'its ArrayBuffer is detached; expected a live Uint8Array' : 'empty (0 bytes); shards need at least 1 byte');
      if (size < 0) {
        size = s.length;
        first = i;
      } else if (s.length !== size) {
        throw new ShardSizeError(i, `length ${s.length} bytes differs from shards[${first}] (${size} bytes)`);
      }
    }
    if (size < 0) throw new TooFewShardsError(0, this.dataShards, `${op}: shards`);
    return size;
  }

  private rebuild(shards: Shards, dataOnly: boolean): void {
    const op = dataOnly ? 'reconstructData' : 'reconstruct';
    const size = this.checkShards(shards, op);
    const valid: number[] = [];
    const targets: number[] = [];
    for (let i = 0; i < this.totalShards; i++) {
      if (shards[i]) {
        if (valid.length < this.dataShards) valid.push(i);
      } else if (!dataOnly || i < this.dataShards) {
        targets.push(i);
      }
    }
    if (targets.length === 0) return;
    const present = shards.reduce((n, s) => n + (s ? 1 : 0), 0);
    if (valid.length < this.dataShards) throw new TooFewShardsError(present, this.dataShards, `${op}: shards`);
    const m = this.decodeMatrix(valid, targets);
    const outputs = targets.map(() => new Uint8Array(size));
    this.engine.mulMatrix(m, valid.map((i) => shards[i] as Uint8Array), outputs, size);
    targets.forEach((t, n) => (shards[t] = outputs[n]));
  }

  /**
   * Rows producing the `targets` shards from the `valid` ones: with D the inverse
   * of the encoding matrix's `valid` rows, data shard t is row t of D and parity
   * shard t is (encoding row t) x D. Cached per pattern (LRU).
   */
  private decodeMatrix(valid: number[], targets: number[]): CodingMatrix {
    const key = `${valid.join(',')}|${targets.join(',')}`;
    const hit = this.decodeCache.get(key);
    if (hit) {
      this.decodeCache.delete(key);
      this.decodeCache.set(key, hit);
      return hit;
    }
    const k = this.dataShards;
    const sub = new Uint8Array(k * k);
    valid.forEach((r, i) => sub.set(this.matrix.subarray(r * k, r * k + k), i * k));
    const inv = matInvert(sub, k);
    const coeffs = new Uint8Array(targets.length * k);
    targets.forEach((t, n) => {
      const row = t < k ? inv.subarray(t * k, t * k + k) : matMul(this.matrix.subarray(t * k, t * k + k), 1, k, inv, k);
      coeffs.set(row, n * k);
    });
    const m: CodingMatrix = { rows: targets.length, cols: k, coeffs };
    this.decodeCache.set(key, m);
    if (this.decodeCache.size > DECODE_CACHE_SIZE) this.decodeCache.delete(this.decodeCache.keys().next().value as string);
    return m;
  }
}

/** xorshift32 (Marsaglia 2003) as little-endian words: the input stream of test/vectors/erasure/gen.go. */
export function xorshift32Bytes(seed: number, out: Uint8Array): number {
  let x = seed >>> 0;
  for (let i = 0; i < out.length; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    for (let j = 0; j < 4 && i + j < out.length; j++) out[i + j] = (x >>> (8 * j)) & 0xff;
  }
  return x;
}

/**
 * Known-answer check on the chosen backend: (4,2) with 16-byte shards against
 * klauspost/reedsolomon's parity (test/vectors/erasure), then a ~100 ms (10,4)
 * encode of 64 KiB shards for a GB/s figure (input bytes per second).
 */
export function selfTest(options: ReedSolomonOptions = {}): SelfTestResult {
  const rs = new ReedSolomon(4, 2, options);
  const shards: Shards = [];
  let seed = 2654451607;
  for (let i = 0; i < 4; i++) {
    const s = new Uint8Array(16);
    seed = xorshift32Bytes(seed, s);
    shards.push(s);
  }
  shards.push(null, null);
  rs.encode(shards);
  const hex = (b: Uint8Array | null) => (b ? Buffer.from(b).toString('hex') : '');
  let ok = hex(shards[4]) === '4b85c7e1476b9efebb12636b936f7081' && hex(shards[5]) === '5e5bb3f30d91f41ed9ad0c2239e36924';
  const big = new ReedSolomon(10, 4, options);
  const size = 65536;
  const set: Shards = [];
  for (let i = 0; i < 14; i++) set.push(new Uint8Array(size).fill(i * 37 + 1));
  // ~60 ms warm-up lets V8 tier the kernel up from its baseline compiler, then ~40 ms timed.
  const run = (ms: number) => {
    let n = 0;
    const start = process.hrtime.bigint();
    let ns = 0;
    do {
      big.encode(set);
      n++;
      ns = Number(process.hrtime.bigint() - start);
    } while (ns < ms * 1e6);
    return { n, ns };
  };
  run(60);
  const { n, ns } = run(40);
  ok = ok && big.verify(set);
  const gbps = (n * 10 * size) / ns;
  return { kernel: 'erasure', backend: rs.backend, ok, figure: `${gbps.toFixed(2)} GB/s (10,4) encode` };
}

// `auto` calibration job: encode one (4,2) stripe of 16 KiB shards.
const calibrationCodecs = new Map<ConcreteBackend, { rs: ReedSolomon; shards: Uint8Array[] }>();
registerCalibration('erasure', (backend) => {
  let c = calibrationCodecs.get(backend);
  if (!c) {
    c = { rs: new ReedSolomon(4, 2, { backend }), shards: Array.from({ length: 6 }, (_, i) => new Uint8Array(16384).fill(i + 1)) };
    calibrationCodecs.set(backend, c);
  }
  c.rs.encode(c.shards);
});
