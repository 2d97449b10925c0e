/**
 * Bootable raw disk images for `tfw flash` (and `tfw boot --disk`): a GPT disk
 * with two partitions.
 *
 * 1. The EFI System Partition (FAT32) holding systemd-boot as the removable-
 *    media loader (EFI/BOOT/BOOTX64.EFI or BOOTAA64.EFI, UEFI 2.10 §3.5.1.1)
 *    and two boot slots (runtime/device/slots.ts): slot `a` written here
 *    (`/a/vmlinuz`, `/a/initramfs.cpio.zst`, `/a/manifest.json` and the loader
 *    entry `loader/entries/tfw-a.conf`, Boot Loader Specification type #1),
 *    slot `b` left empty for the first upgrade. The ESP is sized for two slots
 *    of three times today's kernel + initramfs, so later releases fit.
 * 2. `tfw-data` (ext4, GPT name and file system label), the device's persistent
 *    state (identity, settings, staged uploads) mounted at /data by the guest
 *    init. A file gets DATA_SIZE (or --data-size); a block device gets the rest
 *    of the device.
 *
 * Nothing needs root or loop devices: sfdisk writes the partition table into a
 * regular file, mkfs.fat formats the ESP at its offset, mtools copies files
 * into it (`-i file@@offset`), and mke2fs formats the data partition at its
 * offset (`-E offset=`).
 *
 * Reproducible: the GPT disk and partition GUIDs, the FAT volume ID and the
 * ext4 UUID and directory hash seed are derived from the image manifest's
 * sha256; mkfs.fat runs with `--invariant` (dosfstools 4.2 does not read
 * SOURCE_DATE_EPOCH, so without it the volume label entry carries the current
 * time) and the volume ID is then patched in the boot sector and its FAT32
 * backup copy; mtools 4.0.3x stamps directory entries with SOURCE_DATE_EPOCH,
 * read in local time, so TZ=UTC is forced; mke2fs takes its clock from
 * E2FSPROGS_FAKE_TIME. Two runs with the same inputs give byte-identical disks
 * (tested). Two devices flashed from one disk still get different identities:
 * the node key is created on first boot (runtime/device/identity.ts).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdtempSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { checkFlashTarget } from './flash-target.js';
import { TfwError } from '../../runtime/errors.js';
import { LOADER_PACKAGES } from './apt.js';
import { extractDeb } from './deb.js';
import type { Manifest } from './image.js';
import { sourceDateEpoch } from './image.js';
import { fetchPackages, lockedPackage, readLock } from './lock.js';
import { debCacheDir, extractCacheDir, lockPath } from './paths.js';
import { makeProgress, type Progress } from './progress.js';
import { slotManifest } from './release.js';
import { debArch, type Arch } from './schema.js';
import { ENTRIES_DIR, LOADER_CONF, entryFileName, slotEntry } from '../../runtime/device/slots.js';

/** The pinned Debian package that provides the UEFI boot loader (images/packages.lock.json). */
export const LOADER_PACKAGE = LOADER_PACKAGES[0];
/** GPT partition type of an EFI System Partition (UEFI 2.10 §5.3.3, table 5-7). */
export const ESP_TYPE = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
/** GPT partition type "Linux filesystem data" (Discoverable Partitions Specification). */
export const LINUX_DATA_TYPE = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';
/** GPT partition name and ext4 label of the persistent partition (the guest init finds it by this name). */
export const DATA_LABEL = 'tfw-data';
/** Default size of the data partition in a disk image file (bytes); a block device gets the rest of the device. */
export const DATA_SIZE = 256 * 1048576;
/** Smallest data partition (bytes): ext4 with a journal needs a few MiB. */
const DATA_MIN = 16 * 1048576;
/** Logical sector size of the images (bytes). */
const SECTOR = 512;
const MiB = 1048576;
/** The ESP starts at 1 MiB (LBA 2048): the usual alignment, room for the primary GPT. */
export const ESP_OFFSET = MiB;
/** Backup GPT at the end of the disk: 32 sectors of entries (128 x 128 bytes) + the header (UEFI 2.10 §5.3.2). */
const GPT_BACKUP = 33 * SECTOR;
/** Free space left in the ESP beyond its files (bytes, before rounding up to MiB). */
const ESP_SLACK = 8 * MiB;
/** FAT32 needs at least 65525 clusters (Microsoft FAT spec, "FAT type determination"): 32 MiB of 512-byte clusters plus FATs. */
const ESP_MIN = 34 * MiB;
/** Removable-media loader names per arch (UEFI 2.10 §3.5.1.1, table 3-2). */
const BOOT_NAME: Record<Arch, string> = { x86_64: 'BOOTX64.EFI', arm64: 'BOOTAA64.EFI' };
const LOADER_FILE: Record<Arch, string> = { x86_64: 'systemd-bootx64.efi', arm64: 'systemd-bootaa64.efi' };
/** Image files that go into the ESP (besides the loader and its config). */
export const DISK_INPUTS = ['vmlinuz', 'initramfs.cpio.zst', 'cmdline', 'manifest.json'];
/** Slot a's loader entry, written by flash. */
export const ENTRY_PATH = `${ENTRIES_DIR}/${entryFileName('a')}`;

