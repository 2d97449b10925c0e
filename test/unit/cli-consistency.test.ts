/**
 * One CLI: every command with --board / --role has the same defaults
 * (qemu-x86_64 / 3router, tfw pxe included), the output option is spelled
 * -o, --output everywhere (the old --out hidden but accepted), and
 * `tfw boards` / `tfw roles` list exactly the files that exist.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Command } from 'commander';
import { makeProgram } from '../../host-tools/cli.js';
import { DEFAULT_BOARD, DEFAULT_ROLE, listBoards, listRoles } from '../../images/builder/schema.js';
import { runMain } from '../helpers.js';

/** Every command and subcommand of the program. */
const all = (c: Command): Command[] => c.commands.flatMap((s) => [s, ...all(s)]);
const program = await makeProgram();

test('every --board and --role defaults to qemu-x86_64 and 3router', () => {
  let boards = 0;
  for (const c of all(program)) {
    for (const o of c.options) {
      if (o.long === '--board' && !o.variadic && typeof o.defaultValue === 'string') (boards++, assert.is(o.defaultValue, DEFAULT_BOARD, c.name()));
      if (o.long === '--role') assert.is(o.defaultValue, DEFAULT_ROLE, c.name());
    }
  }
  assert.ok(boards >= 5, `${boards} commands with --board`);
  assert.equal([DEFAULT_BOARD, DEFAULT_ROLE], ['qemu-x86_64', '3router']);
  const pxe = program.commands.find((c) => c.name() === 'pxe')!;
  assert.equal(pxe.options.filter((o) => o.long === '--board' || o.long === '--role').map((o) => o.defaultValue), ['qemu-x86_64', '3router']);
});

test('the output option is -o, --output everywhere; --out is a hidden alias', () => {
  for (const c of all(program)) {
    for (const o of c.options) {
      if (o.short === '-o') assert.is(o.long, '--output', `tfw ${c.name()} -o`);
      if (o.long === '--out') assert.ok(o.hidden, `tfw ${c.name()} --out is hidden`);
    }
  }
  for (const name of ['build', 'bench']) {
    const c = program.commands.find((x) => x.name() === name)!;
    assert.ok(c.options.some((o) => o.long === '--out' && o.hidden), `${name} keeps --out`);
    assert.not.match(c.helpInformation(), /--out </, `${name} --help`);
  }
});

test('tfw boards and tfw roles list what exists, default marked; --json is data', async () => {
  const b = await runMain(['boards', '--json']);
  assert.is(b.code, 0, b.stderr);
  const boards = JSON.parse(b.stdout) as Array<{ name: string; arch: string; default: boolean }>;
  assert.equal(boards.map((x) => x.name), listBoards());
  assert.equal(boards.filter((x) => x.default).map((x) => x.name), [DEFAULT_BOARD]);
  assert.ok(boards.every((x) => x.arch === 'x86_64' || x.arch === 'arm64'));
  const r = await runMain(['roles', '--json']);
  const roles = JSON.parse(r.stdout) as Array<{ name: string; default: boolean }>;
  assert.equal(roles.map((x) => x.name), listRoles());
  assert.equal(roles.filter((x) => x.default).map((x) => x.name), [DEFAULT_ROLE]);
  const text = await runMain(['roles']);
  assert.match(text.stdout, /^3router +.* \(default\)$/m);
  assert.is(text.stdout.trim().split('\n').length, listRoles().length);
});

test.run();
