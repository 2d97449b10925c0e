/**
 * Where `tfw flash` may write: a regular file, or a whole block device that
 * nothing on this host uses. A device is in use when it or one of its
 * partitions is mounted (/proc/self/mountinfo, proc(5): field 3 is the
 * mounted device's major:minor, field 10 its source), is active swap
 * (/proc/swaps), or is held by another block device such as a device-mapper
 * or md array (/sys/class/block/<dev>/holders, Documentation/ABI/stable/
 * sysfs-block). A path under /dev that is not an existing block device is a
 * typo (writing it would leave a file in /dev), so it is refused too.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { TfwError } from '../../runtime/errors.js';

/** One mount of /proc/self/mountinfo: the device (major:minor), its source and where it is mounted. */
export interface MountEntry {
  dev: string;
  source: string;
  mountPoint: string;
}

/** The flash target after the checks: a file (created or replaced) or a whole block device. */
export interface FlashTarget {
  path: string;
  kind: 'file' | 'block';
  /** Kernel name of the block device (e.g. sdb, loop0), block devices only. */
  name?: string;
  /** Size in bytes (block devices: /sys/class/block/<name>/size in 512-byte sectors). */
  size?: number;
}

/** Undoes mountinfo's octal escapes (space \040, tab \011, newline \012, backslash \134). */
const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

/**
 * Parses /proc/self/mountinfo text (proc(5)): `ID PARENT MAJ:MIN ROOT MOUNTPOINT
 * OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS` per line.
 */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (f.length < 10 || sep < 0) continue;
    out.push({ dev: f[2], mountPoint: unescape(f[4]), source: unescape(f[sep + 2] ?? '') });
  }
  return out;
}

/** major:minor of a device number (Linux's encoding, include/linux/kdev_t.h new_decode_dev). */
export function majorMinor(rdev: number): string {
  const major = Number((BigInt(rdev) >> 8n) & 0xfffn) | Number((BigInt(rdev) >> 32n) & ~0xfffn);
  const minor = Number(BigInt(rdev) & 0xffn) | Number((BigInt(rdev) >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

const read = (p: string) => readFileSync(p, 'utf8').trim();

/** The block device `name` and its partitions: kernel name and major:minor each (sysfs). */
function withPartitions(sys: string, name: string): Array<{ name: string; dev: string; dir: string }> {
  const parts = readdirSync(join(sys, name)).filter((e) => existsSync(join(sys, name, e, 'partition')));
  return [name, ...parts].map((n) => {
    const dir = n === name ? join(sys, name) : join(sys, name, n);
    return { name: n, dev: read(join(dir, 'dev')), dir };
  });
}

/**
 * Why the whole block device `name` must not be written, or undefined when
 * nothing uses it. `sys` is /sys/class/block, `mountinfo` and `swaps` the texts
 * of /proc/self/mountinfo and /proc/swaps (parameters so tests can inject them).
 */
export function deviceInUse(name: string, o: { sys?: string; mountinfo?: string; swaps?: string } = {}): string | undefined {
  const sys = o.sys ?? '/sys/class/block';
  const devs = withPartitions(sys, name);
  const mounts = parseMountinfo(o.mountinfo ?? readFileSync('/proc/self/mountinfo', 'utf8'));
  for (const d of devs) {
    const m = mounts.find((x) => x.dev === d.dev || x.source === `/dev/${d.name}`);
    if (m) return `${d.name === name ? 'it' : `its partition /dev/${d.name}`} is mounted on ${m.mountPoint}; unmount it first`;
  }
  const swaps = (o.swaps ?? (existsSync('/proc/swaps') ? readFileSync('/proc/swaps', 'utf8') : '')).split('\n').slice(1).map((l) => l.split(/\s+/)[0]);
  for (const d of devs) if (swaps.includes(`/dev/${d.name}`)) return `/dev/${d.name} is in use as swap; swapoff it first`;
  for (const d of devs) {
    const holders = existsSync(join(d.dir, 'holders')) ? readdirSync(join(d.dir, 'holders')) : [];
    if (holders.length) return `${d.name === name ? 'it' : `its partition /dev/${d.name}`} is held by ${holders.map((h) => `/dev/${h}`).join(', ')} (device mapper, RAID or LVM); release it first`;
  }
  return undefined;
}

/**
 * Checks `output` as a `tfw flash` target and says what it is.
 * @throws TfwError ERR_TFW_FLASH naming --output: a folder, a missing parent
 *   folder, a path under /dev that is not a block device, a partition (give the
 *   whole disk), a device in use (mounted, swap, held), or an existing regular
 *   file without `force`.
 */
export function checkFlashTarget(output: string, o: { force?: boolean } = {}): FlashTarget {
  const path = resolve(output);
  const exists = existsSync(path);
  if (exists && statSync(path).isDirectory()) throw new TfwError('ERR_TFW_FLASH', `--output: ${path} is a folder; give a file name like ${join(path, 'disk.img')}`);
  const real = exists ? realpathSync(path) : join(existsSync(dirname(path)) ? realpathSync(dirname(path)) : dirname(path), basename(path));
  const st = exists ? statSync(path) : undefined;
  if (!st?.isBlockDevice()) {
    if (real === '/dev' || real.startsWith('/dev/')) {
      throw new TfwError('ERR_TFW_FLASH', `--output: ${path} ${exists ? 'is not a block device' : 'does not exist'}; expected a disk like /dev/sdX (lsblk lists them) or a file outside /dev`);
    }
    if (!existsSync(dirname(path))) throw new TfwError('ERR_TFW_FLASH', `--output: folder ${dirname(path)} does not exist`);
    if (exists && !o.force) throw new TfwError('ERR_TFW_FLASH', `--output: ${path} exists and is not a block device; pass --force to overwrite it`);
    return { path, kind: 'file' };
  }
  const sysPath = `/sys/dev/block/${majorMinor(st.rdev)}`;
  if (!existsSync(sysPath)) throw new TfwError('ERR_TFW_FLASH', `--output: ${path}: block device ${majorMinor(st.rdev)} is not in /sys/dev/block`);
  const sysReal = realpathSync(sysPath);
  const name = basename(sysReal);
  if (existsSync(join(sysReal, 'partition'))) {
    throw new TfwError('ERR_TFW_FLASH', `--output: ${path} is partition ${name} of /dev/${basename(dirname(sysReal))}; give the whole disk`);
  }
  const busy = deviceInUse(name);
  if (busy) throw new TfwError('ERR_TFW_FLASH', `--output: ${path} is in use: ${busy}`);
  return { path, kind: 'block', name, size: Number(read(join(sysReal, 'size'))) * 512 };
}
