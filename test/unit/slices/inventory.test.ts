/** Slice inventory from fixture sysfs trees: GPU discovery rules (zos), IOMMU groups, companions, CPUs, memory. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readInventory, parseCpuList } from '../../../runtime/slices/inventory.js';
import { SysfsError } from '../../../runtime/slices/errors.js';
import { audioGpuServer, eightGpuServer, littleMemoryServer, sharedGroupServer, writeSysfs } from './sysfs-fixture.js';

test('8-GPU server: 8 3D controllers off bus 00, bus-00 and BMC displays skipped, bridges not passed', () => {
  const { root, cleanup } = writeSysfs(eightGpuServer());
  try {
    const inv = readInventory(root);
    assert.is(inv.gpus.length, 8);
    assert.equal(inv.gpus.map((g) => g.address), ['0000:41:00.0', '0000:51:00.0', '0000:61:00.0', '0000:71:00.0', '0000:81:00.0', '0000:91:00.0', '0000:a1:00.0', '0000:b1:00.0']);
    const g = inv.gpus[0];
    assert.equal({ vendor: g.vendor, device: g.device, class: g.class, iommuGroup: g.iommuGroup, driver: g.driver, numaNode: g.numaNode }, { vendor: '0x10de', device: '0x2331', class: '0x030200', iommuGroup: 20, driver: 'nvidia', numaNode: 0 });
    assert.equal(g.functions, ['0000:41:00.0'], 'the root port in the group is a bridge and stays with the host');
    assert.is(inv.gpus[7].numaNode, 1);
    assert.is(inv.cpus.length, 64);
    assert.equal(inv.cpus[0], { id: 0, core: 0, package: 0, node: 0 });
    assert.equal(inv.cpus[32], { id: 32, core: 0, package: 0, node: 0 }, 'SMT sibling of cpu0');
    assert.equal(inv.cpus[16], { id: 16, core: 0, package: 1, node: 1 });
    assert.equal(inv.numaNodes.map((n) => [n.id, n.cpus.length, n.memoryMiB]), [[0, 32, 262144], [1, 32, 262144]]);
    assert.is(inv.memory.totalMiB, 512 * 1024);
    assert.equal(inv.memory.hugepages, [{ sizeKiB: 2048, total: 0, free: 0 }, { sizeKiB: 1048576, total: 0, free: 0 }]);
  } finally {
    cleanup();
  }
});

test('GPUs sharing an IOMMU group list each other; AMD GPUs count', () => {
  const { root, cleanup } = writeSysfs(sharedGroupServer());
  try {
    const inv = readInventory(root);
    assert.equal(inv.gpus.map((g) => [g.address, g.iommuGroup, g.groupGpus.length]), [['0000:41:00.0', 7, 2], ['0000:42:00.0', 7, 2], ['0000:61:00.0', 9, 1], ['0000:62:00.0', 10, 1]]);
    assert.equal(inv.gpus[0].functions, ['0000:41:00.0', '0000:42:00.0']);
    assert.is(inv.gpus[2].vendor, '0x1002');
  } finally {
    cleanup();
  }
});

test('a GPU with an HDMI audio function carries it; an unrelated NIC in its own group does not', () => {
  const { root, cleanup } = writeSysfs(audioGpuServer());
  try {
    const inv = readInventory(root);
    assert.is(inv.gpus.length, 1);
    assert.equal(inv.gpus[0].functions, ['0000:65:00.0', '0000:65:00.1']);
  } finally {
    cleanup();
  }
});

test('hugepage pools are memory the slices cannot have; a GPU vendor list can be given', () => {
  const { root, cleanup } = writeSysfs(littleMemoryServer());
  try {
    const inv = readInventory(root);
    assert.is(inv.memory.totalMiB, 4096);
    assert.is(inv.memory.hugepagesMiB, 1024);
    assert.is(inv.gpus.length, 2);
    assert.is(readInventory(root, { gpuVendors: [0x1af4] }).gpus.length, 0);
  } finally {
    cleanup();
  }
});

test('a GPU without an IOMMU group is listed with iommuGroup null and only itself', () => {
  const spec = littleMemoryServer();
  spec.pci[0].group = null;
  const { root, cleanup } = writeSysfs(spec);
  try {
    const g = readInventory(root).gpus[0];
    assert.is(g.iommuGroup, null);
    assert.equal(g.functions, [g.address]);
  } finally {
    cleanup();
  }
});

test('a root that is not sysfs is an error naming the folder', () => {
  assert.throws(() => readInventory('/nonexistent-tfw'), (e: Error) => e instanceof SysfsError && /bus\/pci\/devices: missing/.test(e.message) || /devices\/system\/node: missing/.test(e.message));
});

test('kernel CPU lists parse; malformed ones are refused', () => {
  assert.equal(parseCpuList('0-3,8,10-11\n'), [0, 1, 2, 3, 8, 10, 11]);
  assert.equal(parseCpuList(''), []);
  assert.throws(() => parseCpuList('3-1'), /expected a CPU list/);
});

test.run();
