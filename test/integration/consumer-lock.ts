/**
 * An npm lockfile (v3) for an empty consumer project that depends on a packed
 * tfw tarball, built from the repository's own package-lock.json: the closure of
 * tfw's dependencies (plus any extra roots, e.g. @types/node) at the positions
 * the repository's tree holds them. With it `npm ci --offline` installs from the
 * npm cache that the repository's `npm ci` filled, which holds tarballs but not
 * the registry metadata a plain `npm install <tarball>` would need to resolve
 * version ranges (that fails offline with ENOTCACHED).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  peer?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [key: string]: unknown;
}
interface Lockfile {
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
}

/** 'node_modules/a/node_modules/b' -> 'node_modules/a'; 'node_modules/@s/a' -> ''. */
function parentOf(path: string): string {
  const i = path.lastIndexOf('/node_modules/');
  return i < 0 ? '' : path.slice(0, i);
}

/** Where Node's resolution from `from` finds `name` in the lock's tree, or undefined. */
function resolveIn(lock: Lockfile, from: string, name: string): string | undefined {
  for (let p = from; ; p = parentOf(p)) {
    const candidate = `${p ? `${p}/` : ''}node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (p === '') return undefined;
  }
}

/**
 * The lock entries needed by `roots` (package names resolved from the top of the
 * repository's tree), dev flags cleared since they are production deps here.
 * Throws when a non-optional dependency is missing from the lock.
 */
export function lockClosure(lock: Lockfile, roots: string[]): Record<string, LockEntry> {
  const out: Record<string, LockEntry> = {};
  const queue: Array<[string, string, boolean]> = roots.map((r) => ['', r, false]);
  while (queue.length) {
    const [from, name, optional] = queue.shift()!;
    const at = resolveIn(lock, from, name);
    if (at === undefined) {
      if (optional) continue;
      throw new Error(`package-lock.json: ${name} (needed from ${from || 'the root'}) is not in the repository's tree; expected npm ci to have installed it`);
    }
    if (out[at]) continue;
    const { dev: _d, devOptional: _o, peer: _p, ...entry } = lock.packages[at]!;
    out[at] = entry;
    for (const d of Object.keys(entry.dependencies ?? {})) queue.push([at, d, false]);
    for (const d of Object.keys(entry.optionalDependencies ?? {})) queue.push([at, d, true]);
    for (const d of Object.keys(entry.peerDependencies ?? {})) queue.push([at, d, entry.peerDependenciesMeta?.[d]?.optional === true]);
  }
  return out;
}

/**
 * package.json and package-lock.json texts for a consumer of `tarball` (which
 * must sit in the consumer's folder), also depending on `extra` packages taken
 * at the repository's versions.
 */
export function consumerProject(repoLockPath: string, repoPkg: { name: string; version: string; dependencies: Record<string, string>; [k: string]: unknown }, tarball: string, extra: string[]): { packageJson: string; lockJson: string } {
  const lock = JSON.parse(readFileSync(repoLockPath, 'utf8')) as Lockfile;
  const spec = `file:${basename(tarball)}`;
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  const deps: Record<string, string> = { [repoPkg.name]: spec };
  for (const e of extra) deps[e] = lock.packages[`node_modules/${e}`]?.version ?? '*';
  const closure = lockClosure(lock, [...Object.keys(repoPkg.dependencies), ...extra]);
  const self: LockEntry = { version: repoPkg.version, resolved: spec, integrity, dependencies: repoPkg.dependencies };
  for (const k of ['license', 'bin', 'engines', 'os']) if (repoPkg[k] !== undefined) self[k] = repoPkg[k];
  // The repository's overrides (a pinned cbor-extract) hold for the copied tree, so the consumer states them too.
  const root = { name: 'tfw-consumer', version: '1.0.0', private: true, type: 'module', dependencies: deps, ...(repoPkg.overrides ? { overrides: repoPkg.overrides } : {}) };
  const packages: Record<string, LockEntry> = { '': { name: root.name, version: root.version, dependencies: deps }, [`node_modules/${repoPkg.name}`]: self, ...closure };
  return {
    packageJson: `${JSON.stringify(root, null, 2)}\n`,
    lockJson: `${JSON.stringify({ name: root.name, version: root.version, lockfileVersion: 3, requires: true, packages }, null, 2)}\n`,
  };
}
