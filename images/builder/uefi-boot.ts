/**
 * UEFI disk boots (`tfw boot --disk`, a `tfw flash` disk): the firmware per
 * arch (OVMF, AAVMF), the manifest inside the disk's EFI System Partition, and
 * the private files a boot needs (firmware padded to the flash size, the
 * boot's config for fw_cfg). qemu.ts builds the QEMU command and runs it.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TfwError } from '../../runtime/errors.js';
import { readEspFile } from './disk.js';
import type { Manifest } from './image.js';
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
 * the installed ones are smaller, and the boot's config as a file for QEMU's
 * fw_cfg (the guest init reads `opt/tfw/config.cbor`). The disk is used as it
 * is: extra kernel words go through fw_cfg too (qemu.ts).
 */
export function prepareDiskBoot(o: BootOptions): { firmware: { code: string; vars: string }; configFile?: string; cleanup: () => void } {
  const fw = uefiFirmware(o.board.arch);
  const needPad = fw.pad > 0 && (statSync(fw.code).size < fw.pad || statSync(fw.vars).size < fw.pad);
  if (!needPad && !o.config) return { firmware: fw, cleanup: () => {} };
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
    let configFile: string | undefined;
    if (o.config) {
      configFile = join(tmp, 'config.cbor');
      writeFileSync(configFile, o.config, { mode: 0o600 });
    }
    return { firmware, configFile, cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}
