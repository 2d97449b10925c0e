#!/bin/sh
# tfw guest init (PID 1, busybox sh). Mounts the kernel file systems, loads the
# board's and role's modules, brings up the network from the board config, then
# supervises the tfw runtime: restart with back-off when it exits, clean stop on
# poweroff (SIGUSR2 from busybox poweroff), SIGTERM or the kernel flag
# tfw.poweroff_after_ready=1 (used by `tfw boot --exit-after-ready`).
# Inputs: /etc/tfw/release, /etc/tfw/modules, /etc/tfw/network (shell variables).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root

log() { echo "tfw: init: $*" > /dev/console; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || mdev -s
mkdir -p /dev/pts /dev/shm /run /tmp
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=0755 tmpfs /run
exec 0</dev/console 1>/dev/console 2>/dev/console

. /etc/tfw/release
. /etc/tfw/network

for m in $(cat /etc/tfw/modules); do
  modprobe "$m" 2>/dev/null || log "cannot load module $m"
done

# Extra kernel words and a config for this boot from QEMU's fw_cfg (`tfw boot
# --disk` passes them there, so a flashed disk is never rewritten to carry them).
FWCFG=/sys/firmware/qemu_fw_cfg/by_name/opt/tfw
EXTRA_WORDS=
[ -r "$FWCFG/cmdline/raw" ] && EXTRA_WORDS=$(cat "$FWCFG/cmdline/raw")

# Kernel command-line overrides: tfw.ip=ADDR/PREFIX, tfw.gw=ADDR, tfw.poweroff_after_ready=1,
# tfw.ping=ADDR (link check used by tests: ping ADDR for up to 90 s before the runtime starts),
# tfw.config=PATH (another overlay config, e.g. on a disk the role mounts),
# tfw.slot=a|b (the boot slot, written into each slot's loader entry by tfw flash / upgrades),
# tfw.health_deadline=SECONDS (a slot on trial that is not healthy by then reboots; default 120),
# tfw.demo_ping=ADDR (`tfw boot --demo`: once the runtime is ready, ping ADDR over
# the overlay for up to 60 s, report, then obey `tfw-demo-poweroff` typed on the console),
# tfw.failsafe=1 (3router: the image's config, not the one on /data; the LAN port at
# 192.168.1.1/24 with DHCP, no firewall change, the device API on the LAN only),
# tfw.slice=NAME (an AIBox slice VM: /data is its whole virtio disk, formatted when
# blank; Podman is set up, and an OCI archive in fw_cfg opt/tfw/run.tar runs once ready),
# tfw.plainrouter=1 (3router, benchmarks only: no tfw runtime; the LAN port gets
# 192.168.1.1/24, ip_forward=1 and an nftables masquerade on the WAN, as a plain Linux router).
POWEROFF_AFTER_READY=0
FAILSAFE=0
PLAINROUTER=0
KERNEL_IP=0
TFW_CONFIG=
SLOT=
SLICE=
HEALTH_DEADLINE=120
for arg in $(cat /proc/cmdline) $EXTRA_WORDS; do
  case "$arg" in
    tfw.ip=*) NET_METHOD=static; NET_ADDRESS="${arg#tfw.ip=}"; KERNEL_IP=1 ;;
    tfw.gw=*) NET_GATEWAY="${arg#tfw.gw=}" ;;
    tfw.poweroff_after_ready=1) POWEROFF_AFTER_READY=1 ;;
    tfw.role=*) TFW_ROLE="${arg#tfw.role=}" ;;
    tfw.ping=*) PING_TARGET="${arg#tfw.ping=}" ;;
    tfw.config=*) TFW_CONFIG="${arg#tfw.config=}" ;;
    tfw.slot=a|tfw.slot=b) SLOT="${arg#tfw.slot=}" ;;
    tfw.health_deadline=*) HEALTH_DEADLINE="${arg#tfw.health_deadline=}" ;;
    tfw.demo_ping=*) DEMO_PING="${arg#tfw.demo_ping=}" ;;
    tfw.failsafe=1) FAILSAFE=1 ;;
    tfw.slice=*) SLICE="${arg#tfw.slice=}" ;;
    tfw.plainrouter=1) PLAINROUTER=1 ;;
  esac
