# Overlay router (runtime/overlay incl. the Babel mesh, runtime/config, tfw runtime / keygen).
# Debian packages for test/integration/{wireguard-interop,mesh,uapi-show}.test.ts (stock
# wireguard-go + wg(8) peers, wg show / wg set against tfw's UAPI socket, ping in namespaces, python3 to capture a datagram
# for the replay test) and bench/overlay.bench.ts (iperf3).
SYSDEPS += wireguard-go wireguard-tools iputils-ping iproute2 python3
BENCH_SYSDEPS += iperf3

.PHONY: test-overlay
# Only the overlay's tests: unit (fast) then the namespace tests (root).
test-overlay: deps
	TFW_TEST_FILTER='(overlay|babel|config|keygen|wireguard|mesh|uapi)' $(NODE) --import tsx test/run.mjs unit integration
