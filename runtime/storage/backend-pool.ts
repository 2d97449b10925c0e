/**
 * The configured backends of an object store: one ZdbClient each, their
 * failure groups, which ones failed in this session, and shard placement:
 * the k+m shards of a chunk go to distinct failure groups when there are
 * enough (issue 16: never two shards of one object on one node when avoidable),
 * rotating with the chunk index so load spreads evenly.
 */
import { BackendError } from './errors.js';
import type { BackendConfig } from './store-config.js';
import { ZdbClient } from './zdb-client.js';

export interface PooledBackend {
  /** `address/namespace`, as metadata records it. */
  label: string;
  group: string;
  client: ZdbClient;
}

export class BackendPool {
  readonly list: PooledBackend[];
  private readonly byLabel = new Map<string, PooledBackend>();
  /** Labels of backends that failed a request in this session (skipped for new writes). */
  readonly down = new Set<string>();

  constructor(configs: BackendConfig[], timeoutMs?: number) {
    this.list = configs.map((c) => {
      const client = new ZdbClient({ address: c.address, namespace: c.namespace, password: c.password, timeoutMs });
      return { label: client.label, group: c.group ?? c.address, client };
    });
    for (const b of this.list) this.byLabel.set(b.label, b);
  }

  get(label: string): PooledBackend | undefined {
    return this.byLabel.get(label);
  }

  up(): PooledBackend[] {
    return this.list.filter((b) => !this.down.has(b.label));
  }

  /** Runs `fn` on backend `b`; a network failure marks it down and rethrows. */
  async run<T>(b: PooledBackend, fn: (c: ZdbClient) => Promise<T>): Promise<T> {
    try {
      return await fn(b.client);
    } catch (err) {
      if (err instanceof BackendError && err.kind === 'network') this.down.add(b.label);
      throw err;
    }
  }

  /**
   * `count` backends for one chunk, in order of preference: distinct failure
   * groups outside `avoidGroups` and `exclude` (rotated by `seed`), then other
   * backends outside `exclude`, then, when unavoidable, backends in `exclude`
   * or repeats. Down backends are never chosen.
   * @throws BackendError when no backend is up
   */
  place(count: number, seed: number, exclude: ReadonlySet<string> = new Set(), avoidGroups: ReadonlySet<string> = new Set()): PooledBackend[] {
    const up = this.up();
    if (!up.length) throw new BackendError('*', `no backend is reachable to place ${count} shards (${this.down.size} down)`);
    const n = up.length;
    const rotated = up.map((_, i) => up[(i + seed) % n]);
    const out: PooledBackend[] = [];
    const usedGroups = new Set(avoidGroups);
    const used = new Set<string>();
    const take = (ok: (b: PooledBackend) => boolean) => {
      for (const b of rotated) {
        if (out.length === count) return;
        if (used.has(b.label) || !ok(b)) continue;
        used.add(b.label);
        usedGroups.add(b.group);
        out.push(b);
      }
    };
    take((b) => !exclude.has(b.label) && !usedGroups.has(b.group));
    take((b) => !exclude.has(b.label));
    take(() => true);
    for (let i = 0; out.length < count; i++) out.push(rotated[i % n]);
    return out;
  }

  close(): void {
    for (const b of this.list) b.client.close();
  }
}
