/**
 * A whole portable-suite run for `tfw bench --board B... [--host]`: each board's
 * guest in turn (never two at once: they would share this machine's cores),
 * then the host's own run in a child Node, collected into one BenchRun
 * (bench/kernels/result.ts) with the machine, versions and commit. Progress
 * goes to `log` one line per event as it arrives.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '../images/builder/image.js';
import { imageDir, repoRoot } from '../images/builder/paths.js';
import { makeProgress } from '../images/builder/progress.js';
import { loadBoard } from '../images/builder/schema.js';
import { bundleGuest } from './guest/bundle.js';
import { parseEventLine } from './guest/protocol.js';
import { resolveAccel, runGuest } from './guest/run-guest.js';
import { RUN_SCHEMA, type BenchRun, type BenchTarget, type KernelName, type SuiteEvent } from './kernels/result.js';
import { formatFigure } from './report/report.js';

export interface RunOptions {
  /** Board names (board-configs/<name>.yaml). */
  boards: string[];
  /** Also run the suite on the host. */
  host: boolean;
  quick: boolean;
  kernels: KernelName[];
  /** 'tcg' | 'kvm' | 'auto' (per board, bench/guest/run-guest.ts resolveAccel). */
  accel: string;
  /** Seconds per guest, boot included. */
  timeout: number;
  role: string;
  /** Build a board's image when it is missing. */
  build: boolean;
  /** One progress line (no newline). */
  log: (line: string) => void;
}

/** Short commit of the tree, '-dirty' when it has uncommitted changes; 'unknown' outside git. */
export function gitCommit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return 'unknown';
  }
}

function qemuVersion(boards: string[]): string | null {
  if (boards.length === 0) return null;
  try {
    return execFileSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0].trim();
  } catch {
    return null;
  }
}

/** A log line for an event ('progress' and 'result' only; the rest are summarised by the caller). */
function describe(label: string, e: SuiteEvent): string | null {
  if (e.type === 'progress') return `tfw: bench: ${label}: ${e.kernel} ${e.case}: ${e.impl} (${e.step})`;
  if (e.type === 'result') return `tfw: bench: ${label}: ${e.result.kernel} ${e.result.case}: ${e.result.impl} ${formatFigure(e.result)}`;
  if (e.type === 'error') return `tfw: bench: ${label}: ${e.kernel} failed: ${e.message}`;
  return null;
}

/** Runs the suite on the host in a child Node (from the sources, like `make bench`). */
function runHost(o: RunOptions): Promise<BenchTarget> {
  const target: BenchTarget = { label: 'host', kind: 'host', board: null, accel: null, machine: null, results: [], seconds: 0, errors: [] };
  const args = ['--import', 'tsx', join(repoRoot, 'bench/guest/guest.ts'), ...(o.quick ? ['--quick'] : []), ...o.kernels];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const e = parseEventLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (!e) continue;
        if ('error' in e) {
          target.errors.push(e.error);
          continue;
        }
        const line = describe('host', e);
        if (line) o.log(line);
        if (e.type === 'hello') target.machine = e.machine;
        else if (e.type === 'result') target.results.push(e.result);
        else if (e.type === 'error') target.errors.push(`${e.kernel}: ${e.message}`);
        else if (e.type === 'done') target.seconds = e.seconds;
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child.on('error', (err) => {
      target.errors.push(`cannot start node: ${err.message}`);
      resolve(target);
    });
    child.on('exit', (code) => {
      if (code !== 0 && code !== 1) target.errors.push(`the host suite exited with ${code}: ${stderr.trim().split('\n').pop() ?? ''}`);
      resolve(target);
    });
  });
}

/**
 * Runs every board's guest, then the host when asked, and returns the run.
 * @throws TfwError for an unknown board, a missing image with build off, or a bad --accel
 */
export async function runBench(o: RunOptions): Promise<BenchRun> {
  const boards = o.boards.map((b) => loadBoard(b));
  const accels = boards.map((b) => resolveAccel(o.accel, b));
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const c = cpus();
  const run: BenchRun = {
    schema: RUN_SCHEMA,
    startedAt: new Date().toISOString(),
    version: pkg.version,
    commit: gitCommit(),
    quick: o.quick,
    kernels: o.kernels,
    host: { arch: process.arch, cpuModel: c[0]?.model?.trim() || 'unknown', cpus: c.length, node: process.version, qemu: qemuVersion(o.boards) },
    targets: [],
  };
  const bundle = boards.length ? await bundleGuest() : new Uint8Array();
  for (const [i, board] of boards.entries()) {
    const dir = imageDir(board.name, o.role);
    if (!existsSync(join(dir, 'manifest.json')) && o.build) {
      o.log(`tfw: bench: ${board.name}: building its ${o.role} image`);
      buildImage({ board: board.name, role: o.role, outDir: dir, progress: makeProgress({ quiet: true }) });
    }
    const label = `${board.name} (${accels[i]})`;
    o.log(`tfw: bench: ${label}: booting with the suite${o.quick ? ' (quick)' : ''}`);
    const t = await runGuest({
      board,
      dir,
      bundle,
      quick: o.quick,
      kernels: o.kernels,
      accel: accels[i],
      timeout: o.timeout,
      onEvent: (e) => {
        const line = describe(label, e);
        if (line) o.log(line);
      },
    });
    o.log(`tfw: bench: ${label}: ${t.results.length} results in ${t.seconds.toFixed(1)} s${t.errors.length ? `, ${t.errors.length} problems: ${t.errors[0]}` : ''}`);
    run.targets.push(t);
  }
  if (o.host) {
    o.log('tfw: bench: host: running the suite');
    const t = await runHost(o);
    o.log(`tfw: bench: host: ${t.results.length} results in ${t.seconds.toFixed(1)} s${t.errors.length ? `, ${t.errors.length} problems: ${t.errors[0]}` : ''}`);
    run.targets.push(t);
  }
  return run;
}