done
log "booting $TFW_ROLE on $TFW_BOARD ($TFW_ARCH, tfw $TFW_VERSION, kernel $(uname -r))"
mkdir -p /run/tfw

# --- storage: the tfw-data partition at /data, the EFI System Partition at /boot/efi
# Found by GPT partition name (PARTNAME in sysfs uevent); the ESP is partition 1
# of the same disk. Both are optional: PXE and -kernel boots run RAM-only.
DATA_DEV=
ESP_DEV=
find_partitions() {
  for u in /sys/class/block/*/uevent; do
    grep -qx 'PARTNAME=tfw-data' "$u" 2>/dev/null || continue
    DATA_DEV=/dev/$(sed -n 's/^DEVNAME=//p' "$u")
    for p in "$(readlink -f "${u%/uevent}/..")"/*/partition; do
      [ "$(cat "$p")" = 1 ] && ESP_DEV=/dev/$(sed -n 's/^DEVNAME=//p' "${p%/partition}/uevent")
    done
    return
  done
}
# A slot boot comes from a disk, whose partitions appear shortly after its driver loads: wait up to 3 s.
i=0
while find_partitions; [ -z "$DATA_DEV" ] && [ -n "$SLOT" ] && [ $i -lt 30 ]; do i=$((i + 1)); sleep 0.1; done
# A slice VM has no partition table: its whole first virtio disk is /data. A
# blank disk (no ext2/3/4 magic 0xEF53 at byte 1080, first 1 MiB all zero) is
# formatted on first boot; anything else is left alone.
if [ -z "$DATA_DEV" ] && [ -n "$SLICE" ]; then
  i=0
  while [ ! -b /dev/vda ] && [ $i -lt 30 ]; do i=$((i + 1)); sleep 0.1; done
  if [ -b /dev/vda ] && [ "$(dd if=/dev/vda bs=1 skip=1080 count=2 2>/dev/null | xxd -p)" != 53ef ]; then
    if [ "$(dd if=/dev/vda bs=65536 count=16 2>/dev/null | tr -d '\000' | wc -c)" = 0 ]; then
      mke2fs -q -L tfw-data /dev/vda && log "data: /dev/vda was blank, formatted (ext2)"
    else
      log "data: /dev/vda holds something that is not ext2/3/4; not formatting it"
    fi
  fi
  [ -b /dev/vda ] && DATA_DEV=/dev/vda
fi
DATA_DIR=
ESP_DIR=
if [ -n "$DATA_DEV" ] && mkdir -p /data && mount -t ext4 -o noatime "$DATA_DEV" /data; then
  DATA_DIR=/data
  log "data: $DATA_DEV mounted on /data (ext4)"
else
  log "data: no tfw-data partition, running RAM-only (identity and settings last until power off)"
fi
if [ -n "$ESP_DEV" ] && mkdir -p /boot/efi && mount -t vfat -o ro,shortname=mixed,codepage=437,iocharset=ascii "$ESP_DEV" /boot/efi; then
  ESP_DIR=/boot/efi
fi

# --- slot: which one booted, and whether it is on trial (systemd-boot's counter in its entry name)
if [ -n "$SLOT" ]; then
  echo "tfw: slot: booted $SLOT" > /dev/console
  if [ -n "$ESP_DIR" ] && ls "$ESP_DIR/loader/entries/" 2>/dev/null | grep -q "^tfw-$SLOT+"; then
    log "slot: $SLOT is on trial: it must be healthy within ${HEALTH_DEADLINE} s"
    ( end=$(( $(cut -d. -f1 /proc/uptime) + HEALTH_DEADLINE ))
      while [ ! -e /run/tfw/healthy ] && [ "$(cut -d. -f1 /proc/uptime)" -lt $end ]; do sleep 1; done
      if [ ! -e /run/tfw/healthy ]; then
        echo "tfw: slot: $SLOT not healthy after ${HEALTH_DEADLINE} s, rebooting" > /dev/console
        kill -USR1 1
      fi ) &
  fi
fi

