/**
 * Keeping the redundancy: `check` reads every shard of every object and
 * reports what is intact, missing, corrupt or unreachable; `repair` rebuilds
 * the lost shards of each chunk from k intact ones onto other backends
 * (distinct failure groups first), rewrites the metadata (a new generation, on
 * reachable backends) and removes orphan shards (left by interrupted puts);
 * `status` summarises the backends. zstor's repair queue plays this role.
 */
import { Buffer } from 'node:buffer';
import type { Shards } from '../kernels/erasure.js';
import type { ObjectStore, ReadMetaResult } from './object-store.js';
import type { ObjectMeta } from './metadata.js';
import { parseShardKey, shardKey } from './object-format.js';

export type ShardStatus = 'ok' | 'missing' | 'corrupt' | 'unreachable';

export interface ObjectCheck {
  name: string;
  size: number;
  /** healthy: every shard and metadata shard intact; degraded: readable, redundancy reduced; lost: a chunk has fewer than k intact shards. */
  state: 'healthy' | 'degraded' | 'lost';
  shards: Record<ShardStatus, number>;
  /** Intact metadata shards / shards the layout has. */
  metaShards: string;
  /** Chunks with two shards in one failure group. */
  sharedGroups: number;
}

export interface CheckReport {
  objects: ObjectCheck[];
  /** Data shards no object refers to (interrupted puts), on reachable backends. */
  orphans: number;
  /** Metadata records that did not open (another secret) or could not be decoded. */
  foreign: number;
  unreadable: number;
  backends: Array<{ label: string; up: boolean }>;
  healthy: boolean;
}

interface ChunkScan {
  shards: Shards;
  status: ShardStatus[];
}

async function scanChunk(store: ObjectStore, meta: ObjectMeta, c: number): Promise<ChunkScan> {
  const got = await Promise.all(meta.chunks[c].s.map((_, i) => store.fetchShard(meta, c, i)));
  return { shards: got.map((g) => g.shard), status: got.map((g) => g.status) };
}

function sharedGroups(store: ObjectStore, meta: ObjectMeta): number {
  let n = 0;
  for (const ch of meta.chunks) {
    const groups = ch.s.map(([bi]) => store.pool.get(meta.backends[bi])?.group ?? meta.backends[bi]);
    if (new Set(groups).size < groups.length) n++;
  }
  return n;
}

async function checkObject(store: ObjectStore, r: ReadMetaResult): Promise<ObjectCheck> {
  const meta = r.meta;
  const counts: Record<ShardStatus, number> = { ok: 0, missing: 0, corrupt: 0, unreachable: 0 };
  let lost = false;
  for (let c = 0; c < meta.chunks.length; c++) {
    const s = await scanChunk(store, meta, c);
    for (const x of s.status) counts[x]++;
    if (s.status.filter((x) => x === 'ok').length < meta.k) lost = true;
  }
  const shared = sharedGroups(store, meta);
  const degraded = counts.ok < meta.chunks.length * (meta.k + meta.m) || r.shards < r.total;
  return { name: meta.name, size: meta.size, state: lost ? 'lost' : degraded ? 'degraded' : 'healthy', shards: counts, metaShards: `${r.shards}/${r.total}`, sharedGroups: shared };
}

/**
 * Data-shard keys per backend that no readable object places there: shards of
 * interrupted puts, and copies left on a backend that was down while `repair`
 * rebuilt them elsewhere.
 */
function orphanKeys(objects: ReadMetaResult[], keys: Map<string, Array<{ key: Buffer; timestamp: number }>>, olderThan: number): Map<string, Buffer[]> {
  const placed = new Set<string>();
  for (const { meta } of objects) {
    meta.chunks.forEach((ch, c) => ch.s.forEach(([bi], i) => placed.add(`${meta.backends[bi]} ${shardKey(meta.id, c, i).toString('hex')}`)));
  }
  const out = new Map<string, Buffer[]>();
  for (const [label, ks] of keys) {
    const list = ks
      .filter(({ key, timestamp }) => parseShardKey(key) !== null && !placed.has(`${label} ${key.toString('hex')}`) && timestamp <= olderThan)
      .map((x) => x.key);
    if (list.length) out.set(label, list);
  }
  return out;
}

/**
 * Reads every shard of every object and reports its state.
 * @throws WrongSecretError when no object opens with this secret
 */
export async function check(store: ObjectStore): Promise<CheckReport> {
  const { objects, foreign, unreadable, keys } = await store.listMeta();
  const results: ObjectCheck[] = [];
  for (const r of objects) results.push(await checkObject(store, r));
  const orphans = [...orphanKeys(objects, keys, Infinity).values()].reduce((a, l) => a + l.length, 0);
  const backends = store.pool.list.map((b) => ({ label: b.label, up: !store.pool.down.has(b.label) && keys.has(b.label) }));
  return { objects: results, orphans, foreign, unreadable, backends, healthy: results.every((o) => o.state === 'healthy') && unreadable === 0 };
}

