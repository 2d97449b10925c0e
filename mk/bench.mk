# Benchmarks in QEMU guests and their report (bench/kernels, bench/guest, bench/report;
# tfw bench --board/--host; docs/bench.md). test/image/bench.test.ts opens the report
# in Debian's headless chromium (playwright-core drives it; no browser download),
# with one font package so its screenshots show text on a bare machine.
SYSDEPS += chromium fonts-dejavu-core

.PHONY: bench-guests
# The portable suite in both reference guests (TCG) and on the host, then
# build/bench/report.html and report.md. QUICK=1 for one small size per kernel.
bench-guests: deps sysdeps all
	$(TFW_CLI) bench --board qemu-x86_64 --board qemu-arm64 --host $(if $(QUICK),--quick)
