/**
 * Installing a signed update bundle into the slot that is not running (A/B, as
 * RAUC and Android do). Order of work, so that nothing half-done can boot:
 *
 * 1. the bundle's minisign signature is checked against the image's trusted
 *    keys, then its manifest (format, board, arch, version: a downgrade is
 *    refused unless asked, as RAUC's and Mender's are), then the archive's
 *    entries against the manifest's sizes; nothing is written before all pass;
 * 2. the other slot's loader entry is removed first (fsync'ed), so from here
 *    until step 4 the other slot cannot boot at all;
 * 3. each file is copied into the slot folder under a temporary name while its
 *    sha256 is computed, compared with the manifest, fsync'ed and renamed;
 * 4. the new entry is written as `tfw-<slot>+3.conf` (under a name systemd-boot
 *    ignores, then renamed), with a generation above every other entry, so the
 *    next boot tries it (slots.ts).
 *
 * A power cut anywhere before step 4 leaves the running slot as the only
 * bootable entry; a failure removes what was written.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { open, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TfwError } from '../errors.js';
import { checkManifest, compareVersions, listTar, readAt, SLOT_FILES, type BundleManifest } from './bundle.js';
import { parsePublicKey, verifyFile, type MinisignPublicKey } from './minisign.js';
import { BOOT_TRIES, ENTRIES_DIR, entryFileName, fsyncPath, listEntries, otherSlot, slotEntry, type Slot } from './slots.js';

/** An upgrade the device refuses; the message is the reason (`tfw: upgrade: refused <reason>`). */
export class UpgradeRefused extends TfwError {
  constructor(message: string) {
    super('ERR_TFW_UPGRADE_REFUSED', message);
  }
}

export interface DeviceInfo {
  board: string;
  arch: string;
  /** The running release's version. */
  version: string;
  /** The slot this boot came from (tfw.slot=), undefined when not booted from a slot (PXE, -kernel). */
  slot?: Slot;
}

export interface InstallOptions {
  /** The received bundle (a file; it is read, never changed). */
  bundle: string;
  /** The `.minisig` text. */
  signature: string;
  trusted: MinisignPublicKey[];
  device: DeviceInfo;
  /** Mount point of the EFI System Partition. */
  esp: string;
  allowDowngrade?: boolean;
  /** Called with true before the first write to the ESP and false after the last (remount rw / ro). */
  writable?: (rw: boolean) => void;
  /** Bytes copied so far of the total (progress). */
  onProgress?: (done: number, total: number) => void;
}

export interface InstallResult {
  slot: Slot;
  version: string;
  generation: number;
  manifest: BundleManifest;
}

/** Reads the trusted public keys (`*.pub`, minisign format) of a folder; a missing folder is no keys. */
export function readTrustedKeys(dir: string): MinisignPublicKey[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.pub'))
    .sort()
    .map((f) => parsePublicKey(readFileSync(join(dir, f), 'utf8')));
}

/**
 * Checks a bundle without writing anything: signature, manifest, device
 * compatibility, version and archive layout. Returns the manifest and where
 * each file's bytes are in the bundle.
 * @throws UpgradeRefused with the reason
 */
export async function checkBundle(o: Omit<InstallOptions, 'esp'>): Promise<{ manifest: BundleManifest; entries: Map<string, { offset: number; size: number }> }> {
  const refuse = (why: string): never => {
    throw new UpgradeRefused(why);
  };
  if (!o.trusted.length) refuse('this image trusts no release keys (build it with tfw build --trust KEY.pub)');
  try {
    await verifyFile(o.bundle, o.signature, o.trusted);
  } catch (err) {
    refuse(`signature: ${(err as Error).message}`);
  }
  let list: ReturnType<typeof listTar> = [];
  let manifest: BundleManifest | undefined;
  try {
    list = listTar(o.bundle);
    if (list[0]?.name !== 'manifest.json') refuse('bundle: manifest.json is not the first entry');
    manifest = checkManifest(JSON.parse(readAt(o.bundle, list[0].offset, list[0].size).toString('utf8')));
  } catch (err) {
    if (err instanceof UpgradeRefused) throw err;
    refuse(`bundle: ${(err as Error).message}`);
  }
  const m = manifest!;
  if (m.board !== o.device.board || m.arch !== o.device.arch) refuse(`bundle is for ${m.board} (${m.arch}), this device is ${o.device.board} (${o.device.arch})`);
  if (compareVersions(m.version, o.device.version) < 0 && !o.allowDowngrade) refuse(`version ${m.version} is older than the running ${o.device.version} (allow a downgrade to install it)`);
  const entries = new Map<string, { offset: number; size: number }>();
  for (const f of m.files) {
    const e = list.find((x) => x.name === f.path);
    if (!e) refuse(`bundle: ${f.path} is missing`);
    if (e!.size !== f.size) refuse(`bundle: ${f.path} has ${e!.size} bytes, the manifest says ${f.size}`);
    entries.set(f.path, e!);
  }
  return { manifest: m, entries };
}

