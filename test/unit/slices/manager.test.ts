/**
 * SliceManager end to end on a fixture sysfs tree with a simulated PCI core
 * and a stand-in QEMU (a Node script that speaks QMP on the -qmp socket and
 * records its argv): create, start (vfio binding, disk, tap script, detached
 * process), stop over QMP, reconcile after a "reboot", delete, failures.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { SliceManager, sliceProcessRunning } from '../../../runtime/slices/manager.js';
import { SliceLaunchError, SliceRefusedError, SliceStateError } from '../../../runtime/slices/errors.js';
import { readPciFunction } from '../../../runtime/slices/pci.js';
import { SliceStore } from '../../../runtime/slices/state.js';
import { writeQemuStub } from './qemu-stub.js';
import { simulatedKernel, writeSysfs, type FixtureSpec } from './sysfs-fixture.js';

/** Two host CPUs (0 for the host, 1 for a slice: taskset must accept it here), 8 GiB, two GPUs, one with audio. */
const smallHost = (): FixtureSpec => ({
  sockets: 1, coresPerSocket: 2, threadsPerCore: 1, memoryPerNodeMiB: 8192,
  pci: [
    { address: '0000:01:00.0', vendor: 0x10de, device: 0x2684, class: 0x030000, group: 3, driver: 'nvidia' },
    { address: '0000:01:00.1', vendor: 0x10de, device: 0x22ba, class: 0x040300, group: 3, driver: 'snd_hda_intel' },
    { address: '0000:02:00.0', vendor: 0x10de, device: 0x2684, class: 0x030000, group: 4, driver: 'nvidia' },
  ],
});


interface Env {
  m: SliceManager;
  root: string;
  state: string;
  bridges: string[];
  logs: string[];
  cleanup: () => void;
}

function env(): Env {
  const fx = writeSysfs(smallHost());
  const state = mkdtempSync(join(tmpdir(), 'tfw-slices-'));
  const image = join(state, 'image');
  const stub = writeQemuStub(join(state, 'qemu-stub.cjs'));
  const bridges: string[] = [];
  const logs: string[] = [];
  const mk = () =>
    new SliceManager({
      sysfs: fx.root, stateDir: state, image, accel: 'tcg', qemu: stub, io: simulatedKernel(fx.root),
      hostNet: { ensureBridge: (b) => bridges.push(b) }, log: (l) => logs.push(l),
    });
  const m = mk();
  return {
    m, root: fx.root, state, bridges, logs,
    cleanup: () => {
      for (const s of m.list()) if (s.running && s.pid) process.kill(s.pid, 'SIGKILL');
      fx.cleanup();
      rmSync(state, { recursive: true, force: true });
    },
  };
}

function withImage(e: Env): void {
  const dir = join(e.state, 'image');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'vmlinuz'), 'kernel');
  writeFileSync(join(dir, 'initramfs.cpio.zst'), 'initrd');
  writeFileSync(join(dir, 'cmdline'), 'console=ttyS0 quiet\n');
}

