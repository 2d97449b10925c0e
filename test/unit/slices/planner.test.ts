/**
 * The slice planner on fixture hosts: each request allowed or refused by the
 * rules of issue 17 (8 slices, GPUs with whole IOMMU groups, one slice per GPU,
 * distinct host CPUs, memory with a host reserve), refusals in one line.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readInventory, type Inventory } from '../../../runtime/slices/inventory.js';
import { planSlice, usage, hostReservedCpus, type SliceRequest } from '../../../runtime/slices/planner.js';
import { SliceRefusedError } from '../../../runtime/slices/errors.js';
import type { Slice } from '../../../runtime/slices/state.js';
import { audioGpuServer, eightGpuServer, littleMemoryServer, sharedGroupServer, writeSysfs, type FixtureSpec } from './sysfs-fixture.js';

function inventoryOf(spec: FixtureSpec): Inventory {
  const { root, cleanup } = writeSysfs(spec);
  try {
    return readInventory(root);
  } finally {
    cleanup();
  }
}

/** Plans and "stores" `req` as the manager does; returns the slices so far. */
function add(inv: Inventory, slices: Slice[], req: Partial<SliceRequest> & { name: string }): Slice[] {
  const full: SliceRequest = { gpus: 0, vcpus: 2, memoryMiB: 4096, diskMiB: 1024, ...req };
  const p = planSlice(inv, slices, full);
  return [...slices, { ...full, ...p, mac: '52:54:00:00:00:00', desired: 'stopped', pid: null, createdAt: '' }];
}

function refused(fn: () => unknown, field: string, re: RegExp): string {
  try {
    fn();
  } catch (e) {
    assert.instance(e, SliceRefusedError);
    const err = e as SliceRefusedError;
    assert.is(err.code, 'ERR_TFW_SLICE_REFUSED');
    assert.is(err.field, field);
    assert.match(err.message, re);
    assert.not.match(err.message, /\n/, 'one line');
    return err.message;
  }
  assert.unreachable(`expected a refusal on ${field}`);
  return '';
}

test('8-GPU server: 8 one-GPU slices fit, each GPU once, vCPUs on distinct CPUs near their GPU; a 9th slice is refused', () => {
  const inv = inventoryOf(eightGpuServer());
  let slices: Slice[] = [];
  for (let i = 0; i < 8; i++) slices = add(inv, slices, { name: `s${i}`, gpus: 1, vcpus: 6, memoryMiB: 48 * 1024 });
  assert.equal(slices.map((s) => s.gpus[0]), inv.gpus.map((g) => g.address));
  assert.equal(slices.map((s) => s.slot), [0, 1, 2, 3, 4, 5, 6, 7]);
  const pinned = slices.flatMap((s) => s.hostCpus);
  assert.is(new Set(pinned).size, 48, 'no host CPU in two slices');
  const reserved = hostReservedCpus(inv, 1);
  assert.equal(reserved, [0, 32], 'the first core and its SMT sibling stay with the host');
  assert.ok(pinned.every((c) => !reserved.includes(c)));
  const nodeOf = new Map(inv.cpus.map((c) => [c.id, c.node]));
  for (const s of slices) {
    const gpuNode = inv.gpus.find((g) => g.address === s.gpus[0])!.numaNode;
    assert.ok(s.hostCpus.every((c) => nodeOf.get(c) === gpuNode), `${s.name}: CPUs on the GPU's node ${gpuNode}`);
  }
  refused(() => add(inv, slices, { name: 's8', gpus: 0, vcpus: 1, memoryMiB: 1024 }), 'slices', /^slices: 8 of 8 exist \(s0, .*s7\); delete one first$/);
});

