/**
 * The allowed-IPs / route table (cryptokey routing, whitepaper section 2):
 * longest-prefix match from an address to a value (a peer and metric). The same
 * table answers "which peer gets this outgoing packet" (by destination) and
 * "may this peer send from this source" (by source).
 *
 * Lookups run in the forward kernel's `Fib` (DIR-24-8 for IPv4, Poptrie for
 * IPv6; runtime/kernels/forward.ts) when it loads, a whole batch per call;
 * otherwise in a binary trie here (also forced with TFW_OVERLAY_FIB=js). Both
 * read addresses from packet bytes without allocating.
 */
import { formatCidr, maskCidr, type Cidr } from '../../config/ip.js';
import { Fib } from '../../kernels/forward.js';

interface Node {
  zero: Node | null;
  one: Node | null;
  hop: number;
}

const newNode = (): Node => ({ zero: null, one: null, hop: -1 });

export interface RouteEntry<T> {
  prefix: string;
  value: T;
}

export class RouteTable<T> {
  private readonly roots = { 4: newNode(), 16: newNode() };
  private readonly byPrefix = new Map<string, { cidr: Cidr; hop: number }>();
  /** Next-hop id -> value (ids are what the Fib stores). */
  private readonly hops: (T | undefined)[] = [];
  private readonly freeHops: number[] = [];
  private readonly fib4: Fib | null;
  private readonly fib6: Fib | null;
  private readonly scratch4 = new Uint8Array(4);
  private readonly scratch6 = new Uint8Array(16);
  /** 'fib' (forward kernel) or 'trie'. */
  readonly engine: 'fib' | 'trie';

  /**
   * `trie: true` skips the kernel Fib (small tables, e.g. the device's local
   * addresses); `fibs`: the Fib pair to keep the routes in (a forward
   * `Classifier`'s, so its verdicts name this table's next-hop ids).
   */
  constructor(opts: { trie?: boolean; fibs?: { ipv4: Fib; ipv6: Fib } } = {}) {
    let f4: Fib | null = null, f6: Fib | null = null;
    if (opts.fibs) {
      f4 = opts.fibs.ipv4;
      f6 = opts.fibs.ipv6;
    } else if (process.env.TFW_OVERLAY_FIB !== 'js' && !opts.trie) {
      try {
        f4 = new Fib('ipv4');
        f6 = new Fib('ipv6');
      } catch {
        f4 = f6 = null;
      }
    }
    this.fib4 = f4;
    this.fib6 = f6;
    this.engine = f4 ? 'fib' : 'trie';
  }

  /** Inserts or replaces a prefix (host bits are cleared first). */
  insert(prefix: Cidr, value: T): void {
    const c = maskCidr(prefix);
    const key = formatCidr(c);
    const old = this.byPrefix.get(key);
    if (old) {
      this.hops[old.hop] = value;
      return;
    }
    const hop = this.freeHops.pop() ?? this.hops.length;
    this.hops[hop] = value;
    this.byPrefix.set(key, { cidr: c, hop });
    let n = this.roots[c.bytes.length as 4 | 16];
    for (let i = 0; i < c.bits; i++) {
      const bit = (c.bytes[i >> 3] >> (7 - (i & 7))) & 1;
      const next = bit ? n.one : n.zero;
      n = next ?? (bit ? (n.one = newNode()) : (n.zero = newNode()));
    }
    n.hop = hop;
    (c.bytes.length === 4 ? this.fib4 : this.fib6)?.insert(key, hop);
  }

  /** Removes a prefix; returns whether it was present. */
  delete(prefix: Cidr): boolean {
    const c = maskCidr(prefix);
    const key = formatCidr(c);
    const e = this.byPrefix.get(key);
    if (!e) return false;
    this.byPrefix.delete(key);
    let n: Node | null = this.roots[c.bytes.length as 4 | 16];
    for (let i = 0; i < c.bits && n; i++) n = (c.bytes[i >> 3] >> (7 - (i & 7))) & 1 ? n.one : n.zero;
    if (n) n.hop = -1;
    (c.bytes.length === 4 ? this.fib4 : this.fib6)?.delete(key);
    this.hops[e.hop] = undefined;
    this.freeHops.push(e.hop);
    return true;
  }

  /** Removes every prefix whose value matches. */
  deleteWhere(pred: (v: T) => boolean): void {
    for (const { cidr, hop } of [...this.byPrefix.values()]) if (pred(this.hops[hop] as T)) this.delete(cidr);
  }

  /** Longest-prefix match on the `size` (4 or 16) address bytes at `buf[off]`. */
  lookup(buf: Uint8Array, off: number, size: 4 | 16): T | undefined {
    const fib = size === 4 ? this.fib4 : this.fib6;
    if (fib) {
      const s = size === 4 ? this.scratch4 : this.scratch6;
      for (let i = 0; i < size; i++) s[i] = buf[off + i];
      const hop = fib.lookup(s);
      return hop >= 0 ? this.hops[hop] : undefined;
    }
    return this.valueOf(this.trieLookup(buf, off, size));
  }

  /**
   * Batch lookup: `addrs` packs `n` addresses of `size` bytes; `out[i]` gets a
   * next-hop id for `valueOf` (-1 = no route). One kernel call per batch.
   */
  lookupBatch(addrs: Uint8Array, n: number, size: 4 | 16, out: Int32Array): void {
    const fib = size === 4 ? this.fib4 : this.fib6;
    if (fib && n > 0) fib.lookupBatch(addrs.subarray(0, n * size), out);
    else for (let i = 0; i < n; i++) out[i] = this.trieLookup(addrs, i * size, size);
  }

  /** The value of a next-hop id from lookupBatch. */
  valueOf(hop: number): T | undefined {
    return hop >= 0 ? this.hops[hop] : undefined;
  }

  private trieLookup(buf: Uint8Array, off: number, size: 4 | 16): number {
    let n: Node | null = this.roots[size];
    let best = n.hop;
    const bits = size * 8;
    for (let i = 0; i < bits; i++) {
      n = (buf[off + (i >> 3)] >> (7 - (i & 7))) & 1 ? n.one : n.zero;
      if (!n) break;
      if (n.hop >= 0) best = n.hop;
    }
    return best;
  }

  /** All prefixes with their values, sorted by prefix text. */
  entries(): RouteEntry<T>[] {
    return [...this.byPrefix.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([prefix, e]) => ({ prefix, value: this.hops[e.hop] as T }));
  }
}
