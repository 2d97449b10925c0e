/**
 * `tfw flash`: write an image so a machine can boot it. Default `--format
 * disk`: a raw GPT disk with one EFI System Partition (systemd-boot, the
 * kernel, the initramfs; images/builder/disk.ts) to `dd` onto a USB stick, SD
 * card or disk, or written straight to a block device. `--format tar`: the
 * deterministic tar bundle of the image files (vmlinuz, initramfs, cmdline,
 * boot.ipxe, manifest.json). Existing paths that are not block devices are
 * refused unless --force; block devices in use (mounted, swap, held), paths
 * under /dev that are not block devices and partitions are refused
 * (images/builder/flash-target.ts); a block device is overwritten only after a
 * yes on the terminal or with --yes, then read back and compared.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { TfwError } from '../../runtime/errors.js';
import { DISK_INPUTS, makeDisk } from '../../images/builder/disk.js';
import { checkFlashTarget, type FlashTarget } from '../../images/builder/flash-target.js';
import { imageDir } from '../../images/builder/paths.js';
import { makeProgress } from '../../images/builder/progress.js';
import { loadBoard, loadRole, DEFAULT_BOARD, DEFAULT_ROLE } from '../../images/builder/schema.js';

const BUNDLE = ['boot.ipxe', 'cmdline', 'initramfs.cpio.zst', 'manifest.json', 'vmlinuz'];
const FORMATS = ['disk', 'tar'] as const;
const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

interface FlashFlags {
  board: string;
  role: string;
  dir?: string;
  output: string;
  format: string;
  force?: boolean;
  yes?: boolean;
  json?: boolean;
  dataSize?: string;
}

export function register(program: Command): void {
  program
    .command('flash')
    .description('Write a bootable disk image (GPT + EFI system partition) or a tar bundle to a file or block device')
    .option('-b, --board <board>', 'board name', DEFAULT_BOARD)
    .option('-r, --role <role>', 'image role', DEFAULT_ROLE)
    .option('-d, --dir <dir>', 'image folder (default build/images/<board>-<role>)')
    .requiredOption('-o, --output <file|device>', 'disk image file or block device (or the tar file with --format tar)')
    .option('--format <format>', 'disk (raw GPT disk, UEFI boot) or tar (bundle of the image files)', 'disk')
    .option('-f, --force', 'overwrite an existing file that is not a block device')
    .option('-y, --yes', 'overwrite a block device without asking (needed when stdin is not a terminal)')
    .option('--data-size <size>', 'size of the tfw-data partition in a disk image file, e.g. 256M or 2G (default 256M; a block device gets the rest of the device)')
    .option('--json', 'print what was written as JSON on stdout')
    .addHelpText(
      'after',
      '\nThe disk is a raw GPT image with an EFI System Partition (FAT32): EFI/BOOT/BOOTX64.EFI or BOOTAA64.EFI\n' +
        '(systemd-boot, pinned in images/packages.lock.json), loader/loader.conf, boot slot a (a/vmlinuz,\n' +
        'a/initramfs.cpio.zst, a/manifest.json, loader/entries/tfw-a.conf; slot b is filled by the first upgrade)\n' +
        'and manifest.json; and tfw-data (ext4), the device\'s persistent state (identity, settings).\n' +
        'Write it with dd (dd if=disk.img of=/dev/sdX bs=4M conv=fsync) or give the device as --output:\n' +
        'a device that is mounted (or one of its partitions), swap or held by LVM/RAID is refused, as is a\n' +
        'path under /dev that is not a block device; tfw flash asks before overwriting a device (--yes does\n' +
        'not ask), shows the bytes written, fsyncs, and reads the partition tables and ESP back to compare.\n' +
        'boot it in QEMU with tfw boot --disk FILE. Same inputs, same bytes.\n' +
        'The tar bundle is sorted, owners 0:0, mtime SOURCE_DATE_EPOCH.\n\n' +
        'Examples:\n  tfw flash --board pc-x86_64 --role 3node -o 3node.img\n  tfw flash --board qemu-arm64 -o /dev/sdX\n  tfw flash -o /dev/sdX --yes   # no question (scripts)\n  tfw flash --format tar -o bundle.tar',
    )
    .action(async (f: FlashFlags) => {
      if (!(FORMATS as readonly string[]).includes(f.format)) throw new TfwError('ERR_TFW_USAGE', `--format: expected disk or tar, got "${f.format}"`);
      // The target first: a typo or a busy disk is named before anything is read or built.
      const target = checkFlashTarget(f.output, { force: f.force });
      const out = target.path;
      const dir = f.dir ?? imageDir(loadBoard(f.board).name, loadRole(f.role).role);
      const need = f.format === 'tar' ? BUNDLE : DISK_INPUTS;
      for (const n of need) if (!existsSync(join(dir, n))) throw new TfwError('ERR_TFW_IMAGE', `${join(dir, n)} is missing; run tfw build first`);
      if (target.kind === 'block' && !f.yes) await confirm(target);
      if (f.format === 'tar') {
        const epoch = process.env.SOURCE_DATE_EPOCH ?? '1700000000';
        execFileSync('tar', ['--sort=name', `--mtime=@${epoch}`, '--owner=0', '--group=0', '--numeric-owner', '--format=ustar', '-C', dir, '-cf', out, ...BUNDLE], { stdio: ['ignore', 'ignore', 'pipe'] });
        if (target.kind === 'block') execFileSync('sync');
        if (f.json) process.stdout.write(`${JSON.stringify({ format: 'tar', output: out, files: BUNDLE }, null, 2)}\n`);
        process.stderr.write(`tfw: flash: wrote ${out} (tar: ${BUNDLE.join(', ')})\n`);
        return;
      }
      let dataSize: number | undefined;
      if (f.dataSize !== undefined) {
        const m = /^(\d+)([MG])$/.exec(f.dataSize);
        if (!m || Number(m[1]) === 0) throw new TfwError('ERR_TFW_CONFIG', `--data-size: expected a size like 256M or 2G, got "${f.dataSize}"`);
        dataSize = Number(m[1]) * (m[2] === 'G' ? 1024 : 1) * 1048576;
      }
      const d = makeDisk({ dir, output: out, dataSize, progress: makeProgress({ quiet: f.json, component: 'flash' }) });
      const l = d.layout;
      if (f.json) process.stdout.write(`${JSON.stringify({ format: 'disk', ...d }, null, 2)}\n`);
      process.stderr.write(
        `tfw: flash: wrote ${out}${d.blockDevice ? ' (block device)' : ''}: GPT disk ${mib(l.diskSize)} (disk GUID ${l.diskGuid}), ` +
          `EFI System Partition ${mib(l.espSize)} FAT32 at 1 MiB (partition GUID ${l.partGuid}, volume ID ${l.volumeId}) with ` +
          `${d.files.join(', ')}; tfw-data ext4 ${mib(l.dataSize)} at ${mib(l.dataOffset)}; loader ${d.loader.name} ${d.loader.version} (${d.loader.arch})${d.sha256 ? `; sha256 ${d.sha256}` : ''}${d.verified ? `; ${d.verified} bytes read back and verified` : ''}\n`,
      );
    });
}

/**
 * Asks on the terminal before a block device is overwritten; resolves on y/yes.
 * @throws TfwError ERR_TFW_FLASH when stdin is not a terminal (pass --yes) or the answer is not yes
 */
async function confirm(t: FlashTarget): Promise<void> {
  const what = `${t.path} (${t.name}, ${mib(t.size ?? 0)})`;
  if (!process.stdin.isTTY) throw new TfwError('ERR_TFW_FLASH', `--output: ${what} is a block device and there is no terminal to ask; pass --yes to overwrite it`);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const a = await rl.question(`tfw: flash: overwrite ${what}? Everything on it is lost. [y/N] `);
    if (!/^y(es)?$/i.test(a.trim())) throw new TfwError('ERR_TFW_FLASH', `--output: ${t.path} left as it was (answer "${a.trim()}")`);
  } finally {
    rl.close();
  }
}