test('8-GPU server: 2-GPU slices take two single-GPU groups on one NUMA node; a 5th is short of GPUs', () => {
  const inv = inventoryOf(eightGpuServer());
  let slices: Slice[] = [];
  for (let i = 0; i < 4; i++) slices = add(inv, slices, { name: `d${i}`, gpus: 2, vcpus: 4, memoryMiB: 64 * 1024 });
  assert.equal(slices.map((s) => s.gpus), [['0000:41:00.0', '0000:51:00.0'], ['0000:61:00.0', '0000:71:00.0'], ['0000:81:00.0', '0000:91:00.0'], ['0000:a1:00.0', '0000:b1:00.0']]);
  assert.equal(slices[0].iommuGroups, [20, 21]);
  refused(() => add(inv, slices, { name: 'd4', gpus: 1, vcpus: 1, memoryMiB: 1024 }), 'gpus', /^gpus: 1 asked, 0 free \(8 GPUs, in use by "d0", "d1", "d2", "d3"\)$/);
  // A 0-GPU slice still fits.
  add(inv, slices, { name: 'cpu-only', gpus: 0, vcpus: 8, memoryMiB: 8192 });
});

test('GPUs sharing an IOMMU group go to one slice together: refused for --gpus 1 when only that group is free, given for --gpus 2', () => {
  const inv = inventoryOf(sharedGroupServer());
  let slices = add(inv, [], { name: 'a', gpus: 1 });
  assert.equal(slices[0].gpus, ['0000:61:00.0'], 'a single GPU comes from a group of one');
  slices = add(inv, slices, { name: 'b', gpus: 1 });
  assert.equal(slices[1].gpus, ['0000:62:00.0']);
  refused(() => add(inv, slices, { name: 'c', gpus: 1 }), 'gpus', /no free GPU alone in its IOMMU group: 0000:41:00\.0 and 0000:42:00\.0 share group 7 and go together; ask for --gpus 2/);
  slices = add(inv, slices, { name: 'c', gpus: 2 });
  assert.equal(slices[2].gpus, ['0000:41:00.0', '0000:42:00.0']);
  assert.equal(slices[2].functions, ['0000:41:00.0', '0000:42:00.0'], 'the switch port (a bridge) is not passed');
  assert.equal(slices[2].iommuGroups, [7]);
});

test('naming one GPU of a shared group is refused; naming both is allowed', () => {
  const inv = inventoryOf(sharedGroupServer());
  refused(() => add(inv, [], { name: 'x', gpus: 1, gpuAddresses: ['0000:41:00.0'] }), 'gpu 0000:41:00.0', /shares IOMMU group 7 with 0000:42:00\.0/);
  const s = add(inv, [], { name: 'x', gpus: 2, gpuAddresses: ['0000:42:00.0', '0000:41:00.0'] });
  assert.equal(s[0].gpus, ['0000:41:00.0', '0000:42:00.0']);
});

test('a GPU already taken is refused, naming the slice that has it', () => {
  const inv = inventoryOf(sharedGroupServer());
  const slices = add(inv, [], { name: 'owner', gpus: 1, gpuAddresses: ['0000:62:00.0'] });
  refused(() => add(inv, slices, { name: 'thief', gpus: 1, gpuAddresses: ['0000:62:00.0'] }), 'gpu 0000:62:00.0', /taken by slice "owner"/);
  refused(() => add(inv, slices, { name: 'thief', gpus: 1, gpuAddresses: ['0000:00:02.0'] }), 'gpu 0000:00:02.0', /not a GPU of this host/);
});

test('a GPU with an audio function: the slice gets both functions; a second 1-GPU slice is refused', () => {
  const inv = inventoryOf(audioGpuServer());
  const slices = add(inv, [], { name: 'desk', gpus: 1, vcpus: 4, memoryMiB: 16384 });
  assert.equal(slices[0].functions, ['0000:65:00.0', '0000:65:00.1']);
  refused(() => add(inv, slices, { name: 'two', gpus: 1 }), 'gpus', /^gpus: 1 asked, 0 free \(1 GPUs, in use by "desk"\)$/);
});

