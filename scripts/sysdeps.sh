#!/usr/bin/env bash
# Installs the Debian packages named as arguments that are not installed yet.
# Used by `make test` / `make run` so a fresh machine needs no manual set-up.
# Entries may carry an architecture (pkg:arm64); the architecture is added first.
set -euo pipefail
missing=()
for p in "$@"; do
  case "$p" in *:arm64) dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64 ;; esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "tfw: sysdeps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
APT=(-o DPkg::Lock::Timeout=600 -o APT::Get::Assume-Yes=true)
$SUDO apt-get "${APT[@]}" update -qq
$SUDO apt-get "${APT[@]}" install -qq --no-install-recommends "${missing[@]}" >/dev/null
