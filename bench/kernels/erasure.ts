/**
 * Portable Reed-Solomon benchmark (host and QEMU guests): encode of k data
 * shards into m parity shards for several (k,m) and shard sizes, through tfw's
 * ReedSolomon on every backend this machine has, against a JS baseline: the
 * loop a JavaScript user writes first (one 64 KiB GF(2^8) product table,
 * `out[b] ^= mul[c][in[b]]`, runtime/kernels/erasure-gf.ts's matrix and table).
 * Figures are input bytes (k x shard size) per second. Before timing, every
 * tfw backend's parity is checked byte for byte against the baseline's.
 * The host-only peers (klauspost in Go, the Rust wasm package) stay in
 * bench/erasure.bench.ts.
 */
import { availableBackends } from '../../runtime/kernels/backend.js';
import { ReedSolomon } from '../../runtime/kernels/erasure.js';
import { encodingMatrix, gfMulTable } from '../../runtime/kernels/erasure-gf.js';
import { measureInterleaved, type Cell, type MeasureOptions } from './measure.js';
import { makeResult, type SuiteEvent } from './result.js';

export const ERASURE_PEER = 'JS baseline (product table)';

export interface ErasureShape {
  k: number;
  m: number;
  /** Shard size in bytes. */
  size: number;
}

const KIB = 1024;
/** Quick runs: one small shape; full runs: (k,m) x shard size. */
export const ERASURE_SHAPES: { quick: ErasureShape[]; full: ErasureShape[] } = {
  quick: [{ k: 10, m: 4, size: 16 * KIB }],
  full: [[4, 2], [10, 4], [16, 4]].flatMap(([k, m]) => [4 * KIB, 64 * KIB, 1024 * KIB].map((size) => ({ k, m, size }))),
};

/** '4 KiB', '1 MiB'. */
export const sizeLabel = (n: number): string => (n >= 1 << 20 ? `${n / (1 << 20)} MiB` : n >= 1024 ? `${n / 1024} KiB` : `${n} B`);

/** The JS baseline: parity[r] = XOR_j mul[matrix[k+r][j]][data[j]], byte by byte. */
export function jsEncode(k: number, m: number, data: Uint8Array[], parity: Uint8Array[]): void {
  const mul = gfMulTable();
  const matrix = encodingMatrix(k, m);
  const size = data[0].length;
  for (let r = 0; r < m; r++) {
    const out = parity[r];
    out.fill(0);
    for (let j = 0; j < k; j++) {
      const row = matrix[(k + r) * k + j] * 256;
      const input = data[j];
      for (let b = 0; b < size; b++) out[b] ^= mul[row + input[b]];
    }
  }
}

function shards(n: number, size: number, seed: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const s = new Uint8Array(size);
    for (let x = 0; x < size; x++) s[x] = (i * 131 + x * 7 + seed) & 0xff;
    out.push(s);
  }
  return out;
}

/**
 * Runs encode for each shape and emits one `result` per implementation and
 * shape (bytes of data shards per second).
 * @throws Error when a tfw backend's parity differs from the JS baseline's
 */
export function runErasure(shapes: ErasureShape[], o: MeasureOptions, emit: (e: SuiteEvent) => void): void {
  for (const { k, m, size } of shapes) {
    const label = `encode (${k},${m}) ${sizeLabel(size)}`;
    const data = shards(k, size, 1);
    const want = shards(m, size, 0);
    jsEncode(k, m, data, want);
    const cells: Cell[] = [];
    for (const backend of availableBackends()) {
      const rs = new ReedSolomon(k, m, { backend });
      const all: Array<Uint8Array | null> = [...data.map((d) => d.slice()), ...shards(m, size, 0)];
      rs.encode(all);
      for (let r = 0; r < m; r++) {
        if (Buffer.compare(Buffer.from(all[k + r]!), Buffer.from(want[r])) !== 0) {
          throw new Error(`erasure: tfw ${backend} parity shard ${r} of ${label} differs from the JS baseline`);
        }
      }
      cells.push({ impl: `tfw ${backend}`, backend, units: k * size, fn: () => rs.encode(all) });
    }
    const parity = shards(m, size, 0);
    cells.push({ impl: ERASURE_PEER, backend: null, units: k * size, fn: () => jsEncode(k, m, data, parity) });
    const samples = measureInterleaved(cells, o, (c, step) => emit({ type: 'progress', kernel: 'erasure', case: label, impl: c.impl, step }));
    cells.forEach((c, i) => {
      emit({
        type: 'result',
        result: makeResult({ kernel: 'erasure', impl: c.impl, backend: c.backend, peer: ERASURE_PEER, case: label, params: { op: 'encode', k, m, size }, unit: 'B/s', samples: samples[i] }),
      });
    });
  }
}
