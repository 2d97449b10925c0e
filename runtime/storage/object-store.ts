/**
 * The object store client (`tfw/storage`): objects are cut into chunks, each
 * compressed, sealed and erasure-coded into k+m shards on distinct backends
 * (object-format.ts); the metadata is sealed and spread over backends too
 * (metadata.ts). This file holds put, get, list and remove; check, repair and
 * status are in maintenance.ts.
 *
 * Put order makes failures safe: all data shards first, the metadata last, so
 * a put that dies midway leaves no visible object and no metadata pointing at
 * missing shards (the written shards are removed, or later collected by
 * `repair` as orphans). Replacing an object deletes the old shards only after
 * the new metadata is in place.
 */
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { ReedSolomon, type Shards } from '../kernels/erasure.js';
import type { BackendOptions } from '../kernels/backend.js';
import { BackendPool, type PooledBackend } from './backend-pool.js';
import { BackendError, CorruptRecordError, DataLostError, NotFoundError, WrongSecretError } from './errors.js';
import { decodeMeta, encodeMeta, isMetaRecordKey, metaRecordKey, metaShape, type ChunkMeta, type ObjectMeta } from './metadata.js';
import { decodeChunk, encodeChunk, META_VERSION, type ChunkBuffers, OBJECT_ID_BYTES, objectKey, shardKey, shardSum } from './object-format.js';
import { rechunk } from './rechunk.js';
import type { StoreConfig } from './store-config.js';

export interface ObjectInfo {
  name: string;
  /** Plaintext bytes. */
  size: number;
  /** Unix ms. */
  created: number;
  chunks: number;
  dataShards: number;
  parityShards: number;
}

export interface ObjectStoreOptions extends BackendOptions {
  /** Per-request deadline for backends, ms (default 20000). */
  timeoutMs?: number;
  /** One line per event, without the `tfw: store:` prefix (default: none). */
  log?: (msg: string) => void;
  /** Chunks in flight during put and get (default 2): memory is about this x chunkSize x (k+m)/k x 2. */
  window?: number;
}

export interface PutOptions {
  /** Called after each chunk is stored, with the plaintext bytes done so far. */
  onProgress?: (bytes: number) => void;
  /** Test seam: called before each shard write; throwing aborts the put there. */
  beforeShardWrite?: (chunk: number, shard: number) => void;
}

export interface ReadOptions {
  /** Called after each chunk is read, with the plaintext bytes done so far. */
  onProgress?: (bytes: number) => void;
  /**
   * Yield every uncompressed chunk as a view of one buffer that the next chunk
   * overwrites (default false: each piece is its own buffer). The consumer must
   * be done with a piece (written out, copied) before it asks for the next;
   * it saves faulting in a fresh chunk-sized buffer per chunk.
   */
  reuse?: boolean;
}

export interface ReadMetaResult {
  meta: ObjectMeta;
  /** Intact metadata shards found, and how many the layout has. */
  shards: number;
  total: number;
  /** Labels of the backends holding an intact shard of this generation. */
  holders: string[];
}

export const toInfo = (m: ObjectMeta): ObjectInfo => ({ name: m.name, size: m.size, created: m.created, chunks: m.chunks.length, dataShards: m.k, parityShards: m.m });

const seedOf = (b: Uint8Array) => Buffer.from(b).readUInt32LE(0);

export class ObjectStore {
  readonly pool: BackendPool;
  readonly secret: Uint8Array;
  private readonly rs: ReedSolomon;
  private readonly log: (m: string) => void;
  private readonly window: number;

  /**
   * @throws RangeError for a (k, m) the erasure kernel refuses; BackendUnavailableError when no kernel loads
   */
  constructor(readonly config: StoreConfig, private readonly opts: ObjectStoreOptions = {}) {
    this.secret = new Uint8Array(Buffer.from(config.secret, 'base64'));
    this.pool = new BackendPool(config.backends, opts.timeoutMs);
    this.rs = new ReedSolomon(config.dataShards, Math.max(1, config.parityShards), { backend: opts.backend });
    this.log = opts.log ?? (() => {});
    this.window = Math.max(1, opts.window ?? 2);
  }

