/**
 * Fixture sysfs trees for the slice tests, laid out as Linux lays out /sys
 * (Documentation/ABI/testing/sysfs-bus-pci, sysfs-devices-system-cpu,
 * sysfs-devices-node): PCI function folders under devices/pci<domain>:00/,
 * linked from bus/pci/devices/<BDF>; iommu_group and driver links;
 * kernel/iommu_groups/<N>/devices/<BDF>; CPU topology; NUMA nodes with
 * meminfo; hugepage pools. `simulatedKernel(root)` answers sysfs writes as the
 * PCI core does (driver_override, unbind, drivers_probe), so vfio binding can
 * be exercised and read back.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import type { SysfsIo } from '../../../runtime/slices/vfio.js';

export interface FixturePci {
  address: string;
  vendor: number;
  device: number;
  class: number;
  /** IOMMU group; null: no iommu_group link (IOMMU off). */
  group: number | null;
  driver?: string | null;
  numaNode?: number;
  bootVga?: boolean;
}

export interface FixtureSpec {
  /** Sockets x cores per socket x threads per core; one NUMA node per socket. */
  sockets: number;
  coresPerSocket: number;
  threadsPerCore: number;
  /** RAM per NUMA node, MiB. */
  memoryPerNodeMiB: number;
  hugepages?: { sizeKiB: number; total: number; free: number }[];
  pci: FixturePci[];
  /** Drivers with a folder under bus/pci/drivers (vfio-pci loaded unless left out). */
  drivers?: string[];
}

const hex = (v: number, w: number) => `0x${v.toString(16).padStart(w, '0')}\n`;

function link(target: string, at: string): void {
  mkdirSync(dirname(at), { recursive: true });
  symlinkSync(relative(dirname(at), target), at);
}

/** Writes `spec` as a sysfs tree in a new temp folder; returns its root and a cleanup. */
export function writeSysfs(spec: FixtureSpec): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'tfw-sysfs-'));
  const drivers = spec.drivers ?? ['vfio-pci', 'nvidia', 'amdgpu', 'snd_hda_intel', 'pcieport', 'ast', 'i915', 'xhci_hcd', 'e1000e'];
  for (const d of drivers) {
    mkdirSync(join(root, 'bus/pci/drivers', d), { recursive: true });
    for (const f of ['bind', 'unbind', 'new_id']) writeFileSync(join(root, 'bus/pci/drivers', d, f), '');
  }
  writeFileSync(join(root, 'bus/pci/drivers_probe'), '');
  for (const p of spec.pci) {
    const dev = join(root, 'devices', `pci${p.address.slice(0, 4)}:00`, p.address);
    mkdirSync(dev, { recursive: true });
    writeFileSync(join(dev, 'vendor'), hex(p.vendor, 4));
    writeFileSync(join(dev, 'device'), hex(p.device, 4));
    writeFileSync(join(dev, 'class'), hex(p.class, 6));
    writeFileSync(join(dev, 'numa_node'), `${p.numaNode ?? -1}\n`);
    writeFileSync(join(dev, 'driver_override'), '(null)\n');
    if (p.class >> 8 === 0x0300) writeFileSync(join(dev, 'boot_vga'), p.bootVga ? '1\n' : '0\n');
    link(dev, join(root, 'bus/pci/devices', p.address));
    if (p.group !== null) {
      const g = join(root, 'kernel/iommu_groups', String(p.group));
      mkdirSync(join(g, 'devices'), { recursive: true });
      link(g, join(dev, 'iommu_group'));
      link(dev, join(g, 'devices', p.address));
    }
    if (p.driver) link(join(root, 'bus/pci/drivers', p.driver), join(dev, 'driver'));
  }
  const cpuDir = join(root, 'devices/system/cpu');
  const perSocket = spec.coresPerSocket * spec.threadsPerCore;
  const total = spec.sockets * perSocket;
  mkdirSync(cpuDir, { recursive: true });
  writeFileSync(join(cpuDir, 'online'), `0-${total - 1}\n`);
  // Linux numbers the first thread of every core first, then the siblings (as on most x86 servers).
  const cores = spec.sockets * spec.coresPerSocket;
  for (let id = 0; id < total; id++) {
    const coreIndex = id % cores;
    const socket = Math.floor(coreIndex / spec.coresPerSocket);
    const t = join(cpuDir, `cpu${id}`, 'topology');
    mkdirSync(t, { recursive: true });
    writeFileSync(join(t, 'core_id'), `${coreIndex % spec.coresPerSocket}\n`);
    writeFileSync(join(t, 'physical_package_id'), `${socket}\n`);
  }
  for (let n = 0; n < spec.sockets; n++) {
    const d = join(root, 'devices/system/node', `node${n}`);
    mkdirSync(d, { recursive: true });
    const ids = [...Array(total).keys()].filter((id) => Math.floor((id % cores) / spec.coresPerSocket) === n);
    writeFileSync(join(d, 'cpulist'), `${ids.join(',')}\n`);
    writeFileSync(join(d, 'meminfo'), `Node ${n} MemTotal:       ${spec.memoryPerNodeMiB * 1024} kB\nNode ${n} MemFree:        ${spec.memoryPerNodeMiB * 512} kB\n`);
  }
  for (const h of spec.hugepages ?? []) {
    const d = join(root, 'kernel/mm/hugepages', `hugepages-${h.sizeKiB}kB`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'nr_hugepages'), `${h.total}\n`);
    writeFileSync(join(d, 'free_hugepages'), `${h.free}\n`);
  }
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** Every write as (path relative to root, value), in order. */
export type WriteLog = { path: string; value: string }[];

