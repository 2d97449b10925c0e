/** Well-known paths of the checkout: repo root, build outputs and the package cache. */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout root (images/builder/../..). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Downloaded .deb files, checked against the lock on every use. */
export const debCacheDir = (): string => process.env.TFW_DEB_CACHE ?? join(repoRoot, '.cache/debs');
/** Extracted packages, keyed by the .deb's sha256 (so a changed .deb never reuses a tree). */
export const extractCacheDir = (): string => process.env.TFW_EXTRACT_CACHE ?? join(repoRoot, '.cache/extract');
/** The committed lock of pinned Debian packages. */
export const lockPath = (): string => process.env.TFW_PACKAGES_LOCK ?? join(repoRoot, 'images/packages.lock.json');
/** Default output folder of one image. */
export const imageDir = (board: string, role: string): string => join(repoRoot, 'build/images', `${board}-${role}`);
