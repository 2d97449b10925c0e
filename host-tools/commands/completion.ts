/**
 * `tfw completion bash|zsh|fish`: the shell completion script, from
 * @pnpm/tabtab (pnpm's fork of npm-style completion). The script calls back
 * `tfw completion-server` (hidden) with the line typed so far; the answers
 * come from the commander program itself (commands, options, and the boards
 * and roles that exist for --board / --role), so completion stays true as
 * commands change.
 */
import tabtab from '@pnpm/tabtab';
import type { Command } from 'commander';
import { TfwError } from '../../runtime/errors.js';
import { listBoards, listRoles } from '../../images/builder/schema.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;

/** Values an option argument can take, by long flag; other arguments complete as files. */
const VALUES: Record<string, () => string[]> = {
  '--board': listBoards,
  '--role': listRoles,
  '--format': () => ['disk', 'tar'],
  '--accel': () => ['tcg', 'kvm'],
};

export interface Completion {
  name: string;
  description?: string;
}

/**
 * Completions for the words typed after `tfw` (the last one is the word being
 * completed, '' after a space): subcommand names, then the current command's
 * options, or an option's values; `files` when a file name is expected.
 */
export function complete(program: Command, words: string[]): Completion[] | 'files' {
  let cmd = program;
  const done = words.slice(0, -1);
  const cur = words.at(-1) ?? '';
  for (const w of done) {
    const sub = cmd.commands.find((c) => c.name() === w || c.aliases().includes(w));
    if (sub) cmd = sub;
  }
  const prev = done.at(-1);
  const prevOpt = prev?.startsWith('-') ? cmd.options.find((o) => o.long === prev || o.short === prev) : undefined;
  if (prevOpt && (prevOpt.required || prevOpt.optional)) {
    const values = prevOpt.long ? VALUES[prevOpt.long] : undefined;
    return values ? values().filter((v) => v.startsWith(cur)).map((name) => ({ name })) : 'files';
  }
  const visible = (c: Command) => !(c as unknown as { _hidden?: boolean })._hidden;
  if (cur.startsWith('-')) {
    return cmd.options
      .filter((o) => !o.hidden && o.long?.startsWith(cur))
      .map((o) => ({ name: o.long!, description: o.description }))
      .concat(cur === '-' || '--help'.startsWith(cur) ? [{ name: '--help', description: 'display help for command' }] : []);
  }
  const subs = cmd.commands.filter((c) => visible(c) && c.name().startsWith(cur)).map((c) => ({ name: c.name(), description: c.description() }));
  return subs.length || cmd.commands.length ? subs : 'files';
}

export function register(program: Command): void {
  program
    .command('completion')
    .description('Print the shell completion script for bash, zsh or fish')
    .argument('<shell>', `the shell: ${SHELLS.join(', ')}`)
    .addHelpText(
      'after',
      '\nExamples:\n  tfw completion bash > ~/.local/share/bash-completion/completions/tfw\n  echo \'source <(tfw completion bash)\' >> ~/.bashrc\n  tfw completion zsh > "${fpath[1]}/_tfw"        # or: source <(tfw completion zsh) in ~/.zshrc\n' +
        'The script asks tfw itself (tfw completion-server) for commands, options, boards and roles; tfw must be on PATH.',
    )
    .action(async (shell: string) => {
      if (!(SHELLS as readonly string[]).includes(shell)) throw new TfwError('ERR_TFW_USAGE', `shell: expected one of ${SHELLS.join(', ')}, got "${shell}"`);
      process.stdout.write(`${await tabtab.getCompletionScript({ name: 'tfw', completer: 'tfw', shell: shell as (typeof SHELLS)[number] })}\n`);
    });
  program
    .command('completion-server', { hidden: true })
    .description('Answer a completion request from the script of tfw completion (environment COMP_LINE, COMP_POINT, SHELL)')
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[words...]')
    .action(() => {
      const env = tabtab.parseEnv(process.env);
      if (!env.complete) return;
      const shell = tabtab.getShellFromEnv(process.env);
      const words = env.partial.split(/\s+/).slice(1);
      const r = complete(program, words.length ? words : ['']);
      if (r === 'files') tabtab.logFiles();
      else tabtab.log(r, shell);
    });
}