/**
 * A SysfsIo that behaves as the kernel's PCI core on the fixture tree:
 * `driver_override` stores the name; `<dev>/driver/unbind` removes the
 * device's driver link; `drivers_probe` binds the device to its override
 * (when that driver's folder exists) or leaves it unbound. Records every write.
 */
export function simulatedKernel(root: string): SysfsIo & { log: WriteLog } {
  const log: WriteLog = [];
  return {
    log,
    write(path, value) {
      log.push({ path: relative(root, path), value });
      const rel = relative(root, path).split('/');
      if (rel[0] === 'bus' && rel[2] === 'devices' && rel[4] === 'driver_override') {
        writeFileSync(path, `${value}\n`);
      } else if (rel[0] === 'bus' && rel[2] === 'devices' && rel[4] === 'driver' && rel[5] === 'unbind') {
        const dev = join(root, 'bus/pci/devices', rel[3]);
        if (value !== rel[3]) throw new Error(`unbind: wrote ${value} to ${rel[3]}'s driver`);
        if (!existsSync(join(dev, 'driver'))) throw new Error('No such device');
        unlinkSync(join(dev, 'driver'));
      } else if (rel.join('/') === 'bus/pci/drivers_probe') {
        const dev = join(root, 'bus/pci/devices', value);
        const override = readFileSync(join(dev, 'driver_override'), 'utf8').trim();
        let bound = false;
        try {
          bound = basename(readlinkSync(join(dev, 'driver'))) !== '';
        } catch {
          /* unbound */
        }
        const drv = join(root, 'bus/pci/drivers', override);
        const real = realpathSync(dev);
        if (!bound && override !== '(null)' && existsSync(drv)) symlinkSync(relative(real, drv), join(real, 'driver'));
      } else {
        throw new Error(`simulated kernel: unexpected write to ${relative(root, path)}`);
      }
    },
  };
}

// ---- The fixture hosts the tests use ----

const NV = 0x10de;
const AMD = 0x1002;
/** NVIDIA H100 PCIe (3D controller) and its sibling ids. */
const H100 = 0x2331;

/** A bus-00 display the planner must skip: the BMC's ASPEED VGA (vendor 0x1a03) and an Intel iGPU. */
const hostDisplays: FixturePci[] = [
  { address: '0000:00:02.0', vendor: 0x8086, device: 0x3e92, class: 0x030000, group: 0, driver: 'i915', bootVga: true },
  { address: '0000:03:00.0', vendor: 0x1a03, device: 0x2000, class: 0x030000, group: 1, driver: 'ast' },
];

