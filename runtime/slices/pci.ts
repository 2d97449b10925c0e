/**
 * PCI functions as sysfs shows them under `<root>/bus/pci/devices/<BDF>/`
 * (Documentation/ABI/testing/sysfs-bus-pci): `vendor`, `device`, `class`,
 * `numa_node`, `boot_vga`, and the links `iommu_group` (to
 * `<root>/kernel/iommu_groups/<N>`) and `driver` (to
 * `<root>/bus/pci/drivers/<name>`). `root` is `/sys` on a host and a fixture
 * folder in tests.
 *
 * Which functions are GPUs follows Zero-OS (threefoldtech/zos
 * pkg/capacity/pci.go, `GPU`, `PCIBridge`, `IoMMUGroup`): display class, a
 * vendor from the allow list, not on bus 00 (integrated and BMC graphics sit
 * there), and a GPU travels with every non-bridge function of its IOMMU
 * group. Unlike zos, 3D controllers (class 0x0302: datacenter NVIDIA and AMD
 * Instinct cards) count too, as issue 17 asks.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { SysfsError } from './errors.js';

/** PCI vendor ids whose display controllers are GPUs for slicing: NVIDIA, AMD/ATI. */
export const GPU_VENDORS: readonly number[] = [0x10de, 0x1002];
/** PCI class codes (base class << 8 | subclass) of GPUs: VGA-compatible and 3D controllers (PCI Code and ID Assignment spec §1.4). */
export const GPU_CLASSES: readonly number[] = [0x0300, 0x0302];
/** PCI base class of bridges (0x06): never passed to a VM, as zos's `PCIBridge` filter. */
const BRIDGE_BASE_CLASS = 0x06;

/** A PCI function read from sysfs. */
export interface PciFunction {
  /** Domain:bus:device.function, e.g. `0000:41:00.0` (the directory name). */
  address: string;
  /** 16-bit vendor id. */
  vendor: number;
  /** 16-bit device id. */
  device: number;
  /** 24-bit class code (base class, subclass, programming interface), e.g. 0x030000. */
  class: number;
  /** IOMMU group number, or null when the kernel runs without an IOMMU. */
  iommuGroup: number | null;
  /** NUMA node of the slot, or null when the platform reports none (-1). */
  numaNode: number | null;
  /** Name of the bound driver, or null. */
  driver: string | null;
  /** True when the firmware used this function as the boot display (`boot_vga` = 1). */
  bootVga: boolean;
}

const BDF = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;

/** True for a full PCI address `DDDD:BB:DD.F` (lower-case hex). */
export const isBdf = (s: string): boolean => BDF.test(s);

/** Path of the sysfs folder of PCI function `address`. */
export const pciDevicePath = (root: string, address: string): string => join(root, 'bus/pci/devices', address);

function readHex(root: string, address: string, attr: string, bits: number): number {
  const file = join(pciDevicePath(root, address), attr);
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    throw new SysfsError(`${file}: missing; expected a PCI ${attr} attribute`);
  }
  const v = Number.parseInt(text.replace(/^0x/i, ''), 16);
  if (!/^(0x)?[0-9a-f]+$/i.test(text) || v >= 2 ** bits) throw new SysfsError(`${file}: expected a ${bits}-bit hex number like 0x10de, got "${text}"`);
  return v;
}

function readOptionalInt(file: string): number | null {
  try {
    const v = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(v) && v >= 0 ? v : null;
  } catch {
    return null;
  }
}

/** Last path element of a symlink, or null when there is no link. */
function linkName(path: string): string | null {
  try {
    return basename(readlinkSync(path));
  } catch {
    return null;
  }
}

/**
 * Reads one PCI function.
 * @throws SysfsError when `vendor`, `device` or `class` is missing or not hex
 */
export function readPciFunction(root: string, address: string): PciFunction {
  const dir = pciDevicePath(root, address);
  const group = linkName(join(dir, 'iommu_group'));
  return {
    address,
    vendor: readHex(root, address, 'vendor', 16),
    device: readHex(root, address, 'device', 16),
    class: readHex(root, address, 'class', 24),
    iommuGroup: group !== null && /^\d+$/.test(group) ? Number(group) : null,
    numaNode: readOptionalInt(join(dir, 'numa_node')),
    driver: linkName(join(dir, 'driver')),
    bootVga: readOptionalInt(join(dir, 'boot_vga')) === 1,
  };
}

/**
 * Every PCI function under `<root>/bus/pci/devices`, sorted by address.
 * @throws SysfsError when the folder is missing (not a sysfs root) or a function is unreadable
 */
export function listPciFunctions(root: string): PciFunction[] {
  const dir = join(root, 'bus/pci/devices');
  if (!existsSync(dir)) throw new SysfsError(`${dir}: missing; expected a sysfs root (--sysfs) with bus/pci/devices`);
  return readdirSync(dir).filter(isBdf).sort().map((a) => readPciFunction(root, a));
}

/** True for a PCI bridge (base class 0x06), which stays with the host. */
export const isBridge = (f: PciFunction): boolean => f.class >> 16 === BRIDGE_BASE_CLASS;

/** True when `f` is a sliceable GPU: a GPU class, an allowed vendor, and not on bus 00 (zos `GPU`). */
export function isGpu(f: PciFunction, vendors: readonly number[] = GPU_VENDORS): boolean {
  return GPU_CLASSES.includes(f.class >> 8) && vendors.includes(f.vendor) && !/^[0-9a-f]{4}:00:/.test(f.address);
}

/**
 * Addresses of every function in IOMMU group `group` (from
 * `<root>/kernel/iommu_groups/<group>/devices`), bridges included, sorted.
 * @throws SysfsError when the group folder is missing
 */
export function iommuGroupMembers(root: string, group: number): string[] {
  const dir = join(root, 'kernel/iommu_groups', String(group), 'devices');
  try {
    return readdirSync(dir).filter(isBdf).sort();
  } catch {
    throw new SysfsError(`${dir}: missing; expected the members of IOMMU group ${group}`);
  }
}

/**
 * The functions that go to a VM with `gpu`: every non-bridge member of its
 * IOMMU group (the GPU itself, its HDMI audio or USB-C functions, and any
 * device the platform could not isolate from it), as zos's
 * `IoMMUGroup(gpu, Not(PCIBridge))`. Without an IOMMU group: the GPU alone.
 */
export function groupFunctions(root: string, gpu: PciFunction): PciFunction[] {
  if (gpu.iommuGroup === null) return [gpu];
  return iommuGroupMembers(root, gpu.iommuGroup)
    .map((a) => (a === gpu.address ? gpu : readPciFunction(root, a)))
    .filter((f) => !isBridge(f));
}

/** `0x10de`-style text of a 16-bit id. */
export const hex16 = (v: number): string => `0x${v.toString(16).padStart(4, '0')}`;
