/**
 * vfio-pci binding through sysfs writes on fixture trees, with a simulated
 * PCI core answering driver_override / unbind / drivers_probe as the kernel
 * does; the result is read back from the tree (driver links).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bindGpuGroup, bindToVfio } from '../../../runtime/slices/vfio.js';
import { readPciFunction } from '../../../runtime/slices/pci.js';
import { VfioBindError } from '../../../runtime/slices/errors.js';
import { audioGpuServer, littleMemoryServer, sharedGroupServer, simulatedKernel, writeSysfs } from './sysfs-fixture.js';

test('a GPU and its audio function: override, unbind, probe for each, in that order; both end on vfio-pci', () => {
  const { root, cleanup } = writeSysfs(audioGpuServer());
  try {
    const k = simulatedKernel(root);
    const r = bindGpuGroup(root, '0000:65:00.0', k);
    assert.equal(r, [
      { address: '0000:65:00.0', from: 'nvidia', changed: true },
      { address: '0000:65:00.1', from: 'snd_hda_intel', changed: true },
    ]);
    assert.equal(k.log, [
      { path: 'bus/pci/devices/0000:65:00.0/driver_override', value: 'vfio-pci' },
      { path: 'bus/pci/devices/0000:65:00.0/driver/unbind', value: '0000:65:00.0' },
      { path: 'bus/pci/drivers_probe', value: '0000:65:00.0' },
      { path: 'bus/pci/devices/0000:65:00.1/driver_override', value: 'vfio-pci' },
      { path: 'bus/pci/devices/0000:65:00.1/driver/unbind', value: '0000:65:00.1' },
      { path: 'bus/pci/drivers_probe', value: '0000:65:00.1' },
    ]);
    assert.is(readPciFunction(root, '0000:65:00.0').driver, 'vfio-pci');
    assert.is(readPciFunction(root, '0000:65:00.1').driver, 'vfio-pci');
    assert.is(readFileSync(join(root, 'bus/pci/devices/0000:65:00.1/driver_override'), 'utf8').trim(), 'vfio-pci');
    assert.is(readPciFunction(root, '0000:64:01.0').driver, 'pcieport', 'the bridge in the group keeps its driver');
    assert.is(readPciFunction(root, '0000:66:00.0').driver, 'e1000e', 'a device of another group is untouched');
  } finally {
    cleanup();
  }
});

test('group expansion: binding one GPU of a shared group binds the other GPU too', () => {
  const { root, cleanup } = writeSysfs(sharedGroupServer());
  try {
    const k = simulatedKernel(root);
    assert.equal(bindGpuGroup(root, '0000:42:00.0', k).map((x) => x.address), ['0000:41:00.0', '0000:42:00.0']);
    assert.is(readPciFunction(root, '0000:41:00.0').driver, 'vfio-pci');
    assert.is(readPciFunction(root, '0000:61:00.0').driver, 'amdgpu');
  } finally {
    cleanup();
  }
});

test('functions already on vfio-pci are left alone (binding twice writes nothing); unbound ones are probed without unbind', () => {
  const { root, cleanup } = writeSysfs(littleMemoryServer());
  try {
    const k = simulatedKernel(root);
    assert.equal(bindToVfio(root, ['0000:01:00.0'], k), [{ address: '0000:01:00.0', from: null, changed: true }]);
    assert.equal(k.log.map((w) => w.path), ['bus/pci/devices/0000:01:00.0/driver_override', 'bus/pci/drivers_probe']);
    k.log.length = 0;
    assert.equal(bindToVfio(root, ['0000:01:00.0'], k), [{ address: '0000:01:00.0', from: 'vfio-pci', changed: false }]);
    assert.equal(k.log, []);
  } finally {
    cleanup();
  }
});

test('vfio-pci not loaded: refused before any write', () => {
  const spec = audioGpuServer();
  spec.drivers = ['nvidia', 'snd_hda_intel', 'pcieport', 'e1000e', 'i915', 'ast'];
  const { root, cleanup } = writeSysfs(spec);
  try {
    const k = simulatedKernel(root);
    assert.throws(() => bindGpuGroup(root, '0000:65:00.0', k), (e: Error) => e instanceof VfioBindError && /vfio-pci: driver not loaded .*modprobe vfio-pci/.test(e.message));
    assert.equal(k.log, []);
  } finally {
    cleanup();
  }
});

test('a function that does not end on vfio-pci after the probe is an error naming it', () => {
  const { root, cleanup } = writeSysfs(audioGpuServer());
  try {
    const k = simulatedKernel(root);
    // A kernel that ignores the probe (e.g. the device is claimed again by its old driver).
    const stubborn = { write: (p: string, v: string) => (p.endsWith('drivers_probe') ? undefined : k.write(p, v)) };
    assert.throws(() => bindGpuGroup(root, '0000:65:00.0', stubborn), (e: Error) => e instanceof VfioBindError && /0000:65:00\.0: expected driver vfio-pci after the probe, found none/.test(e.message));
  } finally {
    cleanup();
  }
});

test.run();
