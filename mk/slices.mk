# AIBox GPU slices (runtime/slices, tfw slice). test/integration/slice-qemu.test.ts
# runs the slice manager against real QEMU (TCG) in a network namespace, and
# test/image/slice-vfio.test.ts binds emulated devices to vfio-pci inside a q35
# guest with intel-iommu: QEMU, iproute2 (bridge, taps), util-linux (taskset
# confines a VM to its CPUs). test/image/slice-vm.test.ts boots the slice
# image under the manager and writes an OCI archive from busybox-static with
# GNU tar and dpkg-deb.
SYSDEPS += qemu-system-x86 iproute2 util-linux tar dpkg

.PHONY: test-slices
# Only the slices' tests: unit (fixture sysfs trees, seconds), real QEMU and the q35 guest (root).
test-slices: deps
	TFW_TEST_FILTER='unit/slices/|integration/slice-qemu|image/slice-' $(NODE) --import tsx test/run.mjs unit integration image
