/**
 * Booting an image in QEMU (TCG by default; KVM on request for the host's
 * own arch) with the serial console on stdio, and watching the console for
 * the runtime's ready marker
 * `tfw: ready <role> <arch> <version>`. Several guests can share one virtual
 * Ethernet link on loopback (`--net mcast:PORT`, QEMU's `-netdev socket,mcast=`
 * bound to 127.0.0.1) or be wired in pairs (`--net dgram:LOCAL:REMOTE`).
 * With `disk` (a `tfw flash` disk image) the guest boots like hardware does:
 * UEFI firmware (OVMF on x86_64, AAVMF on arm64) from pflash finds the EFI
 * System Partition on a virtio disk and runs systemd-boot, which loads the
 * kernel and initramfs of the first slot in its order; the guest writes to the
 * disk as it would to its own (identity and settings on tfw-data, boot
 * counting and upgrades on the ESP) unless `snapshot` is set, and reboots stay
 * inside the one QEMU run (no -no-reboot), so an upgrade can be followed to its
 * end. Extra kernel words and a config for the boot go through QEMU's fw_cfg
 * (`opt/tfw/cmdline`, `opt/tfw/config.cbor`, read by the guest init), so the
 * disk itself is never rewritten to carry them.
 * With `pxe` the guest boots like a PXE-booted 3Node: no -kernel/-initrd; the
 * NIC's iPXE option ROM (Debian's ipxe-qemu) gets the script URL as the boot
 * file name from QEMU's user-net DHCP and fetches boot.ipxe, the kernel and the
 * initramfs over HTTP (`tfw pxe`).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { consoleFilter } from './console-filter.js';
import { TfwError } from '../../runtime/errors.js';
import type { Manifest } from './image.js';
import { initrdWithConfig } from './initrd-config.js';
import { diskManifest, prepareDiskBoot, uefiFirmware } from './uefi-boot.js';

export { diskManifest, uefiFirmware };
import { boardPorts, sizeMiB, type Board } from './schema.js';

export interface BootOptions {
  board: Board;
  /** Image folder (vmlinuz, initramfs.cpio.zst, cmdline, manifest.json). */
  dir: string;
  /** Seconds to wait for the ready marker (default 240). */
  timeout?: number;
  /** QEMU accelerator (default tcg). kvm runs the host's own arch only, with `-cpu host`; callers check /dev/kvm. */
  accel?: 'tcg' | 'kvm';
  /** Texts that must appear on the console before the ready marker. */
  expect?: string[];
  /** Power the guest off once ready (kernel flag tfw.poweroff_after_ready=1). */
  exitAfterReady?: boolean;
  /** The WAN port's spec (`--nic wan=SPEC`): `user` (default: QEMU user net with DHCP), `none`, `tap:IFNAME`, `mcast:PORT` or `dgram:LOCALPORT:REMOTEPORT`. */
  net?: string;
  /** Specs of the board's other ports by name (`lan: 'tap:tfwlan0'`); see `nicArgs`. */
  nics?: Record<string, string>;
  /** Static guest address ADDR/PREFIX (tfw.ip=); needed on links without DHCP. */
  ip?: string;
  /** Stop QEMU and succeed as soon as this text appears (tests of failure paths). */
  until?: string;
  /** Extra kernel command-line words. */
  append?: string[];
  /** Where the console goes (default process.stdout); null hides it. */
  consoleOut?: NodeJS.WritableStream | null;
  /** Forward this process's stdin to the guest console (interactive use). */
  interactive?: boolean;
  /**
   * Overlay config (CBOR, as `compileConfig` makes it) that replaces the image's
   * /etc/tfw/config.cbor for this boot: appended as a second initramfs segment.
   */
  config?: Uint8Array;
  /** Initramfs to pass instead of the image's (set by bootImage for `config`). */
  initrd?: string;
  /**
   * Raw disk image made by `tfw flash` (GPT + EFI System Partition): boot it
   * through UEFI firmware instead of -kernel/-initrd; `dir` is then unused.
   * Extra kernel words (append, ip, exitAfterReady) and `config` go into a
   * private copy of the disk (its loader entry and initramfs), never the disk.
   */
  disk?: string;
  /** UEFI code and vars images for a disk boot (default: uefiFirmware(arch); bootImage pads them when needed). */
  firmware?: { code: string; vars: string };
  /** Disk boots: open the disk with snapshot=on, so the guest's writes are discarded when QEMU exits. */
  snapshot?: boolean;
  /** Config file handed to a disk boot through fw_cfg (set by bootImage from `config`). */
  configFile?: string;
  /** "HOSTPORT:GUESTPORT" TCP forwards from the host's 127.0.0.1 to the guest (QEMU user net hostfwd). */
  forward?: string[];
  /**
   * Called with every console line (escape sequences removed) and a function
   * that types text on the guest console (serial input); not with interactive.
   */
  onLine?: (line: string, send: (text: string) => void) => void;
  /** Aborting stops QEMU; the result fails with the abort reason as cause. */
  signal?: AbortSignal;
  /**
   * Run QEMU inside this network namespace (`ip netns exec NS`, which execs
   * QEMU in place: the child is QEMU itself). The user net's outside is then
   * that namespace: `forward` listens on its 127.0.0.1, and the guest's
   * traffic leaves through its routes. Tests use it to give a guest peers in
   * other namespaces without touching the host's network. Needs root.
   */
  netns?: string;
  /**
   * Network boot instead of -kernel/-initrd: `url` is boot.ipxe as the host
   * reaches it (e.g. `tfw pxe`'s http://127.0.0.1:8069/boot.ipxe; loopback
   * hosts become 10.0.2.2 for the guest, QEMU user net's alias of the host's
   * loopback). Needs net `user`; the kernel command line is the script's, so
   * append, ip and config are refused, and exitAfterReady needs the script to
   * carry tfw.poweroff_after_ready=1 (`tfw pxe --append tfw.poweroff_after_ready=1`),
   * which bootImage checks by fetching it before QEMU starts.
   */
  pxe?: { url: string };
  /** Virtual CPUs (-smp; default QEMU's one). The aibox scenario gives two: the slice planner keeps the first core for the host. */
  smp?: number;
}