# --- config: tfw.config= > this boot's (fw_cfg) > the one kept on /data > the image's
if [ -z "$TFW_CONFIG" ]; then
  TFW_CONFIG=/etc/tfw/config.cbor
  for c in /data/tfw/config.json /data/tfw/config.yaml; do [ -n "$DATA_DIR" ] && [ "$FAILSAFE" = 0 ] && [ -e "$c" ] && TFW_CONFIG=$c && break; done
  if [ "$FAILSAFE" = 1 ]; then log "failsafe: the image's config, LAN 192.168.1.1/24, firewall untouched"; fi
  if [ -r "$FWCFG/config.cbor/raw" ]; then
    (umask 077; cat "$FWCFG/config.cbor/raw" > /run/tfw/config.cbor) && TFW_CONFIG=/run/tfw/config.cbor
  fi
fi

# A 3router whose config says `wan: { method: static }` takes that address at
# once, without a DHCP client first (a tfw.ip= kernel word still wins; not in
# failsafe, where the gateway leaves the WAN as the board's method set it).
# The runtime prints the checked section as NET_* words (nothing for dhcp or a
# bad config, which the runtime then reports); `grep` spares the Node start
# for every config that cannot say static.
if [ "$TFW_ROLE" = 3router ] && [ "$FAILSAFE" = 0 ] && [ "$KERNEL_IP" = 0 ] && grep -q static "$TFW_CONFIG" 2>/dev/null; then
  WAN_WORDS=$(node /usr/lib/tfw/runtime/tfw-runtime.mjs --config "$TFW_CONFIG" --wan-static 2>/dev/null)
  for w in $WAN_WORDS; do
    case "$w" in
      NET_ADDRESS=*) NET_METHOD=static; NET_ADDRESS="${w#NET_ADDRESS=}" ;;
      NET_GATEWAY=*) NET_GATEWAY="${w#NET_GATEWAY=}" ;;
    esac
  done
fi

