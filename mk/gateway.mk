# The 3router gateway (runtime/gateway: lan/wan/firewall config, dnsmasq and
# nftables generators, the gateway service). Debian packages for
# test/unit/gateway (`nft -c -f` and `dnsmasq --test` on the generated files)
# and test/integration/gateway-{netns,service}.test.ts (the ruleset and the service
# in namespaces; busybox udhcpc as the LAN client), and nmap for
# test/image/gateway.test.ts's port scan of the router's WAN.
SYSDEPS += nftables dnsmasq-base iproute2 busybox-static iputils-ping nmap
# bench/gateway.bench.ts (`BENCH=gateway make bench`): iperf3 through the router guest, ethtool to turn the LAN client's TSO/GSO off.
BENCH_SYSDEPS += iperf3 ethtool

.PHONY: test-gateway
# Only the gateway's tests: unit, then the namespace test (root).
test-gateway: deps
	TFW_TEST_FILTER='(unit|integration)/gateway' $(NODE) --import tsx test/run.mjs unit integration
