/**
 * `Classifier`: batch packet classification over a packet pool in wasm memory.
 * For each packet descriptor (offset, length) it parses IPv4 (RFC 791) or IPv6
 * (RFC 8200), checks the destination against the local set, looks it up in the
 * FIB, decrements TTL / hop limit (patching the IPv4 checksum per RFC 1624 eqn. 3)
 * and writes an 8-byte verdict. The encoding is in docs/forward.md and below.
 */
import { ArgumentRangeError, BackendUnavailableError, TfwError } from '../errors.js';
import { resolveBackend, type BackendOptions } from './backend.js';
import { createEngine, type ForwardEngine } from './forward-engine.js';
import { ENGINE, Fib } from './forward-fib.js';
import { familyOf, parsePrefix, type Prefix } from './forward-prefix.js';

/** Verdict word 0, bits 0..7. */
export const Action = { FORWARD: 1, LOCAL: 2, DROP: 3 } as const;

/** Verdict word 0, bits 8..15, for DROP. */
export const DropReason = {
  DESCRIPTOR: 1,
  TRUNCATED: 2,
  BAD_VERSION: 3,
  BAD_IHL: 4,
  BAD_LENGTH: 5,
  BAD_CHECKSUM: 6,
  BAD_OPTIONS: 7,
  BAD_FRAGMENT: 8,
  TTL_EXPIRED: 9,
  NO_ROUTE: 10,
  BAD_EXT_HEADER: 11,
} as const;

/** Verdict word 1, bits 16..31. */
export const VerdictFlag = { FRAGMENT: 1, OPTIONS: 2, TRAILING: 4 } as const;

const REASON_NAMES = Object.fromEntries(Object.entries(DropReason).map(([k, v]) => [v, k])) as Record<number, string>;

export interface Verdict {
  action: 'forward' | 'local' | 'drop';
  /** Drop reason name (e.g. 'TTL_EXPIRED'), undefined unless dropped. */
  reason?: string;
  reasonCode: number;
  /** 4, 6, or 0 when the version was not read. */
  version: number;
  /** IP header length in bytes (IPv4 IHL*4, IPv6 40), 0 when not known. */
  headerLength: number;
  /** Next hop for forward (and for TTL_EXPIRED: the route it would have taken). */
  nextHop: number;
  flags: number;
}

export interface ClassifierOptions extends BackendOptions {
  /** Bytes in the packet pool (default 1 MiB). */
  poolBytes?: number;
  /** Most packets per `classify` call (default 1024). */
  maxPackets?: number;
}

/** Decodes one verdict record (two u32 words). */
export function decodeVerdict(w0: number, w1: number): Verdict {
  const a = w0 & 0xff;
  const reasonCode = (w0 >>> 8) & 0xff;
  return {
    action: a === Action.FORWARD ? 'forward' : a === Action.LOCAL ? 'local' : 'drop',
    reason: a === Action.DROP ? REASON_NAMES[reasonCode] ?? `UNKNOWN_${reasonCode}` : undefined,
    reasonCode,
    version: (w0 >>> 16) & 0xff,
    headerLength: w0 >>> 24,
    nextHop: w1 & 0xffff,
    flags: w1 >>> 16,
  };
}

export class Classifier {
  /** The IPv4 and IPv6 tables the classifier looks destinations up in. */
  readonly ipv4: Fib;
  readonly ipv6: Fib;
  readonly poolBytes: number;
  readonly maxPackets: number;
  private readonly engine: ForwardEngine;
  private readonly local4: Prefix[] = [];
  private readonly local6: Prefix[] = [];

  /**
   * @throws RangeError for a pool size or packet count out of range; BackendUnavailableError
   */
  constructor(options: ClassifierOptions = {}) {
    const poolBytes = options.poolBytes ?? 1 << 20;
    const maxPackets = options.maxPackets ?? 1024;
    if (!Number.isInteger(poolBytes) || poolBytes < 64 || poolBytes > 1 << 30) {
      throw new ArgumentRangeError(`poolBytes: expected an integer 64..2^30, got ${poolBytes}`);
    }
    if (!Number.isInteger(maxPackets) || maxPackets < 1 || maxPackets > 1 << 20) {
      throw new ArgumentRangeError(`maxPackets: expected an integer 1..2^20, got ${maxPackets}`);
    }
    this.engine = createEngine(resolveBackend(options, 'forward'));
    this.engine.reservePool(poolBytes, maxPackets);
    this.poolBytes = poolBytes;
    this.maxPackets = maxPackets;
    this.ipv4 = new Fib('ipv4', { [ENGINE]: this.engine });
    this.ipv6 = new Fib('ipv6', { [ENGINE]: this.engine });
  }

  get backend(): string {
    return this.engine.backend;
  }

