/**
 * Update bundles (`X.tfwup`): a POSIX ustar archive (POSIX.1-2017, pax
 * "ustar Interchange Format") holding `manifest.json` first, then the slot's
 * files (`vmlinuz`, `initramfs.cpio.zst`). The archive is signed as a whole
 * with minisign (`X.tfwup.minisig`, minisign.ts); the manifest gives the
 * version, the board it is for and the sha256 and size of every file, so a
 * device checks the signature once, then each file as it copies it into the
 * slot. Like RAUC's bundles and Mender's artifacts, the manifest names the
 * compatible board; unlike them the container is plain tar, so `tar -tvf`
 * shows it.
 *
 * Writing is deterministic (sorted fixed entries, owner 0:0, mode 0644, mtime
 * SOURCE_DATE_EPOCH); reading accepts only what writing makes (regular files,
 * names up to 100 bytes, checksums right) and refuses anything else with the
 * offset named.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { TfwError } from '../errors.js';

/** A bundle that cannot be used; `code` ERR_TFW_BUNDLE. */
export class BundleError extends TfwError {
  constructor(message: string) {
    super('ERR_TFW_BUNDLE', message);
  }
}

export const BUNDLE_FORMAT = 'tfw-bundle/1';
/** The slot files a bundle carries, in archive order after manifest.json. */
export const SLOT_FILES = ['vmlinuz', 'initramfs.cpio.zst'] as const;

export interface BundleFile {
  path: (typeof SLOT_FILES)[number];
  sha256: string;
  /** Bytes. */
  size: number;
}

/** manifest.json inside a bundle (and `<slot>/manifest.json` on the ESP). */
export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  board: string;
  role: string;
  arch: 'x86_64' | 'arm64';
  /** Release version (semver-like: numbers separated by dots, optional -suffix). */
  version: string;
  /** The slot's kernel command line (image cmdline plus `tfw release --append` words), without tfw.slot=. */
  cmdline: string;
  /** sha256 of the image's manifest.json the bundle was made from. */
  image: string;
  files: BundleFile[];
}

const BLOCK = 512;

/** One ustar header for a regular file (POSIX.1-2017 pax, "ustar Interchange Format"). */
function header(name: string, size: number, mtime: number): Buffer {
  if (Buffer.byteLength(name) > 100) throw new BundleError(`tar: name ${name} is longer than 100 bytes`);
  const h = Buffer.alloc(BLOCK);
  const oct = (v: number, off: number, len: number) => h.write(`${v.toString(8).padStart(len - 1, '0')}\0`, off, len, 'latin1');
  h.write(name, 0, 100, 'utf8');
  oct(0o644, 100, 8);
  oct(0, 108, 8);
  oct(0, 116, 8);
  oct(size, 124, 12);
  oct(mtime, 136, 12);
  h.fill(0x20, 148, 156); // checksum field counts as spaces
  h.write('0', 156, 1, 'latin1');
  h.write('ustar\u000000', 257, 8, 'latin1');
  h.write('root', 265, 32, 'latin1');
  h.write('root', 297, 32, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}

/**
 * The archive bytes: each entry's header, data padded to 512 bytes, then two
 * zero blocks. `mtime` in Unix seconds.
 */
export function writeTar(entries: Array<{ name: string; data: Uint8Array }>, mtime: number): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(header(e.name, e.data.length, mtime), Buffer.from(e.data));
    const pad = (BLOCK - (e.data.length % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

export interface TarEntry {
  name: string;
  /** Byte offset of the data in the archive. */
  offset: number;
  size: number;
}

/**
 * Lists the regular files of a ustar archive on disk without reading their data.
 * @throws BundleError for a bad checksum, a non-regular entry, or data past the end (a truncated file)
 */
export function listTar(path: string): TarEntry[] {
  const fd = openSync(path, 'r');
  try {
    const total = fstatSync(fd).size;
    const out: TarEntry[] = [];
    const h = Buffer.alloc(BLOCK);
    for (let off = 0; ; ) {
      if (off + BLOCK > total) throw new BundleError(`tar: truncated at byte ${off} of ${total} (no end-of-archive blocks)`);
      readSync(fd, h, 0, BLOCK, off);
      if (h.every((b) => b === 0)) return out;
      let sum = 0;
      for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
      const stored = Number.parseInt(h.toString('latin1', 148, 156).replace(/[\0 ]+$/, '').trim(), 8);
      if (stored !== sum) throw new BundleError(`tar: bad header checksum at byte ${off}`);
      const name = h.toString('utf8', 0, 100).replace(/\0.*$/s, '');
      const type = h.toString('latin1', 156, 157);
      if (type !== '0' && type !== '\0') throw new BundleError(`tar: entry ${name} at byte ${off} is not a regular file (type ${JSON.stringify(type)})`);
      const size = Number.parseInt(h.toString('latin1', 124, 136).replace(/\0.*$/s, '').trim(), 8);
      if (!Number.isSafeInteger(size) || size < 0) throw new BundleError(`tar: entry ${name} at byte ${off} has a bad size`);
      const data = off + BLOCK;
      if (data + size > total) throw new BundleError(`tar: entry ${name} needs ${size} bytes at byte ${data}, the file ends at ${total} (truncated)`);
      out.push({ name, offset: data, size });
      off = data + Math.ceil(size / BLOCK) * BLOCK;
    }
  } finally {
    closeSync(fd);
  }
}

/** Reads `size` bytes at `offset` of a file. */
export function readAt(path: string, offset: number, size: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, b, got, size - got, offset + got);
      if (n <= 0) throw new BundleError(`short read at byte ${offset + got}`);
      got += n;
    }
    return b;
  } finally {
    closeSync(fd);
  }
}