/** Host tools and the Debian packages that provide them. */
const TOOLS: Record<string, string> = { sfdisk: 'fdisk', 'mkfs.fat': 'dosfstools', mcopy: 'mtools', mmd: 'mtools', mdir: 'mtools', blockdev: 'util-linux', mke2fs: 'e2fsprogs' };

/** The full path of a host tool (PATH plus the sbin folders), or an error naming its package. */
export function hostTool(name: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin'].filter(Boolean);
  for (const d of dirs) if (existsSync(join(d, name))) return join(d, name);
  throw new TfwError('ERR_TFW_TOOL', `${name} is not installed; install ${TOOLS[name] ?? name} (make sysdeps)`);
}

const run = (tool: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): string => {
  try {
    return execFileSync(hostTool(tool), args, { encoding: 'utf8', input: opts.input, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 16 << 20 });
  } catch (err) {
    if (err instanceof TfwError) throw err;
    const e = err as { stderr?: string; message: string };
    throw new TfwError('ERR_TFW_DISK', `${tool} ${args.join(' ')} failed: ${(e.stderr || e.message).trim().split('\n').pop()}`);
  }
};

/** mtools environment: fixed time zone and timestamps, no user or system drive config. */
function mtoolsEnv(epoch: number): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, SOURCE_DATE_EPOCH: String(epoch), TZ: 'UTC', MTOOLS_SKIP_CHECK: '1', MTOOLSRC: '/dev/null', LC_ALL: 'C' };
}

/** A GUID from a hash (first 16 bytes), marked as RFC 9562 version 8 (custom), variant 10. */
export function guidFrom(seed: string): string {
  const b = createHash('sha256').update(seed).digest().subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x80;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex').toUpperCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export interface DiskLayout {
  /** Whole disk in bytes (MiB-aligned ESP start + ESP + data partition + backup GPT). */
  diskSize: number;
  /** ESP size in bytes (MiB multiple). */
  espSize: number;
  /** Data partition offset and size in bytes (MiB multiples). */
  dataOffset: number;
  dataSize: number;
  diskGuid: string;
  partGuid: string;
  dataGuid: string;
  /** ext4 file system UUID (also its directory hash seed). */
  dataUuid: string;
  /** FAT volume ID (32 bits, hex). */
  volumeId: string;
}

/**
 * Sizes and identifiers of the disk for an image whose slot files total
 * `slotBytes`; `manifestSha` seeds the ids. `deviceSize` (a block device) makes
 * the data partition fill the device; otherwise it is `dataSize` bytes.
 */
export function diskLayout(slotBytes: number, manifestSha: string, o: { deviceSize?: number; dataSize?: number } = {}): DiskLayout {
  const espSize = Math.max(ESP_MIN, Math.ceil((3 * slotBytes + ESP_SLACK) / MiB) * MiB);
  const dataOffset = ESP_OFFSET + espSize;
  const dataSize = o.deviceSize ? Math.floor((o.deviceSize - dataOffset - GPT_BACKUP) / MiB) * MiB : Math.ceil((o.dataSize ?? DATA_SIZE) / MiB) * MiB;
  const uuid = guidFrom(`tfw-data-fs:${manifestSha}`).toLowerCase();
  return {
    diskSize: o.deviceSize ?? dataOffset + dataSize + GPT_BACKUP,
    espSize,
    dataOffset,
    dataSize,
    diskGuid: guidFrom(`tfw-disk-guid:${manifestSha}`),
    partGuid: guidFrom(`tfw-esp-guid:${manifestSha}`),
    dataGuid: guidFrom(`tfw-data-guid:${manifestSha}`),
    dataUuid: uuid,
    volumeId: createHash('sha256').update(`tfw-esp-volume-id:${manifestSha}`).digest('hex').slice(0, 8),
  };
}

