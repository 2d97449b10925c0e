/**
 * `tfw flash`: write an image as a deterministic tar bundle (vmlinuz,
 * initramfs, cmdline, boot.ipxe, manifest.json) to a file or block device.
 * Existing paths that are not block devices are refused unless --force.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { TfwError } from '../../runtime/errors.js';
import { imageDir } from '../../images/builder/paths.js';
import { loadBoard, loadRole } from '../../images/builder/schema.js';

const BUNDLE = ['boot.ipxe', 'cmdline', 'initramfs.cpio.zst', 'manifest.json', 'vmlinuz'];

interface FlashFlags {
  board: string;
  role: string;
  dir?: string;
  output: string;
  force?: boolean;
}

export function register(program: Command): void {
  program
    .command('flash')
    .description('Write a flashable image to a block device or file')
    .option('-b, --board <board>', 'board name', 'qemu-x86_64')
    .option('-r, --role <role>', 'image role', '3router')
    .option('-d, --dir <dir>', 'image folder (default build/images/<board>-<role>)')
    .requiredOption('-o, --output <file|device>', 'tar bundle file, or a block device to write it to')
    .option('-f, --force', 'overwrite an existing file that is not a block device')
    .addHelpText('after', '\nThe bundle is a tar (sorted, owners 0:0, mtime SOURCE_DATE_EPOCH) of the image files.')
    .action((f: FlashFlags) => {
      const dir = f.dir ?? imageDir(loadBoard(f.board).name, loadRole(f.role).role);
      for (const n of BUNDLE) if (!existsSync(join(dir, n))) throw new TfwError('ERR_TFW_IMAGE', `${join(dir, n)} is missing; run tfw build first`);
      const out = resolve(f.output);
      if (existsSync(out) && !statSync(out).isBlockDevice() && !f.force) {
        throw new TfwError('ERR_TFW_FLASH', `--output: ${out} exists and is not a block device; pass --force to overwrite it`);
      }
      const epoch = process.env.SOURCE_DATE_EPOCH ?? '1700000000';
      execFileSync('tar', ['--sort=name', `--mtime=@${epoch}`, '--owner=0', '--group=0', '--numeric-owner', '--format=ustar', '-C', dir, '-cf', out, ...BUNDLE], { stdio: ['ignore', 'ignore', 'pipe'] });
      if (statSync(out).isBlockDevice()) execFileSync('sync');
      process.stderr.write(`tfw: flash: wrote ${out}\n`);
    });
}