const VERSION_RE = /^\d+(\.\d+)*(-[0-9A-Za-z.-]+)?$/;

/**
 * Checks a parsed manifest.json of a bundle.
 * @throws BundleError naming the field and what was expected
 */
export function checkManifest(m: unknown): BundleManifest {
  const o = m as Record<string, unknown>;
  if (typeof o !== 'object' || o === null) throw new BundleError('manifest.json: expected a JSON object');
  if (o.format !== BUNDLE_FORMAT) throw new BundleError(`manifest.json: format: expected "${BUNDLE_FORMAT}", got ${JSON.stringify(o.format)}`);
  for (const k of ['board', 'role', 'cmdline', 'image'] as const) if (typeof o[k] !== 'string') throw new BundleError(`manifest.json: ${k}: expected a string`);
  if (o.arch !== 'x86_64' && o.arch !== 'arm64') throw new BundleError(`manifest.json: arch: expected x86_64 or arm64, got ${JSON.stringify(o.arch)}`);
  if (typeof o.version !== 'string' || !VERSION_RE.test(o.version)) throw new BundleError(`manifest.json: version: expected a version like 1.2.3, got ${JSON.stringify(o.version)}`);
  const files = o.files as BundleFile[];
  if (!Array.isArray(files) || files.length !== SLOT_FILES.length) throw new BundleError(`manifest.json: files: expected ${SLOT_FILES.join(' and ')}`);
  SLOT_FILES.forEach((p, i) => {
    const f = files[i];
    if (f?.path !== p || typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256) || !Number.isSafeInteger(f.size) || f.size < 0) {
      throw new BundleError(`manifest.json: files.${i}: expected { path: "${p}", sha256: <64 hex>, size: <bytes> }`);
    }
  });
  return o as unknown as BundleManifest;
}

/**
 * Compares two versions (numbers separated by dots, then an optional
 * pre-release suffix that sorts before the release, as in SemVer 2.0.0 §11).
 * Returns <0, 0 or >0.
 */
export function compareVersions(a: string, b: string): number {
  const [an, ap] = a.split(/-(.*)/s);
  const [bn, bp] = b.split(/-(.*)/s);
  const x = an.split('.').map(Number);
  const y = bn.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d) return d;
  }
  if (ap === undefined || bp === undefined) return ap === bp ? 0 : ap === undefined ? 1 : -1;
  return ap < bp ? -1 : ap > bp ? 1 : 0;
}