  /**
   * Adds a local address or prefix (`192.0.2.1`, `2001:db8::1`, `10.0.0.0/8`): packets
   * to it get LOCAL before any route is looked up (like Linux's local table). At most
   * 64 per family.
   * @throws PrefixError; TfwError `ERR_TFW_LOCAL_FULL` past 64
   */
  addLocal(prefix: string): void {
    const fam = familyOf(prefix);
    const p = parsePrefix(fam, prefix);
    const list = fam === 'ipv4' ? this.local4 : this.local6;
    if (list.some((q) => q.length === p.length && q.bytes.every((b, i) => b === p.bytes[i]))) return;
    if (list.length >= 64) throw new TfwError('ERR_TFW_LOCAL_FULL', `local: expected at most 64 ${fam} entries, got one more (${prefix})`);
    list.push(p);
    this.syncLocal(fam);
  }

  /** Removes a local entry; false when absent. @throws PrefixError */
  removeLocal(prefix: string): boolean {
    const fam = familyOf(prefix);
    const p = parsePrefix(fam, prefix);
    const list = fam === 'ipv4' ? this.local4 : this.local6;
    const i = list.findIndex((q) => q.length === p.length && q.bytes.every((b, j) => b === p.bytes[j]));
    if (i < 0) return false;
    list.splice(i, 1);
    this.syncLocal(fam);
    return true;
  }

  private syncLocal(fam: 'ipv4' | 'ipv6'): void {
    if (fam === 'ipv4') this.engine.setLocal4(this.local4);
    else this.engine.setLocal6(this.local6);
  }

  /**
   * The packet pool (`poolBytes` bytes in wasm memory). Write packets here and
   * describe them in `descriptors`. Re-read the view after changing a table:
   * wasm memory may have grown, which detaches older views.
   */
  get pool(): Uint8Array {
    return this.engine.poolView();
  }

  /** `maxPackets` x (offset, length) in bytes relative to the pool. Same caveat as `pool`. */
  get descriptors(): Uint32Array {
    return this.engine.descriptorView();
  }

  /** `maxPackets` x (word0, word1) verdicts, see `decodeVerdict`. Same caveat as `pool`. */
  get verdicts(): Uint32Array {
    return this.engine.verdictView();
  }

  /**
   * Classifies descriptors 0..count-1 in one call; forwarded packets are rewritten
   * in place (TTL / hop limit - 1, IPv4 checksum).
   * @throws RangeError when count is outside 0..maxPackets
   */
  classify(count: number): void {
    if (!Number.isInteger(count) || count < 0 || count > this.maxPackets) {
      throw new ArgumentRangeError(`count: expected an integer 0..${this.maxPackets}, got ${count}`);
    }
    this.engine.classify(count);
  }

  /** Whether `classifyIn` works (the native engine reads a caller's memory; wasm does not). */
  get classifiesInPlace(): boolean {
    return typeof this.engine.classifyIn === 'function';
  }

  /**
   * Classifies `count` packets that live in the caller's `pool` (descriptor i
   * = offset, length in bytes relative to `pool`, as in `descriptors`), with
   * verdicts into `verdicts` (2 words each): no copy into the classifier's
   * own pool. Forwarded packets are rewritten in place. Native engine only.
   * @throws BackendUnavailableError on an engine that cannot read the caller's memory;
   *   RangeError when count exceeds the descriptor or verdict arrays
   */
  classifyIn(pool: Uint8Array, descriptors: Uint32Array, count: number, verdicts: Uint32Array): void {
    if (!this.engine.classifyIn) throw new BackendUnavailableError(`forward: the ${this.engine.backend} classifier reads only its own pool (classifyIn needs the native engine)`);
    if (!Number.isInteger(count) || count < 0 || count * 2 > descriptors.length || count * 2 > verdicts.length) {
      throw new ArgumentRangeError(`count: expected an integer 0..${Math.min(descriptors.length, verdicts.length) >> 1}, got ${count}`);
    }
    this.engine.classifyIn(pool, descriptors, count, verdicts);
  }

  /**
   * Convenience for tests and slow paths: copies `packets` back to back into the
   * pool, fills the descriptors and returns how many fit (all, or stops at the
   * first that does not).
   */
  load(packets: Uint8Array[]): number {
    const pool = this.pool;
    const desc = this.descriptors;
    let off = 0;
    let n = 0;
    for (const p of packets) {
      if (n >= this.maxPackets || off + p.length > pool.length) break;
      pool.set(p, off);
      desc[2 * n] = off;
      desc[2 * n + 1] = p.length;
      off += p.length;
      n++;
    }
    return n;
  }

  /** Decoded verdict of packet `i` of the last classify call. */
  verdict(i: number): Verdict {
    const v = this.verdicts;
    return decodeVerdict(v[2 * i], v[2 * i + 1]);
  }
}
