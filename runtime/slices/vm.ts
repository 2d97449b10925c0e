/**
 * A slice VM as a host process: its files (sparse disk, the tap's ifup
 * script), the bridge, starting QEMU detached, waiting until QMP answers
 * (QEMU's main loop runs only once every device is realised), pinning vCPU
 * threads, and powering it off (ACPI over QMP, then signals). The manager
 * sequences these; each is small enough to test on its own.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, existsSync, openSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SliceLaunchError } from './errors.js';
import { qmpCommand } from './qmp.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Host-side network plumbing; tests replace it. */
export interface HostNet {
  /** Creates bridge `name` when missing and sets it up; with `address` (CIDR), gives the bridge that address too. */
  ensureBridge(name: string, address?: string): void;
}

/** iproute2 / busybox `ip` on the live host. */
export const ipHostNet: HostNet = {
  ensureBridge(name, address) {
    try {
      if (!existsSync(join('/sys/class/net', name))) execFileSync('ip', ['link', 'add', 'name', name, 'type', 'bridge'], { stdio: ['ignore', 'ignore', 'pipe'] });
      execFileSync('ip', ['link', 'set', name, 'up'], { stdio: ['ignore', 'ignore', 'pipe'] });
      // `replace` leaves an address already there as it is (a restart of the manager).
      if (address) execFileSync('ip', ['addr', 'replace', address, 'dev', name], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      throw new SliceLaunchError(`bridge ${name}: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim().split('\n')[0]}`);
    }
  },
};

/** True when `pid` is a live (not zombie) process whose command line names slice `name` (`-name slice-<name>,...`). */
export function sliceProcessRunning(pid: number | null, name: string): boolean {
  if (pid === null) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((a) => a.startsWith(`slice-${name},`) || a === `slice-${name}`);
  } catch {
    return false;
  }
}

/** Creates `path` as a sparse raw disk of `mib` MiB when missing (blocks are allocated as the guest writes). */
export function makeSparseDisk(path: string, mib: number): void {
  if (existsSync(path)) return;
  closeSync(openSync(path, 'w', 0o600));
  truncateSync(path, mib * 1048576);
}

/** Writes the script QEMU runs with the tap's name once it has made the tap (`-netdev tap,script=`). */
export function writeIfupScript(path: string, bridge: string): void {
  writeFileSync(path, `#!/bin/sh\n# QEMU runs this with the tap's name once it has made the tap (-netdev tap,script=).\nip link set "$1" master ${bridge} && ip link set "$1" up\n`);
  chmodSync(path, 0o755);
}

/**
 * Runs `argv` detached (it outlives this process), stdout and stderr appended to `log`.
 * @throws SliceLaunchError when the program cannot be run
 */
export async function spawnVm(name: string, argv: string[], log: string): Promise<{ pid: number; child: ChildProcess; log: string }> {
  const out = openSync(log, 'a');
  const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid!));
    child.once('error', (err) => reject(new SliceLaunchError(`${name}: cannot run ${argv[0]}: ${err.message} (install util-linux's taskset and qemu-system-x86)`)));
  });
  child.unref();
  return { pid, child, log };
}

/**
 * Waits until QMP on `sock` answers `query-status`, or `timeoutMs` passes.
 * @returns true when it answered, false on the timeout (QEMU still running)
 * @throws SliceLaunchError with QEMU's last output line when it exits first
 */
export async function waitForQmp(vm: { pid: number; child: ChildProcess; log: string }, name: string, sock: string, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    // The child handle, not /proc's cmdline: right after spawn, before taskset execs QEMU, the
    // child's cmdline is still the parent's, and reading it as "not running" failed healthy starts.
    if (vm.child.exitCode !== null || vm.child.signalCode !== null) {
      await sleep(50); // let the last line reach the log
      const tail = readFileSync(vm.log, 'utf8').trim().split('\n').pop() ?? '';
      throw new SliceLaunchError(`${name}: QEMU exited at start${tail ? `: ${tail}` : ''} (see ${vm.log})`);
    }
    if (existsSync(sock) && (await qmpCommand(sock, 'query-status', undefined, 2000).then(() => true, () => false))) return true;
    if (Date.now() > end) return false;
    await sleep(100);
  }
}

/**
 * Pins vCPU n's thread to host CPU `hostCpus[n]` (QMP `query-cpus-fast` gives
 * the thread ids; `taskset -p -c`). Needs one thread per vCPU (KVM,
 * multi-threaded TCG); otherwise the VM stays confined to the whole set.
 * @returns a phrase for the log
 */
export async function pinVcpus(sock: string, hostCpus: number[]): Promise<string> {
  const cpus = (await qmpCommand(sock, 'query-cpus-fast', undefined, 2000)) as { 'cpu-index': number; 'thread-id': number }[];
  if (!Array.isArray(cpus) || cpus.length !== hostCpus.length || new Set(cpus.map((c) => c['thread-id'])).size !== cpus.length) return 'vCPUs share threads: confined to the set';
  for (const c of cpus) execFileSync('taskset', ['-p', '-c', String(hostCpus[c['cpu-index']]), String(c['thread-id'])], { stdio: 'ignore' });
  return `vCPU threads pinned ${cpus.map((c) => `${c['cpu-index']}->${hostCpus[c['cpu-index']]}`).join(' ')}`;
}

/**
 * Powers VM `pid` off: QMP `system_powerdown` (the ACPI power button), up to
 * `timeoutMs` for the guest to act, then SIGTERM, then SIGKILL after 5 s.
 * @returns how it ended, for the log
 */
export async function powerOff(name: string, pid: number, sock: string, timeoutMs: number): Promise<string> {
  const gone = async (ms: number) => {
    const end = Date.now() + ms;
    while (sliceProcessRunning(pid, name)) {
      if (Date.now() > end) return false;
      await sleep(100);
    }
    return true;
  };
  const asked = await qmpCommand(sock, 'system_powerdown').then(() => true, () => false);
  if (await gone(asked ? timeoutMs : 0)) return 'powered down';
  process.kill(pid, 'SIGTERM');
  if (await gone(5000)) return asked ? 'terminated (guest ignored the power button)' : 'terminated (no QMP)';
  process.kill(pid, 'SIGKILL');
  await gone(5000);
  return 'killed';
}