export interface BootResult {
  ok: boolean;
  /** Seconds from QEMU start to the ready marker, or null. */
  readySeconds: number | null;
  readyLine: string | null;
  /** Each expected text and whether it was seen before ready. */
  expect: Record<string, boolean>;
  qemuExitCode: number | null;
  /** One-line cause when not ok. */
  cause?: string;
  /** The last console lines (for error reports). */
  tail: string[];
}

const QEMU = { x86_64: 'qemu-system-x86_64', arm64: 'qemu-system-aarch64' } as const;

/**
 * A console line as text: terminal control sequences removed (ECMA-48 CSI
 * sequences such as SeaBIOS's clear-screen `ESC [ 2 J`, two-byte escapes
 * such as its reset `ESC c`), and other C0 controls but tab.
 */
export function plainConsoleLine(raw: string): string {
  return raw
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/\x1b[ -~]/g, '')
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
}

/**
 * Console lines after which a boot cannot reach ready: the kernel could not
 * unpack the initramfs (init/initramfs.c), or panicked.
 */
export const FATAL_CONSOLE = [/Initramfs unpacking failed/, /Kernel panic - not syncing/];

/** QEMU -drive option value: commas in file names are doubled. */
const qfile = (p: string) => p.replace(/,/g, ',,');

/** A locally administered MAC derived from a seed (stable per address), else random. */
function macFor(seed?: string): string {
  const b = seed ? createHash('sha256').update(seed).digest() : randomBytes(6);
  return ['52', '54', ...[...b.subarray(0, 4)].map((x) => x.toString(16).padStart(2, '0'))].join(':');
}