test('create, start, stop, delete: vfio binding, sparse disk, tap script, QMP power-down, state on disk', async () => {
  const e = env();
  try {
    withImage(e);
    const { slice } = e.m.create({ name: 'gpu1', gpus: 1, vcpus: 1, memoryMiB: 512, diskMiB: 64 });
    assert.equal([slice.gpus, slice.functions, slice.hostCpus, slice.desired, slice.pid], [['0000:01:00.0'], ['0000:01:00.0', '0000:01:00.1'], [1], 'stopped', null]);
    assert.equal(e.m.list().map((s) => [s.name, s.running]), [['gpu1', false]]);

    const r = await e.m.start('gpu1');
    assert.ok(r.pid && sliceProcessRunning(r.pid, 'gpu1'));
    const argv = JSON.parse(readFileSync(join(e.state, 'gpu1', 'argv.json'), 'utf8'));
    assert.equal(argv, r.command.slice(4), 'QEMU got exactly the planned argv (after taskset -c 1 <qemu>)');
    assert.equal(r.command.slice(0, 3), ['taskset', '-c', '1']);
    assert.is(readFileSync(`/proc/${r.pid}/status`, 'utf8').match(/Cpus_allowed_list:\s+(\S+)/)![1], '1', 'the VM process is confined to its pinned host CPU');
    assert.ok(e.logs.some((l) => l.startsWith('started gpu1: ') && l.endsWith('; vCPU threads pinned 0->1')), e.logs.join('\n'));
    assert.is(readPciFunction(e.root, '0000:01:00.0').driver, 'vfio-pci');
    assert.is(readPciFunction(e.root, '0000:01:00.1').driver, 'vfio-pci');
    assert.is(readPciFunction(e.root, '0000:02:00.0').driver, 'nvidia', 'the other GPU is not touched');
    const disk = statSync(join(e.state, 'gpu1', 'disk.raw'));
    assert.is(disk.size, 64 * 1048576);
    assert.ok(disk.blocks * 512 < disk.size, 'sparse');
    assert.match(readFileSync(join(e.state, 'ifup-tfwbr0'), 'utf8'), /ip link set "\$1" master tfwbr0/);
    assert.equal(e.bridges, ['tfwbr0']);
    const stored = new SliceStore(e.state).read().slices[0];
    assert.equal([stored.desired, stored.pid], ['running', r.pid]);

    const again = await e.m.start('gpu1');
    assert.is(again.pid, r.pid, 'starting a running slice leaves it alone');

    await e.m.stop('gpu1', { timeoutMs: 10_000 });
    assert.not.ok(sliceProcessRunning(r.pid, 'gpu1'));
    assert.ok(e.logs.some((l) => l === 'stopped gpu1: powered down'), e.logs.join('\n'));
    assert.equal([new SliceStore(e.state).read().slices[0].desired, new SliceStore(e.state).read().slices[0].pid], ['stopped', null]);

    await e.m.delete('gpu1');
    assert.equal(e.m.list(), []);
    assert.not.ok(existsSync(join(e.state, 'gpu1')));
  } finally {
    e.cleanup();
  }
});

test('reconcile after a reboot: GPUs rebound to vfio-pci, running slices restarted, stopped ones left', async () => {
  const e = env();
  try {
    withImage(e);
    e.m.create({ name: 'up', gpus: 1, gpuAddresses: ['0000:02:00.0'], vcpus: 1, memoryMiB: 256, diskMiB: 64 });
    const run = join(e.state, 'hello.oci.tar');
    writeFileSync(run, 'oci');
    const first = await e.m.start('up', { run });
    // "Reboot": the VM dies without the manager, the kernel rebinds the GPU to its vendor driver.
    process.kill(first.pid!, 'SIGKILL');
    for (let i = 0; i < 500 && sliceProcessRunning(first.pid, 'up'); i++) await new Promise((r) => setTimeout(r, 20));
    const dev = realpathSync(join(e.root, 'bus/pci/devices/0000:02:00.0'));
    unlinkSync(join(dev, 'driver'));
    symlinkSync(relative(dev, join(e.root, 'bus/pci/drivers/nvidia')), join(dev, 'driver'));
    writeFileSync(join(dev, 'driver_override'), '(null)\n');
    assert.is(readPciFunction(e.root, '0000:02:00.0').driver, 'nvidia');

    const report = await e.m.reconcile();
    assert.equal(report, [{ name: 'up', action: 'started' }]);
    const now = e.m.list()[0];
    assert.ok(now.running && now.pid !== first.pid);
    // The restarted VM gets the archive its last start was given.
    const argv = JSON.parse(readFileSync(join(e.state, 'up', 'argv.json'), 'utf8')) as string[];
    assert.ok(argv.some((a) => a.includes('opt/tfw/run.tar') && a.includes(run)), argv.join(' '));
    assert.is(readPciFunction(e.root, '0000:02:00.0').driver, 'vfio-pci');
    assert.equal(await e.m.reconcile(), [{ name: 'up', action: 'running' }]);
    await e.m.stop('up', { timeoutMs: 10_000 });
    assert.equal(await e.m.reconcile(), [{ name: 'up', action: 'stopped' }]);
  } finally {
    e.cleanup();
  }
});

test('a slice whose GPU left the host is reported by reconcile in one line, not started', async () => {
  const e = env();
  try {
    withImage(e);
    e.m.create({ name: 'gone', gpus: 1, gpuAddresses: ['0000:02:00.0'], vcpus: 1, memoryMiB: 256, diskMiB: 64 });
    const s = new SliceStore(e.state);
    s.write({ version: 1, slices: s.read().slices.map((x) => ({ ...x, desired: 'running' as const })) });
    rmSync(join(e.root, 'bus/pci/devices/0000:02:00.0'));
    const r = await e.m.reconcile();
    assert.equal(r.map((x) => [x.name, x.action]), [['gone', 'failed']]);
    assert.match(r[0].cause!, /^gone: PCI function\(s\) 0000:02:00\.0 not found under .*; the GPU was removed or moved$/);
    assert.ok(e.logs.some((l) => l.startsWith('gone: not reconciled: ')));
  } finally {
    e.cleanup();
  }
});

