/**
 * The `tfw` command line: build, boot, runtime, pxe, flash, release, upgrade, bench, keygen, slice, store, show.
 * Each command lives in host-tools/commands/<name>.ts and exports `register`.
 * Failures exit non-zero with one line `tfw: <command>: <cause>` on stderr.
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { TfwError } from '../runtime/errors.js';
import * as bench from './commands/bench.js';
import * as boot from './commands/boot.js';
import * as build from './commands/build.js';
import * as flash from './commands/flash.js';
import * as keygen from './commands/keygen.js';
import * as pxe from './commands/pxe.js';
import * as release from './commands/release.js';
import * as runtime from './commands/runtime.js';
import * as show from './commands/show.js';
import * as upgrade from './commands/upgrade.js';
import * as slice from './commands/slice.js';
import * as store from './commands/store.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export function makeProgram(): Command {
  const program = new Command('tfw')
    .description('Firmware toolkit for ThreeFold edge hardware: build, boot and run tfw images')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)');
  for (const cmd of [build, boot, runtime, pxe, flash, release, upgrade, bench, keygen, slice, store, show]) cmd.register(program);
  return program;
}

/** Runs the CLI; exported for tests. Returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = makeProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    const cmd = argv.find((a) => !a.startsWith('-')) ?? 'tfw';
    const msg = err instanceof TfwError || err instanceof RangeError || err instanceof TypeError ? (err as Error).message : String((err as Error)?.stack ?? err);
    process.stderr.write(`tfw: ${cmd}: ${msg.split('\n')[0]}\n`);
    if (process.env.TFW_DEBUG) process.stderr.write(`${(err as Error)?.stack}\n`);
    return 1;
  }
}

