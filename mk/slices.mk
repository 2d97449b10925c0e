# AIBox GPU slices (runtime/slices, tfw slice). test/integration/slice-qemu.test.ts
# runs the slice manager against real QEMU (TCG) in a network namespace: QEMU,
# iproute2 (bridge, taps), util-linux (taskset confines the VM to its CPUs).
SYSDEPS += qemu-system-x86 iproute2 util-linux

.PHONY: test-slices
# Only the slices' tests: unit (fixture sysfs trees, seconds) then real QEMU (root).
test-slices: deps
	TFW_TEST_FILTER='unit/slices/|integration/slice-qemu' $(NODE) --import tsx test/run.mjs unit integration
