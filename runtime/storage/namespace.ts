/**
 * 0-db namespaces (threefoldtech/0-db docs "Namespaces"): each is a separate
 * key space with its own record log, an optional password, a `public` flag
 * (public + password = read-only without the password), a `maxsize` and a key
 * mode: `user` (the client names keys) or `seq` (the server assigns 4-byte
 * little-endian sequential ids). On disk: `<dataDir>/<name>/data.log` and
 * `<dataDir>/<name>/namespace.json` (settings; the password kept as SHA-256).
 */
import { Buffer } from 'node:buffer';
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compactLog, isCompacting, type CompactionReport } from './compaction.js';
import { RecordLog, type SyncPolicy } from './record-log.js';

export type KeyMode = 'user' | 'seq';

export interface NamespaceSettings {
  /** SHA-256 of the password, hex; absent = no password. */
  passwordHash?: string;
  public: boolean;
  /** Bytes of live values allowed; 0 = unlimited. */
  maxsize: number;
  mode: KeyMode;
}

/** 0-db's namespace names: 1..128 characters; here limited to file-name-safe ones. */
export const NAMESPACE_NAME = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,128}$/;

const sha256hex = (s: Uint8Array | string) => createHash('sha256').update(s).digest('hex');

export class Namespace {
  readonly log: RecordLog;
  settings: NamespaceSettings;
  /** Next id handed out in seq mode. */
  private nextSeq = 0;
  private liveBytes = 0;

  constructor(readonly name: string, readonly dir: string, settings: NamespaceSettings, sync: SyncPolicy) {
    this.settings = settings;
    this.log = new RecordLog(join(dir, 'data.log'), sync);
    for (let batch = this.log.scan(null, 4096); batch.length; batch = this.log.scan(batch[batch.length - 1].offset, 4096)) {
      for (const e of batch) {
        this.liveBytes += e.size;
        if (e.key.length === 4) this.nextSeq = Math.max(this.nextSeq, e.key.readUInt32LE(0) + 1);
      }
    }
  }

  get hasPassword(): boolean {
    return this.settings.passwordHash !== undefined;
  }

  /** Bytes of live values. */
  get dataBytes(): number {
    return this.liveBytes;
  }

  /** Constant-time password check; true when the namespace has no password. */
  passwordMatches(password: Uint8Array | undefined): boolean {
    const want = this.settings.passwordHash;
    if (want === undefined) return true;
    if (password === undefined) return false;
    return timingSafeEqual(Buffer.from(sha256hex(password), 'hex'), Buffer.from(want, 'hex'));
  }

  /** The next sequential key (4 bytes, little-endian), as 0-db's seq mode assigns. */
  takeSeqKey(): Buffer {
    const k = Buffer.alloc(4);
    k.writeUInt32LE(this.nextSeq++ >>> 0, 0);
    return k;
  }

  /** Stores and accounts a value (the caller checked mode and maxsize). */
  put(key: Uint8Array, value: Uint8Array): void {
    const old = this.log.entry(key)?.valueLen ?? 0;
    this.log.set(key, value);
    this.liveBytes += value.length - old;
    if (key.length === 4) this.nextSeq = Math.max(this.nextSeq, Buffer.from(key).readUInt32LE(0) + 1);
  }

  remove(key: Uint8Array): boolean {
    const old = this.log.entry(key)?.valueLen ?? 0;
    const ok = this.log.delete(key);
    if (ok) this.liveBytes -= old;
    return ok;
  }

  /** True when storing `size` more bytes under `key` stays within maxsize. */
  fits(key: Uint8Array, size: number): boolean {
    const max = this.settings.maxsize;
    if (!max) return true;
    return this.liveBytes - (this.log.entry(key)?.valueLen ?? 0) + size <= max;
  }

  saveSettings(): void {
    const tmp = join(this.dir, 'namespace.json.tmp');
    writeFileSync(tmp, `${JSON.stringify(this.settings)}\n`);
    renameSync(tmp, join(this.dir, 'namespace.json'));
  }