/** 8 H100s (3D controllers) each alone in its IOMMU group behind a root port, 4 per socket; 2 x 16 cores x 2 threads, 2 x 256 GiB. */
export function eightGpuServer(): FixtureSpec {
  const pci: FixturePci[] = [...hostDisplays];
  for (let i = 0; i < 8; i++) {
    const bus = (0x41 + i * 0x10).toString(16);
    const group = 20 + i;
    pci.push({ address: `0000:${(0x40 + i * 0x10).toString(16)}:01.1`, vendor: AMD, device: 0x1483, class: 0x060400, group, driver: 'pcieport', numaNode: i < 4 ? 0 : 1 });
    pci.push({ address: `0000:${bus}:00.0`, vendor: NV, device: H100, class: 0x030200, group, driver: 'nvidia', numaNode: i < 4 ? 0 : 1 });
  }
  return { sockets: 2, coresPerSocket: 16, threadsPerCore: 2, memoryPerNodeMiB: 256 * 1024, hugepages: [{ sizeKiB: 2048, total: 0, free: 0 }, { sizeKiB: 1048576, total: 0, free: 0 }], pci };
}

/** 4 GPUs where 0000:41 and 0000:42 share IOMMU group 7 (no ACS on their switch), 0000:61 and 0000:62 are alone; 1 x 16 x 2, 128 GiB. */
export function sharedGroupServer(): FixtureSpec {
  return {
    sockets: 1, coresPerSocket: 16, threadsPerCore: 2, memoryPerNodeMiB: 128 * 1024,
    pci: [
      ...hostDisplays,
      { address: '0000:40:01.1', vendor: 0x10b5, device: 0x8747, class: 0x060400, group: 7, driver: 'pcieport' },
      { address: '0000:41:00.0', vendor: NV, device: 0x2204, class: 0x030000, group: 7, driver: 'nvidia', numaNode: 0 },
      { address: '0000:42:00.0', vendor: NV, device: 0x2204, class: 0x030000, group: 7, driver: 'nvidia', numaNode: 0 },
      { address: '0000:61:00.0', vendor: AMD, device: 0x744c, class: 0x030000, group: 9, driver: 'amdgpu', numaNode: 0 },
      { address: '0000:62:00.0', vendor: AMD, device: 0x744c, class: 0x030000, group: 10, driver: 'amdgpu', numaNode: 0 },
    ],
  };
}

/** One consumer GPU with its HDMI audio function (0000:65:00.1, class 0x0403) in the same group, and an unrelated NIC; 1 x 8 x 2, 64 GiB. */
export function audioGpuServer(): FixtureSpec {
  return {
    sockets: 1, coresPerSocket: 8, threadsPerCore: 2, memoryPerNodeMiB: 64 * 1024,
    pci: [
      ...hostDisplays,
      { address: '0000:64:01.0', vendor: 0x8086, device: 0x2030, class: 0x060400, group: 12, driver: 'pcieport' },
      { address: '0000:65:00.0', vendor: NV, device: 0x2684, class: 0x030000, group: 12, driver: 'nvidia', numaNode: 0 },
      { address: '0000:65:00.1', vendor: NV, device: 0x22ba, class: 0x040300, group: 12, driver: 'snd_hda_intel', numaNode: 0 },
      { address: '0000:66:00.0', vendor: 0x8086, device: 0x10d3, class: 0x020000, group: 13, driver: 'e1000e', numaNode: 0 },
    ],
  };
}

/** Two GPUs but little memory: 1 x 4 x 1 cores, 4 GiB RAM of which 1 GiB is in 2 MiB hugepages. */
export function littleMemoryServer(): FixtureSpec {
  return {
    sockets: 1, coresPerSocket: 4, threadsPerCore: 1, memoryPerNodeMiB: 4096,
    hugepages: [{ sizeKiB: 2048, total: 512, free: 512 }],
    pci: [
      { address: '0000:01:00.0', vendor: NV, device: 0x1eb8, class: 0x030200, group: 3, driver: null },
      { address: '0000:02:00.0', vendor: NV, device: 0x1eb8, class: 0x030200, group: 4, driver: null },
    ],
  };
}
