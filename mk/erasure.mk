# Reed-Solomon erasure kernel (wasm/erasure, runtime/kernels/erasure.ts).
# Go + klauspost/reedsolomon: the peer column of `BENCH=erasure make bench`
# (bench/go/erasure) and `make erasure-vectors`; the unit tests do not need them.
BENCH_SYSDEPS += golang-go golang-github-klauspost-reedsolomon-dev

ERASURE_GOENV := GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOCACHE=$(CURDIR)/build/bench/gocache

.PHONY: erasure-vectors
# Regenerates the known-answer fixtures from klauspost/reedsolomon.
erasure-vectors:
	@bash scripts/sysdeps.sh golang-go golang-github-klauspost-reedsolomon-dev
	@mkdir -p build/bench
	$(ERASURE_GOENV) go run test/vectors/erasure/gen.go > test/vectors/erasure/erasure.json.tmp
	mv test/vectors/erasure/erasure.json.tmp test/vectors/erasure/erasure.json
