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

export function register(program: Command): void {
  program
    .command('bench')
    .description('Run the kernel benchmarks (same as make bench); tables on stdout, JSON in build/bench/')
    .argument('[name...]', `benchmarks to run (default: all): ${benchNames().join(', ')}`)
    .action((names: string[]) => {
      const unknown = names.filter((n) => !benchNames().includes(n));
      if (unknown.length) throw new TfwError('ERR_TFW_USAGE', `name: unknown benchmark ${unknown.join(', ')}; expected one of ${benchNames().join(', ')}`);
      // A child process keeps the benchmark free of the CLI's own start-up state.
      const r = spawnSync(process.execPath, ['--import', 'tsx', `${benchDir}run.ts`, ...names], { stdio: 'inherit', cwd: fileURLToPath(new URL('../../', import.meta.url)) });
      if (r.status !== 0) throw new TfwError('ERR_TFW_BENCH', `benchmark exited with code ${r.status}`);
    });
}