hostname "tfw-$TFW_ROLE"
ip link set lo up
if [ "$NET_METHOD" != none ]; then
  i=0
  while [ ! -e "/sys/class/net/$NET_INTERFACE" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  if ip link set "$NET_INTERFACE" up 2>/dev/null; then
    if [ "$NET_METHOD" = static ]; then
      ip addr add "$NET_ADDRESS" dev "$NET_INTERFACE"
      [ -n "$NET_GATEWAY" ] && ip route add default via "$NET_GATEWAY"
      log "network: $NET_INTERFACE $NET_ADDRESS (static)"
    else
      # Three tries, then go on without a lease: the runtime can still serve locally.
      udhcpc -i "$NET_INTERFACE" -s /usr/share/udhcpc/default.script -t 3 -T 2 -n -q >/dev/null 2>&1 \
        && log "network: $NET_INTERFACE $(ip -4 -o addr show dev "$NET_INTERFACE" | awk '{print $4}') (dhcp)" \
        || log "network: no DHCP lease on $NET_INTERFACE"
    fi
  else
    log "network: no interface $NET_INTERFACE"
  fi
fi

if [ -n "$PING_TARGET" ]; then
  # 90 s by the clock, not 90 tries: a ping refused at once (no ARP answer yet) must not shorten it.
  start=$(cut -d. -f1 /proc/uptime)
  ok=0
  while :; do
    ping -c 1 -W 1 "$PING_TARGET" >/dev/null 2>&1 && { ok=1; break; }
    [ $(($(cut -d. -f1 /proc/uptime) - start)) -ge 90 ] && break
    sleep 0.5
  done
  [ $ok = 1 ] && log "ping $PING_TARGET ok" || log "ping $PING_TARGET failed"
fi

# --- plain router (tfw.plainrouter=1): the peer of `make bench`'s gateway row
# (bench/gateway.bench.ts). The kernel forwards LAN -> WAN with a masquerade;
# no tfw runtime, no DHCP server, no firewall beyond the NAT.
if [ "$PLAINROUTER" = 1 ]; then
  LAN=${NET_PORT_LAN:-eth1}
  ip link set "$LAN" up
  ip addr add 192.168.1.1/24 dev "$LAN"
  sysctl -qw net.ipv4.ip_forward=1
  printf 'table ip tfwplain {\n  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n    oifname "%s" masquerade\n  }\n}\n' "$NET_INTERFACE" > /run/tfw/plain.nft
  if nft -f /run/tfw/plain.nft; then
    log "plainrouter: $LAN 192.168.1.1/24 -> $NET_INTERFACE (ip_forward, nftables masquerade)"
  else
    log "plainrouter: nft refused the masquerade"
  fi
  trap 'sync; poweroff -f' USR2 TERM INT
  while :; do sleep 3600 & wait $!; done
fi

# --- slice VM: Podman with crun (issue 17; docs/aibox.md) -----------------
# Storage under /data (overlay driver), cgroups v2 managed by cgroupfs (no
# systemd here), no network backend: containers run with --network none|host.
if [ -n "$SLICE" ]; then
  mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null || log "slice: cannot mount cgroup2"
  CROOT=${DATA_DIR:-/var/lib}/containers
  mkdir -p /etc/containers "$CROOT/storage" "$CROOT/tmp" /var/tmp /run/containers
  printf '[storage]\ndriver = "overlay"\nrunroot = "/run/containers/storage"\ngraphroot = "%s/storage"\n' "$CROOT" > /etc/containers/storage.conf
  # no_pivot_root: the root is the initramfs (rootfs), which pivot_root(2) refuses (EINVAL); crun --no-pivot moves the mount instead.
  printf '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nno_pivot_root = true\nimage_copy_tmp_dir = "%s/tmp"\n' "$CROOT" > /etc/containers/containers.conf
  # The ACPI power button (the slice manager's stop: QMP system_powerdown) powers
  # the VM off cleanly: the kernel's button driver reports it on an evdev
  # (modules button, evdev), busybox acpid runs /etc/acpi/PWRF/00000080, which
  # asks this init to power off (USR2, as busybox poweroff does).
  mkdir -p /etc/acpi/PWRF
  printf '#!/bin/sh\necho "tfw: init: power button pressed, powering off" > /dev/console\nkill -USR2 1\n' > /etc/acpi/PWRF/00000080
  chmod 755 /etc/acpi/PWRF/00000080
  acpid -c /etc/acpi -l /run/acpid.log || log "slice: acpid did not start: the power button is ignored"
fi
# Once ready, load the OCI archive the host handed over (fw_cfg opt/tfw/run.tar)
# and run its image once; its output goes to the console as `tfw: podman: ` lines.
slice_run() {
  while [ ! -e /run/tfw/ready ]; do sleep 0.2; done
  cp "$FWCFG/run.tar/raw" /run/tfw/run.tar
  out=$(podman load -i /run/tfw/run.tar 2>&1)
  img=$(echo "$out" | sed -n 's/^Loaded image[^:]*: *//p' | tail -n 1)
  if [ -z "$img" ]; then
    echo "tfw: podman: load failed: $(echo "$out" | tail -n 1)" > /dev/console
    return
  fi
  echo "tfw: podman: loaded $img" > /dev/console
  podman run --rm --network none "$img" > /run/tfw/run.out 2>&1
  rc=$?
  sed 's/^/tfw: podman: /' /run/tfw/run.out > /dev/console
  echo "tfw: podman: exit $rc" > /dev/console
}
[ -n "$SLICE" ] && [ -r "$FWCFG/run.tar/raw" ] && slice_run &

# --- bench hook (tfw bench --board, docs/bench.md) -------------------------
# Kernel word tfw.bench=1 with the payload segment present: run the kernel
# benchmarks instead of the runtime (JSON lines on the console), then power off.
case " $(cat /proc/cmdline) $EXTRA_WORDS " in *" tfw.bench=1 "*)
  if [ -f /usr/lib/tfw/bench/guest.mjs ]; then
    node /usr/lib/tfw/bench/guest.mjs --from-cmdline
    log "bench: exited with status $?"
  else log "bench: no payload /usr/lib/tfw/bench/guest.mjs"; fi
  sync; poweroff -f ;;
esac
# --- end bench hook ----------------------------------------------------------