  /** A coder for a stored object's shape (the config's, or another from older metadata). */
  coder(k: number, m: number): ReedSolomon {
    return k === this.rs.dataShards && m === this.rs.parityShards ? this.rs : new ReedSolomon(k, m, { backend: this.opts.backend });
  }

  /**
   * Stores `source` under `name`, replacing an object of that name once the new one is complete.
   * @param source bytes, or a stream of any-sized pieces (read chunk by chunk: memory stays bounded)
   * @returns the stored object's info
   * @throws BackendError when shards or metadata cannot be stored (nothing becomes visible);
   *         WrongSecretError when `name` exists under another secret
   */
  async put(name: string, source: Uint8Array | AsyncIterable<Uint8Array>, opts: PutOptions = {}): Promise<ObjectInfo> {
    const { dataShards: k, parityShards: m, chunkSize, compression } = this.config;
    const old = await this.readMeta(name).catch((err) => {
      if (err instanceof WrongSecretError) throw err;
      return null; // unreadable old metadata: the new object replaces it
    });
    const id = randomBytes(OBJECT_ID_BYTES);
    const key = objectKey(this.secret, id);
    const labels: string[] = [];
    const labelIndex = (l: string) => {
      let i = labels.indexOf(l);
      if (i < 0) i = labels.push(l) - 1;
      return i;
    };
    const chunks: ChunkMeta[] = [];
    const written: Array<{ b: PooledBackend; key: Buffer }> = [];
    const inflight: Array<Promise<void>> = [];
    // sealed and parity buffers of stored chunks, reused (at most window + 1 sets are live)
    const spare: ChunkBuffers[] = [];
    let size = 0;
    let index = 0;
    try {
      for await (const plain of rechunk(source, chunkSize)) {
        const c = index++;
        const enc = encodeChunk(key, id, c, plain, this.rs, compression, spare.pop());
        const meta: ChunkMeta = { n: enc.sealedLength, z: enc.compressed ? 1 : 0, s: [] };
        chunks.push(meta);
        const targets = this.pool.place(k + m, c + seedOf(id));
        const used = new Set(targets.map((t) => t.label));
        // allSettled: a failed chunk settles only when all its shard writes have, so cleanup sees every written shard
        const job = Promise.allSettled(
          enc.shards.map(async (shard, i) => {
            opts.beforeShardWrite?.(c, i);
            const sk = shardKey(id, c, i);
            const b = await this.storeShard(targets[i], sk, shard, used, c + i);
            written.push({ b, key: sk });
            meta.s[i] = [labelIndex(b.label), enc.sums[i]];
          }),
        ).then((results) => {
          const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
          if (failed) throw failed.reason;
          spare.push(enc.buffers); // every write of this chunk is answered: its buffers are free
          size += plain.length;
          opts.onProgress?.(size);
        });
        job.catch(() => {}); // awaited below; a rejection before that must not be unhandled
        inflight.push(job);
        if (inflight.length >= this.window) await inflight.shift();
      }
      await Promise.all(inflight);
      const meta: ObjectMeta = { v: META_VERSION, name, size, created: Date.now(), k, m, chunkSize, id, backends: labels, chunks };
      await this.writeMeta(meta);
      if (old) await this.deleteShards(old.meta);
      this.log(`put ${JSON.stringify(name)}: ${size} bytes, ${chunks.length} chunks, (${k},${m}) over ${labels.length} backends`);
      return toInfo(meta);
    } catch (err) {
      await Promise.allSettled(inflight);
      await Promise.allSettled(written.map(({ b, key: sk }) => this.pool.run(b, (cl) => cl.del(sk))));
      this.log(`put ${JSON.stringify(name)} failed after ${written.length} shards (removed): ${(err as Error).message}`);
      throw err;
    }
  }

