#!/usr/bin/env bash
# Unpacks Debian's arm64 Node (and the libraries it needs) into a sysroot for
# qemu-aarch64-static, so the linux-arm64 prebuild can be tested on an x64 host:
#   qemu-aarch64-static -L $SYSROOT $SYSROOT/usr/bin/node script.mjs
# Output: .cache/arm64-sysroot/ (stamp: .cache/arm64-sysroot/.complete).
# Uses apt-get download (Debian mirror only); apt runs under /tmp/tfw-apt.lock.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
sysroot=${TFW_ARM64_SYSROOT:-$root/.cache/arm64-sysroot}
debs=$root/.cache/arm64-debs
[ -f "$sysroot/.complete" ] && [ -x "$sysroot/usr/bin/node" ] && exit 0
command -v qemu-aarch64-static >/dev/null || { echo "tfw: native: qemu-aarch64-static missing (apt-get install qemu-user-static)" >&2; exit 1; }
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
(
  flock 9
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $SUDO dpkg --add-architecture arm64
    $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  elif ! apt-cache show nodejs:arm64 >/dev/null 2>&1; then
    $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  fi
) 9>/tmp/tfw-apt.lock
# nodejs:arm64 and its run-time dependencies (arm64 and arch-all packages only).
mapfile -t pkgs < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances --no-pre-depends nodejs:arm64 2>/dev/null | grep -E '^[a-z0-9]' | grep -v '^<' | sort -u)
[ ${#pkgs[@]} -gt 0 ] || { echo "tfw: native: apt-cache knows no nodejs:arm64 (is the arm64 architecture enabled?)" >&2; exit 1; }
mkdir -p "$debs"
want=()
for p in "${pkgs[@]}"; do
  case "$p" in *:arm64) ;; *:*) continue ;; *) p=$p:arm64 ;; esac
  # skip packages whose only role is maintainer scripts / docs
  case "${p%%:*}" in debconf|dpkg|perl-base|libpam*|base-files|debianutils|tzdata|sensible-utils|install-info) continue ;; esac
  want+=("$p")
done
(cd "$debs" && apt-get download "${want[@]}" >/dev/null 2>"$debs/download.log") || {
  # arch-all packages cannot be fetched as :arm64; retry those without the suffix
  cd "$debs"
  for p in "${want[@]}"; do ls "${p%%:*}"_*_{arm64,all}.deb >/dev/null 2>&1 || apt-get download "$p" >/dev/null 2>&1 || apt-get download "${p%%:*}" >/dev/null 2>&1 || true; done
}
rm -rf "$sysroot.tmp"
mkdir -p "$sysroot.tmp"
for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$sysroot.tmp"; done
[ -x "$sysroot.tmp/usr/bin/node" ] || { echo "tfw: native: usr/bin/node missing from the unpacked packages" >&2; exit 1; }
rm -rf "$sysroot"
mv "$sysroot.tmp" "$sysroot"
qemu-aarch64-static -L "$sysroot" "$sysroot/usr/bin/node" -e 'console.log("tfw: native: arm64 node " + process.version + " " + process.arch)' >&2
touch "$sysroot/.complete"
