/** Shared pieces of the erasure tests: backends under test and a plain reference encoder. */
import { availableBackends } from '../../../runtime/kernels/backend.js';
import '../../../runtime/kernels/erasure.js'; // registers the native engine when the addon loads
import { encodingMatrix, gfMulTable } from '../../../runtime/kernels/erasure-gf.js';
import type { Shards } from '../../../runtime/kernels/erasure.js';

/** The backends runnable here, native included when the addon is built (the suite runs once per backend). */
export const BACKENDS = availableBackends();

/**
 * Parity by the textbook definition, one byte at a time with the product table:
 * parity[p][x] = XOR over j of E[k+p][j] * data[j][x]. Independent of the wasm loops.
 */
export function referenceParity(k: number, m: number, data: Uint8Array[]): Uint8Array[] {
  const e = encodingMatrix(k, m);
  const mul = gfMulTable();
  const size = data[0].length;
  const out: Uint8Array[] = [];
  for (let p = 0; p < m; p++) {
    const o = new Uint8Array(size);
    for (let j = 0; j < k; j++) {
      const row = e[(k + p) * k + j] * 256;
      if (row === 0) continue;
      const d = data[j];
      for (let x = 0; x < size; x++) o[x] ^= mul[row + d[x]];
    }
    out.push(o);
  }
  return out;
}

/** k data shards of `size` bytes from a PRNG plus m null parity slots. */
export function makeShards(k: number, m: number, size: number, bytes: (n: number) => Uint8Array): Shards {
  const s: Shards = [];
  for (let i = 0; i < k; i++) s.push(bytes(size));
  for (let i = 0; i < m; i++) s.push(null);
  return s;
}

export const clone = (s: Shards): Shards => s.map((x) => (x ? x.slice() : null));

/** Every subset of {0..n-1} with 1..max members. */
export function* subsets(n: number, max: number): Generator<number[]> {
  const rec = function* (start: number, acc: number[]): Generator<number[]> {
    if (acc.length > 0) yield acc.slice();
    if (acc.length === max) return;
    for (let i = start; i < n; i++) {
      acc.push(i);
      yield* rec(i + 1, acc);
      acc.pop();
    }
  };
  yield* rec(0, []);
}
