/**
 * What an AIBox has to slice, read from sysfs under `root` (`/sys` on a host,
 * a fixture tree in tests): GPUs with their IOMMU groups and companion
 * functions, host CPUs with their cores and NUMA nodes, memory per node, and
 * hugepage pools. `tfw slice inventory --json` prints this object.
 *
 * Sources: Documentation/ABI/stable/sysfs-devices-system-cpu (`online`,
 * `cpuN/topology/core_id`, `physical_package_id`),
 * Documentation/ABI/stable/sysfs-devices-node (`nodeN/cpulist`,
 * `nodeN/meminfo`), Documentation/admin-guide/mm/hugetlbpage.rst
 * (`kernel/mm/hugepages/hugepages-<size>kB/{nr,free}_hugepages`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { SysfsError } from './errors.js';
import { GPU_VENDORS, groupFunctions, hex16, isGpu, listPciFunctions, type PciFunction } from './pci.js';

/** One GPU as the inventory and `inventory --json` show it. */
export interface Gpu {
  /** PCI address (BDF), e.g. `0000:41:00.0`. */
  address: string;
  /** Vendor id as `0x10de`. */
  vendor: string;
  /** Device id as `0x2330`. */
  device: string;
  /** Class code as `0x030200`. */
  class: string;
  /** IOMMU group, or null when the IOMMU is off (the GPU cannot be passed through). */
  iommuGroup: number | null;
  /** Every function that goes to the VM with this GPU (its whole IOMMU group minus bridges), sorted; includes `address`. */
  functions: string[];
  /** GPUs (this one included) in the same IOMMU group: they can only go to one slice together. */
  groupGpus: string[];
  numaNode: number | null;
  driver: string | null;
  bootVga: boolean;
}

/** One host logical CPU. */
export interface Cpu {
  id: number;
  /** Physical core id within its package (SMT siblings share it). */
  core: number;
  package: number;
  /** NUMA node, or 0 without NUMA information. */
  node: number;
}

export interface NumaNode {
  id: number;
  cpus: number[];
  memoryMiB: number;
}

export interface HugepagePool {
  /** Page size in KiB (2048, 1048576). */
  sizeKiB: number;
  total: number;
  free: number;
}

export interface Inventory {
  gpus: Gpu[];
  cpus: Cpu[];
  numaNodes: NumaNode[];
  memory: {
    totalMiB: number;
    /** Memory held by hugepage pools (unusable as ordinary RAM). */
    hugepagesMiB: number;
    hugepages: HugepagePool[];
  };
}

export interface InventoryOptions {
  /** PCI vendor ids counted as GPU vendors (default NVIDIA 0x10de and AMD 0x1002; tests put emulated devices' vendors here). */
  gpuVendors?: readonly number[];
}

/** Parses a kernel CPU list (`0-3,8,10-11`) into sorted ids; throws naming `file` when malformed. */
export function parseCpuList(text: string, file = 'cpulist'): number[] {
  const out: number[] = [];
  const t = text.trim();
  if (t === '') return out;
  for (const part of t.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) throw new SysfsError(`${file}: expected a CPU list like 0-3,8, got "${t}"`);
    for (let i = Number(m[1]); i <= Number(m[2] ?? m[1]); i++) out.push(i);
  }
  return [...new Set(out)].sort((a, b) => a - b);
}

const readText = (file: string): string | null => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
};

function readInt(file: string): number {
  const t = readText(file);
  const v = t === null ? NaN : Number(t.trim());
  if (!Number.isInteger(v)) throw new SysfsError(`${file}: ${t === null ? 'missing' : `expected an integer, got "${t.trim()}"`}`);
  return v;
}

function gpus(root: string, vendors: readonly number[]): Gpu[] {
  const all = listPciFunctions(root);
  const found = all.filter((f) => isGpu(f, vendors));
  const byGroup = new Map<number, string[]>();
  for (const g of found) if (g.iommuGroup !== null) byGroup.set(g.iommuGroup, [...(byGroup.get(g.iommuGroup) ?? []), g.address]);
  return found.map((g: PciFunction) => ({
    address: g.address,
    vendor: hex16(g.vendor),
    device: hex16(g.device),
    class: `0x${g.class.toString(16).padStart(6, '0')}`,
    iommuGroup: g.iommuGroup,
    functions: groupFunctions(root, g).map((f) => f.address).sort(),
    groupGpus: g.iommuGroup === null ? [g.address] : byGroup.get(g.iommuGroup)!,
    numaNode: g.numaNode,
    driver: g.driver,
    bootVga: g.bootVga,
  }));
}

function numaNodes(root: string): NumaNode[] {
  const dir = join(root, 'devices/system/node');
  const names = existsSync(dir) ? readdirSync(dir).filter((n) => /^node\d+$/.test(n)) : [];
  return names
    .map((n) => {
      const meminfo = readText(join(dir, n, 'meminfo')) ?? '';
      const m = /MemTotal:\s+(\d+)\s*kB/.exec(meminfo);
      if (!m) throw new SysfsError(`${join(dir, n, 'meminfo')}: expected a "Node N MemTotal: <kB> kB" line`);
      const cpulist = join(dir, n, 'cpulist');
      return { id: Number(n.slice(4)), cpus: parseCpuList(readText(cpulist) ?? '', cpulist), memoryMiB: Math.floor(Number(m[1]) / 1024) };
    })
    .sort((a, b) => a.id - b.id);
}

function cpus(root: string, nodes: NumaNode[]): Cpu[] {
  const online = join(root, 'devices/system/cpu/online');
  const text = readText(online);
  if (text === null) throw new SysfsError(`${online}: missing; expected the online CPU list`);
  const nodeOf = new Map<number, number>();
  for (const n of nodes) for (const c of n.cpus) nodeOf.set(c, n.id);
  return parseCpuList(text, online).map((id) => {
    const topo = join(root, 'devices/system/cpu', `cpu${id}`, 'topology');
    return { id, core: readInt(join(topo, 'core_id')), package: readInt(join(topo, 'physical_package_id')), node: nodeOf.get(id) ?? 0 };
  });
}

function hugepages(root: string): HugepagePool[] {
  const dir = join(root, 'kernel/mm/hugepages');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((n) => /^hugepages-(\d+)kB$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ sizeKiB: Number(m[1]), total: readInt(join(dir, m[0], 'nr_hugepages')), free: readInt(join(dir, m[0], 'free_hugepages')) }))
    .sort((a, b) => a.sizeKiB - b.sizeKiB);
}

/**
 * Reads the inventory under `root`.
 * @throws SysfsError naming the file when a needed attribute is missing or malformed
 */
export function readInventory(root: string, opts: InventoryOptions = {}): Inventory {
  const nodes = numaNodes(root);
  const pools = hugepages(root);
  let totalMiB = nodes.reduce((s, n) => s + n.memoryMiB, 0);
  if (nodes.length === 0) {
    // Kernels without CONFIG_NUMA have no node folders; only the live /sys has a /proc beside it.
    if (root !== '/sys') throw new SysfsError(`${join(root, 'devices/system/node')}: missing; expected node<N>/meminfo and cpulist`);
    totalMiB = Math.floor(totalmem() / 1048576);
  }
  return {
    gpus: gpus(root, opts.gpuVendors ?? GPU_VENDORS),
    cpus: cpus(root, nodes),
    numaNodes: nodes,
    memory: {
      totalMiB,
      hugepagesMiB: Math.floor(pools.reduce((s, p) => s + p.total * p.sizeKiB, 0) / 1024),
      hugepages: pools,
    },
  };
}
