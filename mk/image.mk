# Boot images (images/, board-configs/, host-tools/commands/{build,boot,pxe,flash}.ts).
# `make image` builds BOARD/ROLE; `make run` (the README's command) installs what
# it needs, builds everything, boots the image in QEMU until the ready marker and
# the kernel self-test, then powers the guest off (exit 0).
# Host tools: QEMU (both arches), zstd, depmod (kmod), cpio (tests list archives),
# xz-utils (xz-compressed modules), dpkg-dev-free: apt-get download and dpkg-deb
# come with apt/dpkg. `tfw flash` disks: fdisk (sfdisk), dosfstools (mkfs.fat),
# mtools (mcopy); `tfw boot --disk`: UEFI firmware ovmf (x86_64) and
# qemu-efi-aarch64 (AAVMF, arm64). `tfw pxe --tftp`: dnsmasq-base (the binary
# only, no system service) serving ipxe's loaders (undionly.kpxe, ipxe.efi);
# its test fetches tftp:// URLs with curl. The data
# partition of flashed disks: e2fsprogs (mke2fs); release signatures are checked
# against Debian's minisign in tests.
SYSDEPS += qemu-system-x86 qemu-system-arm ipxe-qemu ipxe zstd kmod cpio xz-utils mtools dosfstools fdisk ovmf qemu-efi-aarch64 dnsmasq-base curl e2fsprogs minisign

BOARD ?= qemu-x86_64
ROLE ?= 3router
BOOT_TIMEOUT ?= 300
TFW_CLI := $(NODE) host-tools/bin/tfw.mjs

.PHONY: image image-lock
image: deps all
	$(TFW_CLI) build --board $(BOARD) --role $(ROLE)

# Re-pin the Debian packages (kernel, busybox-static, nodejs closure) for amd64 and arm64.
image-lock: deps
	$(TFW_CLI) build --update-lock

run: deps sysdeps all
	$(TFW_CLI) build --board $(BOARD) --role $(ROLE)
	$(TFW_CLI) boot --board $(BOARD) --role $(ROLE) --no-build --exit-after-ready --timeout $(BOOT_TIMEOUT) --expect 'tfw: selftest'