export interface RepairReport {
  /** Objects whose shards or metadata were rewritten. */
  repaired: string[];
  shardsRewritten: number;
  /** Objects that cannot be repaired (a chunk below k intact shards). */
  lost: string[];
  orphansRemoved: number;
}

export interface RepairOptions {
  /** Orphan shards younger than this (seconds) are kept: a put may still be running. Default 3600. */
  orphanAgeSeconds?: number;
  onObject?: (name: string, index: number, total: number) => void;
}

/**
 * Restores full redundancy: rebuilds missing or corrupt shards onto reachable
 * backends (other failure groups first), rewrites degraded metadata, removes
 * orphan shards. Do not run while puts are in flight younger than orphanAgeSeconds.
 * @throws WrongSecretError when no object opens with this secret
 */
export async function repair(store: ObjectStore, opts: RepairOptions = {}): Promise<RepairReport> {
  const { objects, foreign, unreadable, keys } = await store.listMeta();
  const report: RepairReport = { repaired: [], shardsRewritten: 0, lost: [], orphansRemoved: 0 };
  for (const [n, r] of objects.entries()) {
    opts.onObject?.(r.meta.name, n, objects.length);
    const meta = r.meta;
    let changed = r.shards < r.total;
    const rs = store.coder(meta.k, meta.m);
    for (let c = 0; c < meta.chunks.length; c++) {
      const s = await scanChunk(store, meta, c);
      const bad = s.status.map((x, i) => (x === 'ok' ? -1 : i)).filter((i) => i >= 0);
      if (!bad.length) continue;
      if (s.shards.filter(Boolean).length < meta.k) {
        report.lost.push(meta.name);
        changed = false;
        break;
      }
      rs.reconstruct(s.shards);
      const keep = meta.chunks[c].s.filter((_, i) => s.status[i] === 'ok').map(([bi]) => meta.backends[bi]);
      const used = new Set(keep);
      const groups = new Set(keep.map((l) => store.pool.get(l)?.group ?? l));
      for (const i of bad) {
        const [target] = store.pool.place(1, c + i, used, groups);
        const key = shardKey(meta.id, c, i);
        await store.pool.run(target, (cl) => cl.set(key, s.shards[i]!));
        const old = store.pool.get(meta.backends[meta.chunks[c].s[i][0]]);
        if (old && old.label !== target.label && s.status[i] === 'corrupt') await store.pool.run(old, (cl) => cl.del(key)).catch(() => {});
        let bi = meta.backends.indexOf(target.label);
        if (bi < 0) bi = meta.backends.push(target.label) - 1;
        meta.chunks[c].s[i] = [bi, meta.chunks[c].s[i][1]];
        used.add(target.label);
        groups.add(target.group);
        report.shardsRewritten++;
        changed = true;
      }
    }
    if (changed && !report.lost.includes(meta.name)) {
      await store.writeMeta(meta);
      report.repaired.push(meta.name);
    }
  }
  // orphans are removed only when every metadata record was read: otherwise they may be another object's shards
  if (foreign === 0 && unreadable === 0) {
    const cutoff = Date.now() / 1000 - (opts.orphanAgeSeconds ?? 3600);
    for (const [label, list] of orphanKeys(objects, keys, cutoff)) {
      const b = store.pool.get(label)!;
      for (const k of list) if (await store.pool.run(b, (cl) => cl.del(k)).then(() => true, () => false)) report.orphansRemoved++;
    }
  }
  return report;
}

export interface StatusReport {
  dataShards: number;
  parityShards: number;
  backends: Array<{ label: string; group: string; up: boolean; entries?: number; dataBytes?: number; error?: string }>;
  objects?: number;
  bytes?: number;
}

/** Backend reachability and usage (0-db NSINFO), and the object count and bytes when listable. */
export async function status(store: ObjectStore): Promise<StatusReport> {
  const backends = await Promise.all(
    store.pool.list.map(async (b) => {
      try {
        const info = await store.pool.run(b, (c) => c.call('NSINFO', b.client.opts.namespace ?? 'default'));
        const text = Buffer.isBuffer(info) ? info.toString() : '';
        const field = (f: string) => Number(new RegExp(`^${f}: (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
        return { label: b.label, group: b.group, up: true, entries: field('entries'), dataBytes: field('data_size_bytes') };
      } catch (err) {
        return { label: b.label, group: b.group, up: false, error: (err as Error).message };
      }
    }),
  );
  const out: StatusReport = { dataShards: store.config.dataShards, parityShards: store.config.parityShards, backends };
  try {
    const list = await store.list();
    out.objects = list.length;
    out.bytes = list.reduce((a, o) => a + o.size, 0);
  } catch {
    /* a wrong secret: status still reports the backends */
  }
  return out;
}
