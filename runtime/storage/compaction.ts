/**
 * Compaction of a namespace's record log: 0-db keeps overwritten and deleted
 * records until its compaction rewrites the data files (threefoldtech/0-db
 * docs "Data file": append-only, "compaction" reclaims them); here one log
 * file is rewritten with only its live records.
 *
 * Steps, and why each is crash-safe:
 * 1. Copy every live record, byte for byte (a damaged one stays detectable),
 *    in log order, into `data.log.compact`; the event loop is yielded to
 *    between records, so GET/SET go on against the old log meanwhile. A crash
 *    here leaves the old log whole; the next open deletes the copy.
 * 2. In one synchronous step (no request runs in between): append the old
 *    log's bytes written since step 1 started (new records and tombstones,
 *    which supersede copied ones when the index is rebuilt), fdatasync the
 *    copy, rename it over `data.log` (atomic, POSIX rename(2)), fsync the
 *    folder so the rename survives a power cut, and reopen the log (index
 *    rebuilt from the new file). A crash before the rename leaves the old log;
 *    after it, the new one, already on disk.
 */
import { closeSync, fdatasyncSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { compactionPath, HEADER_BYTES, type RecordLog } from './record-log.js';

export interface CompactionReport {
  /** Log bytes before and after. */
  beforeBytes: number;
  afterBytes: number;
  /** Live records copied in step 1. */
  records: number;
  /** Bytes of records appended while the copy ran (step 2). */
  tailBytes: number;
}

export interface CompactionOptions {
  /** Yield to the event loop after copying this many bytes (default 4 MiB). */
  yieldBytes?: number;
  /**
   * Called at each stage (`copy` after every record, `rename` just before the
   * rename); a throw aborts the compaction as an I/O error would. Tests inject
   * faults and kills here.
   */
  onStage?: (stage: 'copy' | 'rename', copiedRecords: number) => void;
}

const running = new WeakMap<RecordLog, Promise<CompactionReport>>();

/** True while `log` is being compacted. */
export function isCompacting(log: RecordLog): boolean {
  return running.has(log);
}

/**
 * Rewrites `log` with only its live records (steps above). A second call while
 * one runs returns the running one.
 * @returns sizes before and after
 * @throws the file system's error (ENOSPC, EIO) or the log's CorruptRecordError
 *   (a record whose bytes are gone); the old log is then kept and the copy removed
 */
export function compactLog(log: RecordLog, opts: CompactionOptions = {}): Promise<CompactionReport> {
  const now = running.get(log);
  if (now) return now;
  const p = run(log, opts).finally(() => running.delete(log));
  running.set(log, p);
  return p;
}

async function run(log: RecordLog, opts: CompactionOptions): Promise<CompactionReport> {
  const yieldBytes = opts.yieldBytes ?? 4 * 1024 * 1024;
  const tmp = compactionPath(log.path);
  const beforeBytes = log.fileBytes;
  const mark = log.fileBytes;
  const live = log.liveRecords();
  const fd = openSync(tmp, 'w');
  let pos = 0;
  let open = true;
  try {
    let sinceYield = 0;
    for (const [i, e] of live.entries()) {
      if (!log.isOpen) throw new Error(`${log.path} was closed during its compaction`);
      pos += writeAll(fd, log.readRecord(e), pos);
      opts.onStage?.('copy', i + 1);
      sinceYield += HEADER_BYTES + e.keyLen + e.valueLen;
      if (sinceYield >= yieldBytes) {
        sinceYield = 0;
        await new Promise((r) => setImmediate(r));
      }
    }
    if (!log.isOpen) throw new Error(`${log.path} was closed during its compaction`);
    // step 2, synchronous from here to reopen: no append can fall between the tail copy and the rename
    const tailBytes = log.fileBytes - mark;
    if (tailBytes > 0) pos += writeAll(fd, log.readRange(mark, log.fileBytes), pos);
    fdatasyncSync(fd);
    closeSync(fd);
    open = false;
    opts.onStage?.('rename', live.length);
    renameSync(tmp, log.path);
    syncFolder(dirname(log.path));
    log.reopen();
    return { beforeBytes, afterBytes: log.fileBytes, records: live.length, tailBytes };
  } catch (err) {
    if (open) closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
}

function writeAll(fd: number, buf: Buffer, at: number): number {
  for (let done = 0; done < buf.length; ) {
    const n = writeSync(fd, buf, done, buf.length - done, at + done);
    if (n <= 0) throw new Error('write made no progress');
    done += n;
  }
  return buf.length;
}

/** fsync(2) on the folder: makes a rename in it durable (ext4 and others need it for power loss). */
function syncFolder(dir: string): void {
  const d = openSync(dir, 'r');
  try {
    fsyncSync(d);
  } finally {
    closeSync(d);
  }
}
