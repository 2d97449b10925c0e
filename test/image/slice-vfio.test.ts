/**
 * vfio binding inside a real kernel: a q35 guest under TCG with QEMU's
 * emulated IOMMU (`-device intel-iommu`) and emulated display devices standing
 * in for GPUs (the vendor list given to the inventory): ati-vga (AMD's vendor
 * id) with an intel-hda audio function on one root port, and std VGA +
 * cirrus-vga + virtio-rng behind a PCIe-to-PCI bridge, which puts them in one
 * IOMMU group. The aibox image boots with this test's /init (a later
 * initramfs segment replaces the image's), which runs slice-vfio-guest.ts:
 * planning (single group, shared group, refusal of a double assignment),
 * binding with group expansion, all read back from the guest's sysfs and
 * /dev/vfio. Needs root and the Debian package cache; one boot, about a minute.
 * Three vCPUs on one TCG thread (`thread=single`): the two planned slices pin
 * one each (no host core kept inside the guest) and one is left, and a loaded
 * 2-core CI machine cannot stall vCPUs that spin on each other's IPIs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildSync } from 'esbuild';
import { writeCpio } from '../../images/builder/cpio.js';
import { builtImage } from './images.js';
import { repoRoot } from '../../images/builder/paths.js';
import { isRoot } from '../helpers.js';

const INIT = `#!/bin/sh
# slice-vfio.test.ts: this replaces the image's /init for one boot.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp && mount -t tmpfs tmpfs /tmp
exec 0</dev/console 1>/dev/console 2>/dev/console
for m in $(cat /etc/tfw/modules); do modprobe "$m" 2>/dev/null; done
echo "slice-vfio: iommu groups $(ls /sys/kernel/iommu_groups | wc -l)"
node /slice-vfio-guest.mjs || echo "slice-vfio: guest script failed"
poweroff -f
`;

/** The emulated PCI topology (see the header). */
const DEVICES = [
  '-device', 'intel-iommu,intremap=on',
  '-device', 'pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1,addr=0x10',
  '-device', 'ati-vga,bus=rp1,addr=0x0.0,multifunction=on',
  '-device', 'intel-hda,bus=rp1,addr=0x0.1',
  '-device', 'pcie-root-port,id=rp2,bus=pcie.0,chassis=2,slot=2,addr=0x11',
  '-device', 'pcie-pci-bridge,id=pb,bus=rp2',
  '-device', 'VGA,bus=pb,addr=0x1',
  '-device', 'cirrus-vga,bus=pb,addr=0x2',
  '-device', 'virtio-rng-pci,bus=pb,addr=0x3',
];

/**
 * One boot of the q35 guest: its console (stdout and stderr) and QEMU's exit
 * code; killed when /init has not spoken within 180 s or after 300 s in all.
 */
function bootOnce(args: string[]): Promise<{ console_: string; code: number | null }> {
  const q = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let console_ = '';
  q.stdout.on('data', (d) => (console_ += d));
  q.stderr.on('data', (d) => (console_ += d));
  const early = setTimeout(() => console_.includes('slice-vfio: ') || q.kill('SIGKILL'), 180_000);
  const timer = setTimeout(() => q.kill('SIGKILL'), 300_000);
  return new Promise((resolve) => q.on('exit', (code) => {
    clearTimeout(early);
    clearTimeout(timer);
    resolve({ console_, code });
  }));
}

