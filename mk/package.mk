# The npm package (docs/package.md): compiled JS + .d.ts of runtime/, host-tools/
# and images/builder/ in build/dist (tsc -p tsconfig.build.json), which the
# package's `exports` and the `tfw` bin (host-tools/bin/tfw.mjs) use, so the
# installed CLI needs no tsx. `make pack` builds everything the tarball holds
# (wasm, bundled runtime, console, dist, both prebuilds) and writes
# build/tfw-<version>.tgz with `npm pack`.
# zsh: test/unit/completion.test.ts completes through `tfw completion zsh` in a real zsh.
SYSDEPS += zsh

DIST_SRC := $(shell find runtime host-tools images bench -name '*.ts' 2>/dev/null)

.PHONY: dist pack
all: dist
dist: build/dist/.stamp
build/dist/.stamp: $(DIST_SRC) tsconfig.json tsconfig.build.json | deps
	npx tsc -p tsconfig.build.json
	@touch $@

# Both prebuilds go in the tarball: linux-arm64 is cross-built with Debian's
# aarch64-linux-gnu-gcc (mk/native.mk's SYSDEPS), so pack needs sysdeps on x64.
PACK_PREBUILDS := prebuilds/linux-x64/tfw.napi.node prebuilds/linux-arm64/tfw.napi.node
pack: deps sysdeps
	$(MAKE) all $(PACK_PREBUILDS)
	npm pack --pack-destination build --silent

# `tfw` on PATH for the checkout (README set-up: export PATH=$PWD/build/bin:$PATH).
all: build/bin/tfw
build/bin/tfw:
	@mkdir -p $(@D)
	ln -sfn ../../host-tools/bin/tfw.mjs $@