/** loader.conf and slot a's entry for an image (systemd-boot; Boot Loader Specification type #1; slots.ts). */
export function loaderConfig(manifest: Manifest, cmdline: string): { loaderConf: string; entry: string } {
  return { loaderConf: LOADER_CONF, entry: slotEntry({ slot: 'a', generation: 1, title: `tfw ${manifest.version} ${manifest.board}-${manifest.role}`, cmdline }) };
}

export interface DiskResult {
  output: string;
  blockDevice: boolean;
  layout: DiskLayout;
  /** The loader package used (name, version, arch). */
  loader: { name: string; version: string; arch: string; file: string };
  /** ESP paths written, sorted. */
  files: string[];
  /** sha256 of the written image (regular files only). */
  sha256?: string;
  /** Bytes read back from a block device and found equal to what was written (partition tables and ESP). */
  verified?: number;
}

export interface DiskOptions {
  /** Image folder (vmlinuz, initramfs.cpio.zst, cmdline, manifest.json). */
  dir: string;
  /** Output file (replaced atomically) or block device. */
  output: string;
  /** Data partition size in bytes for a file output (default DATA_SIZE); a block device gets the rest of the device. */
  dataSize?: number;
  lockFile?: string;
  cacheDir?: string;
  progress?: Progress;
}

/** The image's ESP files with their sources, checking that each exists. */
function readImage(dir: string): { manifest: Manifest; manifestBytes: Buffer; cmdline: string } {
  for (const f of DISK_INPUTS) {
    if (!existsSync(join(dir, f))) throw new TfwError('ERR_TFW_IMAGE', `${join(dir, f)} is missing; run tfw build first`);
  }
  const manifestBytes = readFileSync(join(dir, 'manifest.json'));
  let manifest: Manifest;
  try {
    manifest = JSON.parse(manifestBytes.toString('utf8')) as Manifest;
  } catch (err) {
    throw new TfwError('ERR_TFW_IMAGE', `${join(dir, 'manifest.json')}: not JSON (${(err as Error).message}); run tfw build again`);
  }
  if (manifest.arch !== 'x86_64' && manifest.arch !== 'arm64') throw new TfwError('ERR_TFW_IMAGE', `${join(dir, 'manifest.json')}: arch: expected x86_64 or arm64, got "${manifest.arch}"`);
  return { manifest, manifestBytes, cmdline: readFileSync(join(dir, 'cmdline'), 'utf8').trim() };
}

/** The pinned systemd-boot .efi for `arch`: fetched and verified against the lock, extracted into the cache. */
export function loaderEfi(arch: Arch, o: { lockFile?: string; cacheDir?: string; progress?: Progress } = {}): DiskResult['loader'] {
  const lock = readLock(o.lockFile ?? lockPath());
  const pkg = lockedPackage(lock, debArch(arch), LOADER_PACKAGE);
  const deb = fetchPackages([pkg], o.cacheDir ?? debCacheDir(), o.progress ?? makeProgress({ quiet: true })).get(pkg.name)!;
  const file = join(extractDeb(deb, pkg.sha256, extractCacheDir()), 'usr/lib/systemd/boot/efi', LOADER_FILE[arch]);
  if (!existsSync(file)) throw new TfwError('ERR_TFW_IMAGE', `${pkg.name} ${pkg.version} (${pkg.arch}) has no usr/lib/systemd/boot/efi/${LOADER_FILE[arch]}`);
  return { name: pkg.name, version: pkg.version, arch: pkg.arch, file };
}

