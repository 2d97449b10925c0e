/**
 * The append-only record log of one namespace: every SET and DEL appends a
 * record to `data.log`; an in-memory index (key -> newest record) is rebuilt
 * by reading the log at start-up. This is 0-db's data file + index design
 * (threefoldtech/0-db docs "Data file", "Index file"), kept to one file: 0-db
 * persists its index beside the data, here the log alone is the truth.
 *
 * Record layout (little-endian), 24-byte header then key then value:
 *   0  magic   "TFWR"
 *   4  flags   u8   0 = set, 1 = delete (tombstone, no value)
 *   5  keyLen  u8   1..255 (0-db's key limit)
 *   6  format  u8   0 = SHA-256 sum (written now); 1 = XXH64 sum (read; see WRITE_FORMAT)
 *   7  0       u8   reserved
 *   8  valLen  u32  0..8 MiB (0-db's value limit)
 *  12  time    u32  Unix seconds
 *  16  sum     8 bytes: format 1: XXH64(header[0..16] || key || value) (checksum.ts);
 *              format 0: SHA-256(header[0..16] || key || value)[0..8]
 *
 * Crash safety: a record is appended with one positioned writev; the index is
 * updated only after it is written, so a reader never sees a half-written one.
 * A process killed mid-write leaves a short or torn record at the tail, which
 * `open` cuts off (the killed write is lost, nothing else). Checksums are
 * verified on every GET and, at start-up, for the records in the last
 * TAIL_VERIFY bytes (where torn writes live); a record that fails its checksum
 * is never returned as data. A log may hold both formats (old records are
 * kept as they are, compaction copies them byte for byte); each record is
 * checked by its own format byte.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync, rmSync, writevSync } from 'node:fs';
import { xxh64 } from './checksum.js';
import { CorruptRecordError, LimitError } from './errors.js';

export const HEADER_BYTES = 24;
export const MAX_KEY = 255;
/** 0-db's maximum value size (8 MiB). */
export const MAX_VALUE = 8 * 1024 * 1024;
const MAGIC = 0x52574654; // "TFWR" little-endian
const FLAG_DELETE = 1;
/** Header byte 6: how the record's checksum is computed. */
const FORMAT_SHA256 = 0;
const FORMAT_XXH64 = 1;
/**
 * The format appended records get. Still SHA-256: the tfw releases before this
 * one read byte 6 as reserved and cut a log at the first record where it is
 * not 0 (as a torn tail), so an AIBox or 3Node rolled back to its other slot
 * would lose every record written since the upgrade. This release reads both;
 * a later one may write XXH64 once no slot can hold a release that cuts.
 */
const WRITE_FORMAT: number = FORMAT_SHA256;
/** Bytes at the end of the log whose records are checksummed at start-up. */
const TAIL_VERIFY = 64 * 1024 * 1024;

/**
 * When appended records reach the disk: `always` fdatasyncs before each reply
 * (survives power loss), `interval` fdatasyncs at most every second (a power
 * loss loses at most the last second; a killed process loses nothing written),
 * `never` leaves it to the kernel. 0-db's `--sync` / `--synctime` are the same pair.
 */
export type SyncPolicy = 'always' | 'interval' | 'never';

export interface IndexEntry {
  offset: number;
  keyLen: number;
  valueLen: number;
  timestamp: number;
}

export interface ScanEntry {
  key: Buffer;
  size: number;
  timestamp: number;
  /** Position in the log: the SCAN cursor. */
  offset: number;
}

export interface RecoveryReport {
  records: number;
  /** Bytes cut from the tail (a torn or short last write). */
  truncatedBytes: number;
  /** Records in the verified tail whose checksum failed (skipped, not indexed). */
  corrupt: number;
}

/** The 8-byte record checksum over header[0..16], key and value, in the format header[6] names. */
function checksum(header: Buffer, key: Uint8Array, value: Uint8Array): Buffer {
  if (header[6] === FORMAT_XXH64) return xxh64(header.subarray(0, 16), key, value);
  return createHash('sha256').update(header.subarray(0, 16)).update(key).update(value).digest().subarray(0, 8);
}

