# Native N-API addon (native/): TUN, batched UDP, C kernels (AEAD, Reed-Solomon).
# Optional at run time: without a prebuild everything runs on WebAssembly
# (runtime/kernels/native.ts catches the load failure).
#
# `make native` builds prebuilds/linux-<arch>/tfw.napi.node (node-gyp-build
# layout) for the host, and cross-builds linux-arm64 on x64 when Debian's
# aarch64-linux-gnu-gcc is installed (SYSDEPS below; `make sysdeps` installs it).
NATIVE_SRC := native/binding.gyp $(wildcard native/src/*.c native/src/*.h)
NATIVE_HOST_ARCH := $(if $(filter aarch64,$(shell uname -m)),arm64,x64)
NATIVE_OUT := prebuilds/linux-$(NATIVE_HOST_ARCH)/tfw.napi.node
ifeq ($(NATIVE_HOST_ARCH),x64)
ifneq ($(shell command -v aarch64-linux-gnu-gcc 2>/dev/null),)
NATIVE_OUT += prebuilds/linux-arm64/tfw.napi.node
endif
endif
# libxxhash-dev: xxhash.h, compiled into the addon (XXH_INLINE_ALL) for the storage checksums.
SYSDEPS += g++ make python3 libxxhash-dev gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user-static

.PHONY: native-arm64-sysroot native-clean
native: $(NATIVE_OUT)

prebuilds/linux-%/tfw.napi.node: $(NATIVE_SRC) native/scripts/build.sh | deps
	bash native/scripts/build.sh $* $@

# Debian's arm64 node + libraries unpacked under .cache/arm64-sysroot for
# qemu-aarch64-static (test/integration/native-arm64.test.ts). A failure only
# makes that test skip. Also builds the arm64 prebuild when the cross compiler
# arrived with `make sysdeps` after this Makefile was read.
native-arm64-sysroot:
	@if [ $(NATIVE_HOST_ARCH) = x64 ] && command -v aarch64-linux-gnu-gcc >/dev/null; then \
	  $(MAKE) --no-print-directory prebuilds/linux-arm64/tfw.napi.node; fi
	@bash native/scripts/arm64-sysroot.sh || echo "tfw: native: arm64 sysroot unavailable; the arm64 test will skip" >&2

test test-integration: native-arm64-sysroot

native-clean:
	rm -rf prebuilds build/native
