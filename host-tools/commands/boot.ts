/**
 * `tfw boot`: boot an image in QEMU (TCG) with the serial console on stdout,
 * wait for `tfw: ready <role> <arch> <version>`; builds the image when missing.
 * `--config FILE` gives the guest another overlay config for this boot (a
 * second initramfs segment, no rebuild); `--demo` boots two guests on one link
 * that ping each other over the overlay (images/builder/demo.ts). `--disk FILE`
 * boots a `tfw flash` disk image through UEFI firmware (OVMF / AAVMF) instead;
 * `--pxe URL` network-boots through the NIC's iPXE ROM from a `tfw pxe` server.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { TfwError } from '../../runtime/errors.js';
import { buildImage } from '../../images/builder/image.js';
import { imageDir } from '../../images/builder/paths.js';
import { makeProgress } from '../../images/builder/progress.js';
import { demoSummary, runDemo } from '../../images/builder/demo.js';
import { bootImage, diskManifest, nicArgs } from '../../images/builder/qemu.js';
import { loadConfig, readConfigObject } from '../../runtime/config/load.js';
import { encodeOverlayConfig } from '../../images/builder/overlay-config.js';
import { gatewaySections } from '../../runtime/gateway/service.js';
import { loadBoard, loadRole, DEFAULT_BOARD, DEFAULT_ROLE } from '../../images/builder/schema.js';

interface BootFlags {
  board: string;
  role: string;
  dir?: string;
  timeout: string;
  expect: string[];
  exitAfterReady?: boolean;
  net?: string;
  nic: string[];
  ip?: string;
  append: string[];
  build: boolean;
  json?: boolean;
  config?: string;
  demo?: boolean;
  disk?: string;
  pxe?: string;
  forward: string[];
  snapshot?: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];

/**
 * `--nic NAME=SPEC` options as a port -> spec map (specs are checked by the boot library).
 * @throws TfwError ERR_TFW_CONFIG for a malformed option or a port given twice
 */
export function parseNics(opts: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of opts) {
    const m = /^([a-z][a-z0-9]{0,14})=(\S+)$/.exec(o);
    if (!m) throw new TfwError('ERR_TFW_CONFIG', `--nic: expected NAME=SPEC like lan=tap:tfwlan0, got "${o}"`);
    if (m[1] in out) throw new TfwError('ERR_TFW_CONFIG', `--nic: port ${m[1]} given twice ("${m[1]}=${out[m[1]]}" and "${o}")`);
    out[m[1]] = m[2];
  }
  return out;
}

