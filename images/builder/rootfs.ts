/**
 * The image's root file system as an in-memory tree, written out as a sorted,
 * fixed-owner cpio archive. Parent folders are added implicitly with mode 0755,
 * so the archive never depends on the host's umask or file order.
 */
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { TfwError } from '../../runtime/errors.js';
import { writeCpio, type CpioEntry } from './cpio.js';
import { resolveInIndex, type TreeNode } from './deb.js';

type Node = { type: 'dir'; mode: number } | { type: 'file'; mode: number; data: Uint8Array } | { type: 'symlink'; target: string };

export class RootFs {
  private readonly nodes = new Map<string, Node>();

  /** Number of entries and total file bytes (for the manifest). */
  stats(): { entries: number; bytes: number } {
    let bytes = 0;
    for (const n of this.nodes.values()) if (n.type === 'file') bytes += n.data.length;
    return { entries: this.nodes.size, bytes };
  }

  has(path: string): boolean {
    return this.nodes.has(norm(path));
  }

  dir(path: string, mode = 0o755): void {
    const p = norm(path);
    if (p === '') return;
    this.dir(posix.dirname(p) === '.' ? '' : posix.dirname(p));
    const n = this.nodes.get(p);
    if (n && n.type !== 'dir') throw new TfwError('ERR_TFW_IMAGE', `rootfs: /${p} is already a ${n.type}, cannot make it a folder`);
    if (!n || mode !== 0o755) this.nodes.set(p, { type: 'dir', mode });
  }

  /** Adds a regular file; executables get 0755, everything else 0644 unless `mode` is given. */
  file(path: string, data: Uint8Array | string, mode = 0o644): void {
    const p = norm(path);
    this.dir(posix.dirname(p) === '.' ? '' : posix.dirname(p));
    this.nodes.set(p, { type: 'file', mode, data: typeof data === 'string' ? Buffer.from(data, 'utf8') : data });
  }

  symlink(path: string, target: string): void {
    const p = norm(path);
    this.dir(posix.dirname(p) === '.' ? '' : posix.dirname(p));
    this.nodes.set(p, { type: 'symlink', target });
  }

  /**
   * Copies `path` from the package index, with every symlink met on the way,
   * so sonames and their targets both exist. Returns the final (real) path.
   */
  fromIndex(index: Map<string, TreeNode>, path: string): string {
    const chain = resolveInIndex(index, path);
    if (!chain) throw new TfwError('ERR_TFW_IMAGE', `rootfs: ${path} is not in any pinned package`);
    for (const p of chain) {
      const n = index.get(p)!;
      if (n.kind === 'symlink') this.symlink(p, n.target);
      else if (n.kind === 'file') this.file(p, readFileSync(n.host), n.mode & 0o111 ? 0o755 : 0o644);
      else this.dir(p);
    }
    return chain[chain.length - 1];
  }

  /** The archive: entries sorted by path bytes, owners 0:0, all mtimes `mtime`. */
  toCpio(mtime: number): Buffer {
    const paths = [...this.nodes.keys()].sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
    const entries: CpioEntry[] = paths.map((path) => {
      const n = this.nodes.get(path)!;
      return n.type === 'symlink' ? { path, type: 'symlink', target: n.target } : n.type === 'dir' ? { path, type: 'dir', mode: n.mode } : { path, type: 'file', mode: n.mode, data: n.data };
    });
    return writeCpio(entries, mtime);
  }
}

const norm = (p: string): string => posix.normalize(`/${p}`).replace(/^\/+/, '').replace(/\/$/, '');
