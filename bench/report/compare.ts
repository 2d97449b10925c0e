/**
 * `tfw bench --compare OLD.json`: the change of every figure between an earlier
 * run and this one, matched by target label ('qemu-arm64 (tcg)', 'host'),
 * kernel, case and implementation. Both the raw figure and the ratio to the
 * in-machine peer are compared: on a shared or emulated machine the raw figure
 * moves with the load, the ratio much less.
 */
import { readFileSync } from 'node:fs';
import { TfwError } from '../../runtime/errors.js';
import { RUN_SCHEMA, ratioToPeer, type BenchRun } from '../kernels/result.js';

export interface Change {
  target: string;
  kernel: string;
  case: string;
  impl: string;
  /** Best figures (result unit) in the old and the new run. */
  old: number;
  new: number;
  /** new / old - 1 (0.1 = 10 % faster). */
  change: number;
  /** Ratio to the peer in each run, when both have one. */
  oldRatio: number | null;
  newRatio: number | null;
}

/**
 * Reads and checks a run file (build/bench/run.json).
 * @throws TfwError ERR_TFW_BENCH naming the file when it is unreadable, not JSON or of another schema
 */
export function loadRun(path: string): BenchRun {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TfwError('ERR_TFW_BENCH', `${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); expected a run file such as build/bench/run.json`);
  }
  let run: BenchRun;
  try {
    run = JSON.parse(text) as BenchRun;
  } catch {
    throw new TfwError('ERR_TFW_BENCH', `${path}: not JSON; expected a run file written by tfw bench --board/--host`);
  }
  if (run?.schema !== RUN_SCHEMA || !Array.isArray(run.targets)) {
    throw new TfwError('ERR_TFW_BENCH', `${path}: schema ${JSON.stringify(run?.schema ?? null)}, expected "${RUN_SCHEMA}"`);
  }
  return run;
}

/** Every figure present in both runs, in the new run's order. */
export function compareRuns(old: BenchRun, next: BenchRun): Change[] {
  const out: Change[] = [];
  for (const t of next.targets) {
    const ot = old.targets.find((x) => x.label === t.label);
    if (!ot) continue;
    for (const r of t.results) {
      const o = ot.results.find((x) => x.kernel === r.kernel && x.case === r.case && x.impl === r.impl);
      if (!o || o.best <= 0) continue;
      out.push({
        target: t.label,
        kernel: r.kernel,
        case: r.case,
        impl: r.impl,
        old: o.best,
        new: r.best,
        change: r.best / o.best - 1,
        oldRatio: ratioToPeer(o, ot.results),
        newRatio: ratioToPeer(r, t.results),
      });
    }
  }
  return out;
}

const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
const rat = (x: number | null) => (x === null ? '-' : `${x.toFixed(2)}x`);

/** Text table of `changes` (one line per figure), with the two runs named in the header. */
export function formatChanges(changes: Change[], oldRun: BenchRun, newRun: BenchRun): string {
  const head = `change from ${oldRun.commit} (${oldRun.startedAt}) to ${newRun.commit} (${newRun.startedAt})`;
  if (changes.length === 0) return `${head}\nno figure in common (targets, kernels or cases differ)`;
  const rows = [['target', 'kernel', 'case', 'implementation', 'change', 'ratio to peer (old -> new)']];
  for (const c of changes) rows.push([c.target, c.kernel, c.case, c.impl, pct(c.change), `${rat(c.oldRatio)} -> ${rat(c.newRatio)}`]);
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return [head, ...rows.map((r) => r.map((x, i) => (i === 4 ? x.padStart(w[i]) : x.padEnd(w[i]))).join('  ').trimEnd())].join('\n');
}
