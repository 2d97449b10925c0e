/**
 * `tfw boards` and `tfw roles`: what `--board` and `--role` accept, read from
 * board-configs/*.yaml and images/<role>.yaml (images/builder/schema.ts), with
 * the default every command uses marked. `--json` prints the list as data.
 */
import type { Command } from 'commander';
import { DEFAULT_BOARD, DEFAULT_ROLE, listBoards, listRoles, loadBoard, loadRole } from '../../images/builder/schema.js';

/** One board as listed: name, arch, QEMU machine, description, default or not. */
export function boardList(): Array<{ name: string; arch: string; machine: string; description: string; default: boolean }> {
  return listBoards().map((n) => {
    const b = loadBoard(n);
    return { name: b.name, arch: b.arch, machine: b.qemu.machine, description: b.description ?? '', default: b.name === DEFAULT_BOARD };
  });
}

/** One role as listed: name, the role it extends, description, default or not. */
export function roleList(): Array<{ name: string; extends: string | null; description: string; default: boolean }> {
  return listRoles().map((n) => {
    const r = loadRole(n);
    return { name: r.role, extends: r.extends ?? null, description: r.description ?? '', default: r.role === DEFAULT_ROLE };
  });
}

function table(rows: Array<{ name: string; description: string; default: boolean }>, extra: (r: never) => string): string {
  const w = Math.max(...rows.map((r) => r.name.length));
  return rows.map((r) => `${r.name.padEnd(w)}  ${extra(r as never)}${r.description}${r.default ? ' (default)' : ''}`).join('\n');
}

export function register(program: Command): void {
  program
    .command('boards')
    .description('List the boards --board accepts (board-configs/*.yaml)')
    .option('--json', 'print [{ name, arch, machine, description, default }] as JSON')
    .addHelpText('after', '\nExamples:\n  tfw boards\n  tfw boards --json | jq -r \'.[] | select(.arch == "arm64") | .name\'')
    .action((f: { json?: boolean }) => {
      const rows = boardList();
      process.stdout.write(f.json ? `${JSON.stringify(rows, null, 2)}\n` : `${table(rows, (r: { arch: string }) => `${r.arch.padEnd(7)} `)}\n`);
    });
  program
    .command('roles')
    .description('List the image roles --role accepts (images/<role>.yaml)')
    .option('--json', 'print [{ name, extends, description, default }] as JSON')
    .addHelpText('after', '\nExamples:\n  tfw roles\n  tfw roles --json')
    .action((f: { json?: boolean }) => {
      const rows = roleList();
      process.stdout.write(f.json ? `${JSON.stringify(rows, null, 2)}\n` : `${table(rows, () => '')}\n`);
    });
}
