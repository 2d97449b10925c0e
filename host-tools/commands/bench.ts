/**
 * `tfw bench`: without --board/--host, the host's kernel benchmarks (the same
 * as `make bench`). With `--board B...` and/or `--host`, the portable kernel
 * suite inside each board's QEMU guest (bench/runner.ts) and on the host, its
 * raw JSON in <out>/run.json and a report in <out>/report.{html,md}
 * (bench/report/report.ts). `--from RUN.json` re-renders a report from an
 * earlier run, `--compare OLD.json` shows the change against an earlier run,
 * `--png FILE` saves a screenshot of the report or of one chart.
 */
import { DEFAULT_ROLE } from '../../images/builder/schema.js';
import { Option, type Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { TfwError } from '../../runtime/errors.js';
import { outputRoot, repoRoot } from '../../images/builder/paths.js';

// The benchmark sources (bench/*.bench.ts) are in the checkout only, not in the npm package.
const benchDir = join(repoRoot, 'bench/');
const repo = repoRoot;

/** Names of the benchmarks in bench/<name>.bench.ts. */
export function benchNames(): string[] {
  if (!existsSync(benchDir)) return [];
  return readdirSync(benchDir).filter((f) => f.endsWith('.bench.ts')).map((f) => f.replace(/\.bench\.ts$/, '')).sort();
}

/** Runs the `auto` calibration of every kernel and prints the choice with its figures. */
async function showBackends(json: boolean): Promise<void> {
  const { availableBackends, calibrate } = await import('../../runtime/kernels/backend.js');
  await import('../../runtime/kernels/native.js');
  await import('../../runtime/kernels/aead.js');
  await import('../../runtime/kernels/erasure.js');
  await import('../../runtime/kernels/forward.js');
  const decisions = ['aead', 'erasure', 'forward'].map((k) => calibrate(k)).filter((d) => d !== undefined);
  if (json) {
    console.log(JSON.stringify({ available: availableBackends(), decisions }, null, 2));
    return;
  }
  console.log(`available backends: ${availableBackends().join(', ')}`);
  for (const d of decisions) {
    const figures = Object.entries(d.jobsPerSec).map(([b, v]) => `${b} ${Math.round(v as number)} jobs/s`).join(', ');
    console.log(`${d.kernel}: ${d.chosen} (${d.reason}; ${figures || 'nothing to compare'}; ${d.ms.toFixed(1)} ms)`);
  }
}

interface BenchFlags {
  backends?: boolean;
  json?: boolean;
  board: string[];
  host?: boolean;
  quick?: boolean;
  accel: string;
  timeout?: string;
  role: string;
  output: string;
  /** The old spelling of --output, kept hidden so scripts keep working. */
  out?: string;
  from?: string;
  compare?: string;
  png?: string;
  chart?: string;
  build: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];
const abs = (p: string) => (isAbsolute(p) ? p : resolve(process.cwd(), p));

/** The portable suite: run (or load), write run.json and the report, compare, screenshot. */
async function portable(names: string[], f: BenchFlags): Promise<void> {
  const { parseKernels } = await import('../../bench/kernels/suite.js');
  const { runBench } = await import('../../bench/runner.js');
  const { writeReport } = await import('../../bench/report/report.js');
  const { compareRuns, formatChanges, loadRun } = await import('../../bench/report/compare.js');
  const out = abs(f.out ?? f.output);
  let kernels;
  try {
    kernels = parseKernels(names);
  } catch (err) {
    throw new TfwError('ERR_TFW_USAGE', (err as Error).message);
  }
  const timeout = Number(f.timeout ?? (f.quick ? 240 : 1200));
  if (!Number.isFinite(timeout) || timeout <= 0) throw new TfwError('ERR_TFW_CONFIG', `--timeout: expected seconds > 0, got "${f.timeout}"`);
  const runs = f.board.length > 0 || f.host;
  if (runs && f.from) throw new TfwError('ERR_TFW_USAGE', '--from: renders an earlier run; drop --board and --host');
  const old = f.compare ? loadRun(abs(f.compare)) : undefined;
  let run;
  if (runs) {
    run = await runBench({ boards: f.board, host: f.host === true, quick: f.quick === true, kernels, accel: f.accel, timeout, role: f.role, build: f.build, log: (l) => process.stderr.write(`${l}\n`) });
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'run.json'), `${JSON.stringify(run, null, 1)}\n`);
    process.stderr.write(`tfw: bench: wrote ${join(out, 'run.json')}\n`);
  } else run = loadRun(abs(f.from ?? join(out, 'run.json')));
  const changes = old ? compareRuns(old, run) : undefined;
  const files = await writeReport(run, out, old && changes ? { old, changes } : undefined);
  process.stderr.write(`tfw: bench: wrote ${files.html} and ${files.md} (${files.charts.length} charts)\n`);
  if (f.json) process.stdout.write(`${JSON.stringify(changes ?? run, null, 1)}\n`);
  else if (old && changes) process.stdout.write(`${formatChanges(changes, old, run)}\n`);
  else process.stdout.write(`${summary(run)}\n`);
  if (f.png) {
    const { screenshotReport } = await import('../../bench/report/screenshot.js');
    mkdirSync(dirname(abs(f.png)), { recursive: true });
    const shot = await screenshotReport(files.html, abs(f.png), f.chart);
    if (shot.problems.length) throw new TfwError('ERR_TFW_BENCH', `--png: the report has problems in Chromium: ${shot.problems[0]}`);
    process.stderr.write(`tfw: bench: wrote ${abs(f.png)}\n`);
  }
  const failed = run.targets.find((t) => t.errors.length || t.results.length === 0);
  if (failed) throw new TfwError('ERR_TFW_BENCH', `${failed.label}: ${failed.errors[0] ?? 'no results'}`);
}

