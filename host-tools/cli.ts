/**
 * The `tfw` command line: build, boot, runtime, pxe, flash, release, upgrade, bench, keygen, slice, store, show.
 * Each command lives in host-tools/commands/<name>.ts and exports `register`.
 * Failures exit non-zero with one line `tfw: <command>: <cause>` on stderr.
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TfwError } from '../runtime/errors.js';
import { repoRoot } from '../images/builder/paths.js';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };

interface CommandModule {
  register(program: Command): void;
}

/**
 * The commands, in help order, each imported only when needed: a run imports the
 * one command it names, so `tfw keygen` does not pay for QEMU, image and overlay
 * modules (about 1 s of imports); help and unknown names import them all.
 */
const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  build: () => import('./commands/build.js'),
  boot: () => import('./commands/boot.js'),
  runtime: () => import('./commands/runtime.js'),
  pxe: () => import('./commands/pxe.js'),
  flash: () => import('./commands/flash.js'),
  release: () => import('./commands/release.js'),
  upgrade: () => import('./commands/upgrade.js'),
  bench: () => import('./commands/bench.js'),
  keygen: () => import('./commands/keygen.js'),
  slice: () => import('./commands/slice.js'),
  store: () => import('./commands/store.js'),
  show: () => import('./commands/show.js'),
};

/** The commander program with `only`'s command registered, none for `null`, or every command when `only` is not one. */
export async function makeProgram(only?: string | null): Promise<Command> {
  const program = new Command('tfw')
    .description('Firmware toolkit for ThreeFold edge hardware: build, boot and run tfw images')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)');
  const names = only === null ? [] : only !== undefined && Object.hasOwn(COMMANDS, only) ? [only] : Object.keys(COMMANDS);
  const modules = await Promise.all(names.map((n) => COMMANDS[n]!()));
  for (const m of modules) m.register(program);
  return program;
}

/** Runs the CLI; exported for tests. Returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    // Inside the try: a command module that fails to load is reported on one line too.
    const name = argv.find((a) => !a.startsWith('-'));
    // `tfw --version` needs no command module.
    const program = name === undefined && (argv.includes('-V') || argv.includes('--version')) ? await makeProgram(null) : await makeProgram(name);
    program.exitOverride();
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