export class RecordLog {
  private readonly index = new Map<string, IndexEntry>();
  /** (key, offset) in log order, for SCAN; stale pairs are skipped and compacted away. */
  private order: Array<{ key: string; offset: number }> = [];
  private stale = 0;
  /** Bytes of the records the index points at (header + key + value): the rest of the file is garbage. */
  private liveRecordBytes = 0;
  private end = 0;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private syncing = false;
  private fd: number;
  /** What the last open (or reopen after a compaction) found. */
  recovery: RecoveryReport;

  /**
   * Opens (or creates) the log at `path` and rebuilds the index.
   * @throws Error from the file system (EACCES, ENOSPC, ...); CorruptRecordError for a record format newer than this code's
   */
  constructor(readonly path: string, private readonly sync: SyncPolicy = 'interval') {
    closeSync(openSync(path, 'a')); // create it; then positioned writes ('a' would ignore positions on Linux)
    // a compaction killed before its rename leaves its unfinished copy: the log itself is the old, whole one
    if (existsSync(compactionPath(path))) rmSync(compactionPath(path), { force: true });
    this.fd = openSync(path, 'r+');
    this.recovery = this.rebuild();
    if (sync === 'interval') {
      // off the event loop: a synchronous fdatasync of a second's writes would stall every client
      this.timer = setInterval(() => this.flushInBackground(), 1000);
      this.timer.unref();
    }
  }

  get entries(): number {
    return this.index.size;
  }

  /** Bytes in the log file (live and dead records). */
  get fileBytes(): number {
    return this.end;
  }

  /** False once closed. */
  get isOpen(): boolean {
    return this.fd >= 0;
  }

  /** Bytes of overwritten and deleted records and tombstones: what a compaction would reclaim. */
  get garbageBytes(): number {
    return this.end - this.liveRecordBytes;
  }

  /** The live records (what the index points at), in log order: what a compaction copies. */
  liveRecords(): IndexEntry[] {
    return [...this.index.values()].sort((a, b) => a.offset - b.offset);
  }

  /**
   * The raw bytes of one record (header, key, value), unchecked: a compaction
   * copies records as they are, so a damaged one stays detectable.
   * @throws CorruptRecordError when the file ends inside the record
   */
  readRecord(e: IndexEntry): Buffer {
    return this.read(e);
  }

  /** Raw bytes [from, to) of the log (the records a compaction did not copy yet). */
  readRange(from: number, to: number): Buffer {
    const buf = Buffer.allocUnsafe(to - from);
    for (let done = 0; done < buf.length; ) {
      const r = readSync(this.fd, buf, done, buf.length - done, from + done);
      if (r <= 0) throw new CorruptRecordError(`${this.path}: expected bytes ${from}..${to}, the file ends at ${from + done}`);
      done += r;
    }
    return buf;
  }

  /**
   * Switches to the log file now at `path` (a compaction renamed its copy over
   * it): closes the old descriptor, opens the new file and rebuilds the index.
   * Called in the same tick as the rename, so no append falls between.
   */
  reopen(): void {
    const old = this.fd;
    this.fd = openSync(this.path, 'r+');
    closeSync(old);
    this.index.clear();
    this.order = [];
    this.stale = 0;
    this.liveRecordBytes = 0;
    this.dirty = false;
    this.recovery = this.rebuild();
  }

  has(key: Uint8Array): boolean {
    return this.index.has(Buffer.from(key).toString('latin1'));
  }

  entry(key: Uint8Array): IndexEntry | undefined {
    return this.index.get(Buffer.from(key).toString('latin1'));
  }

  /**
   * The value stored under `key`, or null.
   * @param alloc where the record is read: called with its byte count, returns a
   *   buffer at least that long (the value is then a view of it); default a new one
   * @throws CorruptRecordError when the record fails its checksum
   */
  get(key: Uint8Array, alloc?: (bytes: number) => Buffer): Buffer | null {
    const e = this.entry(key);
    if (!e) return null;
    const rec = this.read(e, alloc);
    const value = rec.subarray(HEADER_BYTES + e.keyLen);
    if (!checksum(rec, key, value).equals(rec.subarray(16, 24))) {
      throw new CorruptRecordError(`record at offset ${e.offset} of ${this.path}: checksum mismatch`);
    }
    return value;
  }