/**
 * QEMU -netdev/-device arguments for one NIC from its spec: `user`, `none`,
 * `tap:IFNAME` (an existing tap device, e.g. one moved into a namespace's
 * bridge; QEMU runs no ifup script), `mcast:PORT` or `dgram:LOCALPORT:REMOTEPORT`.
 * `id` names the netdev (n0 for the first port) and `option` the CLI option
 * that errors name (--net, or --nic lan=). With `bootfile` (a PXE boot, user
 * net only) the NIC keeps its iPXE option ROM and QEMU's DHCP server hands the
 * guest `bootfile` as its boot file name.
 * @throws TfwError ERR_TFW_CONFIG naming the option and the spec
 */
export function netdevArgs(spec: string, model: string, mac: string, bootfile?: string, forward: string[] = [], id = 'n0', option = '--net'): string[] {
  const fwd = forward.map((f) => {
    const m = /^(\d{1,5}):(\d{1,5})$/.exec(f);
    if (!m || [m[1], m[2]].some((p) => Number(p) < 1 || Number(p) > 65535)) throw new TfwError('ERR_TFW_CONFIG', `--forward: expected HOSTPORT:GUESTPORT like 8080:80, got "${f}"`);
    return `,hostfwd=tcp:127.0.0.1:${m[1]}-:${m[2]}`;
  });
  if (fwd.length && spec !== 'user') throw new TfwError('ERR_TFW_CONFIG', `--forward: needs --net user (QEMU's user net forwards the ports), got "${spec}"`);
  if (bootfile !== undefined) {
    if (spec !== 'user') throw new TfwError('ERR_TFW_CONFIG', `--pxe: needs --net user (QEMU's DHCP hands out the boot file), got "${spec}"`);
    return ['-netdev', `user,id=${id},bootfile=${qfile(bootfile)}${fwd.join('')}`, '-device', `${model},netdev=${id},mac=${mac}`];
  }
  // romfile= drops the NIC's iPXE option ROM: -kernel boots directly, and probing it costs seconds.
  const dev = ['-device', `${model},netdev=${id},mac=${mac},romfile=`];
  if (spec === 'user') return ['-netdev', `user,id=${id}${fwd.join('')}`, ...dev];
  if (spec === 'none') return ['-nic', 'none'];
  let m = /^mcast:(\d{1,5})$/.exec(spec);
  if (m && Number(m[1]) > 0 && Number(m[1]) < 65536) return ['-netdev', `socket,id=${id},mcast=230.0.0.1:${m[1]},localaddr=127.0.0.1`, ...dev];
  m = /^dgram:(\d{1,5}):(\d{1,5})$/.exec(spec);
  if (m) {
    return ['-netdev', `dgram,id=${id},local.type=inet,local.host=127.0.0.1,local.port=${m[1]},remote.type=inet,remote.host=127.0.0.1,remote.port=${m[2]}`, ...dev];
  }
  m = /^tap:([A-Za-z0-9_.-]{1,15})$/.exec(spec);
  if (m) return ['-netdev', `tap,id=${id},ifname=${m[1]},script=no,downscript=no`, ...dev];
  throw new TfwError('ERR_TFW_CONFIG', `${option}: expected user, none, tap:IFNAME, mcast:PORT or dgram:LOCALPORT:REMOTEPORT, got "${spec}"`);
}

/**
 * The NIC arguments for every board port that has a spec, in the board's
 * port order (so the guest's eth0, eth1... follow `ports:`), each with its
 * own netdev id (n0, n1, ...) and MAC. `nics` maps port names to specs;
 * `net` is the WAN's spec (`--net SPEC` = `--nic wan=SPEC`, default `user`).
 * A port without a spec gets no NIC, unless a later port has one: it then
 * gets a NIC with no backend (link down), so the numbering stays the board's.
 * `seed` makes the MACs stable (the WAN keeps the MAC it had before ports).
 * @throws TfwError ERR_TFW_CONFIG for an unknown port, a port given twice or a bad spec
 */
