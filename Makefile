# tfw build entry points. The README's two commands are `make run` and `make test`;
# both install what they need (npm ci, Debian packages via scripts/sysdeps.sh).
# Each part of the tree may add a fragment in mk/*.mk: extra prerequisites for the
# targets below, and the Debian packages it needs in SYSDEPS.
SHELL := /bin/bash
.DEFAULT_GOAL := all
NODE ?= node
export SOURCE_DATE_EPOCH ?= 1700000000

# Debian packages needed by `make test`, and in addition by `make bench` (fragments append).
SYSDEPS :=
BENCH_SYSDEPS :=

KERNELS := $(patsubst wasm/%/index.ts,%,$(wildcard wasm/*/index.ts))
WASM_OUT := $(foreach k,$(KERNELS),build/wasm/$(k).wasm build/wasm/$(k)-simd.wasm)

.PHONY: all deps sysdeps wasm native runtime image run test test-unit test-integration test-image bench check clean

all: wasm native runtime

# npm ci when package-lock.json is newer than the installed tree.
deps: node_modules/.package-lock.json
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

sysdeps:
	@bash scripts/sysdeps.sh $(sort $(SYSDEPS))

wasm: $(WASM_OUT)

# Two variants per kernel: SIMD and scalar (asconfig.json targets).
build/wasm/%-simd.wasm: wasm/%/*.ts asconfig.json | deps
	@mkdir -p $(@D)
	npx asc wasm/$*/index.ts --config asconfig.json --target simd -o $@
build/wasm/%.wasm: wasm/%/*.ts asconfig.json | deps
	@mkdir -p $(@D)
	npx asc wasm/$*/index.ts --config asconfig.json --target scalar -o $@

# The runtime as one bundled file for images, plus per-file JS for package exports.
RUNTIME_SRC := $(shell find runtime -name '*.ts' 2>/dev/null)
runtime: build/runtime/tfw-runtime.mjs build/js/.stamp
build/runtime/tfw-runtime.mjs: $(RUNTIME_SRC) | deps
	npx esbuild runtime/main.ts --bundle --platform=node --target=node18 --format=esm \
	  --outfile=$@ --log-level=warning \
	  --banner:js="import { createRequire as __tfwCreateRequire } from 'node:module'; const require = __tfwCreateRequire(import.meta.url);"
build/js/.stamp: $(RUNTIME_SRC) | deps
	npx esbuild $(RUNTIME_SRC) --outdir=build/js/runtime --outbase=runtime --platform=node --target=node18 --format=esm --log-level=warning
	@touch $@

native:

# Type-check every TypeScript file (strict); part of `make test`.
check: | deps
	npx tsc -p tsconfig.json

# TIERS selects test/<tier>/ folders; `make test` runs them all.
TIERS ?= unit integration image
# `all` runs in a sub-make so that tools sysdeps just installed (cross compilers)
# are seen by the fragments' conditionals, which make evaluates at parse time.
test: deps sysdeps
	$(MAKE) all check
	$(NODE) --import tsx test/run.mjs $(TIERS)
test-unit: deps all
	$(NODE) --import tsx test/run.mjs unit
test-integration: deps sysdeps all
	$(NODE) --import tsx test/run.mjs integration
test-image: deps sysdeps all
	$(NODE) --import tsx test/run.mjs image

bench: deps sysdeps
	@bash scripts/sysdeps.sh $(sort $(BENCH_SYSDEPS))
	$(MAKE) all
	@mkdir -p build/bench
	$(NODE) --import tsx bench/run.ts $(BENCH)

clean:
	rm -rf build

-include mk/*.mk
