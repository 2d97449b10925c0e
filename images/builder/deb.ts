/**
 * Extracting .deb files (dpkg-deb -x) into a cache keyed by the package's
 * sha256, and indexing their trees with merged-/usr paths (/lib, /lib64, /bin
 * and /sbin folded into /usr, as Debian's usrmerge lays them out) so lookups
 * do not care which of the two spellings a package used.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';

/** Extracts `deb` once into `<cacheDir>/<sha256>/`; returns that folder. */
export function extractDeb(deb: string, sha256: string, cacheDir: string): string {
  const dir = join(cacheDir, sha256);
  if (existsSync(join(dir, '.tfw-extracted'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync('dpkg-deb', ['-x', deb, tmp], { stdio: ['ignore', 'ignore', 'pipe'] });
  writeFileSync(join(tmp, '.tfw-extracted'), '');
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

/** A file or symlink of an extracted package, by its merged-/usr image path. */
export type TreeNode = { kind: 'file'; host: string; mode: number; pkg: string } | { kind: 'symlink'; target: string; pkg: string } | { kind: 'dir'; pkg: string };

/** Folds /lib, /lib64, /bin and /sbin into /usr (usrmerge). Paths are absolute POSIX. */
export function usrMerge(p: string): string {
  return p.replace(/^\/(lib64|lib|bin|sbin)(\/|$)/, '/usr/$1$2');
}

/** Adds every entry of an extracted package to `index` (later packages do not override). */
export function indexTree(root: string, pkg: string, index: Map<string, TreeNode>): void {
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      if (rel === '' && name === '.tfw-extracted') continue;
      const r = `${rel}/${name}`;
      const host = join(root, r);
      const st = lstatSync(host);
      const key = usrMerge(r);
      if (st.isSymbolicLink()) {
        if (!index.has(key)) index.set(key, { kind: 'symlink', target: readlinkSync(host), pkg });
      } else if (st.isDirectory()) {
        if (!index.has(key)) index.set(key, { kind: 'dir', pkg });
        walk(r);
      } else if (st.isFile()) {
        if (!index.has(key)) index.set(key, { kind: 'file', host, mode: st.mode & 0o7777, pkg });
      }
    }
  };
  walk('');
}

/**
 * Follows symlinks inside the index, in any path component: returns the
 * symlinks visited followed by the final file or folder, or undefined when
 * the path is missing.
 */
export function resolveInIndex(index: Map<string, TreeNode>, path: string): string[] | undefined {
  const chain: string[] = [];
  let p = usrMerge(posix.normalize(path));
  outer: for (let hops = 0; hops < 40; hops++) {
    const parts = p.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const prefix = `/${parts.slice(0, i).join('/')}`;
      const n = index.get(prefix);
      if (!n) return undefined;
      if (n.kind === 'symlink') {
        chain.push(prefix);
        const t = n.target.startsWith('/') ? n.target : posix.join(posix.dirname(prefix), n.target);
        p = usrMerge(posix.normalize(posix.join(t, ...parts.slice(i))));
        continue outer;
      }
    }
    chain.push(p);
    return chain;
  }
  return undefined;
}