/** Size of a block device in bytes (blockdev --getsize64). */
function blockDeviceSize(dev: string): number {
  return Number(run('blockdev', ['--getsize64', dev]).trim());
}

/**
 * Writes the GPT + ESP into `file` (a regular file of the final size):
 * partition table, FAT32 at the ESP offset, then the files.
 */
function writeDisk(file: string, layout: DiskLayout, epoch: number, put: Array<[string, string]>): void {
  const espSectors = layout.espSize / SECTOR;
  const first = ESP_OFFSET / SECTOR;
  // sfdisk script (sfdisk(8) "INPUT FORMATS"); label-id and uuid fixed for reproducibility.
  const script = `label: gpt\nlabel-id: ${layout.diskGuid}\nunit: sectors\nfirst-lba: ${first}\nsector-size: ${SECTOR}\n\n` +
    `start=${first}, size=${espSectors}, type=${ESP_TYPE}, uuid=${layout.partGuid}, name="EFI System Partition"\n` +
    `start=${layout.dataOffset / SECTOR}, size=${layout.dataSize / SECTOR}, type=${LINUX_DATA_TYPE}, uuid=${layout.dataGuid}, name="${DATA_LABEL}"\n`;
  run('sfdisk', ['--no-reread', '--no-tell-kernel', '--quiet', file], { input: script });
  // FAT32 with 512-byte clusters, hidden sectors = the partition's start (FAT spec BPB_HiddSec).
  run('mkfs.fat', ['-F', '32', '-s', '1', '-S', String(SECTOR), '-h', String(first), '-n', 'TFW', '--invariant', `--offset=${first}`, file, String(layout.espSize / 1024)], { env: { PATH: process.env.PATH, LC_ALL: 'C' } });
  patchVolumeId(file, ESP_OFFSET, layout.volumeId);
  const env = mtoolsEnv(epoch);
  const img = `${file}@@${ESP_OFFSET}`;
  const dirs = [...new Set(put.flatMap(([, p]) => p.split('/').slice(0, -1).map((_, i, a) => a.slice(0, i + 1).join('/'))))].sort();
  if (dirs.length) run('mmd', ['-i', img, ...dirs.map((d) => `::/${d}`)], { env });
  for (const [src, dst] of put) run('mcopy', ['-i', img, src, `::/${dst}`], { env });
}

/**
 * Formats the data partition of `target` (a disk file or block device) as ext4
 * labelled tfw-data, at its offset, with a fixed UUID, hash seed and clock.
 */
function formatData(target: string, layout: DiskLayout, epoch: number): void {
  if (layout.dataSize < DATA_MIN) throw new TfwError('ERR_TFW_DISK', `the data partition would have ${layout.dataSize} bytes; it needs at least ${DATA_MIN}`);
  run('mke2fs', ['-q', '-F', '-t', 'ext4', '-b', '4096', '-L', DATA_LABEL, '-U', layout.dataUuid, '-E', `hash_seed=${layout.dataUuid},offset=${layout.dataOffset},root_owner=0:0,nodiscard`, target, String(layout.dataSize / 4096)], {
    env: { PATH: process.env.PATH, LC_ALL: 'C', E2FSPROGS_FAKE_TIME: String(epoch) },
  });
}

/**
 * Sets the FAT32 volume ID (BS_VolID, offset 67 of the boot sector) in the boot
 * sector and in its backup (BPB_BkBootSec, offset 50, normally sector 6).
 */
function patchVolumeId(file: string, partOffset: number, volumeId: string): void {
  const fd = openSync(file, 'r+');
  try {
    const bs = Buffer.alloc(SECTOR);
    readSync(fd, bs, 0, SECTOR, partOffset);
    if (bs.readUInt16LE(510) !== 0xaa55 || bs.toString('latin1', 82, 90) !== 'FAT32   ') throw new TfwError('ERR_TFW_DISK', 'mkfs.fat did not write a FAT32 boot sector');
    const id = Buffer.alloc(4);
    id.writeUInt32LE(Number.parseInt(volumeId, 16));
    writeSync(fd, id, 0, 4, partOffset + 67);
    const backup = bs.readUInt16LE(50);
    if (backup > 0 && backup < 0xffff) writeSync(fd, id, 0, 4, partOffset + backup * SECTOR + 67);
  } finally {
    closeSync(fd);
  }
}