export function nicArgs(board: Board, o: { net?: string; nics?: Record<string, string>; forward?: string[] }, seed?: string): string[] {
  const ports = boardPorts(board);
  const specs: Record<string, string> = { ...(o.nics ?? {}) };
  for (const name of Object.keys(specs)) {
    if (!ports.some(([p]) => p === name)) throw new TfwError('ERR_TFW_CONFIG', `--nic: board ${board.name} has no port "${name}" (expected one of ${ports.map(([p]) => p).join(', ')})`);
  }
  if (o.net !== undefined) {
    if (specs.wan !== undefined) throw new TfwError('ERR_TFW_CONFIG', `--net: is --nic wan=SPEC; give one of them (got --net ${o.net} and --nic wan=${specs.wan})`);
    specs.wan = o.net;
  }
  specs.wan ??= 'user';
  // --forward applies to the WAN's user net; refuse it where the WAN is not user net.
  if (o.forward?.length && specs.wan !== 'user') throw new TfwError('ERR_TFW_CONFIG', `--forward: needs --net user (QEMU's user net forwards the ports), got "${specs.wan}"`);
  const last = ports.reduce((k, [p], i) => (specs[p] !== undefined && specs[p] !== 'none' ? i : k), -1);
  if (last < 0) return ['-nic', 'none'];
  const out: string[] = [];
  ports.forEach(([p], i) => {
    if (i > last) return;
    const spec = specs[p] ?? 'none';
    const mac = macFor(p === 'wan' ? seed : seed && `${seed}/${p}`);
    if (spec === 'none') out.push('-device', `${board.nic.model},mac=${mac},romfile=`);
    else out.push(...netdevArgs(spec, board.nic.model, mac, undefined, p === 'wan' ? o.forward : [], `n${i}`, p === 'wan' && o.net !== undefined ? '--net' : `--nic ${p}=`));
  });
  return out;
}

/**
 * The URL a guest on QEMU user net uses for `url` (as the host reaches it):
 * loopback hosts (127.0.0.0/8, localhost) become 10.0.2.2, which QEMU's user
 * net forwards to the host's loopback; other URLs are kept. Throws naming
 * --pxe for anything but an http:// URL.
 */
export function guestPxeUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TfwError('ERR_TFW_CONFIG', `--pxe: expected an http:// URL like http://127.0.0.1:8069/boot.ipxe, got "${url}"`);
  }
  if (u.protocol !== 'http:') throw new TfwError('ERR_TFW_CONFIG', `--pxe: expected an http:// URL like http://127.0.0.1:8069/boot.ipxe, got "${url}"`);
  if (u.hostname === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(u.hostname)) u.hostname = '10.0.2.2';
  return u.href;
}

/** Kernel command-line words a boot adds to the image's (append, tfw.poweroff_after_ready, tfw.ip). */
function extraWords(o: BootOptions): string[] {
  if (o.ip && !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(o.ip)) throw new TfwError('ERR_TFW_CONFIG', `--ip: expected ADDR/PREFIX like 10.99.0.1/24, got "${o.ip}"`);
  const words = [...(o.append ?? [])];
  if (o.exitAfterReady) words.push('tfw.poweroff_after_ready=1');
  if (o.ip) words.push(`tfw.ip=${o.ip}`);
  return words;
}

/**
 * The full QEMU command line for an image. For a disk boot, `cmdline` is only
 * the words added to the disk's loader entry (bootImage writes them into a copy).
 */
