/**
 * The `tfw` command line: build, boot, runtime, pxe, flash, release, upgrade, bench, keygen, slice, store, show, boards, roles, completion.
 * Every command that takes --board / --role defaults to qemu-x86_64 / 3router (images/builder/schema.ts).
 * Each command lives in host-tools/commands/<name>.ts and exports `register`.
 * Every failure, commander's own included, is one line `tfw: <command>: <cause>`
 * on stderr; exit codes: 0 success, 1 failure, 2 usage error (unknown option
 * or command, missing argument, bad option value: ERR_TFW_USAGE), 130 after
 * SIGINT (128 + 2, as shells report Ctrl-C).
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { TfwError } from '../runtime/errors.js';
import { join } from 'node:path';
import { repoRoot } from '../images/builder/paths.js';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };

/** Exit codes of the CLI. */
export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

interface CommandModule {
  register(program: Command): void;
}

/**
 * The command modules, in help order, each imported only when needed: a run imports the
 * one command it names, so `tfw keygen` does not pay for QEMU, image and overlay
 * modules (about 1 s of imports); help, unknown names and completion import them all.
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
  boards: () => import('./commands/catalog.js'),
  roles: () => import('./commands/catalog.js'),
  completion: () => import('./commands/completion.js'),
};

/**
 * The commander program with `only`'s command registered, none for `null`, or every
 * command when `only` is undefined or not a command name (help, unknown names, and
 * `completion-server`, which completes from the whole program).
 * Throws what a command module's import throws.
 */
export async function makeProgram(only?: string | null): Promise<Command> {
  const program = new Command('tfw')
    .description('Firmware toolkit for ThreeFold edge hardware: build, boot and run tfw images')
    .version(pkg.version)
    // Commander's own messages (and the help it shows for a missing command) become one line in
    // main(); --help still prints to stdout. Set before the commands are added, which inherit it.
    .configureOutput({ outputError: () => {}, writeErr: () => {} })
    .exitOverride()
    .addHelpText('after', '\nExit codes: 0 success, 1 failure, 2 usage error, 130 interrupted (Ctrl-C).\nEvery failure is one line "tfw: <command>: <cause>" on stderr (TFW_DEBUG=1 adds the stack).');
  const names = only === null ? [] : only !== undefined && Object.hasOwn(COMMANDS, only) ? [only] : Object.keys(COMMANDS);
  // boards and roles share one module: register each module once.
  const modules = new Set(await Promise.all(names.map((n) => COMMANDS[n]!())));
  for (const m of modules) m.register(program);
  return program;
}

/** The command path typed in `argv` (e.g. `flash`, `store put`), or '' when none. */
export function commandPath(program: Command, argv: string[]): string {
  const names: string[] = [];
  let cmd = program;
  for (const a of argv) {
    if (a === '--') break;
    if (a.startsWith('-')) continue;
    const sub = cmd.commands.find((c) => c.name() === a || c.aliases().includes(a));
    if (!sub) break;
    names.push(sub.name());
    cmd = sub;
  }
  return names.join(' ');
}

/** Commander's message as one line: "error: " dropped, its suggestion lines joined. */
function commanderLine(err: CommanderError, path: string): string {
  const msg = err.message.replace(/^error: /, '').split('\n').map((l) => l.trim().replace(/\.$/, '')).filter(Boolean).join(' ');
  return `${msg}; tfw ${path ? `${path} ` : ''}--help shows the usage`;
}

/** Runs the CLI; exported for tests. Returns the exit code (EXIT). */
export async function main(argv: string[]): Promise<number> {
  const name = argv.find((a) => !a.startsWith('-'));
  let program: Command;
  try {
    // `tfw --version` needs no command module; a module that fails to load is one line too.
    program = await makeProgram(name === undefined && (argv.includes('-V') || argv.includes('--version')) ? null : name);
  } catch (err) {
    process.stderr.write(`tfw: ${name ?? 'usage'}: ${String((err as Error)?.message ?? err).split('\n')[0]}\n`);
    if (process.env.TFW_DEBUG) process.stderr.write(`${(err as Error)?.stack}\n`);
    return EXIT.failure;
  }
  const path = commandPath(program, argv);
  // The label is the top-level command (the contract `tfw: <command>: <cause>`); the --help pointer names the full path.
  const label = path.split(' ')[0] || (argv.find((a) => !a.startsWith('-')) ?? 'usage');
  const fail = (msg: string) => process.stderr.write(`tfw: ${label}: ${msg}\n`);
  let interrupted = false;
  // A command that cleans up on SIGINT (pxe, boot, runtime) keeps its handler; with none, exit at once.
  const onSigint = () => {
    interrupted = true;
    if (process.listenerCount('SIGINT') === 1) {
      fail('interrupted');
      process.exit(EXIT.interrupted);
    }
  };
  process.on('SIGINT', onSigint);
  if (process.env.TFW_DEBUG) process.stderr.write(`tfw: cli: ${label}: started, pid ${process.pid}\n`);
  try {
    await program.parseAsync(argv, { from: 'user' });
    if (interrupted) fail('interrupted');
    return interrupted ? EXIT.interrupted : EXIT.ok;
  } catch (err) {
    if (interrupted) {
      fail('interrupted');
      return EXIT.interrupted;
    }
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
      // `tfw` or `tfw store` alone: the help went to stderr; name what is missing.
      if (err.code === 'commander.help') {
        fail(`expected a command; tfw ${path ? `${path} ` : ''}--help lists them`);
        return EXIT.usage;
      }
      if (err.code === 'commander.unknownCommand') {
        const word = argv.find((a) => !a.startsWith('-') && a !== path.split(' ').at(-1));
        const line = commanderLine(err, path).replace(/^unknown command '[^']*'/, 'unknown command');
        process.stderr.write(`tfw: ${word ?? label}: ${line}\n`);
        return EXIT.usage;
      }
      fail(commanderLine(err, path));
      return EXIT.usage;
    }
    const known = err instanceof TfwError || err instanceof RangeError || err instanceof TypeError;
    const msg = known ? (err as Error).message : String((err as Error)?.stack ?? err);
    fail(msg.split('\n')[0]);
    if (process.env.TFW_DEBUG) process.stderr.write(`${(err as Error)?.stack}\n`);
    return err instanceof TfwError && err.code === 'ERR_TFW_USAGE' ? EXIT.usage : EXIT.failure;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