/**
 * Verifies the bundle and writes it into the slot that is not running, as the
 * next boot's first try (see the file comment for the order of work).
 * @throws UpgradeRefused (nothing written, or what was written removed again)
 */
export async function installBundle(o: InstallOptions): Promise<InstallResult> {
  if (!o.device.slot) throw new UpgradeRefused('this boot did not come from a slot (PXE or a kernel boot); flash a disk to upgrade');
  const { manifest, entries } = await checkBundle(o);
  const slot = otherSlot(o.device.slot);
  const entriesDir = join(o.esp, ENTRIES_DIR);
  const slotDir = join(o.esp, slot);
  const total = manifest.files.reduce((n, f) => n + f.size, 0);
  let done = 0;
  o.writable?.(true);
  try {
    for (const e of listEntries(o.esp).filter((x) => x.slot === slot)) rmSync(join(entriesDir, e.file));
    fsyncPath(entriesDir);
    rmSync(slotDir, { recursive: true, force: true });
    mkdirSync(slotDir, { recursive: true });
    const src = await open(o.bundle, 'r');
    try {
      for (const f of SLOT_FILES) {
        const want = manifest.files.find((x) => x.path === f)!;
        const at = entries.get(f)!;
        const tmp = join(slotDir, `${f}.tmp`);
        const dst = await open(tmp, 'w');
        const h = createHash('sha256');
        try {
          const buf = Buffer.alloc(1 << 20);
          for (let off = 0; off < at.size; ) {
            const { bytesRead } = await src.read(buf, 0, Math.min(buf.length, at.size - off), at.offset + off);
            if (bytesRead <= 0) throw new UpgradeRefused(`bundle: short read in ${f}`);
            h.update(buf.subarray(0, bytesRead));
            await dst.write(buf, 0, bytesRead);
            off += bytesRead;
            done += bytesRead;
            o.onProgress?.(done, total);
          }
          await dst.sync();
        } finally {
          await dst.close();
        }
        const got = h.digest('hex');
        if (got !== want.sha256) throw new UpgradeRefused(`bundle: ${f} has sha256 ${got}, the manifest says ${want.sha256}`);
        await rename(tmp, join(slotDir, f));
      }
    } finally {
      await src.close();
    }
    await writeFile(join(slotDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    fsyncPath(join(slotDir, 'manifest.json'));
    fsyncPath(slotDir);
    const generation = Math.max(0, ...listEntries(o.esp).map((e) => e.generation)) + 1;
    const name = entryFileName(slot, BOOT_TRIES);
    const text = slotEntry({ slot, generation, title: `tfw ${manifest.version} ${manifest.board}-${manifest.role}`, cmdline: manifest.cmdline });
    // systemd-boot reads only *.conf: the entry exists for it only once renamed.
    await writeFile(join(entriesDir, `${name}.tmp`), text);
    fsyncPath(join(entriesDir, `${name}.tmp`));
    await rename(join(entriesDir, `${name}.tmp`), join(entriesDir, name));
    fsyncPath(entriesDir);
    return { slot, version: manifest.version, generation, manifest };
  } catch (err) {
    for (const e of listEntries(o.esp).filter((x) => x.slot === slot)) rmSync(join(entriesDir, e.file), { force: true });
    rmSync(slotDir, { recursive: true, force: true });
    for (const f of existsSync(entriesDir) ? readdirSync(entriesDir).filter((x) => x.endsWith('.tmp')) : []) rmSync(join(entriesDir, f), { force: true });
    if (err instanceof UpgradeRefused) throw err;
    throw new UpgradeRefused(`writing slot ${slot} failed: ${(err as Error).message}`);
  } finally {
    o.writable?.(false);
  }
}
