/**
 * `tfw slice`: an AIBox's GPU slices (runtime/slices, docs/aibox.md):
 * `inventory`, `create`, `list`, `delete`, `start`, `stop`, `reconcile`.
 * Every subcommand takes `--sysfs ROOT` (default /sys) and `--state DIR`
 * (default /data/slices); `create` and `start` take `--dry-run` (print the
 * QEMU command line, change nothing); `start --run ARCHIVE` hands the VM an OCI
 * image archive to run once ready. Refusals exit non-zero with one line
 * `tfw: slice: <field>: <what is short>`.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { TfwError } from '../../runtime/errors.js';
import { SliceManager } from '../../runtime/slices/manager.js';
import { shellLine } from '../../runtime/slices/qemu.js';
import { formatMiB, parseSizeMiB } from '../../runtime/slices/size.js';
import type { Inventory } from '../../runtime/slices/inventory.js';

interface Common {
  sysfs: string;
  state: string;
  image?: string;
  accel: string;
  bridge: string;
  gpuVendors?: string;
  json?: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];

function common(cmd: Command): Command {
  return cmd
    .option('--sysfs <root>', 'sysfs root to read (fixture trees in tests)', '/sys')
    .option('--state <dir>', 'slice state folder (slices.json, one folder per slice with its disk)', '/data/slices')
    .option('--image <dir>', 'slice-role image folder: vmlinuz, initramfs.cpio.zst, cmdline (default <state>/image when it holds one, else the image an AIBox carries, /usr/lib/tfw/slice)')
    .option('--accel <accel>', 'auto (kvm when /dev/kvm works, else tcg), kvm or tcg', 'auto')
    .option('--bridge <name>', 'bridge the slices\' taps join', 'tfwbr0')
    .option('--gpu-vendors <ids>', 'PCI vendor ids counted as GPUs, comma-separated (default 0x10de,0x1002; emulated devices in tests)');
}

function manager(o: Common): SliceManager {
  if (!['auto', 'kvm', 'tcg'].includes(o.accel)) throw new TfwError('ERR_TFW_CONFIG', `--accel: expected auto, kvm or tcg, got "${o.accel}"`);
  let gpuVendors: number[] | undefined;
  if (o.gpuVendors !== undefined) {
    gpuVendors = o.gpuVendors.split(',').map((v) => {
      const n = Number.parseInt(v.trim().replace(/^0x/i, ''), 16);
      if (!/^(0x)?[0-9a-f]{1,4}$/i.test(v.trim())) throw new TfwError('ERR_TFW_CONFIG', `--gpu-vendors: expected hex PCI vendor ids like 0x10de,0x1002, got "${o.gpuVendors}"`);
      return n;
    });
  }
  return new SliceManager({ sysfs: o.sysfs, stateDir: o.state, image: o.image, accel: o.accel as 'auto', bridge: o.bridge, gpuVendors });
}

const out = (s: string) => process.stdout.write(`${s}\n`);

function inventoryText(inv: Inventory): string {
  const lines = inv.gpus.map(
    (g) => `gpu ${g.address} ${g.vendor.slice(2)}:${g.device.slice(2)} class ${g.class} iommu group ${g.iommuGroup ?? 'none'} node ${g.numaNode ?? '-'} driver ${g.driver ?? 'none'} functions ${g.functions.join(',')}`,
  );
  if (!inv.gpus.length) lines.push('gpu none');
  const cores = new Set(inv.cpus.map((c) => `${c.package}:${c.core}`)).size;
  const packages = new Set(inv.cpus.map((c) => c.package)).size;
  lines.push(`cpus ${inv.cpus.length} online, ${cores} cores, ${packages} packages`);
  for (const n of inv.numaNodes) lines.push(`node ${n.id} cpus ${n.cpus.length} memory ${formatMiB(n.memoryMiB)}`);
  lines.push(`memory ${formatMiB(inv.memory.totalMiB)}${inv.memory.hugepages.map((h) => `, hugepages ${h.sizeKiB}kB ${h.free}/${h.total} free`).join('')}`);
  return lines.join('\n');
}

function parseCount(opt: string, v: string): number {
  if (!/^\d+$/.test(v)) throw new TfwError('ERR_TFW_CONFIG', `${opt}: expected a whole number, got "${v}"`);
  return Number(v);
}

export function register(program: Command): void {
  const slice = program
    .command('slice')
    .description('AIBox GPU slices: up to 8 VMs with 0, 1 or 2 GPUs each, no oversubscription')
    .addHelpText(
      'after',
      '\nExamples:\n  tfw slice inventory --json\n  tfw slice create train --gpus 2 --vcpus 16 --memory 128G --disk 200G\n  tfw slice create dev --gpus 0 --vcpus 2 --memory 4G --dry-run\n  tfw slice start train\n  tfw slice start dev --run app-oci.tar\n  tfw slice list --json\n  tfw slice stop train && tfw slice delete train\n  tfw slice start train --dry-run --accel kvm',
    );

  common(slice.command('inventory').description('List GPUs (with IOMMU groups and companion functions), CPUs and memory').option('--json', 'print { gpus, cpus, numaNodes, memory }'))
    .action((o: Common) => {
      const inv = manager(o).inventory();
      out(o.json ? JSON.stringify(inv, null, 2) : inventoryText(inv));
    });

  common(
    slice
      .command('create <name>')
      .description('Plan a slice and store it (stopped); refused with one line when anything is short')
      .requiredOption('--gpus <n>', '0, 1 or 2 GPUs (each with its whole IOMMU group)')
      .option('--gpu <bdf>', 'a particular GPU (repeatable; as many as --gpus)', collect, [])
      .requiredOption('--vcpus <n>', 'vCPUs, each pinned to its own host CPU')
      .requiredOption('--memory <size>', 'RAM, e.g. 16G')
      .option('--disk <size>', 'disk size (sparse raw file)', '20G')
      .option('--dry-run', 'print the QEMU command line the slice would start with; store nothing')
      .option('--json', 'print the slice (and with --dry-run the command) as JSON'),
  ).action((name: string, o: Common & { gpus: string; gpu: string[]; vcpus: string; memory: string; disk: string; dryRun?: boolean }) => {
    const gpus = parseCount('--gpus', o.gpus);
    const r = manager(o).create(
      { name, gpus, gpuAddresses: o.gpu.length ? o.gpu : undefined, vcpus: parseCount('--vcpus', o.vcpus), memoryMiB: parseSizeMiB('--memory', o.memory), diskMiB: parseSizeMiB('--disk', o.disk) },
      { dryRun: o.dryRun },
    );
    if (o.json) out(JSON.stringify(o.dryRun ? r : r.slice, null, 2));
    else if (o.dryRun) out(shellLine(r.command));
    else out(`${r.slice.name} slot ${r.slice.slot} gpus ${r.slice.gpus.join(',') || 'none'} host cpus ${r.slice.hostCpus.join(',')}`);
  });

  common(slice.command('list').description('List slices and what is free').option('--json', 'print { slices, usage }')).action((o: Common) => {
    const m = manager(o);
    const slices = m.list();
    if (o.json) out(JSON.stringify({ slices, usage: m.usage() }, null, 2));
    else if (!slices.length) out('no slices');
    else for (const s of slices) {
      out(`${s.name} ${s.running ? `running pid ${s.pid}` : 'stopped'} gpus ${s.gpus.join(',') || 'none'} vcpus ${s.vcpus} (host ${s.hostCpus.join(',')}) memory ${formatMiB(s.memoryMiB)} disk ${formatMiB(s.diskMiB)}`);
    }
  });

  common(slice.command('delete <name>').description('Stop a slice, forget it and delete its disk')).action(async (name: string, o: Common) => {
    await manager(o).delete(name);
  });

  common(
    slice
      .command('start <name>')
      .description('Bind the slice\'s GPUs to vfio-pci and start its VM')
      .option('--dry-run', 'print the QEMU command line; start nothing')
      .option('--run <archive>', 'an OCI image archive (podman save format) for the VM to load and run once ready (fw_cfg opt/tfw/run.tar)')
      .option('--json', 'print { slice, command, pid }'),
  ).action(async (name: string, o: Common & { dryRun?: boolean; run?: string }) => {
    // Absolute, so QEMU (started with another working folder in mind) finds it and --dry-run shows where.
    const r = await manager(o).start(name, { dryRun: o.dryRun, run: o.run === undefined ? undefined : resolve(o.run) });
    if (o.json) out(JSON.stringify(r, null, 2));
    else if (o.dryRun) out(shellLine(r.command));
    else out(`${name} running pid ${r.pid}`);
  });

  common(slice.command('stop <name>').description('Power a slice\'s VM down (ACPI, then SIGTERM after --timeout)').option('--timeout <seconds>', 'seconds the guest gets to power off', '30')).action(
    async (name: string, o: Common & { timeout: string }) => {
      await manager(o).stop(name, { timeoutMs: parseCount('--timeout', o.timeout) * 1000 });
    },
  );

  common(slice.command('reconcile').description('As at boot: rebind GPUs, start slices meant to run').option('--json', 'print one entry per slice')).action(async (o: Common) => {
    const r = await manager(o).reconcile();
    if (o.json) out(JSON.stringify(r, null, 2));
    else for (const e of r) out(`${e.name} ${e.action}${e.cause ? `: ${e.cause}` : ''}`);
    if (r.some((e) => e.action === 'failed')) process.exitCode = 1;
  });
}
