/**
 * CLI start-up (issue 19: "`tfw keygen` under 200 ms"): wall time of a whole
 * `tfw keygen` process through the package's launcher (host-tools/bin/tfw.mjs,
 * which runs the compiled CLI in build/dist), interleaved in one run with the
 * floor every Node CLI pays, `node -e 1`, and with the launcher forced onto
 * the TypeScript sources (TFW_DEV=1, tsx: what every call paid before).
 * Prints medians in ms and the ratios; TFW_BENCH_CLI_RUNS sets the runs per
 * command (default 25). The 200 ms target is for the compiled path.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { progress, writeResult } from './lib.js';
import { TfwError } from '../runtime/errors.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LAUNCHER = join(ROOT, 'host-tools/bin/tfw.mjs');
const RUNS = Number(process.env.TFW_BENCH_CLI_RUNS ?? 25);
const TARGET_MS = 200;

/** Wall time (ms) of one process run to completion; throws when it fails. */
function wall(args: string[], env: NodeJS.ProcessEnv): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr.toString().trim()}`);
  return ms;
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;

export default function run(): void {
  // The launcher runs the sources through tsx when they are newer than build/dist: measure the compiled CLI or say so.
  const stamp = join(ROOT, 'build/dist/.stamp');
  const newest = Math.max(...['runtime', 'host-tools', 'images', 'bench'].flatMap((d) =>
    (readdirSync(join(ROOT, d), { recursive: true }) as string[]).filter((n) => n.endsWith('.ts')).map((n) => statSync(join(ROOT, d, n)).mtimeMs)));
  if (!existsSync(stamp) || newest > statSync(stamp).mtimeMs) throw new TfwError('ERR_TFW_BUILD', 'build/dist is missing or older than the sources: run make dist (part of make all)');
  const env = { ...process.env, TFW_DEV: '' };
  const cases: Array<[string, string[], NodeJS.ProcessEnv]> = [
    ['node -e 1 (floor)', ['-e', '1'], env],
    ['tfw keygen (compiled)', [LAUNCHER, 'keygen'], env],
    ['tfw keygen (tsx, TFW_DEV=1)', [LAUNCHER, 'keygen'], { ...env, TFW_DEV: '1' }],
  ];
  progress(`cli: ${RUNS} runs of each, interleaved`);
  for (const [, args, e] of cases) wall(args, e); // warm the page cache
  const times = cases.map(() => [] as number[]);
  for (let i = 0; i < RUNS; i++) cases.forEach(([, args, e], c) => times[c]!.push(wall(args, e)));
  const med = times.map(median);
  const floor = med[0]!;
  const rows = cases.map(([name], c) => ({ name, medianMs: med[c]!, minMs: Math.min(...times[c]!), overFloor: med[c]! / floor }));
  console.log(`\nCLI start-up, wall ms over ${RUNS} runs (target: compiled keygen < ${TARGET_MS} ms)`);
  console.log(`${'command'.padEnd(30)}  ${'median'.padStart(7)}  ${'min'.padStart(6)}  x node -e 1`);
  for (const r of rows) console.log(`${r.name.padEnd(30)}  ${r.medianMs.toFixed(0).padStart(7)}  ${r.minMs.toFixed(0).padStart(6)}  ${r.overFloor.toFixed(2).padStart(11)}`);
  const keygen = med[1]!;
  console.log(`compiled keygen: ${keygen.toFixed(0)} ms median (${keygen < TARGET_MS ? 'meets' : 'misses'} the ${TARGET_MS} ms target); tsx path ${(med[2]! / keygen).toFixed(1)}x slower`);
  writeResult('cli', { runs: RUNS, targetMs: TARGET_MS, rows, samples: Object.fromEntries(cases.map(([n], c) => [n, times[c]])) });
}