test('in a q35 guest with intel-iommu: GPUs found, planned, whole groups bound to vfio-pci, double assignment refused', async () => {
  if (!isRoot) {
    console.log('  skip: needs root (image build, QEMU)');
    return;
  }
  const { outDir } = builtImage('qemu-x86_64', 'aibox');
  const tmp = mkdtempSync(join(tmpdir(), 'tfw-slice-vfio-'));
  try {
    const bundle = buildSync({ entryPoints: [join(repoRoot, 'test/image/slice-vfio-guest.ts')], bundle: true, platform: 'node', target: 'node18', format: 'esm', write: false, logLevel: 'warning' }).outputFiles[0].contents;
    const seg = writeCpio([
      { path: 'init', type: 'file', mode: 0o755, data: Buffer.from(INIT) },
      { path: 'slice-vfio-guest.mjs', type: 'file', mode: 0o644, data: bundle },
    ], 0);
    const base = readFileSync(join(outDir, 'initramfs.cpio.zst'));
    const initrd = join(tmp, 'initrd');
    writeFileSync(initrd, Buffer.concat([base, Buffer.alloc((4 - (base.length % 4)) % 4), seg]));
    const cmdline = readFileSync(join(outDir, 'cmdline'), 'utf8').trim();
    const args = [
      '-machine', 'q35,kernel-irqchip=split', '-accel', 'tcg,thread=single', '-cpu', 'max', '-smp', '3', '-m', '1024M',
      '-nodefaults', '-display', 'none', '-serial', 'stdio', '-no-reboot', '-nic', 'none',
      '-kernel', join(outDir, 'vmlinuz'), '-initrd', initrd, '-append', cmdline,
      ...DEVICES,
    ];
    // Under a loaded CI machine one TCG boot once printed nothing in 300 s (the cmdline is quiet, so
    // the first line is the /init's): a boot that has not reached /init in 180 s is retried once.
    let console_ = '';
    let code: number | null = null;
    for (let attempt = 1; attempt <= 2; attempt++) {
      ({ console_, code } = await bootOnce(args));
      if (console_.includes('slice-vfio: iommu groups')) break;
      console.log(`  slice-vfio: attempt ${attempt}: the guest did not reach /init${attempt < 2 ? ', booting again' : ''}`);
    }
    const line = console_.split('\n').find((l) => l.startsWith('SLICE-VFIO-RESULT '));
    assert.ok(line, `no result line (qemu exit ${code}):\n${console_.slice(-3000)}`);
    const r = JSON.parse(line!.slice('SLICE-VFIO-RESULT '.length));
    if (process.env.TFW_DEBUG) console.log(JSON.stringify(r, null, 1));

    // Discovery: three stand-ins, the ATI one with its audio function, the two behind the bridge in one group with the rng.
    const byDev = Object.fromEntries(r.gpus.map((g: { vendor: string; device: string }) => [`${g.vendor}:${g.device}`, g]));
    const ati = byDev['0x1002:0x5046'] ?? r.gpus.find((g: { vendor: string }) => g.vendor === '0x1002');
    const std = byDev['0x1234:0x1111'];
    const cirrus = r.gpus.find((g: { vendor: string }) => g.vendor === '0x1013');
    assert.is(r.gpus.length, 3, JSON.stringify(r.gpus));
    assert.ok(ati && std && cirrus);
    assert.is(ati.functions.length, 2, 'ati-vga + intel-hda');
    assert.ok(ati.functions[1].endsWith('.1'));
    assert.is(std.iommuGroup, cirrus.iommuGroup, 'behind one PCIe-to-PCI bridge: one group');
    assert.is.not(std.iommuGroup, ati.iommuGroup);
    assert.is(std.functions.length, 3, `VGA, cirrus, virtio-rng; not the bridge: ${std.functions}`);
    const rng = std.functions.find((f: string) => f !== std.address && f !== cirrus.address);

    // Planning: the 1-GPU slice gets the single-GPU group, the 2-GPU slice the shared one; a double assignment is refused.
    assert.equal(r.a.gpus, [ati.address]);
    assert.equal(r.a.functions, ati.functions);
    assert.equal(r.b.gpus, [std.address, cirrus.address].sort());
    assert.equal(r.b.functions, std.functions);
    assert.is(r.doubleAssignment, `gpu ${ati.address}: taken by slice "a"`);
    assert.match(r.noGpuLeft, /^gpus: 1 asked, 0 free \(3 GPUs, in use by "a", "b"\)$/);

    // Binding, read back from the guest's sysfs and /dev/vfio.
    assert.is(r.driversBefore[rng], 'virtio-pci', 'the rng was held by virtio-pci before');
    for (const f of [...ati.functions, ...std.functions]) assert.is(r.driversAfter[f], 'vfio-pci', `${f} on vfio-pci`);
    assert.ok(r.bindB.some((x: { address: string; from: string | null }) => x.address === rng && x.from === 'virtio-pci'), 'group expansion unbound the rng from virtio-pci');
    const others = Object.entries(r.driversAfter).filter(([f]) => ![...ati.functions, ...std.functions].includes(f));
    assert.ok(others.every(([, d]) => d !== 'vfio-pci'), `nothing else bound: ${JSON.stringify(others)}`);
    assert.equal(r.rebind, r.rebind.map(() => false), 'binding again writes nothing');
    assert.equal(r.devVfio.filter((x: string) => x !== 'vfio').sort(), [String(ati.iommuGroup), String(std.iommuGroup)].sort(), 'the kernel made /dev/vfio/<group> for both groups');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test.run();