# --- runtime supervision ---------------------------------------------------
child=
stopping=0
# Stops the runtime (TERM, then KILL after 5 s), syncs and unmounts /data and
# the ESP, then powers off (USR2, TERM, INT) or reboots (USR1: upgrades, the
# health deadline).
shutdown() {
  stopping=1
  log "stopping"
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child"
    i=0
    while kill -0 "$child" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$child" 2>/dev/null
  fi
  sync
  [ -n "$DATA_DIR" ] && umount /data 2>/dev/null
  [ -n "$ESP_DIR" ] && umount /boot/efi 2>/dev/null
  if [ "$1" = reboot ]; then
    log "reboot"
    reboot -f
  fi
  log "power off"
  poweroff -f
}
trap 'shutdown poweroff' USR2 TERM INT
trap 'shutdown reboot' USR1

if [ "$POWEROFF_AFTER_READY" = 1 ]; then
  ( while [ ! -e /run/tfw/ready ]; do sleep 0.2; done; kill -USR2 1 ) &
fi

# Demo: after ready, ping the peer's overlay address (retries for 60 s), print
# `tfw: demo: ping ADDR ok <ms>` or `... failed`, then `tfw: demo: handshake <unix s>`
# (latest peer handshake from the status endpoint 127.0.0.1:9595, or `unknown`).
# The host (tfw boot --demo) powers the guest off by typing `tfw-demo-poweroff`
# on the console once both guests reported.
demo() {
  while [ ! -e /run/tfw/ready ]; do sleep 0.2; done
  start=$(cut -d' ' -f1 /proc/uptime)
  ok=0
  while :; do
    out=$(ping -c 1 -W 2 "$DEMO_PING" 2>&1) && { ok=1; break; }
    now=$(cut -d. -f1 /proc/uptime)
    [ $((now - ${start%.*})) -ge 60 ] && break
    sleep 0.5
  done
  took=$(awk -v a="$start" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }')
  if [ "$ok" = 1 ]; then
    ms=$(echo "$out" | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | head -n 1)
    echo "tfw: demo: ping $DEMO_PING ok ${ms:-?} (after ${took} s)" > /dev/console
  else
    echo "tfw: demo: ping $DEMO_PING failed (after ${took} s): $(echo "$out" | tail -n 1)" > /dev/console
  fi
  # Node, not busybox wget: the static busybox wget segfaults in the guest.
  hs=$(node -e 'fetch("http://127.0.0.1:9595/status").then((r) => r.json()).then((s) => console.log(Math.max(0, ...s.peers.map((p) => p.lastHandshake || 0))), () => console.log("unknown"))' 2>/dev/null)
  echo "tfw: demo: handshake ${hs:-unknown}" > /dev/console
}
if [ -n "$DEMO_PING" ]; then
  demo &
  ( while read -r line; do
      case "$line" in *tfw-demo-poweroff*) kill -USR2 1; break ;; esac
    done < /dev/console ) &
fi

delay=1
while [ "$stopping" = 0 ]; do
  started=$(cut -d. -f1 /proc/uptime)
  TFW_IMAGE=1 TFW_BOARD="$TFW_BOARD" TFW_VERSION="$TFW_VERSION" TFW_READY_FILE=/run/tfw/ready TFW_HEALTHY_FILE=/run/tfw/healthy \
    TFW_FAILSAFE="$FAILSAFE" TFW_PORT_WAN="$NET_INTERFACE" TFW_PORT_LAN="${NET_PORT_LAN:-}" \
    node /usr/lib/tfw/runtime/tfw-runtime.mjs --config "$TFW_CONFIG" --role "$TFW_ROLE" \
    ${DATA_DIR:+--data "$DATA_DIR"} ${ESP_DIR:+--esp "$ESP_DIR"} &
  child=$!
  wait "$child"
  rc=$?
  # wait returns early (>128) when a trapped signal arrives; the trap handles it.
  [ "$stopping" = 1 ] && break
  kill -0 "$child" 2>/dev/null && { wait "$child"; rc=$?; }
  [ "$stopping" = 1 ] && break
  # Back-off doubles up to 30 s; a run longer than a minute resets it.
  [ $(( $(cut -d. -f1 /proc/uptime) - started )) -gt 60 ] && delay=1
  log "runtime exited with status $rc, restarting in ${delay}s"
  sleep "$delay"
  [ "$delay" -lt 30 ] && delay=$((delay * 2))
done
while :; do sleep 3600; done
