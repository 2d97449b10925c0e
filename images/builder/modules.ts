/**
 * Kernel modules for the image: the board's and role's module names, plus
 * everything they depend on (each module's `.modinfo` `depends=`), copied from
 * the pinned kernel package; then depmod(8) writes modules.dep & co. for the
 * smaller tree so modprobe in the guest resolves the same dependencies.
 * Modules built into the kernel (modules.builtin) are skipped.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { TfwError } from '../../runtime/errors.js';
import type { TreeNode } from './deb.js';
import { moduleDepends } from './elf.js';
import type { RootFs } from './rootfs.js';

const canon = (name: string) => name.replace(/-/g, '_');

export interface ModuleSelection {
  /** Modules to load at boot, in order (their dependencies are loaded by modprobe). */
  load: string[];
  /** Every module file copied, as image paths. */
  files: string[];
  /** Requested modules that are built into the kernel. */
  builtin: string[];
}

function readModuleData(n: TreeNode, path: string): Buffer {
  if (n.kind !== 'file') throw new TfwError('ERR_TFW_IMAGE', `${path}: expected a module file`);
  const raw = readFileSync(n.host);
  if (path.endsWith('.xz')) return execFileSync('xz', ['-dc'], { input: raw, maxBuffer: 1 << 30 });
  if (path.endsWith('.zst')) return execFileSync('zstd', ['-dcq'], { input: raw, maxBuffer: 1 << 30 });
  return raw;
}

/**
 * Adds the modules `wanted` (and their dependencies) of kernel `kver` to `fs`
 * and writes depmod's index files. `who` maps a module name to the config that
 * asked for it, for error messages. Throws when a module does not exist.
 */
export function addModules(index: Map<string, TreeNode>, kver: string, wanted: string[], who: Map<string, string>, fs: RootFs): ModuleSelection {
  const base = `/usr/lib/modules/${kver}`;
  const byName = new Map<string, string>();
  for (const p of index.keys()) {
    if (!p.startsWith(`${base}/kernel/`)) continue;
    const m = /\/([^/]+)\.ko(\.xz|\.zst)?$/.exec(p);
    if (m) byName.set(canon(m[1]), p);
  }
  const builtinNode = index.get(`${base}/modules.builtin`);
  const builtinSet = new Set(
    builtinNode?.kind === 'file'
      ? readFileSync(builtinNode.host, 'utf8').split('\n').filter(Boolean).map((l) => canon(posix.basename(l).replace(/\.ko$/, '')))
      : [],
  );
  const sel: ModuleSelection = { load: [], files: [], builtin: [] };
  const data = new Map<string, Buffer>();
  const visit = (name: string, from: string) => {
    const c = canon(name);
    if (data.has(c)) return;
    if (builtinSet.has(c)) return;
    const path = byName.get(c);
    if (!path) throw new TfwError('ERR_TFW_IMAGE', `${from}: kernel module "${name}" is neither in ${kver} nor built in`);
    const ko = readModuleData(index.get(path)!, path);
    data.set(c, ko);
    for (const d of moduleDepends(ko, path)) visit(d, `${path.slice(base.length + 1)} (depends=)`);
  };
  for (const w of wanted) {
    const c = canon(w);
    if (builtinSet.has(c)) {
      if (!sel.builtin.includes(c)) sel.builtin.push(c);
      continue;
    }
    visit(w, who.get(w) ?? 'modules');
    if (!sel.load.includes(c)) sel.load.push(c);
  }

  // depmod works on a real tree: stage the chosen modules, run it, keep its text indexes.
  const stage = mkdtempSync(join(tmpdir(), 'tfw-depmod-'));
  try {
    const modDir = join(stage, 'lib/modules', kver);
    for (const [c, ko] of [...data.entries()].sort()) {
      const rel = byName.get(c)!.slice(base.length + 1).replace(/\.(xz|zst)$/, '');
      mkdirSync(join(modDir, posix.dirname(rel)), { recursive: true });
      writeFileSync(join(modDir, rel), ko);
      fs.file(`${base}/${rel}`, ko, 0o644);
      sel.files.push(`${base}/${rel}`);
    }
    for (const f of ['modules.builtin', 'modules.builtin.modinfo', 'modules.order']) {
      const n = index.get(`${base}/${f}`);
      if (n?.kind === 'file') {
        const b = readFileSync(n.host);
        writeFileSync(join(modDir, f), b);
        fs.file(`${base}/${f}`, b, 0o644);
      }
    }
    execFileSync('depmod', ['-b', stage, kver], { stdio: ['ignore', 'ignore', 'pipe'] });
    for (const f of readdirSync(modDir).sort()) {
      if (/^modules\.(dep|alias|symbols|softdep|devname|builtin\.alias)$/.test(f)) fs.file(`${base}/${f}`, readFileSync(join(modDir, f)), 0o644);
    }
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  sel.files.sort();
  return sel;
}
