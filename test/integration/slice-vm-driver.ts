/**
 * Run by slice-qemu.test.ts inside a network namespace of its own (the slice
 * manager puts a bridge and taps there): starts a 0-GPU slice under real QEMU
 * (TCG) from the stub image, waits for its serial line, asks QMP what QEMU
 * built, stops it; then starts a 1-GPU slice whose GPU exists only in the
 * fixture tree and reports QEMU's refusal. Prints one JSON object on stdout.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SliceManager, sliceProcessRunning } from '../../runtime/slices/manager.js';
import { qmpCommand } from '../../runtime/slices/qmp.js';
import { simulatedKernel } from '../unit/slices/sysfs-fixture.js';

const { sysfs, state, image } = JSON.parse(process.argv[2]) as { sysfs: string; state: string; image: string };
const m = new SliceManager({ sysfs, stateDir: state, image, accel: 'tcg', io: simulatedKernel(sysfs), log: (l) => process.stderr.write(`tfw: slice: ${l}\n`) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const out: Record<string, unknown> = {};

m.create({ name: 'vm0', gpus: 0, vcpus: 1, memoryMiB: 128, diskMiB: 64 });
const started = await m.start('vm0', { readyTimeoutMs: 30_000 });
out.pid = started.pid;
const consoleLog = join(state, 'vm0', 'console.log');
const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
const end = Date.now() + 60_000;
while (Date.now() < end && !read(consoleLog).includes('tfw-slice-stub ready')) await sleep(200);
out.console = read(consoleLog);
out.qemuLog = read(join(state, 'vm0', 'qemu.log'));
out.taps = (JSON.parse(execFileSync('ip', ['-j', 'link', 'show', 'master', 'tfwbr0']).toString()) as { ifname: string }[]).map((l) => l.ifname);
const sock = join(state, 'vm0', 'qmp.sock');
out.status = ((await qmpCommand(sock, 'query-status')) as { status: string }).status;
const vcpus = (await qmpCommand(sock, 'query-cpus-fast')) as { 'thread-id': number }[];
out.vcpus = vcpus.length;
out.vcpuAffinity = vcpus.map((c) => /Cpus_allowed_list:\s+(\S+)/.exec(read(`/proc/${started.pid}/task/${c['thread-id']}/status`))?.[1]);
out.vcpuThreadIsMain = vcpus.some((c) => c['thread-id'] === started.pid);
type PciDev = { id: { vendor: number; device: number }; pci_bridge?: { devices: PciDev[] } };
const flat = (ds: PciDev[]): PciDev[] => ds.flatMap((d) => [d, ...flat(d.pci_bridge?.devices ?? [])]);
const buses = (await qmpCommand(sock, 'query-pci')) as { devices: PciDev[] }[];
out.pci = buses.flatMap((b) => flat(b.devices)).map((d) => `${d.id.vendor.toString(16)}:${d.id.device.toString(16)}`);
out.blockFiles = ((await qmpCommand(sock, 'query-block')) as { inserted?: { file: string } }[]).map((b) => b.inserted?.file).filter(Boolean);
await m.stop('vm0', { timeoutMs: 1000 }); // the stub ignores ACPI: SIGTERM after 1 s
out.runningAfterStop = sliceProcessRunning(started.pid, 'vm0');
out.tapsAfterStop = (JSON.parse(execFileSync('ip', ['-j', 'link', 'show', 'master', 'tfwbr0']).toString()) as { ifname: string }[]).map((l) => l.ifname);

await m.delete('vm0'); // a stopped slice keeps its CPU; the 2-CPU fixture has one to give
out.vm0FolderAfterDelete = existsSync(join(state, 'vm0'));
m.create({ name: 'vm1', gpus: 1, vcpus: 1, memoryMiB: 128, diskMiB: 64 });
try {
  await m.start('vm1', { readyTimeoutMs: 30_000 });
  out.gpuError = null;
} catch (err) {
  out.gpuError = (err as Error).message;
}
out.listed = m.list().map((s) => [s.name, s.running, s.pid]);
process.stdout.write(`${JSON.stringify(out)}\n`);