/** One line per target and kernel case: every implementation's ratio to the peer. */
function summary(run: import('../../bench/kernels/result.js').BenchRun): string {
  const lines: string[] = [];
  for (const t of run.targets) {
    const cases = [...new Set(t.results.map((r) => `${r.kernel} ${r.case}`))];
    for (const c of cases) {
      const rs = t.results.filter((r) => `${r.kernel} ${r.case}` === c);
      const peer = rs.find((r) => r.impl === r.peer);
      const cells = rs.filter((r) => r !== peer).map((r) => `${r.impl} ${peer?.best ? `${(r.best / peer.best).toFixed(2)}x` : '-'}`);
      lines.push(`${t.label}: ${c}: ${cells.join(', ')} (of ${peer?.impl ?? 'no peer'})`);
    }
  }
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('bench')
    .description('Run the kernel benchmarks: on the host (same as make bench), or with --board/--host the portable suite in QEMU guests with a report')
    .argument('[name...]', `benchmarks to run (default: all): ${benchNames().join(', ')}; with --board/--host: kernels aead, erasure, forward`)
    .option('--board <board>', 'boot this board\'s image and run the suite inside it (repeatable): qemu-x86_64, qemu-arm64', collect, [])
    .option('--host', 'also run the suite on this host (beside --board), or alone')
    .option('--quick', 'one small size per kernel and short rounds (a fast check; what the tests run)')
    .option('--accel <accel>', 'QEMU accelerator for guests: tcg or kvm (needs /dev/kvm and the host\'s arch)', 'tcg')
    .option('--timeout <seconds>', 'seconds per guest, boot included (default 240 with --quick, else 1200)')
    .option('-r, --role <role>', 'image role to boot', DEFAULT_ROLE)
    .option('-o, --output <dir>', 'folder for run.json, report.html, report.md and charts/', join(outputRoot(), 'bench'))
    .addOption(new Option('--out <dir>', 'old spelling of --output').hideHelp())
    .option('--from <run.json>', 'render the report of an earlier run instead of running (default <out>/run.json when nothing runs)')
    .option('--compare <old.json>', 'show the change of every figure against an earlier run (and add it to the report)')
    .option('--png <file>', 'save a screenshot of the report (headless Chromium), or of one chart with --chart')
    .option('--chart <name>', 'with --png: the chart to capture, e.g. ratio-aead, throughput-erasure, forward-fib-size')
    .option('--no-build', 'fail instead of building a missing image')
    .option('--backends', "show which backend 'auto' picks for each kernel on this machine, and why")
    .option('--json', 'print data as JSON: the run (or the changes with --compare); with --backends the decisions')
    .addHelpText(
      'after',
      '\nExamples:\n  tfw bench aead                                  # host benchmarks, as make bench\n' +
        '  tfw bench --board qemu-x86_64 --board qemu-arm64 --host\n' +
        '  tfw bench --board qemu-arm64 --quick aead       # one kernel, one size, ~15 s\n' +
        '  tfw bench --compare old-run.json                # change from an earlier run to build/bench/run.json\n' +
        '  tfw bench --from build/bench/run.json --png docs/bench-ratio-aead.png --chart ratio-aead\n' +
        'Outputs: build/bench/run.json (every sample), build/bench/report.html (self-contained), build/bench/report.md, build/bench/charts/*.svg',
    )
    .action(async (names: string[], f: BenchFlags) => {
      if (f.backends) return showBackends(f.json === true);
      if (f.board.length || f.host || f.from || f.compare || f.png) return portable(names, f);
      if (!existsSync(benchDir)) throw new TfwError('ERR_TFW_CONFIG', `name: host benchmarks run from a source checkout (bench/ is not in the npm package); expected a git clone of tfw, or --board/--from`);
      const unknown = names.filter((n) => !benchNames().includes(n));
      if (unknown.length) throw new TfwError('ERR_TFW_USAGE', `name: unknown benchmark ${unknown.join(', ')}; expected one of ${benchNames().join(', ')}`);
      // A child process keeps the benchmark free of the CLI's own start-up state.
      const r = spawnSync(process.execPath, ['--import', 'tsx', `${benchDir}run.ts`, ...names], { stdio: ['inherit', 'inherit', 'pipe'], cwd: repo, encoding: 'utf8' });
      // The child names its own failure in one line (bench/run.ts); pass that on as this command's one line.
      const cause = r.stderr.split('\n').filter(Boolean);
      if (r.status !== 0) {
        const own = cause.filter((l) => l.startsWith('tfw: bench: ')).pop();
        if (own) throw new TfwError('ERR_TFW_BENCH', own.slice('tfw: bench: '.length));
        process.stderr.write(r.stderr);
        throw new TfwError('ERR_TFW_BENCH', `benchmark exited with code ${r.status}`);
      }
      if (r.stderr) process.stderr.write(r.stderr);
    });
}
