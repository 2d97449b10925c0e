/**
 * The committed package lock (images/packages.lock.json) and the verified
 * download cache (.cache/debs/). Every .deb is checked against the sha256 in the
 * lock before use, cached or fresh; a mismatch is refused naming the package and
 * both hashes, so neither a changed mirror nor a damaged cache reaches an image.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TfwError } from '../../runtime/errors.js';
import { aptDownload, ensureForeignArch, kernelPackage, LOADER_PACKAGES, resolveClosure, ROOT_PACKAGES, type DebArch, type LockedPackage } from './apt.js';
import type { Progress } from './progress.js';
import { listRoles, loadRole } from './schema.js';

export interface PackageLock {
  suite: string;
  /** Kernel package per Debian kernel flavour, e.g. amd64 -> linux-image-6.1.0-56-amd64. */
  kernels: Record<string, string>;
  /** Pinned packages per Debian architecture (arch-all packages repeated per arch). */
  packages: Record<DebArch, LockedPackage[]>;
}

/** A package whose bytes do not match the lock. */
export class PackageHashError extends TfwError {
  constructor(pkg: LockedPackage, actual: string, where: string) {
    super(
      'ERR_TFW_PACKAGE_HASH',
      `${pkg.name} ${pkg.version} (${pkg.arch}): ${where} sha256 ${actual} does not match the lock's ${pkg.sha256}; ` +
        'refusing it (delete the cached file to re-download, or run tfw build --update-lock if the pin changed on purpose)',
    );
  }
}

export function readLock(path: string): PackageLock {
  let lock: PackageLock;
  try {
    lock = JSON.parse(readFileSync(path, 'utf8')) as PackageLock;
  } catch (err) {
    throw new TfwError('ERR_TFW_LOCK', `${path}: cannot read the package lock (${(err as Error).message}); run tfw build --update-lock`);
  }
  if (!lock || typeof lock.kernels !== 'object' || typeof lock.packages !== 'object') {
    throw new TfwError('ERR_TFW_LOCK', `${path}: expected { suite, kernels, packages }; run tfw build --update-lock`);
  }
  return lock;
}

export const sha256File = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/**
 * Regenerates the lock for the given kernel flavours (both architectures), with
 * the flash-only loader packages and every role's `packages:` (3router's
 * dnsmasq-base and nftables) and `files:` packages (the aibox's QEMU), each
 * with its dependency closure.
 */
export function updateLock(path: string, flavours: string[], progress: Progress): PackageLock {
  const lock: PackageLock = { suite: 'bookworm', kernels: {}, packages: { amd64: [], arm64: [] } };
  const rolePackages = [...new Set(listRoles().flatMap((r) => { const role = loadRole(r); return [...role.packages, ...Object.keys(role.files)]; }))].sort();
  for (const arch of ['amd64', 'arm64'] as const) {
    progress.step(`resolving the package closure for ${arch}`);
    const kernels = flavours.filter((f) => f.endsWith(arch)).sort().map((f) => (lock.kernels[f] = kernelPackage(f, arch)));
    lock.packages[arch] = resolveClosure(arch, [...ROOT_PACKAGES, ...LOADER_PACKAGES, ...rolePackages], kernels);
  }
  writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
  progress.step(`wrote ${path}: ${lock.packages.amd64.length} amd64 and ${lock.packages.arm64.length} arm64 packages`);
  return lock;
}

/** The locked entry for `name` on `arch`, or a clear error. */
export function lockedPackage(lock: PackageLock, arch: DebArch, name: string): LockedPackage {
  const p = lock.packages[arch]?.find((x) => x.name === name);
  if (!p) throw new TfwError('ERR_TFW_LOCK', `package ${name} (${arch}) is not in the lock; add it and run tfw build --update-lock`);
  return p;
}

/**
 * Returns the verified cached .deb path for each package, downloading missing
 * ones with apt-get. A cached file with the wrong hash is refused (not replaced
 * silently): the cache is meant to be trustworthy, so damage is reported.
 */
export function fetchPackages(pkgs: LockedPackage[], cacheDir: string, progress: Progress): Map<string, string> {
  mkdirSync(cacheDir, { recursive: true });
  const out = new Map<string, string>();
  const missing = pkgs.filter((p) => !existsSync(join(cacheDir, p.filename)));
  if (missing.length) {
    for (const a of new Set(missing.map((p) => p.arch))) if (a !== 'all') ensureForeignArch(a as DebArch);
    // Progress in bytes (the lock knows each package's size), a package at a time.
    const total = missing.reduce((a, p) => a + p.size, 0);
    let done = 0;
    const label = `downloading ${missing.length} Debian package${missing.length === 1 ? '' : 's'}`;
    progress.bytes(label, 0, total);
    const tmp = join(cacheDir, `.partial-${process.pid}`);
    mkdirSync(tmp, { recursive: true });
    try {
      for (const p of missing) {
        const file = aptDownload(p, tmp);
        const actual = sha256File(file);
        if (actual !== p.sha256) throw new PackageHashError(p, actual, 'downloaded');
        renameSync(file, join(cacheDir, p.filename));
        done += p.size;
        progress.bytes(label, done, total);
      }
    } finally {
      progress.stop();
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  for (const p of pkgs) {
    const file = join(cacheDir, p.filename);
    const actual = sha256File(file);
    if (actual !== p.sha256) throw new PackageHashError(p, actual, `cached ${file}`);
    out.set(p.name, file);
  }
  return out;
}
