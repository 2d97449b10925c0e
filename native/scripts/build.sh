#!/usr/bin/env bash
# Builds the tfw addon for one architecture into a node-gyp-build prebuild:
#   native/scripts/build.sh x64|arm64 OUT.node
# The sources are copied to build/native/<arch>/ so native/ stays clean and the
# two architectures never share object files. arm64 on an x64 host is cross-
# compiled with Debian's gcc-aarch64-linux-gnu; Node's headers come from
# nodedir=/usr (Debian's libnode-dev / the nodejs package), so no download.
set -euo pipefail
arch=$1
out=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$root/build/native/$arch
nodedir=${TFW_NODEDIR:-$(npm config get nodedir 2>/dev/null || true)}
[ -n "$nodedir" ] && [ "$nodedir" != undefined ] || nodedir=/usr
if [ ! -f "$nodedir/include/node/node_api.h" ]; then
  echo "tfw: native: $nodedir/include/node/node_api.h not found (set TFW_NODEDIR to a Node source/headers tree)" >&2
  exit 1
fi
rm -rf "$work"
mkdir -p "$work"
cp -r "$root/native/binding.gyp" "$root/native/src" "$work/"
host=$(uname -m)
env=()
case "$arch:$host" in
  x64:x86_64 | arm64:aarch64) ;;
  arm64:x86_64)
    command -v aarch64-linux-gnu-gcc >/dev/null || { echo "tfw: native: aarch64-linux-gnu-gcc missing (apt-get install gcc-aarch64-linux-gnu g++-aarch64-linux-gnu)" >&2; exit 1; }
    env=(CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar STRIP=aarch64-linux-gnu-strip)
    ;;
  *) echo "tfw: native: cannot build $arch on $host" >&2; exit 1 ;;
esac
gyp=$root/node_modules/node-gyp/bin/node-gyp.js
(cd "$work" && env "${env[@]}" node "$gyp" rebuild --arch="$arch" --nodedir="$nodedir" --jobs=2 >"$work/build.log" 2>&1) || {
  tail -40 "$work/build.log" >&2
  echo "tfw: native: build for $arch failed (log: $work/build.log)" >&2
  exit 1
}
strip_bin=strip
[ "$arch:$host" = arm64:x86_64 ] && strip_bin=aarch64-linux-gnu-strip
mkdir -p "$(dirname "$out")"
"$strip_bin" --strip-unneeded -o "$out.tmp" "$work/build/Release/tfw.node"
mv "$out.tmp" "$out"
echo "tfw: native: built $out" >&2
