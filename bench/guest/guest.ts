/**
 * Entry of the portable kernel suite, bundled by esbuild into
 * build/bench/guest/guest.mjs and carried into a guest as
 * /usr/lib/tfw/bench/guest.mjs (images/builder/initrd-bench.ts); the init hook
 * (runtime/init/init.sh, kernel word tfw.bench=1) runs it and powers off. The
 * host run (`tfw bench --host`) runs the same file from the sources.
 *
 * Output: one event per line on stdout (bench/guest/protocol.ts). Options:
 * `--quick` and kernel names (aead erasure forward; default all), or
 * `--from-cmdline` to read them from the kernel word `tfw.bench_args=` in
 * /proc/cmdline. Exit status 0 when every kernel ran, 1 when one failed (its
 * `error` event says why), 2 on bad options.
 */
import { readFileSync } from 'node:fs';
import { parseKernels, runSuite } from '../kernels/suite.js';
import { cmdlineArgs, formatEvent } from './protocol.js';

function main(argv: string[]): number {
  const words = argv.includes('--from-cmdline') ? cmdlineArgs(readFileSync('/proc/cmdline', 'utf8')).map((w) => (w === 'quick' ? '--quick' : w)) : argv;
  let kernels;
  try {
    kernels = parseKernels(words.filter((w) => !w.startsWith('--')));
  } catch (err) {
    process.stderr.write(`tfw: bench: ${(err as Error).message}\n`);
    return 2;
  }
  let failed = false;
  runSuite(kernels, words.includes('--quick'), (e) => {
    if (e.type === 'error') failed = true;
    process.stdout.write(`${formatEvent(e)}\n`);
  });
  return failed ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