export function qemuCommand(o: BootOptions): { cmd: string; args: string[]; cmdline: string } {
  const b = o.board;
  // Disk boots reboot like hardware (upgrades, the health deadline); the others stop QEMU on a guest reboot.
  const kvm = o.accel === 'kvm';
  const machine = ['-accel', kvm ? 'kvm' : 'tcg', '-machine', b.qemu.machine, '-cpu', kvm ? 'host' : b.qemu.cpu, '-m', String(Math.round(sizeMiB(b.memory))), ...(o.smp ? ['-smp', String(o.smp)] : []), '-nographic', ...(o.disk ? [] : ['-no-reboot'])];
  if (o.pxe) {
    // SeaBIOS runs the NIC's iPXE ROM; arm64's virt machine has no firmware without -bios/pflash.
    if (b.arch !== 'x86_64') throw new TfwError('ERR_TFW_CONFIG', `--pxe: network boots in QEMU need an x86_64 board (SeaBIOS runs the NIC's iPXE ROM); ${b.name} is ${b.arch}`);
    const refused = [o.disk && 'disk', o.append?.length && 'append', o.ip && 'ip', o.config && 'config'].filter(Boolean);
    if (refused.length) throw new TfwError('ERR_TFW_CONFIG', `--pxe: the kernel and its command line come from the served boot.ipxe; drop --${refused[0]} (give kernel words to tfw pxe --append)`);
    const args = [...machine, ...netdevArgs(o.net ?? o.nics?.wan ?? 'user', b.nic.model, macFor(o.pxe.url), guestPxeUrl(o.pxe.url), o.forward), '-boot', 'n'];
    return { cmd: QEMU[b.arch], args, cmdline: '' };
  }
  const nic = nicArgs(b, o, o.ip ?? o.disk);
  if (o.disk) {
    if (!existsSync(o.disk)) throw new TfwError('ERR_TFW_IMAGE', `--disk: ${o.disk} does not exist; make it with tfw flash`);
    const fw = o.firmware ?? uefiFirmware(b.arch);
    const cmdline = extraWords(o).join(' ');
    if (/,/.test(cmdline)) throw new TfwError('ERR_TFW_CONFIG', `--append: kernel words for a disk boot cannot hold a comma (QEMU -fw_cfg string), got "${cmdline}"`);
    const args = [
      ...machine,
      // Firmware code read-only; the vars store takes writes into a throw-away overlay (snapshot=on).
      '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${qfile(fw.code)}`,
      '-drive', `if=pflash,format=raw,unit=1,snapshot=on,file=${qfile(fw.vars)}`,
      '-drive', `if=none,id=disk0,format=raw,${o.snapshot ? 'snapshot=on,' : ''}file=${qfile(o.disk)}`,
      '-device', 'virtio-blk-pci,drive=disk0,bootindex=0',
      ...nic,
      ...(cmdline ? ['-fw_cfg', `name=opt/tfw/cmdline,string=${cmdline}`] : []),
      ...(o.configFile ? ['-fw_cfg', `name=opt/tfw/config.cbor,file=${qfile(o.configFile)}`] : []),
    ];
    return { cmd: QEMU[b.arch], args, cmdline };
  }
  for (const f of ['vmlinuz', 'initramfs.cpio.zst', 'cmdline']) {
    if (!existsSync(join(o.dir, f))) throw new TfwError('ERR_TFW_IMAGE', `${join(o.dir, f)} is missing; run tfw build first`);
  }
  const cmdline = [readFileSync(join(o.dir, 'cmdline'), 'utf8').trim(), ...extraWords(o)].join(' ');
  const args = [
    ...machine,
    '-kernel', join(o.dir, 'vmlinuz'),
    '-initrd', o.initrd ?? join(o.dir, 'initramfs.cpio.zst'),
    '-append', cmdline,
    ...nic,
  ];
  return { cmd: QEMU[b.arch], args, cmdline };
}

