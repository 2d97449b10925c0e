/**
 * Shell completion (host-tools/commands/completion.ts): answers computed from
 * the commander program (commands, options, boards and roles that exist), the
 * scripts @pnpm/tabtab prints for bash and zsh, and a real bash and a real
 * zsh (Debian's, SYSDEPS in mk/package.mk) completing `tfw fla<TAB>` and
 * `tfw build --board qemu-<TAB>` through the script.
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
const ZSH = '/usr/bin/zsh';
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
  if (existsSync(ZSH)) assert.is(spawnSync(ZSH, ['-n'], { input: zsh.stdout }).status, 0, 'zsh -n');
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

test('zsh completes through the script and the CLI (compsys loaded; _describe and _files record what they are given)', async () => {
  if (!existsSync(ZSH)) {
    console.log('  skip: no zsh (make sysdeps installs it)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'tfw-compl-'));
  try {
    writeFileSync(join(dir, 'tfw'), `#!/bin/sh\nexec ${process.execPath} ${tfwBin} "$@"\n`);
    chmodSync(join(dir, 'tfw'), 0o755);
    writeFileSync(join(dir, 'tfw.zsh'), (await runMain(['completion', 'zsh'])).stdout);
    // The line as zsh's completion system hands it over: words, CURRENT (1-based), BUFFER, CURSOR.
    const run = (line: string) => {
      const words = line.split(' ');
      const r = spawnSync(ZSH, ['-f', '-c', [
        'autoload -U compinit && compinit -u -D',
        `source ${join(dir, 'tfw.zsh')}`,
        '_describe() { print -l -- "${(@P)2}" }',
        '_files() { print __files__ }',
        `words=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length}; BUFFER='${line}'; CURSOR=${line.length}`,
        '_tfw_completion',
      ].join('\n')], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, encoding: 'utf8', timeout: 60_000 });
      assert.is(r.status, 0, r.stderr);
      return r.stdout.trim().split('\n');
    };
    assert.equal(run('tfw fla').map((l) => l.split(':')[0]), ['flash']);
    assert.equal(run('tfw build --board qemu-'), listBoards().filter((b) => b.startsWith('qemu-')));
    assert.equal(run('tfw flash -o '), ['__files__']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
