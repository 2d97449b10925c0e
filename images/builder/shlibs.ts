/**
 * Copies an executable and exactly the shared libraries it needs: a breadth-first
 * walk of DT_NEEDED entries (like ldd, but reading the ELF headers of the target
 * arch directly), resolved in the multiarch library folders the way ld.so
 * searches them without an ld.so.cache, plus the program interpreter.
 */
import { readFileSync } from 'node:fs';
import { TfwError } from '../../runtime/errors.js';
import { resolveInIndex, type TreeNode } from './deb.js';
import { ELF_MACHINE as MACHINE, readElf } from './elf.js';
import type { RootFs } from './rootfs.js';

/** Debian multiarch triplet and ELF machine per tfw arch. */
export const TRIPLET = { x86_64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' } as const;

/** Adds `exe` and its library closure to `fs`; returns the image paths of the libraries. */
export function addWithLibraries(index: Map<string, TreeNode>, exe: string, arch: 'x86_64' | 'arm64', fs: RootFs): string[] {
  const dirs = [`/usr/lib/${TRIPLET[arch]}`, '/usr/lib'];
  const libs: string[] = [];
  const queue: string[] = [fs.fromIndex(index, exe)];
  const done = new Set<string>();
  let interp: string | undefined;
  while (queue.length) {
    const real = queue.shift()!;
    if (done.has(real)) continue;
    done.add(real);
    const node = index.get(real);
    if (node?.kind !== 'file') continue;
    const elf = readElf(readFileSync(node.host), real);
    if (elf.machine !== MACHINE[arch]) throw new TfwError('ERR_TFW_IMAGE', `${real}: ELF machine ${elf.machine}, expected ${MACHINE[arch]} for ${arch}`);
    if (elf.interp && !interp) {
      interp = elf.interp;
      queue.push(fs.fromIndex(index, elf.interp));
    }
    for (const soname of elf.needed) {
      const found = dirs.map((d) => `${d}/${soname}`).find((p) => resolveInIndex(index, p));
      if (!found) throw new TfwError('ERR_TFW_IMAGE', `${real} needs ${soname}, which no pinned package provides`);
      const r = fs.fromIndex(index, found);
      if (!done.has(r)) {
        libs.push(found);
        queue.push(r);
      }
    }
  }
  // The interpreter path itself (e.g. /lib64/ld-linux-x86-64.so.2) must exist as spelled.
  if (interp && interp.startsWith('/lib')) fs.fromIndex(index, interp);
  return [...new Set(libs)].sort();
}