/** Reads the image manifest (for the version in the ready marker). */
export function readManifest(dir: string): Manifest {
  try {
    return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch {
    throw new TfwError('ERR_TFW_IMAGE', `${join(dir, 'manifest.json')} is missing or unreadable; run tfw build first`);
  }
}

/**
 * Before a PXE boot: fetches the script and manifest.json from the server (as
 * the host reaches it) so that an unreachable server, a script without a kernel
 * line or, with exitAfterReady, without tfw.poweroff_after_ready=1 fails at
 * once, naming --pxe; returns the manifest (for the ready marker).
 */
async function pxePreflight(o: BootOptions): Promise<Manifest> {
  const url = o.pxe!.url;
  qemuCommand(o); // option checks first (they name the option)
  const get = async (u: string): Promise<string> => {
    let r: Response;
    try {
      r = await fetch(u, { signal: AbortSignal.timeout(10_000) });
    } catch (err) {
      throw new TfwError('ERR_TFW_BOOT', `--pxe: cannot fetch ${u}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message} (is tfw pxe running?)`);
    }
    if (!r.ok) throw new TfwError('ERR_TFW_BOOT', `--pxe: ${u}: HTTP ${r.status}`);
    return r.text();
  };
  const script = await get(url);
  const kernel = /^kernel\s.*$/m.exec(script)?.[0];
  if (!script.startsWith('#!ipxe') || !kernel) throw new TfwError('ERR_TFW_BOOT', `--pxe: ${url} is not an iPXE script with a kernel line`);
  if (o.exitAfterReady && !kernel.split(/\s+/).includes('tfw.poweroff_after_ready=1')) {
    throw new TfwError('ERR_TFW_CONFIG', `--exit-after-ready: the script at ${url} does not power the guest off; serve it with tfw pxe --append tfw.poweroff_after_ready=1`);
  }
  const m = new URL('manifest.json', url).href;
  try {
    return JSON.parse(await get(m)) as Manifest;
  } catch (err) {
    if (err instanceof TfwError) throw err;
    throw new TfwError('ERR_TFW_BOOT', `--pxe: ${m} is not JSON`);
  }
}

/**
 * Boots the image and resolves when the run is decided: with exitAfterReady,
 * after the guest powered off (ok) or on timeout/failure; otherwise when QEMU
 * exits (ok if the marker was seen). Never rejects for guest failures: the
 * cause is in the result. With `pxe`, bad options and an unusable server reject.
 */
export function bootImage(o: BootOptions): Promise<BootResult> {
  if (o.pxe) {
    return pxePreflight(o).then((m) => startBoot(o, m));
  }
  return startBoot(o);
}

function startBoot(o: BootOptions, pxeManifest?: Manifest): Promise<BootResult> {
  let cleanup = () => {};
  let manifest: Manifest;
  let cmd: string;
  let args: string[];
  if (pxeManifest) {
    manifest = pxeManifest;
    ({ cmd, args } = qemuCommand(o));
  } else if (o.disk) {
    if (!existsSync(o.disk)) throw new TfwError('ERR_TFW_IMAGE', `--disk: ${o.disk} does not exist; make it with tfw flash`);
    manifest = diskManifest(o.disk);
    if (manifest.arch !== o.board.arch) {
      throw new TfwError('ERR_TFW_CONFIG', `--disk: ${o.disk} holds an ${manifest.arch} image (${manifest.board}-${manifest.role}), but board ${o.board.name} is ${o.board.arch}`);
    }
    const p = prepareDiskBoot(o);
    cleanup = p.cleanup;
    try {
      ({ cmd, args } = qemuCommand({ ...o, firmware: p.firmware, configFile: p.configFile }));
    } catch (err) {
      cleanup();
      throw err;
    }
  } else {
    manifest = readManifest(o.dir);
    ({ cmd, args } = qemuCommand(o));
  }
  if (o.config && !o.disk && !o.pxe) {
    const t = initrdWithConfig(join(o.dir, 'initramfs.cpio.zst'), o.config);
    cleanup = t.cleanup;
    args[args.indexOf('-initrd') + 1] = t.path;
  }
  // A disk may run another release than the one flashed (upgrades): any version's marker counts there.
  const marker = `tfw: ready ${manifest.role} ${manifest.arch} ${o.disk ? '<version>' : manifest.version}`;
  const markerRe = new RegExp(`tfw: ready ${manifest.role} ${manifest.arch} ${o.disk ? '\\S+' : manifest.version.replace(/[.]/g, '\\.')}$`);
  const timeout = (o.timeout ?? 240) * 1000;
  const out = o.consoleOut === undefined ? process.stdout : o.consoleOut;
  const expect: Record<string, boolean> = Object.fromEntries((o.expect ?? []).map((e) => [e, false]));
  const result: BootResult = { ok: false, readySeconds: null, readyLine: null, expect, qemuExitCode: null, tail: [] };
  const started = Date.now();

  const qemu = cmd;
  if (o.netns) {
    args = ['netns', 'exec', o.netns, cmd, ...args];
    cmd = 'ip';
  }
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: [o.interactive ? 'inherit' : o.onLine ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const send = (text: string) => {
      if (child.stdin && !child.stdin.destroyed) child.stdin.write(text);
    };
    child.stdin?.on('error', () => {});
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const finish = (ok: boolean, cause?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      result.ok = ok;
      if (cause) result.cause = cause;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        killTimer = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(killTimer);
          resolve(result);
        });
      } else resolve(result);
    };
    const timer = setTimeout(() => {
      if (result.readySeconds === null) finish(false, `no ready marker "${marker}" after ${timeout / 1000} s`);
      else finish(false, `the guest did not power off within ${timeout / 1000} s after ready`);
    }, timeout);
    const onSignal = () => finish(false, 'interrupted');
    process.once('SIGINT', onSignal);
    const onAbort = () => finish(false, String(o.signal?.reason instanceof Error ? o.signal.reason.message : o.signal?.reason ?? 'aborted'));
    if (o.signal?.aborted) queueMicrotask(onAbort);
    else o.signal?.addEventListener('abort', onAbort);

    let buf = '';
    // The guest's control codes (SeaBIOS resets and clears) stay off the user's terminal.
    const shown = consoleFilter({ interactive: o.interactive });
    child.stdout!.on('data', (chunk: Buffer) => {
      const s = chunk.toString('utf8');
      const visible = out ? shown(s) : '';
      if (visible) out?.write(visible);
      buf += s;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = plainConsoleLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        result.tail.push(line);
        if (result.tail.length > 20) result.tail.shift();
        o.onLine?.(line, send);
        if (o.until && line.includes(o.until)) finish(true);
        // A boot that cannot go on says so at once: fail now, not at the timeout.
        // The cause is the line from the fatal words on: the kernel's first line may follow
        // SeaBIOS's "Booting from ROM..." with no newline between them.
        const fatal = FATAL_CONSOLE.find((re) => re.test(line));
        if (fatal && !o.until) finish(false, `the guest failed: ${line.slice(line.search(fatal)).trim()}`);
        if (result.readySeconds === null) {
          for (const e of Object.keys(expect)) if (line.includes(e)) expect[e] = true;
          if (markerRe.test(line.trim())) {
            result.readySeconds = (Date.now() - started) / 1000;
            result.readyLine = line.trim();
            const missing = Object.keys(expect).filter((e) => !expect[e]);
            if (missing.length) finish(false, `expected "${missing[0]}" on the console before ready, not seen`);
            else if (!o.exitAfterReady) clearTimeout(timer);
          }
        }
      }
    });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
      if (stderr.length > 4096) stderr = stderr.slice(-4096);
    });
    child.on('error', (err) => {
      cleanup();
      finish(false, `cannot start ${qemu}${o.netns ? ` in network namespace ${o.netns}` : ''}: ${err.message} (install qemu-system-x86 / qemu-system-arm)`);
    });
    // 'close', not 'exit': QEMU may exit before Node has read its last console lines (a
    // ready marker or a kernel's fatal line just before power-off), which then misread as
    // "exited before ready"; 'close' comes once stdout and stderr are drained.
    child.on('close', (code, signal) => {
      process.removeListener('SIGINT', onSignal);
      cleanup();
      result.qemuExitCode = code;
      if (settled) return;
      const why = stderr.trim().split('\n').pop();
      if (result.readySeconds === null) {
        const last = result.tail.filter((l) => l.trim()).pop() ?? '';
        finish(false, `${qemu} exited (${code ?? signal}) before ready${why ? `: ${why}` : last ? `; last console line: ${last.trim()}` : ''}`);
      } else if (code !== 0) finish(false, `${qemu} exited with ${code ?? signal} after ready${why ? `: ${why}` : ''}`);
      else finish(true);
    });
  });
}
