/**
 * `tfw boot`: boot an image in QEMU (TCG) with the serial console on stdout,
 * wait for `tfw: ready <role> <arch> <version>`; builds the image when missing.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { TfwError } from '../../runtime/errors.js';
import { buildImage } from '../../images/builder/image.js';
import { imageDir } from '../../images/builder/paths.js';
import { makeProgress } from '../../images/builder/progress.js';
import { bootImage } from '../../images/builder/qemu.js';
import { loadBoard, loadRole } from '../../images/builder/schema.js';

interface BootFlags {
  board: string;
  role: string;
  dir?: string;
  timeout: string;
  expect: string[];
  exitAfterReady?: boolean;
  net: string;
  ip?: string;
  append: string[];
  build: boolean;
  json?: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function register(program: Command): void {
  program
    .command('boot')
    .description('Boot an image in QEMU (tcg) with the serial console on stdout')
    .option('-b, --board <board>', 'board name', 'qemu-x86_64')
    .option('-r, --role <role>', 'image role', '3router')
    .option('-d, --dir <dir>', 'image folder (default build/images/<board>-<role>)')
    .option('-t, --timeout <seconds>', 'seconds to wait for the ready marker', '240')
    .option('-e, --expect <text>', 'text that must appear on the console before ready (repeatable)', collect, [])
    .option('--exit-after-ready', 'power the guest off cleanly once ready and exit 0')
    .option('--net <spec>', 'user (QEMU user net, DHCP), none, mcast:PORT (shared loopback link) or dgram:LOCALPORT:REMOTEPORT', 'user')
    .option('--ip <addr/prefix>', 'static guest address on eth0 (tfw.ip=), e.g. 10.99.0.1/24')
    .option('--append <word>', 'extra kernel command-line word (repeatable)', collect, [])
    .option('--no-build', 'fail instead of building a missing image')
    .option('--json', 'print the result as JSON on stdout (console goes to stderr)')
    .addHelpText('after', '\nExamples:\n  tfw boot --exit-after-ready\n  tfw boot --board qemu-arm64 --net mcast:47001 --ip 10.99.0.2/24')
    .action(async (f: BootFlags) => {
      const board = loadBoard(f.board);
      const role = loadRole(f.role);
      const timeout = Number(f.timeout);
      if (!Number.isFinite(timeout) || timeout <= 0) throw new TfwError('ERR_TFW_CONFIG', `--timeout: expected seconds > 0, got "${f.timeout}"`);
      const dir = f.dir ?? imageDir(board.name, role.role);
      if (!existsSync(join(dir, 'manifest.json'))) {
        if (!f.build) throw new TfwError('ERR_TFW_IMAGE', `${dir} has no image; run tfw build --board ${board.name} --role ${role.role}`);
        buildImage({ board: board.name, role: role.role, outDir: dir, progress: makeProgress({ quiet: f.json }) });
      }
      const r = await bootImage({
        board,
        dir,
        timeout,
        expect: f.expect,
        exitAfterReady: f.exitAfterReady,
        net: f.net,
        ip: f.ip,
        append: f.append,
        consoleOut: f.json ? process.stderr : process.stdout,
        interactive: !f.exitAfterReady && !f.json && process.stdin.isTTY,
      });
      if (f.json) process.stdout.write(`${JSON.stringify({ board: board.name, role: role.role, ...r }, null, 2)}\n`);
      else if (r.ok && r.readySeconds !== null) process.stderr.write(`tfw: boot: ready after ${r.readySeconds.toFixed(1)} s${f.exitAfterReady ? ', powered off' : ''}\n`);
      if (!r.ok) throw new TfwError('ERR_TFW_BOOT', r.cause ?? 'boot failed');
    });
}