test('too little memory: refused with what is free once the host reserve and hugepages are taken out', () => {
  const inv = inventoryOf(littleMemoryServer());
  // 4096 MiB total - 1024 MiB hugepages - 2048 MiB host reserve = 1024 MiB for slices.
  const msg = refused(() => add(inv, [], { name: 'big', gpus: 1, vcpus: 1, memoryMiB: 2048 }), 'memory', /^memory: 2G asked, 1G free \(4G total, 2G kept for the host, 1G in hugepages, 0M in slices\)$/);
  assert.ok(msg);
  const ok = add(inv, [], { name: 'small', gpus: 1, vcpus: 1, memoryMiB: 1024 });
  refused(() => add(inv, ok, { name: 'more', gpus: 1, vcpus: 1, memoryMiB: 128 }), 'memory', /128M asked, 0M free/);
  assert.is(usage(inv, ok).memory.freeMiB, 0);
});

test('slices share no physical core while clean cores are left: odd vCPU counts do not put two slices on SMT siblings', () => {
  const inv = inventoryOf(audioGpuServer()); // 8 cores x 2 threads: cpu n and n+8 are siblings; core 0 (0, 8) is the host's
  let slices = add(inv, [], { name: 'a', vcpus: 1, memoryMiB: 512 });
  slices = add(inv, slices, { name: 'b', vcpus: 1, memoryMiB: 512 });
  slices = add(inv, slices, { name: 'c', vcpus: 2, memoryMiB: 512 });
  assert.equal(slices.map((s) => s.hostCpus), [[1], [2], [3, 11]], 'b does not take 9 (a\'s sibling); c takes a whole core');
  // Once the clean cores are gone (4..7: 8 CPUs), the free siblings 9 and 10 are used.
  slices = add(inv, slices, { name: 'd', vcpus: 8, memoryMiB: 512 });
  assert.equal(slices[3].hostCpus, [4, 5, 6, 7, 12, 13, 14, 15]);
  slices = add(inv, slices, { name: 'e', vcpus: 2, memoryMiB: 512 });
  assert.equal(slices[4].hostCpus, [9, 10]);
});

test('several short resources are named in one line; vCPUs beyond the free host CPUs are refused', () => {
  const inv = inventoryOf(littleMemoryServer());
  // 4 CPUs, 1 kept for the host.
  refused(() => add(inv, [], { name: 'x', gpus: 1, vcpus: 4, memoryMiB: 4096 }), 'vcpus', /^vcpus: 4 asked, 3 host CPUs free \(4 online, 1 kept for the host, 0 pinned to slices\); memory: 4G asked, 1G free/);
  const a = add(inv, [], { name: 'a', vcpus: 3, memoryMiB: 512 });
  refused(() => add(inv, a, { name: 'b', vcpus: 1, memoryMiB: 128 }), 'vcpus', /1 asked, 0 host CPUs free \(4 online, 1 kept for the host, 3 pinned to slices\)/);
});

test('a GPU without an IOMMU group cannot be sliced', () => {
  const spec = littleMemoryServer();
  for (const p of spec.pci) p.group = null;
  const inv = inventoryOf(spec);
  refused(() => add(inv, [], { name: 'x', gpus: 1, vcpus: 1, memoryMiB: 512 }), 'gpus', /0 free \(2 GPUs\); 2 GPU\(s\) without an IOMMU group \(IOMMU off\)/);
});

test('bad requests are config errors naming the option; a duplicate name is refused', () => {
  const inv = inventoryOf(littleMemoryServer());
  assert.throws(() => add(inv, [], { name: 'x', gpus: 3 }), (e: Error & { code?: string }) => e.code === 'ERR_TFW_CONFIG' && /--gpus: expected 0, 1 or 2, got 3/.test(e.message));
  assert.throws(() => add(inv, [], { name: 'Bad Name' }), /name: expected a lower-case name/);
  assert.throws(() => add(inv, [], { name: 'x', vcpus: 0 }), /--vcpus: expected a whole number >= 1, got 0/);
  const a = add(inv, [], { name: 'x', vcpus: 1, memoryMiB: 256 });
  refused(() => add(inv, a, { name: 'x', vcpus: 1, memoryMiB: 256 }), 'name', /slice "x" exists/);
});

test.run();
