# Portable kernels (docs/portable.md): the WASI builds are the Makefile's wasm
# target (asconfig.json extends @assemblyscript/wasi-shim); this fragment builds the
# tfw:kernels WebAssembly component (wit/kernels.wit) and its jco transpilation.
#   build/components/tfw-kernels.core.wasm  core module of wasm/component (SIMD kernels)
#   build/components/tfw-kernels.wasm       the component (componentEmbed + componentNew)
#   build/components/js/                    `jco transpile` output (ESM)
COMPONENT_SRC := $(wildcard wasm/component/*.ts wasm/aead/*.ts wasm/erasure/*.ts wasm/forward/*.ts)

.PHONY: components components-clean
components: build/components/tfw-kernels.wasm

build/components/tfw-kernels.core.wasm: $(COMPONENT_SRC) asconfig.json | deps
	@mkdir -p $(@D)
	npx asc wasm/component/kernels.ts --config asconfig.json --target simd -o $@

build/components/tfw-kernels.wasm: build/components/tfw-kernels.core.wasm wit/kernels.wit scripts/component.mjs | deps
	$(NODE) scripts/component.mjs $< $@ build/components/js

test test-unit bench: components

components-clean:
	rm -rf build/components
