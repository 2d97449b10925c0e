/**
 * Runs inside the q35 + intel-iommu guest of slice-vfio.test.ts (bundled with
 * esbuild, started by the test's /init): plans slices on the guest's real
 * sysfs with the emulated display devices standing in for GPUs, binds their
 * IOMMU groups to vfio-pci, and prints what it read back as one line
 * `SLICE-VFIO-RESULT <json>`.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { SliceManager } from '../../runtime/slices/manager.js';
import { readInventory } from '../../runtime/slices/inventory.js';
import { bindGpuGroup } from '../../runtime/slices/vfio.js';

/** Vendors of the stand-ins: QEMU's std VGA (0x1234), cirrus-vga (0x1013), ati-vga (AMD's 0x1002). */
const vendors = [0x1234, 0x1013, 0x1002];
const driver = (bdf: string): string | null => {
  try {
    return basename(readlinkSync(`/sys/bus/pci/devices/${bdf}/driver`));
  } catch {
    return null;
  }
};
const m = new SliceManager({ sysfs: '/sys', stateDir: '/tmp/slices', gpuVendors: vendors, policy: { hostMemoryMiB: 256, hostCores: 0 }, log: (l) => console.log(`slice-vfio: ${l}`) });
const out: Record<string, unknown> = {};
const inv = readInventory('/sys', { gpuVendors: vendors });
out.gpus = inv.gpus.map((g) => ({ address: g.address, vendor: g.vendor, device: g.device, class: g.class, iommuGroup: g.iommuGroup, functions: g.functions }));
out.pci = readdirSync('/sys/bus/pci/devices').sort().map((a) => [a, driver(a)]);
const a = m.create({ name: 'a', gpus: 1, vcpus: 1, memoryMiB: 128, diskMiB: 64 }).slice;
const b = m.create({ name: 'b', gpus: 2, vcpus: 1, memoryMiB: 128, diskMiB: 64 }).slice;
out.a = { gpus: a.gpus, functions: a.functions, iommuGroups: a.iommuGroups };
out.b = { gpus: b.gpus, functions: b.functions, iommuGroups: b.iommuGroups };
const refusal = (fn: () => unknown) => {
  try {
    fn();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
};
out.doubleAssignment = refusal(() => m.create({ name: 'c', gpus: 1, gpuAddresses: [a.gpus[0]], vcpus: 1, memoryMiB: 128, diskMiB: 64 }));
out.noGpuLeft = refusal(() => m.create({ name: 'd', gpus: 1, vcpus: 1, memoryMiB: 128, diskMiB: 64 }));
const fns = [...a.functions, ...b.functions];
out.driversBefore = Object.fromEntries(fns.map((f) => [f, driver(f)]));
out.bindA = bindGpuGroup('/sys', a.gpus[0]);
out.bindB = bindGpuGroup('/sys', b.gpus[1]); // one GPU of the shared group: the whole group follows
out.driversAfter = Object.fromEntries((out.pci as [string, string | null][]).map(([f]) => [f, driver(f)]));
out.rebind = [...bindGpuGroup('/sys', a.gpus[0]), ...bindGpuGroup('/sys', b.gpus[0])].map((r) => r.changed);
try {
  out.devVfio = readdirSync('/dev/vfio').sort();
} catch (err) {
  out.devVfio = String(err);
}
process.stdout.write(`SLICE-VFIO-RESULT ${JSON.stringify(out)}\n`);
