/**
 * Benchmark helpers. Figures are reported as ratios against a peer measured in
 * the same run (these machines are shared and noisy), never as absolute pass/fail.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { callsPerSecond } from './kernels/measure.js';

export interface Sample {
  /** Row label, e.g. 'tfw wasm-simd batch'. */
  name: string;
  /** Column group, e.g. '1420 B'. */
  case: string;
  /** Operations per second (operation = what `unit` says). */
  opsPerSec: number;
  /** Bytes processed per second, when meaningful. */
  bytesPerSec?: number;
  /** Extra fields for the JSON output. */
  extra?: Record<string, unknown>;
}

/**
 * Runs `fn` repeatedly for at least `minMs` milliseconds per round (after
 * `warmupMs` of warm-up) and returns calls per second of every round, in order
 * (the raw samples the JSON output keeps).
 */
export function timeItRounds(fn: () => void, { minMs = 300, warmupMs = 100, rounds = 3 } = {}): number[] {
  const run = (ms: number) => callsPerSecond(fn, ms);
  run(warmupMs);
  const out: number[] = [];
  for (let r = 0; r < rounds; r++) out.push(run(minMs));
  return out;
}

/** The best round of timeItRounds: calls per second. */
export function timeIt(fn: () => void, opts: { minMs?: number; warmupMs?: number; rounds?: number } = {}): number {
  return Math.max(...timeItRounds(fn, opts));
}

/** One progress line on stderr while a benchmark runs: `tfw: bench: <message>`. */
export function progress(message: string): void {
  process.stderr.write(`tfw: bench: ${message}\n`);
}

/**
 * Calls per second of this process's CPU time (user + system) of `fn`, run for
 * at least `minMs` of CPU time: on a shared, loaded machine it leaves out the
 * time the process spends descheduled (peers that run on the main thread stay
 * comparable).
 */
export function perCpuSecond(fn: () => void, minMs: number): number {
  const start = process.cpuUsage();
  let calls = 0;
  let us = 0;
  do {
    fn();
    calls++;
    const u = process.cpuUsage(start);
    us = u.user + u.system;
  } while (us < minMs * 1000);
  return calls / (us / 1e6);
}

/** Async variant of timeIt for peers with promise APIs. */
export async function timeItAsync(fn: () => Promise<void>, { minMs = 300, warmupMs = 100, rounds = 3 } = {}): Promise<number> {
  const run = async (ms: number) => {
    let calls = 0;
    const start = process.hrtime.bigint();
    const limit = BigInt(Math.round(ms * 1e6));
    let elapsed = 0n;
    do {
      await fn();
      calls++;
      elapsed = process.hrtime.bigint() - start;
    } while (elapsed < limit);
    return calls / (Number(elapsed) / 1e9);
  };
  await run(warmupMs);
  let best = 0;
  for (let r = 0; r < rounds; r++) best = Math.max(best, await run(minMs));
  return best;
}

const fmt = (n: number, digits = 3) => (n >= 1000 ? n.toFixed(0) : n.toPrecision(digits));

/**
 * Prints a table: one row per sample name, one column per case, each cell the
 * figure chosen by `metric` and its ratio to the `baseline` row of the same case.
 */
export function printTable(
  title: string,
  samples: Sample[],
  { baseline, metric = 'bytesPerSec', unit = 'MB/s', scale = 1e-6 }: { baseline: string; metric?: 'bytesPerSec' | 'opsPerSec'; unit?: string; scale?: number },
): string {
  const cases = [...new Set(samples.map((s) => s.case))];
  const names = [...new Set(samples.map((s) => s.name))];
  const cell = (name: string, c: string) => {
    const s = samples.find((x) => x.name === name && x.case === c);
    const b = samples.find((x) => x.name === baseline && x.case === c);
    if (!s) return '-';
    const v = (s[metric] ?? 0) as number;
    const bv = (b?.[metric] ?? 0) as number;
    return `${fmt(v * scale)} ${unit}` + (bv ? ` (${(v / bv).toFixed(2)}x)` : '');
  };
  const rows = [['', ...cases], ...names.map((n) => [n, ...cases.map((c) => cell(n, c))])];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  ');
  const out = [`\n${title} (ratio to ${baseline})`, line(rows[0]), ...rows.slice(1).map(line)].join('\n');
  console.log(out);
  return out;
}

/** Writes `build/bench/<name>.json`. */
export function writeResult(name: string, data: unknown): string {
  const dir = join(process.cwd(), 'build', 'bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
  return file;
}
