/**
 * UEFI disk boots (`tfw boot --disk`, a `tfw flash` disk): the firmware per
 * arch (OVMF, AAVMF), the manifest inside the disk's EFI System Partition, and
 * the private copies a boot needs (firmware padded to the flash size; a disk
 * copy whose loader entry and initramfs carry the boot's extra words and
 * config). qemu.ts builds the QEMU command and runs it.
 */
import { constants, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TfwError } from '../../runtime/errors.js';
import { ENTRY_PATH, findEsp, readEspFile, writeEspFile } from './disk.js';
import type { Manifest } from './image.js';
import { initrdWithConfig } from './initrd-config.js';
import type { BootOptions } from './qemu.js';
import type { Board } from './schema.js';

/**
 * UEFI firmware builds per arch (Debian packages ovmf and qemu-efi-aarch64):
 * code and vars templates, tried in order. QEMU's arm `virt` machine maps two
 * 64 MiB flash banks, so AAVMF images must be exactly 64 MiB (`pad`).
 */
const UEFI = {
  x86_64: {
    pkg: 'ovmf',
    pad: 0,
    pairs: [
      ['/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_VARS_4M.fd'],
      ['/usr/share/OVMF/OVMF_CODE.fd', '/usr/share/OVMF/OVMF_VARS.fd'],
    ],
  },
  arm64: { pkg: 'qemu-efi-aarch64', pad: 64 * 1048576, pairs: [['/usr/share/AAVMF/AAVMF_CODE.fd', '/usr/share/AAVMF/AAVMF_VARS.fd']] },
} as const;

/** The UEFI firmware (code, vars template, flash size to pad to) for an arch, or an error naming the package. */
export function uefiFirmware(arch: Board['arch']): { code: string; vars: string; pad: number } {
  const u = UEFI[arch];
  for (const [code, vars] of u.pairs) if (existsSync(code) && existsSync(vars)) return { code, vars, pad: u.pad };
  throw new TfwError('ERR_TFW_TOOL', `--disk: no UEFI firmware for ${arch} (${u.pairs.map((p) => p[0]).join(' or ')}); install ${u.pkg} (make sysdeps)`);
}

/** The manifest inside a disk's EFI System Partition (written by tfw flash). */
export function diskManifest(disk: string): Manifest {
  const b = readEspFile(disk, 'manifest.json');
  if (!b) throw new TfwError('ERR_TFW_IMAGE', `--disk: ${disk} has no manifest.json in its EFI System Partition; make it with tfw flash`);
  try {
    return JSON.parse(b.toString('utf8')) as Manifest;
  } catch {
    throw new TfwError('ERR_TFW_IMAGE', `--disk: ${disk}: manifest.json in its EFI System Partition is not JSON`);
  }
}

/**
 * Private files for a disk boot: firmware images padded to the flash size when
 * the installed ones are smaller, and, when the boot adds kernel words or a
 * config, a copy of the disk whose loader entry gets the words appended to
 * `options` (`words`) and whose initramfs gets the config segment (initrd-config.ts).
 */
export function prepareDiskBoot(o: BootOptions, words: string[]): { disk: string; firmware: { code: string; vars: string }; cleanup: () => void } {
  const fw = uefiFirmware(o.board.arch);
  const needPad = fw.pad > 0 && (statSync(fw.code).size < fw.pad || statSync(fw.vars).size < fw.pad);
  if (!needPad && words.length === 0 && !o.config) return { disk: o.disk!, firmware: fw, cleanup: () => {} };
  const tmp = mkdtempSync(join(tmpdir(), 'tfw-diskboot-'));
  const cleanup = () => rmSync(tmp, { recursive: true, force: true });
  try {
    const firmware = { code: fw.code, vars: fw.vars };
    if (needPad) {
      for (const k of ['code', 'vars'] as const) {
        firmware[k] = join(tmp, `${k}.fd`);
        copyFileSync(fw[k], firmware[k]);
        if (statSync(firmware[k]).size < fw.pad) truncateSync(firmware[k], fw.pad);
      }
    }
    let disk = o.disk!;
    if (words.length || o.config) {
      disk = join(tmp, 'disk.img');
      copyFileSync(o.disk!, disk, constants.COPYFILE_FICLONE);
      const esp = findEsp(disk);
      const entry = readEspFile(disk, ENTRY_PATH, esp)?.toString('utf8');
      if (entry === undefined) throw new TfwError('ERR_TFW_IMAGE', `--disk: ${o.disk} has no ${ENTRY_PATH} in its EFI System Partition; make it with tfw flash`);
      const lines = entry.split('\n');
      const i = lines.findIndex((l) => /^options(\s|$)/.test(l));
      if (i >= 0) lines[i] = [lines[i].trimEnd(), ...words].join(' ');
      else lines.splice(lines.length - 1, 0, `options ${words.join(' ')}`);
      writeEspFile(disk, ENTRY_PATH, Buffer.from(lines.join('\n')), esp);
      if (o.config) {
        const initrdPath = /^initrd\s+\/?(\S+)/m.exec(entry)?.[1];
        const initrd = initrdPath && readEspFile(disk, initrdPath, esp);
        if (!initrd) throw new TfwError('ERR_TFW_IMAGE', `--disk: ${o.disk}: the loader entry names no initrd in the EFI System Partition`);
        writeFileSync(join(tmp, 'initrd'), initrd);
        const t = initrdWithConfig(join(tmp, 'initrd'), o.config);
        try {
          writeEspFile(disk, initrdPath, readFileSync(t.path), esp);
        } finally {
          t.cleanup();
        }
      }
    }
    return { disk, firmware, cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}
