/** The AIBox slice manager: inventory, planner, state, vfio binding, VM launcher. */
export { SliceManager, sliceMac, BUILTIN_SLICE_IMAGE, type SliceManagerOptions, type SliceStatus, type SliceOverlay, type ReconcileEntry } from './manager.js';
export { sliceProcessRunning, ipHostNet, powerOff, type HostNet } from './vm.js';
export { readInventory, parseCpuList, type Inventory, type Gpu, type Cpu, type NumaNode, type HugepagePool } from './inventory.js';
export { planSlice, usage, validateRequest, hostReservedCpus, DEFAULT_POLICY, type SliceRequest, type PlannerPolicy, type Plan, type Usage } from './planner.js';
export { SliceStore, MAX_SLICES, type Slice, type SliceState } from './state.js';
export { bindToVfio, bindGpuGroup, sysfsWriter, VFIO_DRIVER, type SysfsIo, type BindResult } from './vfio.js';
export { admitSlicePeer, removeSlicePeer, sliceGuestConfig, sliceLinkAddress, slicePublicKey, DEFAULT_SLICE_LINK, type SliceGateway } from './network.js';
export { sliceCommand, vfioDeviceArgs, shellLine, kvmUsable, tapName, type Accel, type SliceHost } from './qemu.js';
export { GPU_VENDORS, GPU_CLASSES, isGpu, isBridge, listPciFunctions, readPciFunction, groupFunctions, type PciFunction } from './pci.js';
export { parseSizeMiB, formatMiB } from './size.js';
export * from './errors.js';