  setPassword(password: Uint8Array | null): void {
    if (password === null) delete this.settings.passwordHash;
    else this.settings.passwordHash = sha256hex(password);
    this.saveSettings();
  }
}

/** All namespaces under one data directory; `default` always exists (public, no password), as in 0-db. */
export class NamespaceSet {
  private readonly all = new Map<string, Namespace>();

  constructor(readonly dataDir: string, private readonly sync: SyncPolicy = 'interval', private readonly log: (m: string) => void = () => {}) {
    mkdirSync(dataDir, { recursive: true });
    for (const name of readdirSync(dataDir).sort()) {
      if (!NAMESPACE_NAME.test(name) || !existsSync(join(dataDir, name, 'namespace.json'))) continue;
      const settings = JSON.parse(readFileSync(join(dataDir, name, 'namespace.json'), 'utf8')) as Partial<NamespaceSettings>;
      this.load(name, settings);
    }
    if (!this.all.has('default')) this.create('default');
  }

  get(name: string): Namespace | undefined {
    return this.all.get(name);
  }

  names(): string[] {
    return [...this.all.keys()];
  }

  /** Creates a namespace (public, no password, user mode). The caller checked the name. */
  create(name: string, mode: KeyMode = 'user'): Namespace {
    const dir = join(this.dataDir, name);
    mkdirSync(dir, { recursive: true });
    const settings: NamespaceSettings = { public: true, maxsize: 0, mode };
    const tmp = join(dir, 'namespace.json.tmp');
    writeFileSync(tmp, `${JSON.stringify(settings)}\n`);
    renameSync(tmp, join(dir, 'namespace.json'));
    return this.load(name, settings);
  }

  /** Removes a namespace and its data. */
  drop(name: string): void {
    const ns = this.all.get(name);
    if (!ns) return;
    ns.log.close();
    this.all.delete(name);
    rmSync(ns.dir, { recursive: true, force: true });
  }

  flush(): void {
    for (const ns of this.all.values()) ns.log.flush();
  }

  /**
   * Compacts one namespace's log in the background (compaction.ts), logging
   * the result: `why` names the trigger (`COMPACT`, `garbage 62%`).
   * @returns false when that namespace is being compacted already
   */
  compact(name: string, why: string): Promise<CompactionReport | null> | false {
    const ns = this.all.get(name);
    if (!ns || isCompacting(ns.log)) return false;
    const t0 = Date.now();
    return compactLog(ns.log).then(
      (r) => {
        this.log(`namespace ${name}: compacted (${why}): ${r.beforeBytes} -> ${r.afterBytes} bytes, ${r.records} live records, ${Date.now() - t0} ms`);
        return r;
      },
      (err: Error) => {
        // a namespace dropped or a server closed under the compaction is not a failure worth a line
        if (ns.log.isOpen) this.log(`namespace ${name}: compaction failed, the log is kept as it was: ${err.message}`);
        return null;
      },
    );
  }

  /**
   * Starts a compaction of each namespace whose garbage (overwritten and
   * deleted records) is at least `ratio` of its log and `minBytes` bytes.
   */
  compactWhereGarbage(ratio: number, minBytes: number): void {
    for (const ns of this.all.values()) {
      const g = ns.log.garbageBytes;
      if (g >= minBytes && g > 0 && g >= ratio * ns.log.fileBytes) this.compact(ns.name, `garbage ${Math.round((100 * g) / ns.log.fileBytes)}%`);
    }
  }

  close(): void {
    for (const ns of this.all.values()) ns.log.close();
    this.all.clear();
  }

  private load(name: string, settings: Partial<NamespaceSettings>): Namespace {
    const ns = new Namespace(name, join(this.dataDir, name), { public: true, maxsize: 0, mode: 'user', ...settings }, this.sync);
    const r = ns.log.recovery;
    if (r.truncatedBytes || r.corrupt) {
      this.log(`namespace ${name}: recovered ${r.records} records, cut ${r.truncatedBytes} torn bytes at the tail, skipped ${r.corrupt} corrupt records`);
    }
    this.all.set(name, ns);
    return ns;
  }
}