  /** True when the record of `key` passes its checksum (0-db's CHECK); false when missing or corrupt. */
  check(key: Uint8Array): boolean {
    try {
      return this.get(key) !== null;
    } catch (err) {
      if (err instanceof CorruptRecordError) return false;
      throw err;
    }
  }

  /**
   * Appends a SET record.
   * @param key   1..255 bytes
   * @param value 0..8 MiB
   * @throws LimitError for an empty or too long key or a too long value
   */
  set(key: Uint8Array, value: Uint8Array, timestamp = Math.floor(Date.now() / 1000)): void {
    if (key.length < 1 || key.length > MAX_KEY) throw new LimitError(`key: expected 1..${MAX_KEY} bytes, got ${key.length}`);
    if (value.length > MAX_VALUE) throw new LimitError(`value: expected at most ${MAX_VALUE} bytes (8 MiB), got ${value.length}`);
    this.append(0, key, value, timestamp);
  }

  /** Appends a tombstone; returns false (and writes nothing) when the key is absent. */
  delete(key: Uint8Array): boolean {
    if (!this.has(key)) return false;
    this.append(FLAG_DELETE, key, new Uint8Array(0), Math.floor(Date.now() / 1000));
    return true;
  }

  /**
   * Live records after (`reverse`: before) log position `cursor` (null: from the
   * start, or from the end when reversed), at most `count`, in log order.
   */
  scan(cursor: number | null, count: number, reverse = false): ScanEntry[] {
    this.pruneOrder();
    const o = this.order;
    // first index with offset > cursor
    let lo = 0;
    let hi = o.length;
    const c = cursor ?? (reverse ? Infinity : -1);
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (o[mid].offset > c) hi = mid;
      else lo = mid + 1;
    }
    const out: ScanEntry[] = [];
    const step = reverse ? -1 : 1;
    for (let i = reverse ? lo - 1 : lo; i >= 0 && i < o.length && out.length < count; i += step) {
      if (reverse && o[i].offset >= c) continue;
      const e = this.index.get(o[i].key);
      if (!e || e.offset !== o[i].offset) continue;
      out.push({ key: Buffer.from(o[i].key, 'latin1'), size: e.valueLen, timestamp: e.timestamp, offset: e.offset });
    }
    return out;
  }

  /** Writes buffered records to the disk now (fdatasync). */
  flush(): void {
    if (!this.dirty) return;
    fdatasyncSync(this.fd);
    this.dirty = false;
  }

  private flushInBackground(): void {
    if (!this.dirty || this.syncing) return;
    this.dirty = false;
    this.syncing = true;
    const fd = this.fd;
    fdatasync(fd, (err) => {
      this.syncing = false;
      if (err && this.fd === fd) this.dirty = true; // try again next tick of the timer
    });
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.flush();
    closeSync(this.fd);
    this.fd = -1;
  }

  private append(flags: number, key: Uint8Array, value: Uint8Array, timestamp: number): void {
    const head = Buffer.alloc(HEADER_BYTES);
    head.writeUInt32LE(MAGIC, 0);
    head[4] = flags;
    head[5] = key.length;
    head[6] = WRITE_FORMAT;
    head.writeUInt32LE(value.length, 8);
    head.writeUInt32LE(timestamp >>> 0, 12);
    checksum(head, key, value).copy(head, 16);
    const parts = [head, Buffer.from(key), Buffer.from(value.buffer, value.byteOffset, value.byteLength)];
    const total = HEADER_BYTES + key.length + value.length;
    const at = this.end;
    try {
      let done = 0;
      while (done < total) {
        const n = writevSync(this.fd, sliceParts(parts, done), at + done);
        if (n <= 0) throw new Error(`write to ${this.path} made no progress`);
        done += n;
      }
      if (this.sync === 'always') fdatasyncSync(this.fd);
      else this.dirty = true;
    } catch (err) {
      // leave no partial record behind (ENOSPC, EIO): the log ends where it did
      try { ftruncateSync(this.fd, at); } catch { /* the next open cuts the tail */ }
      throw err;
    }
    this.end = at + total;
    this.noteRecord(Buffer.from(key).toString('latin1'), flags, { offset: at, keyLen: key.length, valueLen: value.length, timestamp });
  }

  private noteRecord(k: string, flags: number, e: IndexEntry): void {
    const old = this.index.get(k);
    if (old) {
      this.stale++;
      this.liveRecordBytes -= HEADER_BYTES + old.keyLen + old.valueLen;
    }
    if (flags & FLAG_DELETE) {
      this.index.delete(k);
      return;
    }
    this.index.set(k, e);
    this.liveRecordBytes += HEADER_BYTES + e.keyLen + e.valueLen;
    this.order.push({ key: k, offset: e.offset });
  }

  /** Drops stale pairs from the SCAN order (memory only; the file is compaction.ts's). */
  private pruneOrder(): void {
    if (this.stale < 1024 || this.stale * 2 < this.order.length) return;
    this.order = this.order.filter((x) => this.index.get(x.key)?.offset === x.offset);
    this.stale = 0;
  }

  private read(e: IndexEntry, alloc?: (bytes: number) => Buffer): Buffer {
    const n = HEADER_BYTES + e.keyLen + e.valueLen;
    const buf = alloc ? alloc(n).subarray(0, n) : Buffer.allocUnsafe(n);
    let done = 0;
    while (done < n) {
      const r = readSync(this.fd, buf, done, n - done, e.offset + done);
      if (r <= 0) throw new CorruptRecordError(`record at offset ${e.offset} of ${this.path}: expected ${n} bytes, the file ends early`);
      done += r;
    }
    return buf;
  }

  /** Reads the log once, indexing records; cuts a short or torn tail. */
  private rebuild(): RecoveryReport {
    const size = fstatSync(this.fd).size;
    const verifyFrom = Math.max(0, size - TAIL_VERIFY);
    let pos = 0;
    let records = 0;
    let corrupt = 0;
    const head = Buffer.alloc(HEADER_BYTES);
    while (pos + HEADER_BYTES <= size) {
      if (readSync(this.fd, head, 0, HEADER_BYTES, pos) !== HEADER_BYTES) break;
      const keyLen = head[5];
      const valueLen = head.readUInt32LE(8);
      const flags = head[4];
      if (head.readUInt32LE(0) !== MAGIC || keyLen === 0 || valueLen > MAX_VALUE || flags > FLAG_DELETE || head[7] !== 0) break;
      // a format this code does not know: refuse the log rather than cut it as a torn tail
      if (head[6] > FORMAT_XXH64) throw new CorruptRecordError(`${this.path}: record at offset ${pos}: format ${head[6]}, expected 0 or 1 (written by a newer tfw?); not opened`);
      const total = HEADER_BYTES + keyLen + valueLen;
      if (pos + total > size) break;
      const e: IndexEntry = { offset: pos, keyLen, valueLen, timestamp: head.readUInt32LE(12) };
      const rec = pos + total > verifyFrom ? this.read(e) : Buffer.concat([head, this.readKey(pos, keyLen)]);
      const key = rec.subarray(HEADER_BYTES, HEADER_BYTES + keyLen);
      if (rec.length === total && !checksum(rec, key, rec.subarray(HEADER_BYTES + keyLen)).equals(rec.subarray(16, 24))) {
        corrupt++;
        // a torn last record is cut below; one with records after it is skipped
        if (pos + total === size) break;
      } else {
        this.noteRecord(key.toString('latin1'), flags, e);
        records++;
      }
      pos += total;
    }
    const truncatedBytes = size - pos;
    if (truncatedBytes > 0) ftruncateSync(this.fd, pos);
    this.end = pos;
    return { records, truncatedBytes, corrupt };
  }

  private readKey(pos: number, keyLen: number): Buffer {
    const k = Buffer.alloc(keyLen);
    readSync(this.fd, k, 0, keyLen, pos + HEADER_BYTES);
    return k;
  }
}

/** Where a compaction of the log at `path` writes its copy before renaming it over the log. */
export function compactionPath(path: string): string {
  return `${path}.compact`;
}

/** The parts of `parts` from byte `skip` on (a short writev resumes there). */
function sliceParts(parts: Buffer[], skip: number): Buffer[] {
  if (skip === 0) return parts;
  const out: Buffer[] = [];
  for (const p of parts) {
    if (skip >= p.length) {
      skip -= p.length;
      continue;
    }
    out.push(skip ? p.subarray(skip) : p);
    skip = 0;
  }
  return out;
}
