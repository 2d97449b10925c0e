/**
 * Handing PCI functions to vfio-pci through sysfs writes, as Zero-OS does
 * (threefoldtech/zos pkg/primitives/vm/gpu.go, `initGPUs`): for every
 * non-bridge function of a GPU's IOMMU group, write `vfio-pci` to its
 * `driver_override`, unbind it from its current driver, and ask the PCI core
 * to probe it again (`bus/pci/drivers_probe`), which then binds vfio-pci
 * (Documentation/ABI/testing/sysfs-bus-pci, `driver_override`). VFIO needs
 * the whole group on vfio-pci before any member can be opened
 * (Documentation/driver-api/vfio.rst, "Groups, Devices, and IOMMUs").
 *
 * All paths are under `root` and every write goes through a `SysfsIo`, so tests
 * run this against fixture trees with a simulated kernel.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VfioBindError } from './errors.js';
import { groupFunctions, pciDevicePath, readPciFunction } from './pci.js';

/** The one operation binding needs from sysfs: write `value` to the attribute at `path`. */
export interface SysfsIo {
  write(path: string, value: string): void;
}

/** Plain file writes, as `echo value > path` does on a live /sys. */
export const sysfsWriter: SysfsIo = { write: (path, value) => writeFileSync(path, value) };

export const VFIO_DRIVER = 'vfio-pci';

/** What binding did to one function. */
export interface BindResult {
  address: string;
  /** Driver it was bound to before (null: none). */
  from: string | null;
  /** False when it already was on vfio-pci (nothing written). */
  changed: boolean;
}

function write(io: SysfsIo, path: string, value: string, address: string): void {
  try {
    io.write(path, value);
  } catch (err) {
    throw new VfioBindError(`${address}: writing "${value}" to ${path} failed: ${(err as Error).message.split('\n')[0]}`);
  }
}

/**
 * Binds each function in `addresses` to vfio-pci; functions already on it are left alone.
 * @param root sysfs root (`/sys`)
 * @returns one result per address, in order
 * @throws VfioBindError when vfio-pci is not loaded (`<root>/bus/pci/drivers/vfio-pci` missing),
 *   a write fails, or a function is not on vfio-pci after the probe
 */
export function bindToVfio(root: string, addresses: string[], io: SysfsIo = sysfsWriter): BindResult[] {
  if (!existsSync(join(root, 'bus/pci/drivers', VFIO_DRIVER))) {
    throw new VfioBindError(`${VFIO_DRIVER}: driver not loaded (${join(root, 'bus/pci/drivers', VFIO_DRIVER)} missing); run modprobe vfio-pci`);
  }
  return addresses.map((address) => {
    const before = readPciFunction(root, address).driver;
    if (before === VFIO_DRIVER) return { address, from: before, changed: false };
    const dev = pciDevicePath(root, address);
    write(io, join(dev, 'driver_override'), VFIO_DRIVER, address);
    if (before !== null) write(io, join(dev, 'driver', 'unbind'), address, address);
    write(io, join(root, 'bus/pci/drivers_probe'), address, address);
    const after = readPciFunction(root, address).driver;
    if (after !== VFIO_DRIVER) throw new VfioBindError(`${address}: expected driver ${VFIO_DRIVER} after the probe, found ${after ?? 'none'} (driver_override written, ${before ? `unbound from ${before}` : 'was unbound'})`);
    return { address, from: before, changed: true };
  });
}

/**
 * Binds the whole IOMMU group of GPU `gpuAddress` (every non-bridge member) to vfio-pci.
 * @throws VfioBindError as bindToVfio; SysfsError when the GPU is not in the tree
 */
export function bindGpuGroup(root: string, gpuAddress: string, io: SysfsIo = sysfsWriter): BindResult[] {
  const members = groupFunctions(root, readPciFunction(root, gpuAddress)).map((f) => f.address).sort();
  return bindToVfio(root, members, io);
}
