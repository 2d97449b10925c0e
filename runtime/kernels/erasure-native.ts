/**
 * The `native` erasure engine: the N-API addon's GF(2^8) matrix product
 * (runtime/kernels/native.ts; GFNI bit matrices, or AVX2/SSSE3/NEON split-nibble
 * tables, chosen at run time) behind the ErasureEngine contract. The addon reads and writes the
 * caller's shards in place, so there is no copy into wasm memory; verification
 * recomputes into scratch buffers of one chunk per output, allocated once.
 */
import { Buffer } from 'node:buffer';
import { defaultChunkBytes, registerNativeEngine, type CodingMatrix, type EngineShape, type ErasureEngine } from './erasure-engine.js';
import { nativeRs } from './native.js';

class NativeErasureEngine implements ErasureEngine {
  readonly backend = 'native' as const;
  readonly memoryBytes: number;
  private readonly chunk: number;
  private readonly scratch: Uint8Array[];

  constructor(shape: EngineShape) {
    this.chunk = shape.chunkBytes ?? defaultChunkBytes(shape.maxIn + shape.maxOut);
    this.scratch = Array.from({ length: shape.maxOut }, () => new Uint8Array(this.chunk));
    this.memoryBytes = shape.maxOut * this.chunk;
  }

  mulMatrix(m: CodingMatrix, inputs: readonly Uint8Array[], outputs: readonly Uint8Array[], size: number): void {
    nativeRs.encode(m.coeffs, m.rows, inputs as Uint8Array[], outputs as Uint8Array[], size);
  }

  checkMatrix(m: CodingMatrix, inputs: readonly Uint8Array[], expected: readonly Uint8Array[], size: number): boolean {
    const outs = this.scratch.slice(0, m.rows);
    for (let off = 0; off < size; off += this.chunk) {
      const len = Math.min(this.chunk, size - off);
      nativeRs.encode(m.coeffs, m.rows, inputs.map((s) => s.subarray(off, off + len)), outs, len);
      for (let o = 0; o < m.rows; o++) {
        const got = Buffer.from(outs[o].buffer, outs[o].byteOffset, len);
        if (!got.equals(expected[o].subarray(off, off + len))) return false;
      }
    }
    return true;
  }
}

registerNativeEngine((shape) => new NativeErasureEngine(shape));
