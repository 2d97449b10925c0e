/**
 * Well-known paths: the package root (read-only inputs: board-configs/, images/,
 * build/wasm, build/runtime, prebuilds/) and where host-side caches and outputs go.
 *
 * Two layouts share this module. In a source checkout (a git clone, what CI and
 * `make` use) caches stay in `<checkout>/.cache/` and outputs in
 * `<checkout>/build/`, as before. In an installed package (under node_modules,
 * or any copy without .git/Makefile) the package tree is treated as read-only:
 * caches go to `$XDG_CACHE_HOME/tfw` (default `~/.cache/tfw`, XDG Base Directory
 * spec) and outputs to `./build/` in the current directory, never into
 * node_modules. `TFW_DEB_CACHE`, `TFW_EXTRACT_CACHE`, `TFW_CACHE_DIR` and
 * `TFW_PACKAGES_LOCK` override.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The first directory at or above `from` holding a package.json: the checkout
 * from the sources (images/builder/), the package root from the compiled tree
 * (build/dist/images/builder/, which has no package.json of its own).
 */
export function findPackageRoot(from: string): string {
  for (let d = resolve(from); ; d = dirname(d)) {
    if (existsSync(join(d, 'package.json'))) return d;
    if (dirname(d) === d) return resolve(from, '../..');
  }
}

/** The package root (the checkout, or node_modules/tfw when installed). */
export const repoRoot = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

/**
 * True for a source checkout: not inside node_modules, and a .git or Makefile
 * beside package.json (neither is in the npm package's `files`).
 */
export const isCheckout = (root: string = repoRoot): boolean =>
  !root.split(sep).includes('node_modules') && (existsSync(join(root, '.git')) || existsSync(join(root, 'Makefile')));

/** Root of host-side caches: `<checkout>/.cache`, else `$TFW_CACHE_DIR`, `$XDG_CACHE_HOME/tfw` or `~/.cache/tfw`. */
export const cacheRoot = (): string => {
  if (process.env.TFW_CACHE_DIR) return resolve(process.env.TFW_CACHE_DIR);
  if (isCheckout()) return join(repoRoot, '.cache');
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.cache'), 'tfw');
};
/** Root of build outputs: `<checkout>/build`, else `./build` in the current directory. */
export const outputRoot = (): string => (isCheckout() ? join(repoRoot, 'build') : resolve('build'));
/** Downloaded .deb files, checked against the lock on every use. */
export const debCacheDir = (): string => process.env.TFW_DEB_CACHE ?? join(cacheRoot(), 'debs');
/** Extracted packages, keyed by the .deb's sha256 (so a changed .deb never reuses a tree). */
export const extractCacheDir = (): string => process.env.TFW_EXTRACT_CACHE ?? join(cacheRoot(), 'extract');
/** The committed lock of pinned Debian packages. */
export const lockPath = (): string => process.env.TFW_PACKAGES_LOCK ?? join(repoRoot, 'images/packages.lock.json');
/** Default output folder of one image. */
export const imageDir = (board: string, role: string): string => join(outputRoot(), 'images', `${board}-${role}`);

/** `p` as logs show it: relative to the checkout (or, installed, to the current directory) when inside it, else absolute. */
export function shownPath(p: string): string {
  const rel = relative(isCheckout() ? repoRoot : process.cwd(), p);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : p;
}
