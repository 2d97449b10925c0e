/**
 * The QEMU command line of a slice VM (x86_64, q35). Pure: the manager adds
 * the host plumbing (bridge, tap script, disk file) before running it, and
 * `--dry-run` prints it as is.
 *
 * - Acceleration: KVM with `-cpu host` when /dev/kvm opens read-write, TCG
 *   with `-cpu max` otherwise (GPU passthrough needs KVM on real hardware;
 *   TCG keeps 0-GPU slices and tests working on any host).
 * - CPUs: QEMU runs under `taskset -c <hostCpus>` (util-linux or busybox), so
 *   the VM's threads stay on the host CPUs the planner pinned to it, which no
 *   other slice holds. `debug-threads=on` names the vCPU threads (`CPU n/KVM`);
 *   the manager then pins each one to its own CPU over QMP.
 * - GPUs: one `pcie-root-port` per physical slot of the passed functions and
 *   `-device vfio-pci,host=BDF` per function on it, keeping the function
 *   number, with `multifunction=on` on function 0 when the slot has several
 *   (the GPU and its HDMI audio then look to the guest as they do on the host;
 *   QEMU docs/pcie.txt, "PCI Express only hierarchy", and NVIDIA's drivers want
 *   their GPU on a PCIe port rather than on the root bus).
 * - Disk: raw image on virtio-blk. NIC: virtio-net on a tap that QEMU creates
 *   and hands to the `script=` (which puts it on the bridge).
 * - Control: QMP on a Unix socket (stop sends `system_powerdown` there); the
 *   serial console goes to a log file.
 */
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { Slice } from './state.js';

export type Accel = 'kvm' | 'tcg';

/** Where a slice's files are and how the host side is wired. */
export interface SliceHost {
  /** Slice folder (`<state>/<name>`): disk.raw, console.log, qmp.sock. */
  dir: string;
  /** Image folder of the `slice` role: vmlinuz, initramfs.cpio.zst, cmdline. */
  image: { kernel: string; initrd: string; cmdline: string };
  accel: Accel;
  /** Executable run as the tap's ifup script (puts the tap on the bridge). */
  ifupScript: string;
  /** QEMU binary (default qemu-system-x86_64). */
  qemu?: string;
  /** Kernel words after the image's (the VM's bridge address: `tfw.ip=`, `tfw.gw=`). */
  words?: string[];
  /** Files handed to the guest over fw_cfg, `opt/tfw/<name>` (its overlay config, an OCI archive to run). */
  fwCfg?: Array<{ name: string; file: string }>;
}

/** True when /dev/kvm exists and opens read-write (what QEMU's -accel kvm needs). */
export function kvmUsable(dev = '/dev/kvm'): boolean {
  try {
    closeSync(openSync(dev, 'r+'));
    return true;
  } catch {
    return false;
  }
}

/** The tap interface of slot `slot` (fits IFNAMSIZ). */
export const tapName = (slot: number): string => `tfwsl${slot}`;

/** QEMU option values escape commas by doubling them. */
const q = (s: string) => s.replace(/,/g, ',,');

/** `-device` arguments passing `functions` through, one PCIe root port per physical slot. */
export function vfioDeviceArgs(functions: string[]): string[] {
  const slots = new Map<string, string[]>();
  for (const f of [...functions].sort()) {
    const slot = f.slice(0, f.lastIndexOf('.'));
    slots.set(slot, [...(slots.get(slot) ?? []), f]);
  }
  const args: string[] = [];
  [...slots.values()].forEach((fns, i) => {
    const port = `gpu${i}`;
    // chassis/slot numbers must be unique per root port; 0x10 + i keeps clear of QEMU's defaults.
    args.push('-device', `pcie-root-port,id=${port},bus=pcie.0,chassis=${i + 1},slot=${i + 1},addr=0x${(0x10 + i).toString(16)}`);
    for (const f of fns) {
      const fn = Number(f.slice(f.lastIndexOf('.') + 1));
      const multi = fn === 0 && fns.length > 1 ? ',multifunction=on' : '';
      args.push('-device', `vfio-pci,host=${f},bus=${port},addr=0x0.${fn}${multi}`);
    }
  });
  return args;
}

/**
 * The argv (program first) that starts `slice`: `taskset -c CPUS qemu-system-x86_64 ...`.
 * @param slice the stored slice (hostCpus, functions, memory, disk, mac, slot)
 * @param host folders, image and acceleration
 */
export function sliceCommand(slice: Slice, host: SliceHost): string[] {
  const cpu = host.accel === 'kvm' ? 'host' : 'max';
  const cmdline = [host.image.cmdline.trim(), `tfw.slice=${slice.name}`, ...(host.words ?? [])].filter(Boolean).join(' ');
  return [
    'taskset', '-c', slice.hostCpus.join(','),
    host.qemu ?? 'qemu-system-x86_64',
    '-name', `slice-${slice.name},debug-threads=on`,
    '-machine', 'q35', '-accel', host.accel, '-cpu', cpu,
    '-smp', `${slice.vcpus},sockets=1,cores=${slice.vcpus},threads=1`,
    '-m', `${slice.memoryMiB}M`,
    '-nodefaults', '-display', 'none',
    '-serial', `file:${q(join(host.dir, 'console.log'))}`,
    '-qmp', `unix:${q(join(host.dir, 'qmp.sock'))},server=on,wait=off`,
    '-kernel', host.image.kernel,
    '-initrd', host.image.initrd,
    '-append', cmdline,
    '-drive', `if=none,id=disk0,format=raw,file=${q(join(host.dir, 'disk.raw'))}`,
    '-device', 'virtio-blk-pci,drive=disk0',
    '-netdev', `tap,id=net0,ifname=${tapName(slice.slot)},script=${q(host.ifupScript)},downscript=no`,
    '-device', `virtio-net-pci,netdev=net0,mac=${slice.mac},romfile=`,
    ...(host.fwCfg ?? []).flatMap((f) => ['-fw_cfg', `name=opt/tfw/${f.name},file=${q(f.file)}`]),
    ...vfioDeviceArgs(slice.functions),
  ];
}

/** Shell-quoted argv for printing (`--dry-run`). */
export function shellLine(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