/**
 * Makes the bootable disk for the image in `o.dir` and writes it to
 * `o.output`: a regular file is written next to it and renamed into place (no
 * partial file on failure); a block device gets the whole layout sized to the
 * device (backup GPT at its end), written in two pieces (head with the ESP,
 * tail with the backup GPT), then fsync'ed.
 */
export function makeDisk(o: DiskOptions): DiskResult {
  const { manifest, manifestBytes, cmdline } = readImage(o.dir);
  for (const t of ['sfdisk', 'mkfs.fat', 'mcopy', 'mmd', 'mke2fs']) hostTool(t);
  const arch = manifest.arch;
  const epoch = sourceDateEpoch();
  const loader = loaderEfi(arch, o);
  // The library refuses what the CLI refuses (a device in use, a non-device under /dev); files are replaced.
  const blockDevice = checkFlashTarget(o.output, { force: true }).kind === 'block';
  const progress = o.progress ?? makeProgress({ quiet: true });
  const work = mkdtempSync(join(tmpdir(), 'tfw-disk-'));
  try {
    const { loaderConf, entry } = loaderConfig(manifest, cmdline);
    writeFileSync(join(work, 'loader.conf'), loaderConf);
    writeFileSync(join(work, 'tfw-a.conf'), entry);
    writeFileSync(join(work, 'slot-manifest.json'), `${JSON.stringify(slotManifest(o.dir), null, 2)}\n`);
    const put: Array<[string, string]> = [
      [loader.file, `EFI/BOOT/${BOOT_NAME[arch]}`],
      [join(work, 'loader.conf'), 'loader/loader.conf'],
      [join(work, 'tfw-a.conf'), ENTRY_PATH],
      [join(o.dir, 'vmlinuz'), 'a/vmlinuz'],
      [join(o.dir, 'initramfs.cpio.zst'), 'a/initramfs.cpio.zst'],
      [join(work, 'slot-manifest.json'), 'a/manifest.json'],
      [join(o.dir, 'manifest.json'), 'manifest.json'],
    ];
    const slotBytes = statSync(join(o.dir, 'vmlinuz')).size + statSync(join(o.dir, 'initramfs.cpio.zst')).size;
    const manifestSha = createHash('sha256').update(manifestBytes).digest('hex');
    const devSize = blockDevice ? blockDeviceSize(o.output) : 0;
    const layout = diskLayout(slotBytes, manifestSha, blockDevice ? { deviceSize: devSize } : { dataSize: o.dataSize });
    if (blockDevice && layout.dataSize < DATA_MIN) {
      throw new TfwError('ERR_TFW_FLASH', `--output: ${o.output} has ${devSize} bytes; the disk needs ${layout.dataOffset + DATA_MIN + GPT_BACKUP}`);
    }
    const tmp = blockDevice ? join(work, 'disk.img') : `${o.output}.tmp-${process.pid}`;
    try {
      writeFileSync(tmp, '');
      truncateSync(tmp, layout.diskSize); // sparse
      writeDisk(tmp, layout, epoch, put);
      const result: DiskResult = { output: o.output, blockDevice, layout, loader, files: put.map(([, p]) => p).sort() };
      if (blockDevice) {
        const ranges: Array<[number, number]> = [[0, ESP_OFFSET + layout.espSize], [layout.diskSize - GPT_BACKUP, GPT_BACKUP]];
        const total = ranges.reduce((a, [, n]) => a + n, 0);
        let done = 0;
        for (const [start, n] of ranges) done = copyRange(tmp, o.output, start, n, (k) => progress.bytes(`writing ${o.output}`, done + k, total));
        formatData(o.output, layout, epoch);
        result.verified = verifyRanges(tmp, o.output, ranges, progress);
      } else {
        formatData(tmp, layout, epoch);
        result.sha256 = createHash('sha256').update(readFileSync(tmp)).digest('hex');
        const fd = openSync(tmp, 'r+');
        try {
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, o.output);
      }
      return result;
    } finally {
      if (!blockDevice) rmSync(tmp, { force: true });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Copies bytes [start, start+length) of `src` to the same offsets of `dst` (a
 * block device), then fsyncs it; `onBytes` gets the bytes copied so far.
 * Returns `length`.
 */
function copyRange(src: string, dst: string, start: number, length: number, onBytes: (n: number) => void = () => {}): number {
  const i = openSync(src, 'r');
  const o = openSync(dst, 'r+');
  try {
    const buf = Buffer.alloc(4 * MiB);
    for (let off = 0; off < length; ) {
      const n = readSync(i, buf, 0, Math.min(buf.length, length - off), start + off);
      if (n <= 0) throw new TfwError('ERR_TFW_DISK', `short read from ${src} at ${start + off}`);
      writeSync(o, buf, 0, n, start + off);
      off += n;
      onBytes(off);
    }
    fsyncSync(o);
  } finally {
    closeSync(i);
    closeSync(o);
  }
  return length;
}

/**
 * Reads `ranges` ([offset, length] pairs) back from the block device `dev`
 * after dropping its buffer cache (blockdev --flushbufs, BLKFLSBUF), so the
 * bytes come from the device, and compares their sha256 with `src`'s.
 * Returns the bytes verified.
 * @throws TfwError ERR_TFW_FLASH naming the first range that differs
 */
function verifyRanges(src: string, dev: string, ranges: Array<[number, number]>, progress: Progress): number {
  run('blockdev', ['--flushbufs', dev]);
  const total = ranges.reduce((a, [, n]) => a + n, 0);
  let done = 0;
  for (const [start, length] of ranges) {
    const [a, b] = [src, dev].map((f) => {
      const fd = openSync(f, 'r');
      const h = createHash('sha256');
      try {
        const buf = Buffer.alloc(4 * MiB);
        for (let off = 0; off < length; ) {
          const n = readSync(fd, buf, 0, Math.min(buf.length, length - off), start + off);
          if (n <= 0) throw new TfwError('ERR_TFW_FLASH', `verify: short read from ${f} at byte ${start + off}`);
          h.update(buf.subarray(0, n));
          off += n;
          if (f === dev) progress.bytes(`verifying ${dev}`, done + off, total);
        }
      } finally {
        closeSync(fd);
      }
      return h.digest('hex');
    });
    if (a !== b) throw new TfwError('ERR_TFW_FLASH', `verify: ${dev} bytes ${start}..${start + length} read back with sha256 ${b.slice(0, 16)}..., expected ${a.slice(0, 16)}...; the device did not keep what was written`);
    done += length;
  }
  return done;
}

/** The ESP of a disk image: byte offset and size, from its GPT (sfdisk --json). */
export function findEsp(disk: string): { offset: number; size: number } {
  if (!existsSync(disk)) throw new TfwError('ERR_TFW_IMAGE', `--disk: ${disk} does not exist`);
  let table: { partitiontable?: { sectorsize?: number; partitions?: Array<{ start: number; size: number; type: string }> } };
  try {
    table = JSON.parse(run('sfdisk', ['--json', disk]));
  } catch (err) {
    if (err instanceof TfwError && err.code === 'ERR_TFW_TOOL') throw err;
    throw new TfwError('ERR_TFW_IMAGE', `--disk: ${disk} has no readable partition table (${(err as Error).message})`);
  }
  const ss = table.partitiontable?.sectorsize ?? SECTOR;
  const p = table.partitiontable?.partitions?.find((x) => x.type.toUpperCase() === ESP_TYPE);
  if (!p) throw new TfwError('ERR_TFW_IMAGE', `--disk: ${disk} has no EFI System Partition (GPT type ${ESP_TYPE})`);
  return { offset: p.start * ss, size: p.size * ss };
}

/** Reads one file from a disk's ESP (mtools), or undefined when it is missing. */
export function readEspFile(disk: string, path: string, esp = findEsp(disk)): Buffer | undefined {
  const work = mkdtempSync(join(tmpdir(), 'tfw-esp-'));
  try {
    const out = join(work, 'f');
    try {
      execFileSync(hostTool('mcopy'), ['-n', '-i', `${disk}@@${esp.offset}`, `::/${path}`, out], { env: mtoolsEnv(sourceDateEpoch()), stdio: ['ignore', 'ignore', 'pipe'] });
    } catch {
      return undefined;
    }
    return readFileSync(out);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
