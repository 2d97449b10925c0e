/** `tfw bench [name...]`: runs the kernel benchmarks (the same as `make bench`). */
import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TfwError } from '../../runtime/errors.js';

const benchDir = fileURLToPath(new URL('../../bench/', import.meta.url));

/** Names of the benchmarks in bench/<name>.bench.ts. */
export function benchNames(): string[] {
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

export function register(program: Command): void {
  program
    .command('bench')
    .description('Run the kernel benchmarks (same as make bench); tables on stdout, JSON in build/bench/')
    .argument('[name...]', `benchmarks to run (default: all): ${benchNames().join(', ')}`)
    .option('--backends', "show which backend 'auto' picks for each kernel on this machine, and why")
    .option('--json', 'with --backends: print the decisions as JSON')
    .action(async (names: string[], opts: { backends?: boolean; json?: boolean }) => {
      if (opts.backends) return showBackends(opts.json === true);
      const unknown = names.filter((n) => !benchNames().includes(n));
      if (unknown.length) throw new TfwError('ERR_TFW_USAGE', `name: unknown benchmark ${unknown.join(', ')}; expected one of ${benchNames().join(', ')}`);
      // A child process keeps the benchmark free of the CLI's own start-up state.
      const r = spawnSync(process.execPath, ['--import', 'tsx', `${benchDir}run.ts`, ...names], { stdio: 'inherit', cwd: fileURLToPath(new URL('../../', import.meta.url)) });
      if (r.status !== 0) throw new TfwError('ERR_TFW_BENCH', `benchmark exited with code ${r.status}`);
    });
}
