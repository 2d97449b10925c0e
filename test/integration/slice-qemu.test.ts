/**
 * The slice manager against real QEMU (TCG), in a network namespace: the
 * command line QEMU accepts (q35, virtio disk and NIC on a tap that the ifup
 * script puts on the bridge, QMP, serial to a file), confinement to the pinned
 * CPU, stop, and QEMU's own refusal of a GPU that the host does not have.
 * The guest is a 53-byte Multiboot kernel that prints one serial line and
 * halts (the `slice` image role comes later). Needs root, qemu-system-x86,
 * ip and taskset; about 10 s.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot } from '../helpers.js';
import { have, sh, spawnIn } from './overlay-netns.js';
import { writeSysfs } from '../unit/slices/sysfs-fixture.js';

/**
 * A Multiboot (v1) kernel using the a.out kludge (flags bit 16) so QEMU loads
 * it flat at 1 MiB: writes "tfw-slice-stub ready\n" to COM1 and halts.
 * (Multiboot Specification 0.6.96, §3.1.1 header layout.)
 */
export function multibootStub(): Buffer {
  const LOAD = 0x100000;
  const msg = Buffer.from('tfw-slice-stub ready\n\0', 'latin1');
  // mov dx,0x3f8; mov esi,msg; l: lodsb; test al,al; jz d; out dx,al; jmp l; d: cli; hlt; jmp d
  const code = Buffer.from([0x66, 0xba, 0xf8, 0x03, 0xbe, 0, 0, 0, 0, 0xac, 0x84, 0xc0, 0x74, 0x03, 0xee, 0xeb, 0xf8, 0xfa, 0xf4, 0xeb, 0xfc]);
  code.writeUInt32LE(LOAD + 32 + code.length, 5);
  const h = Buffer.alloc(32);
  const magic = 0x1badb002;
  const flags = 0x00010000;
  h.writeUInt32LE(magic, 0);
  h.writeUInt32LE(flags, 4);
  h.writeUInt32LE((-(magic + flags)) >>> 0, 8);
  h.writeUInt32LE(LOAD, 12); // header_addr
  h.writeUInt32LE(LOAD, 16); // load_addr
  h.writeUInt32LE(0, 20); // load_end_addr: the whole file
  h.writeUInt32LE(0, 24); // bss_end_addr: none
  h.writeUInt32LE(LOAD + 32, 28); // entry_addr
  return Buffer.concat([h, code, msg]);
}

const missing = [!isRoot && 'root', cpus().length < 2 && '2 host CPUs', ...['qemu-system-x86_64', 'ip', 'taskset'].filter((b) => !have(b))].filter(Boolean);

test('a 0-GPU slice runs under real QEMU on a tap on its bridge; a GPU the host lacks is refused by QEMU in one line', async () => {
  if (missing.length) {
    console.log(`  skip: needs ${missing.join(', ')}`);
    return;
  }
  const ns = `tfwsl${process.pid % 100000}`;
  const fx = writeSysfs({
    sockets: 1, coresPerSocket: 2, threadsPerCore: 1, memoryPerNodeMiB: 4096,
    pci: [{ address: '0000:65:00.0', vendor: 0x10de, device: 0x2684, class: 0x030000, group: 12, driver: 'nvidia' }],
  });
  const state = mkdtempSync(join(tmpdir(), 'tfw-slice-qemu-'));
  const image = join(state, 'image');
  mkdirSync(image);
  writeFileSync(join(image, 'vmlinuz'), multibootStub());
  writeFileSync(join(image, 'initramfs.cpio.zst'), ''); // a Multiboot module here
  writeFileSync(join(image, 'cmdline'), 'console=ttyS0\n');
  sh(['ip', 'netns', 'add', ns]);
  try {
    const p = spawnIn(ns, [process.execPath, '--import', 'tsx', 'test/integration/slice-vm-driver.ts', JSON.stringify({ sysfs: fx.root, state, image })]);
    const timer = setTimeout(() => p.child.kill('SIGKILL'), 150_000);
    const code = await p.exited;
    clearTimeout(timer);
    assert.is(code, 0, p.out());
    const r = JSON.parse(p.out().trim().split('\n').pop()!);
    assert.match(r.console, /tfw-slice-stub ready/, 'the guest ran and its serial line reached console.log');
    assert.equal(r.taps, ['tfwsl0'], 'QEMU made the tap and the ifup script put it on tfwbr0');
    assert.is(r.status, 'running');
    assert.is(r.vcpus, 1);
    assert.equal(r.vcpuAffinity, ['1'], 'the vCPU thread is pinned to the slice\'s host CPU');
    assert.is(r.vcpuThreadIsMain, false);
    assert.ok(r.pci.includes('1af4:1001') || r.pci.includes('1af4:1042'), `virtio-blk in ${r.pci}`);
    assert.ok(r.pci.includes('1af4:1000') || r.pci.includes('1af4:1041'), `virtio-net in ${r.pci}`);
    assert.equal(r.blockFiles, [join(state, 'vm0', 'disk.raw')]);
    assert.is(r.runningAfterStop, false);
    assert.equal(r.tapsAfterStop, [], 'the tap goes with QEMU');
    assert.match(r.gpuError, /^vm1: QEMU exited at start: .*vfio.*0000:65:00\.0/, r.gpuError);
    assert.not.match(r.gpuError, /\n/);
    assert.is(r.vm0FolderAfterDelete, false);
    assert.equal(r.listed, [['vm1', false, null]]);
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
    fx.cleanup();
    rmSync(state, { recursive: true, force: true });
  }
});

test.run();
