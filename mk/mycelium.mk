# Mycelium-dialect overlay node (runtime/overlay/mycelium; docs/overlay.md "Mycelium").
# b3sum cross-checks the BLAKE3 address derivation (test/unit/overlay/address.test.ts);
# tcpdump captures B's link and TUN bytes in test/integration/mycelium-netns.test.ts.
SYSDEPS += b3sum tcpdump iputils-ping iproute2

.PHONY: test-mycelium
# Only the Mycelium-dialect tests: unit (vectors, fuzz) then the loopback and namespace meshes,
# and the node sharing one TUN with the WireGuard overlay (one-tun).
test-mycelium: deps
	TFW_TEST_FILTER='mycelium|one-tun' $(NODE) --import tsx test/run.mjs unit integration