export function register(program: Command): void {
  program
    .command('boot')
    .description('Boot an image in QEMU (tcg) with the serial console on stdout')
    .option('-b, --board <board>', 'board name', DEFAULT_BOARD)
    .option('-r, --role <role>', 'image role', DEFAULT_ROLE)
    .option('-d, --dir <dir>', 'image folder (default build/images/<board>-<role>)')
    .option('-t, --timeout <seconds>', 'seconds to wait for the ready marker (--demo: for the whole demo)', '240')
    .option('-e, --expect <text>', 'text that must appear on the console before ready (repeatable)', collect, [])
    .option('--exit-after-ready', 'power the guest off cleanly once ready and exit 0')
    .option('--net <spec>', 'user (QEMU user net, DHCP), none, mcast:PORT (shared loopback link) or dgram:LOCALPORT:REMOTEPORT (default user; --demo: mcast on a random port)')
    .option('--nic <name=spec>', 'wire the board\'s port NAME (wan, lan: board-configs ports:) to SPEC: user, none, tap:IFNAME, mcast:PORT or dgram:LOCALPORT:REMOTEPORT (repeatable; --net SPEC is --nic wan=SPEC)', collect, [])
    .option('--ip <addr/prefix>', 'static guest address on eth0 (tfw.ip=), e.g. 10.99.0.1/24')
    .option('--append <word>', 'extra kernel command-line word (repeatable)', collect, [])
    .option('--config <file>', 'overlay config (YAML, JSON or wg-quick .conf, with privateKey) replacing the image\'s for this boot')
    .option('--disk <file>', 'boot a tfw flash disk image through UEFI firmware (OVMF / AAVMF) instead of -kernel/-initrd; the guest writes to it like to its own disk (identity, settings, upgrades) and reboots inside the run; --board defaults to the disk\'s')
    .option('--snapshot', 'with --disk: discard the guest\'s writes to the disk when QEMU exits')
    .option('--forward <hostport:guestport>', 'forward TCP 127.0.0.1:HOSTPORT to the guest\'s GUESTPORT (user net; repeatable), e.g. 8080:80 for the device API', collect, [])
    .option('--pxe <url>', 'network-boot through the NIC\'s iPXE ROM from this boot.ipxe URL (tfw pxe; loopback URLs work), no -kernel/-initrd; the kernel words come from the server (tfw pxe --append)')
    .option('--demo', 'boot two guests on one link, each pings the other\'s overlay address, power off, print a summary')
    .option('--no-build', 'fail instead of building a missing image')
    .option('--json', 'print the result as JSON on stdout (console goes to stderr)')
    .addHelpText('after', '\nExamples:\n  tfw boot --exit-after-ready\n  tfw boot --board qemu-arm64 --net mcast:47001 --ip 10.99.0.2/24\n  tfw boot --config node.yaml --net mcast:47001 --ip 10.99.0.1/24\n  tfw boot --nic wan=tap:tfwwan0 --nic lan=tap:tfwlan0   # a two-port 3router on taps\n  tfw boot --demo --json\n  tfw flash -o disk.img && tfw boot --disk disk.img --exit-after-ready\n  tfw boot --disk disk.img --forward 8080:80   # then: tfw upgrade --device http://127.0.0.1:8080 X.tfwup\n  tfw pxe --board qemu-x86_64 --role 3router --append tfw.poweroff_after_ready=1 &\n  tfw boot --pxe http://127.0.0.1:8069/boot.ipxe --exit-after-ready')
    .action(async (f: BootFlags, cmd: Command) => {
      if (f.snapshot && !f.disk) throw new TfwError('ERR_TFW_CONFIG', '--snapshot: goes with --disk');
      if (f.disk && (f.demo || f.dir)) throw new TfwError('ERR_TFW_CONFIG', `--disk: boots the disk image alone; drop ${f.demo ? '--demo' : '--dir'}`);
      if (f.pxe && (f.demo || f.disk || f.dir || f.config)) throw new TfwError('ERR_TFW_CONFIG', `--pxe: boots what the server serves; drop ${f.demo ? '--demo' : f.disk ? '--disk' : f.dir ? '--dir' : '--config'}`);
      const fromDisk = f.disk ? diskManifest(f.disk) : undefined;
      const board = loadBoard(fromDisk && cmd.getOptionValueSource('board') === 'default' ? fromDisk.board : f.board);
      const role = fromDisk ? { role: fromDisk.role } : loadRole(f.role);
      const timeout = Number(f.timeout);
      if (!Number.isFinite(timeout) || timeout <= 0) throw new TfwError('ERR_TFW_CONFIG', `--timeout: expected seconds > 0, got "${f.timeout}"`);
      if (f.demo && (f.config || f.ip || f.exitAfterReady || f.expect.length)) {
        throw new TfwError('ERR_TFW_CONFIG', '--demo: makes its own configs and addresses; drop --config, --ip, --expect and --exit-after-ready');
      }
      // Checked like compileConfig does, the 3router's gateway sections (lan, wan, firewall) kept as written.
      const config = f.config ? encodeOverlayConfig({ ...loadConfig(f.config), ...gatewaySections(readConfigObject(f.config)) }) : undefined;
      const nics = parseNics(f.nic);
      // The ports and specs are checked before any build or boot starts.
      nicArgs(board, { net: f.net, nics, forward: f.forward });
      const dir = f.dir ?? imageDir(board.name, role.role);
      if (!f.disk && !f.pxe && !existsSync(join(dir, 'manifest.json'))) {
        if (!f.build) throw new TfwError('ERR_TFW_IMAGE', `${dir} has no image; run tfw build --board ${board.name} --role ${role.role}`);
        buildImage({ board: board.name, role: role.role, outDir: dir, progress: makeProgress({ quiet: f.json }) });
      }
      if (f.demo) {
        const d = await runDemo({ board, dir, timeout, net: f.net, out: f.json ? process.stderr : process.stdout });
        if (f.json) {
          const guests = d.guests.map(({ boot, ...g }) => ({ ...g, qemuExitCode: boot?.qemuExitCode ?? null }));
          process.stdout.write(`${JSON.stringify({ ...d, role: role.role, guests }, null, 2)}\n`);
        } else for (const l of demoSummary(d)) process.stderr.write(`${l}\n`);
        if (!d.ok) throw new TfwError('ERR_TFW_BOOT', `demo: ${d.cause}`);
        return;
      }
      const r = await bootImage({
        board,
        dir,
        disk: f.disk,
        pxe: f.pxe ? { url: f.pxe } : undefined,
        snapshot: f.snapshot,
        forward: f.forward,
        timeout,
        expect: f.expect,
        exitAfterReady: f.exitAfterReady,
        net: f.net,
        nics,
        ip: f.ip,
        config,
        append: f.append,
        consoleOut: f.json ? process.stderr : process.stdout,
        interactive: !f.exitAfterReady && !f.json && process.stdin.isTTY,
      });
      if (f.json) process.stdout.write(`${JSON.stringify({ board: board.name, role: f.pxe ? (r.readyLine?.split(' ')[2] ?? null) : role.role, ...r }, null, 2)}\n`);
      else if (r.ok && r.readySeconds !== null) process.stderr.write(`tfw: boot: ready after ${r.readySeconds.toFixed(1)} s${f.exitAfterReady ? ', powered off' : ''}\n`);
      if (!r.ok) throw new TfwError('ERR_TFW_BOOT', r.cause ?? 'boot failed');
    });
}
