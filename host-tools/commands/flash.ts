/**
 * `tfw flash`: write an image so a machine can boot it. Default `--format
 * disk`: a raw GPT disk with one EFI System Partition (systemd-boot, the
 * kernel, the initramfs; images/builder/disk.ts) to `dd` onto a USB stick, SD
 * card or disk, or written straight to a block device. `--format tar`: the
 * deterministic tar bundle of the image files (vmlinuz, initramfs, cmdline,
 * boot.ipxe, manifest.json). Existing paths that are not block devices are
 * refused unless --force.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { TfwError } from '../../runtime/errors.js';
import { DISK_INPUTS, makeDisk } from '../../images/builder/disk.js';
import { imageDir } from '../../images/builder/paths.js';
import { makeProgress } from '../../images/builder/progress.js';
import { loadBoard, loadRole } from '../../images/builder/schema.js';

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
  json?: boolean;
  dataSize?: string;
}

export function register(program: Command): void {
  program
    .command('flash')
    .description('Write a bootable disk image (GPT + EFI system partition) or a tar bundle to a file or block device')
    .option('-b, --board <board>', 'board name', 'qemu-x86_64')
    .option('-r, --role <role>', 'image role', '3router')
    .option('-d, --dir <dir>', 'image folder (default build/images/<board>-<role>)')
    .requiredOption('-o, --output <file|device>', 'disk image file or block device (or the tar file with --format tar)')
    .option('--format <format>', 'disk (raw GPT disk, UEFI boot) or tar (bundle of the image files)', 'disk')
    .option('-f, --force', 'overwrite an existing file that is not a block device')
    .option('--data-size <size>', 'size of the tfw-data partition in a disk image file, e.g. 256M or 2G (default 256M; a block device gets the rest of the device)')
    .option('--json', 'print what was written as JSON on stdout')
    .addHelpText(
      'after',
      '\nThe disk is a raw GPT image with an EFI System Partition (FAT32): EFI/BOOT/BOOTX64.EFI or BOOTAA64.EFI\n' +
        '(systemd-boot, pinned in images/packages.lock.json), loader/loader.conf, boot slot a (a/vmlinuz,\n' +
        'a/initramfs.cpio.zst, a/manifest.json, loader/entries/tfw-a.conf; slot b is filled by the first upgrade)\n' +
        'and manifest.json; and tfw-data (ext4), the device\'s persistent state (identity, settings).\n' +
        'Write it with dd (dd if=disk.img of=/dev/sdX bs=4M conv=fsync) or give the device as --output;\n' +
        'boot it in QEMU with tfw boot --disk FILE. Same inputs, same bytes.\n' +
        'The tar bundle is sorted, owners 0:0, mtime SOURCE_DATE_EPOCH.\n\n' +
        'Examples:\n  tfw flash --board pc-x86_64 --role 3node -o 3node.img\n  tfw flash --board qemu-arm64 -o /dev/sdX\n  tfw flash --format tar -o bundle.tar',
    )
    .action((f: FlashFlags) => {
      if (!(FORMATS as readonly string[]).includes(f.format)) throw new TfwError('ERR_TFW_CONFIG', `--format: expected disk or tar, got "${f.format}"`);
      const dir = f.dir ?? imageDir(loadBoard(f.board).name, loadRole(f.role).role);
      const need = f.format === 'tar' ? BUNDLE : DISK_INPUTS;
      for (const n of need) if (!existsSync(join(dir, n))) throw new TfwError('ERR_TFW_IMAGE', `${join(dir, n)} is missing; run tfw build first`);
      const out = resolve(f.output);
      if (existsSync(out) && statSync(out).isDirectory()) throw new TfwError('ERR_TFW_FLASH', `--output: ${out} is a folder; give a file name like ${join(out, 'disk.img')}`);
      if (!existsSync(dirname(out))) throw new TfwError('ERR_TFW_FLASH', `--output: folder ${dirname(out)} does not exist`);
      if (existsSync(out) && !statSync(out).isBlockDevice() && !f.force) {
        throw new TfwError('ERR_TFW_FLASH', `--output: ${out} exists and is not a block device; pass --force to overwrite it`);
      }
      if (f.format === 'tar') {
        const epoch = process.env.SOURCE_DATE_EPOCH ?? '1700000000';
        execFileSync('tar', ['--sort=name', `--mtime=@${epoch}`, '--owner=0', '--group=0', '--numeric-owner', '--format=ustar', '-C', dir, '-cf', out, ...BUNDLE], { stdio: ['ignore', 'ignore', 'pipe'] });
        if (statSync(out).isBlockDevice()) execFileSync('sync');
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
      const d = makeDisk({ dir, output: out, dataSize, progress: makeProgress({ quiet: f.json }) });
      const l = d.layout;
      if (f.json) process.stdout.write(`${JSON.stringify({ format: 'disk', ...d }, null, 2)}\n`);
      process.stderr.write(
        `tfw: flash: wrote ${out}${d.blockDevice ? ' (block device)' : ''}: GPT disk ${mib(l.diskSize)} (disk GUID ${l.diskGuid}), ` +
          `EFI System Partition ${mib(l.espSize)} FAT32 at 1 MiB (partition GUID ${l.partGuid}, volume ID ${l.volumeId}) with ` +
          `${d.files.join(', ')}; tfw-data ext4 ${mib(l.dataSize)} at ${mib(l.dataOffset)}; loader ${d.loader.name} ${d.loader.version} (${d.loader.arch})${d.sha256 ? `; sha256 ${d.sha256}` : ''}\n`,
      );
    });
}