  /** Writes one shard to `b`, or, when `b` fails, to another backend this chunk does not use yet. */
  private async storeShard(b: PooledBackend, key: Buffer, shard: Uint8Array, used: Set<string>, seed: number): Promise<PooledBackend> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.pool.run(b, (c) => c.set(key, shard));
        return b;
      } catch (err) {
        if (!(err instanceof BackendError) || err.kind !== 'network' || attempt >= this.pool.list.length) throw err;
        this.log(`shard ${key.toString('hex')}: ${err.message}; placing it elsewhere`);
        const groups = new Set(this.pool.list.filter((x) => used.has(x.label)).map((x) => x.group));
        [b] = this.pool.place(1, seed + attempt, used, groups);
        used.add(b.label);
      }
    }
  }

  /**
   * Reads the metadata of `name` from every backend.
   * @returns null when no backend has it
   * @throws WrongSecretError, DataLostError (see decodeMeta)
   */
  async readMeta(name: string): Promise<ReadMetaResult | null> {
    return this.readMetaRecord(metaRecordKey(name), JSON.stringify(name));
  }

  async readMetaRecord(recordKey: Buffer, what: string): Promise<ReadMetaResult | null> {
    const values = await Promise.all(this.pool.list.map((b) => (this.pool.down.has(b.label) ? null : this.pool.run(b, (c) => c.get(recordKey)).catch(() => null))));
    const r = decodeMeta(this.secret, recordKey, values, what);
    if (!r) return null;
    const holders = this.pool.list.filter((_, i) => values[i] && values[i]!.length > 24 && Buffer.from(values[i]!).subarray(8, 24).equals(r.generation)).map((b) => b.label);
    return { meta: r.meta, shards: r.shards, total: r.total, holders };
  }

  /**
   * Seals, codes and stores the metadata on distinct backends, then removes
   * older generations from the others.
   * @throws BackendError when fewer than all of its shards could be stored (those written are removed)
   */
  async writeMeta(meta: ObjectMeta): Promise<void> {
    const up = this.pool.up();
    const { k, m } = metaShape(Math.min(this.pool.list.length, Math.max(up.length, 1)));
    const values = encodeMeta(this.secret, meta, k, m);
    const rk = metaRecordKey(meta.name);
    const targets = this.pool.place(k + m, seedOf(rk.subarray(1)));
    const used = new Set(targets.map((t) => t.label));
    const done: PooledBackend[] = [];
    try {
      await Promise.all(
        values.map(async (v, i) => {
          done.push(await this.storeShard(targets[i], rk, v, used, i));
        }),
      );
    } catch (err) {
      await Promise.allSettled(done.map((b) => this.pool.run(b, (c) => c.del(rk))));
      throw err;
    }
    const holders = new Set(done.map((b) => b.label));
    await Promise.allSettled(this.pool.up().filter((b) => !holders.has(b.label)).map((b) => this.pool.run(b, (c) => c.del(rk))));
  }

  /** NotFoundError, saying when unreachable backends may hold the metadata. */
  private notFound(name: string): NotFoundError {
    const down = this.pool.down.size;
    return new NotFoundError(`no object named ${JSON.stringify(name)}${down ? ` on the reachable backends (${down} of ${this.pool.list.length} unreachable)` : ''}`);
  }

  /** Info of one object. @throws NotFoundError */
  async stat(name: string): Promise<ObjectInfo> {
    const r = await this.readMeta(name);
    if (!r) throw this.notFound(name);
    return toInfo(r.meta);
  }

  /**
   * Reads an object chunk by chunk (the next chunk is fetched while one is decoded).
   * @param opts a progress callback (or ReadOptions: progress, buffer reuse)
   * @throws NotFoundError; WrongSecretError; DataLostError when a chunk has fewer than k intact shards
   */
  async *read(name: string, opts?: ((bytes: number) => void) | ReadOptions): AsyncGenerator<Uint8Array> {
    const { onProgress, reuse = false } = typeof opts === 'function' ? { onProgress: opts } : (opts ?? {});
    const r = await this.readMeta(name);
    if (!r) throw this.notFound(name);
    const meta = r.meta;
    const key = objectKey(this.secret, meta.id);
    const rs = this.coder(meta.k, meta.m);
    const ahead: Array<{ shards: Promise<Shards>; dest: Buffer }> = [];
    // receive buffers of decoded chunks, reused (at most window + 1 are live)
    const spare: Buffer[] = [];
    // the plaintext buffer every chunk is opened into, with `reuse`
    const plainBuf = reuse ? Buffer.allocUnsafe(meta.chunkSize) : undefined;
    let done = 0;
    for (let c = 0; c < meta.chunks.length; c++) {
      while (ahead.length < this.window && c + ahead.length < meta.chunks.length) {
        const dest = spare.pop() ?? Buffer.allocUnsafe(Math.ceil((meta.chunkSize + 16) / meta.k) * meta.k) /* sealed = plain + 16-byte tag */;
        const p = this.fetchChunk(meta, c + ahead.length, false, dest);
        p.catch(() => {});
        ahead.push({ shards: p, dest });
      }
      const next = ahead.shift()!;
      const shards = await next.shards;
      let plain: Uint8Array;
      try {
        plain = decodeChunk(key, meta.id, c, shards, meta.chunks[c].n, meta.chunks[c].z === 1, rs, plainBuf);
        spare.push(next.dest); // decodeChunk copied out of it (the plaintext is in its own buffer or plainBuf)
      } catch (err) {
        if (!(err instanceof CorruptRecordError)) throw err;
        // the fast path skipped the shard checksums; the AEAD tag caught a bad shard: find it, rebuild without it
        this.log(`chunk ${c} of ${JSON.stringify(name)}: ${err.message}; checking shard checksums`);
        plain = decodeChunk(key, meta.id, c, await this.fetchChunk(meta, c, true), meta.chunks[c].n, meta.chunks[c].z === 1, rs, plainBuf);
      }
      done += plain.length;
      onProgress?.(done);
      yield plain;
    }
  }

  /** Reads a whole object into memory. */
  async get(name: string): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for await (const p of this.read(name)) parts.push(p);
    return Buffer.concat(parts);
  }

  /**
   * Fetches one stored shard and checks it against its checksum (unless `verify`
   * is false: `read` relies on the AEAD tag first); null when missing,
   * unreachable or corrupt. `status` says which. `into` (optional): where a
   * shard of that exact length is received (see ZdbClient.get).
   */
  async fetchShard(meta: ObjectMeta, c: number, i: number, verify = true, into?: Uint8Array): Promise<{ shard: Uint8Array | null; status: 'ok' | 'missing' | 'corrupt' | 'unreachable' }> {
    const entry = meta.chunks[c].s[i];
    const b = entry ? this.pool.get(meta.backends[entry[0]]) : undefined;
    if (!b || this.pool.down.has(b.label)) return { shard: null, status: 'unreachable' };
    let v: Buffer | null;
    try {
      v = await this.pool.run(b, (cl) => cl.get(shardKey(meta.id, c, i), into));
    } catch (err) {
      if (err instanceof BackendError && err.kind === 'reply') return { shard: null, status: 'corrupt' }; // the backend's own checksum failed
      return { shard: null, status: 'unreachable' };
    }
    if (!v) return { shard: null, status: 'missing' };
    if (verify && !shardSum(v, meta.v).equals(Buffer.from(entry[1]))) {
      this.log(`shard ${i} of chunk ${c} of ${JSON.stringify(meta.name)} on ${b.label}: checksum mismatch, ignored`);
      return { shard: null, status: 'corrupt' };
    }
    return { shard: v, status: 'ok' };
  }

  /**
   * The shards of chunk `c`: the k data shards first (no decoding needed when
   * all are intact), then parity shards for those that failed. The data shards
   * are received into consecutive views of one buffer, so when all are intact
   * decodeChunk opens them in place instead of joining them. `into`: a buffer
   * to receive them in (used when it holds k shards), else a new one.
   * @throws DataLostError when fewer than k shards are intact
   */
  async fetchChunk(meta: ObjectMeta, c: number, verify = true, into?: Buffer): Promise<Shards> {
    const k = meta.k;
    const total = meta.k + meta.m;
    const shards: Shards = Array.from({ length: total }, () => null);
    const per = Math.ceil(meta.chunks[c].n / k);
    // every byte is received before it is read; failed shards are rebuilt
    const dest = into && into.length >= per * k ? into : Buffer.allocUnsafe(per * k);
    const got = await Promise.all(Array.from({ length: k }, (_, i) => this.fetchShard(meta, c, i, verify, dest.subarray(i * per, (i + 1) * per))));
    got.forEach((g, i) => (shards[i] = g.shard));
    let have = got.filter((g) => g.shard).length;
    for (let i = k; i < total && have < k; ) {
      const batch = Array.from({ length: Math.min(total - i, k - have) }, (_, j) => i + j);
      const more = await Promise.all(batch.map((j) => this.fetchShard(meta, c, j, verify)));
      more.forEach((g, j) => (shards[batch[j]] = g.shard));
      have += more.filter((g) => g.shard).length;
      i += batch.length;
    }
    if (have < k) throw new DataLostError(`chunk ${c} of ${JSON.stringify(meta.name)}: ${have} of ${total} shards intact, ${k} needed`);
    return shards;
  }

  /**
   * Every object this secret can read, sorted by name.
   * @throws WrongSecretError when objects exist but none opens with this secret
   */
  async list(): Promise<ObjectInfo[]> {
    return (await this.listMeta()).objects.map((r) => toInfo(r.meta));
  }

  /**
   * The metadata of every object this secret can read (sorted by name), the
   * count of records that did not open (`foreign`: another secret;
   * `unreadable`: too few intact shards), and every key seen per backend.
   * @throws WrongSecretError when objects exist but none opens with this secret
   */
  async listMeta(): Promise<{ objects: ReadMetaResult[]; foreign: number; unreadable: number; keys: Map<string, Array<{ key: Buffer; timestamp: number }>> }> {
    const records = new Map<string, Buffer>();
    const keys = new Map<string, Array<{ key: Buffer; timestamp: number }>>();
    await Promise.all(
      this.pool.list.map(async (b) => {
        if (this.pool.down.has(b.label)) return;
        const ks = await this.pool.run(b, (c) => c.keys()).catch(() => null);
        if (!ks) return;
        keys.set(b.label, ks);
        for (const { key } of ks) if (isMetaRecordKey(key)) records.set(key.toString('hex'), key);
      }),
    );
    const objects: ReadMetaResult[] = [];
    let foreign = 0;
    let unreadable = 0;
    for (const rk of records.values()) {
      try {
        const r = await this.readMetaRecord(rk, `record ${rk.toString('hex')}`);
        if (r) objects.push(r);
      } catch (err) {
        if (err instanceof WrongSecretError) foreign++;
        else {
          unreadable++;
          this.log(`ls: ${(err as Error).message}`);
        }
      }
    }
    if (objects.length === 0 && foreign > 0) throw new WrongSecretError(`secret: none of the ${foreign} objects on these backends opens with this secret; check store.yaml's secret`);
    objects.sort((a, b) => (a.meta.name < b.meta.name ? -1 : a.meta.name > b.meta.name ? 1 : 0));
    return { objects, foreign, unreadable, keys };
  }

  /**
   * Removes an object: its metadata first (it stops being visible), then its shards.
   * @throws NotFoundError; WrongSecretError
   */
  async remove(name: string): Promise<void> {
    const r = await this.readMeta(name);
    if (!r) throw this.notFound(name);
    const rk = metaRecordKey(name);
    await Promise.allSettled(this.pool.up().map((b) => this.pool.run(b, (c) => c.del(rk))));
    await this.deleteShards(r.meta);
    this.log(`rm ${JSON.stringify(name)}`);
  }

  /** Deletes every shard an object's metadata lists (best effort: unreachable ones become orphans). */
  async deleteShards(meta: ObjectMeta): Promise<void> {
    const jobs: Array<Promise<unknown>> = [];
    meta.chunks.forEach((ch, c) =>
      ch.s.forEach(([bi], i) => {
        const b = this.pool.get(meta.backends[bi]);
        if (b && !this.pool.down.has(b.label)) jobs.push(this.pool.run(b, (cl) => cl.del(shardKey(meta.id, c, i))).catch(() => {}));
      }),
    );
    await Promise.all(jobs);
  }

  close(): void {
    this.pool.close();
  }
}
