/**
 * Shell completion (host-tools/commands/completion.ts): answers computed from
 * the commander program (commands, options, boards and roles that exist), the
 * scripts @pnpm/tabtab prints for bash and zsh, and a real bash completing
 * `tfw fla<TAB>` and `tfw build --board qemu-<TAB>` through the script.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeProgram } from '../../host-tools/cli.js';
import { complete } from '../../host-tools/commands/completion.js';
import { listBoards, listRoles } from '../../images/builder/schema.js';
import { runMain, tfwBin } from '../helpers.js';

const program = await makeProgram();
const names = (r: ReturnType<typeof complete>) => (r === 'files' ? r : r.map((c) => c.name));

test('commands, then options, then option values, from the program', () => {
  const top = names(complete(program, ['']));
  assert.ok(Array.isArray(top));
  for (const c of program.commands.filter((c) => c.name() !== 'completion-server')) assert.ok(top.includes(c.name()), c.name());
  assert.not.ok(top.includes('completion-server'), 'hidden');
  assert.equal(names(complete(program, ['fl'])), ['flash']);
  assert.equal(names(complete(program, ['flash', '--bo'])), ['--board']);
  assert.ok(!(names(complete(program, ['build', '--'])) as string[]).includes('--out'), 'the hidden alias is not offered');
  assert.equal(names(complete(program, ['build', '--board', ''])), listBoards());
  assert.equal(names(complete(program, ['pxe', '--role', '3'])), listRoles().filter((r) => r.startsWith('3')));
  assert.equal(names(complete(program, ['flash', '--format', ''])), ['disk', 'tar']);
  assert.is(complete(program, ['flash', '-o', '']), 'files');
  assert.equal(names(complete(program, ['store', 'g'])), ['get']);
});

test('tfw completion prints the bash and zsh scripts; another shell is a usage error', async () => {
  const bash = await runMain(['completion', 'bash']);
  assert.is(bash.code, 0, bash.stderr);
  assert.match(bash.stdout, /complete -o default -F _tfw_completion tfw/);
  assert.match(bash.stdout, /tfw completion-server -- "\$\{words\[@\]\}"/);
  assert.is(spawnSync('bash', ['-n'], { input: bash.stdout }).status, 0, 'bash -n');
  const zsh = await runMain(['completion', 'zsh']);
  assert.match(zsh.stdout, /^#compdef tfw/);
  assert.match(zsh.stdout, /compdef _tfw_completion tfw/);
  if (existsSync('/usr/bin/zsh')) assert.is(spawnSync('zsh', ['-n'], { input: zsh.stdout }).status, 0, 'zsh -n');
  const bad = await runMain(['completion', 'tcsh']);
  assert.is(bad.code, 2);
  assert.is(bad.stderr, 'tfw: completion: shell: expected one of bash, zsh, fish, got "tcsh"\n');
});

test('bash completes through the script and the CLI (tfw on PATH)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tfw-compl-'));
  try {
    writeFileSync(join(dir, 'tfw'), `#!/bin/sh\nexec ${process.execPath} ${tfwBin} "$@"\n`);
    chmodSync(join(dir, 'tfw'), 0o755);
    const script = (await runMain(['completion', 'bash'])).stdout;
    const run = (line: string) => {
      const words = line.split(' ');
      const r = spawnSync('bash', ['-c', `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; COMP_LINE='${line}'; COMP_POINT=${line.length}; _tfw_completion; printf '%s\\n' "\${COMPREPLY[@]}"`], {
        env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
        encoding: 'utf8',
        timeout: 60_000,
      });
      return r.stdout.trim().split('\n');
    };
    const [flash, boards] = [run('tfw fla'), run('tfw build --board qemu-')];
    assert.equal(flash, ['flash']);
    assert.equal(boards, listBoards().filter((b) => b.startsWith('qemu-')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
