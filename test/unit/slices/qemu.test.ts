/** The QEMU command line of 1- and 2-GPU slices, planned on fixture trees (create --dry-run). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SliceManager } from '../../../runtime/slices/manager.js';
import { shellLine, vfioDeviceArgs } from '../../../runtime/slices/qemu.js';
import { audioGpuServer, eightGpuServer, sharedGroupServer, writeSysfs, type FixtureSpec } from './sysfs-fixture.js';

function withManager(spec: FixtureSpec, fn: (m: SliceManager, state: string) => void): void {
  const { root, cleanup } = writeSysfs(spec);
  const state = mkdtempSync(join(tmpdir(), 'tfw-slices-'));
  try {
    fn(new SliceManager({ sysfs: root, stateDir: state, accel: 'tcg', log: () => {} }), state);
  } finally {
    cleanup();
    rmSync(state, { recursive: true, force: true });
  }
}

/** Values of every `-flag` occurrence in argv. */
const values = (argv: string[], flag: string) => argv.flatMap((a, i) => (a === flag ? [argv[i + 1]] : []));

test('1-GPU slice with HDMI audio: both functions on one root port, function numbers kept, multifunction on .0', () => {
  withManager(audioGpuServer(), (m, state) => {
    const { slice, command } = m.create({ name: 'desk', gpus: 1, vcpus: 4, memoryMiB: 8192, diskMiB: 1024 }, { dryRun: true });
    assert.equal(command.slice(0, 4), ['taskset', '-c', slice.hostCpus.join(','), 'qemu-system-x86_64']);
    assert.equal(slice.hostCpus, [1, 2, 9, 10], 'two whole cores (threads 1+9, 2+10) after the host core 0/8');
    const devices = values(command, '-device');
    assert.equal(devices.filter((d) => d.startsWith('vfio-pci') || d.startsWith('pcie-root-port')), [
      'pcie-root-port,id=gpu0,bus=pcie.0,chassis=1,slot=1,addr=0x10',
      'vfio-pci,host=0000:65:00.0,bus=gpu0,addr=0x0.0,multifunction=on',
      'vfio-pci,host=0000:65:00.1,bus=gpu0,addr=0x0.1',
    ]);
    assert.ok(devices.includes('virtio-blk-pci,drive=disk0'));
    assert.ok(devices.includes(`virtio-net-pci,netdev=net0,mac=${slice.mac},romfile=`));
    assert.equal(values(command, '-netdev'), [`tap,id=net0,ifname=tfwsl0,script=${join(state, 'ifup-tfwbr0')},downscript=no`]);
    assert.equal(values(command, '-drive'), [`if=none,id=disk0,format=raw,file=${join(state, 'desk', 'disk.raw')}`]);
    assert.equal(values(command, '-accel'), ['tcg']);
    assert.equal(values(command, '-cpu'), ['max']);
    assert.equal(values(command, '-smp'), ['4,sockets=1,cores=4,threads=1']);
    assert.equal(values(command, '-m'), ['8192M']);
    assert.equal(values(command, '-name'), ['slice-desk,debug-threads=on']);
    assert.equal(values(command, '-qmp'), [`unix:${join(state, 'desk', 'qmp.sock')},server=on,wait=off`]);
    assert.match(values(command, '-append')[0], /tfw\.slice=desk$/);
    assert.equal(m.list(), [], 'a dry run stores nothing');
  });
});

test('2-GPU slice from two single-GPU groups: one root port each', () => {
  withManager(eightGpuServer(), (m) => {
    const { command } = m.create({ name: 'train', gpus: 2, vcpus: 8, memoryMiB: 65536, diskMiB: 1024 }, { dryRun: true });
    assert.equal(values(command, '-device').filter((d) => /^(vfio|pcie-root)/.test(d)), [
      'pcie-root-port,id=gpu0,bus=pcie.0,chassis=1,slot=1,addr=0x10',
      'vfio-pci,host=0000:41:00.0,bus=gpu0,addr=0x0.0',
      'pcie-root-port,id=gpu1,bus=pcie.0,chassis=2,slot=2,addr=0x11',
      'vfio-pci,host=0000:51:00.0,bus=gpu1,addr=0x0.0',
    ]);
  });
});

test('2-GPU slice from one shared IOMMU group, and KVM when asked: -cpu host', () => {
  const { root, cleanup } = writeSysfs(sharedGroupServer());
  const state = mkdtempSync(join(tmpdir(), 'tfw-slices-'));
  try {
    const m = new SliceManager({ sysfs: root, stateDir: state, accel: 'kvm', log: () => {} });
    const { command } = m.create({ name: 'pair', gpus: 2, vcpus: 2, memoryMiB: 4096, diskMiB: 1024 }, { dryRun: true });
    assert.equal(values(command, '-device').filter((d) => d.startsWith('vfio-pci')), ['vfio-pci,host=0000:41:00.0,bus=gpu0,addr=0x0.0', 'vfio-pci,host=0000:42:00.0,bus=gpu1,addr=0x0.0']);
    assert.equal([values(command, '-accel')[0], values(command, '-cpu')[0]], ['kvm', 'host']);
  } finally {
    cleanup();
    rmSync(state, { recursive: true, force: true });
  }
});

test('0 GPUs: no vfio devices; shell quoting of the printed line', () => {
  assert.equal(vfioDeviceArgs([]), []);
  assert.is(shellLine(['-append', 'console=ttyS0 quiet', "it's"]), `-append 'console=ttyS0 quiet' 'it'\\''s'`);
});

test.run();
