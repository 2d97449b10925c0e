/**
 * The shape of a portable kernel benchmark run (`tfw bench --board ... --host`):
 * what the guest streams back line by line, what build/bench/run.json keeps and
 * what the report reads. Every figure keeps all its samples (one per timed
 * round), so a later reader can judge the spread, not only the best.
 */

/** Schema tag of build/bench/run.json; bumped when a field changes meaning. */
export const RUN_SCHEMA = 'tfw-bench-run/1';

export type KernelName = 'aead' | 'erasure' | 'forward';
export const KERNEL_NAMES: readonly KernelName[] = ['aead', 'erasure', 'forward'];

/** One implementation measured on one case. */
export interface BenchResult {
  kernel: KernelName;
  /** Row label: 'tfw wasm-simd', 'tfw native (neon)', 'node:crypto', 'JS baseline (...)'. */
  impl: string;
  /** tfw backend ('wasm-simd' | 'wasm-scalar' | 'native'), or null for a peer. */
  backend: string | null;
  /** The `impl` of the peer this case is compared with (same case, same target). */
  peer: string;
  /** Case label, unique within the kernel: '1420 B', 'encode (10,4) 64 KiB', 'ipv4 10k'. */
  case: string;
  /** Parameters of the case (bytes, shards, table size, ...), for the charts. */
  params: Record<string, number | string>;
  /** Unit of `samples`, `best` and `median`: bytes per second or lookups per second. */
  unit: 'B/s' | 'lookups/s';
  /** One figure per timed round, in `unit`, in the order measured. */
  samples: number[];
  /** Largest sample (the figure tables and charts show). */
  best: number;
  /** Median sample. */
  median: number;
}

/** The machine a target ran on (guest or host), as the guest itself sees it. */
export interface MachineInfo {
  arch: string;
  platform: string;
  node: string;
  v8: string;
  kernel: string;
  cpus: number;
  cpuModel: string;
  memMiB: number;
  /** tfw backends available there (wasm-simd, wasm-scalar, native). */
  backends: string[];
  /** The native kernels the addon picked ({ aead, erasure }), or the load error. */
  native: { aead?: string; erasure?: string; error?: string };
}

/** One place the suite ran: a QEMU guest or the host itself. */
export interface BenchTarget {
  /** 'qemu-arm64 (tcg)', 'host'. */
  label: string;
  kind: 'guest' | 'host';
  board: string | null;
  /** QEMU accelerator for guests ('tcg' | 'kvm'), null on the host. */
  accel: string | null;
  machine: MachineInfo | null;
  results: BenchResult[];
  /** Wall-clock seconds from boot (or process start) to the last result. */
  seconds: number;
  /** One line per problem (a kernel that failed, a malformed line); empty when all went well. */
  errors: string[];
}

/** build/bench/run.json. */
export interface BenchRun {
  schema: typeof RUN_SCHEMA;
  /** ISO time the run started. */
  startedAt: string;
  /** tfw version (package.json) and git commit (short, '-dirty' when the tree has changes). */
  version: string;
  commit: string;
  quick: boolean;
  kernels: KernelName[];
  /** The host that drove the run (where QEMU ran). */
  host: { arch: string; cpuModel: string; cpus: number; node: string; qemu: string | null };
  targets: BenchTarget[];
}

/** Events a suite run emits (the guest prints each as one `tfw: bench: {json}` line). */
export type SuiteEvent =
  | { type: 'hello'; machine: MachineInfo; quick: boolean; kernels: KernelName[] }
  | { type: 'progress'; kernel: KernelName; case: string; impl: string; step: string }
  | { type: 'result'; result: BenchResult }
  | { type: 'error'; kernel: KernelName; message: string }
  | { type: 'done'; results: number; seconds: number };

/** Builds a result from its samples (best and median derived). */
export function makeResult(r: Omit<BenchResult, 'best' | 'median'>): BenchResult {
  const sorted = [...r.samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length === 0 ? 0 : sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { ...r, best: sorted.length ? sorted[sorted.length - 1] : 0, median };
}

/** Ratio of `r.best` to its peer's best in `all` (same kernel and case), or null without a peer figure. */
export function ratioToPeer(r: BenchResult, all: BenchResult[]): number | null {
  const p = all.find((x) => x.kernel === r.kernel && x.case === r.case && x.impl === r.peer);
  return p && p.best > 0 ? r.best / p.best : null;
}