test('a guest that ignores the power button is terminated after the timeout', async () => {
  const e = env();
  try {
    withImage(e);
    e.m.create({ name: 'deaf', gpus: 0, vcpus: 1, memoryMiB: 256, diskMiB: 64 });
    const r = await e.m.start('deaf');
    await e.m.stop('deaf', { timeoutMs: 300 });
    assert.not.ok(sliceProcessRunning(r.pid, 'deaf'));
    assert.ok(e.logs.includes('stopped deaf: terminated (guest ignored the power button)'), e.logs.join('\n'));
  } finally {
    e.cleanup();
  }
});

test('QEMU exiting at start is one line with its cause; no pid kept', async () => {
  const e = env();
  try {
    withImage(e);
    e.m.create({ name: 'fail', gpus: 0, vcpus: 1, memoryMiB: 256, diskMiB: 64 });
    let err: Error | undefined;
    try {
      await e.m.start('fail');
    } catch (x) {
      err = x as Error;
    }
    assert.instance(err, SliceLaunchError);
    assert.match(err!.message, /^fail: QEMU exited at start: qemu-system-x86_64: -device vfio-pci,host=0000:01:00\.0: group 3 is not viable \(see .*qemu\.log\)$/);
    assert.is(new SliceStore(e.state).read().slices[0].pid, null);
  } finally {
    e.cleanup();
  }
});

test('start without a slice image is refused naming the file; nothing is bound', async () => {
  const e = env();
  try {
    e.m.create({ name: 'noimg', gpus: 1, vcpus: 1, memoryMiB: 256, diskMiB: 64 });
    let err: Error | undefined;
    await e.m.start('noimg').catch((x) => (err = x));
    assert.instance(err, SliceLaunchError);
    assert.match(err!.message, /^image: .*image\/vmlinuz missing; put a slice-role image there/);
    assert.is(readPciFunction(e.root, '0000:01:00.0').driver, 'nvidia');
  } finally {
    e.cleanup();
  }
});

test('a refusal leaves slices.json byte for byte; a live lock holder is refused', () => {
  const e = env();
  try {
    assert.throws(() => e.m.create({ name: 'd', gpus: 0, vcpus: 1, memoryMiB: 128, diskMiB: 1024 * 1024 * 1024 }), (x: Error) => x instanceof SliceRefusedError && /^disk: 1024T asked, .* free on /.test(x.message));
    e.m.create({ name: 'a', gpus: 1, vcpus: 1, memoryMiB: 256, diskMiB: 64 });
    const before = readFileSync(join(e.state, 'slices.json'));
    assert.throws(() => e.m.create({ name: 'b', gpus: 1, vcpus: 1, memoryMiB: 256, diskMiB: 64 }), (x: Error) => x instanceof SliceRefusedError && /vcpus: 1 asked, 0 host CPUs free/.test(x.message));
    assert.throws(() => e.m.create({ name: 'c', gpus: 0, vcpus: 1, memoryMiB: 1, diskMiB: 64 }), /--memory: expected at least 128M/);
    assert.equal(readFileSync(join(e.state, 'slices.json')), before);
    assert.equal(readFileSync(join(e.state, 'slices.json'), 'utf8').endsWith('\n'), true);
    writeFileSync(join(e.state, 'slices.lock'), String(process.ppid));
    assert.throws(() => e.m.create({ name: 'e', gpus: 0, vcpus: 1, memoryMiB: 128, diskMiB: 64 }), (x: Error) => x instanceof SliceStateError && /held by pid/.test(x.message));
    writeFileSync(join(e.state, 'slices.lock'), '999999999');
    assert.throws(() => e.m.create({ name: 'e', gpus: 0, vcpus: 1, memoryMiB: 128, diskMiB: 64 }), (x: Error) => x instanceof SliceRefusedError, 'a stale lock is taken over (then the plan is refused: no CPU left)');
    assert.not.ok(existsSync(join(e.state, 'slices.lock')));
  } finally {
    e.cleanup();
  }
});

test.run();
