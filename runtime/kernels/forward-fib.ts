/**
 * `Fib`: a forwarding table with longest-prefix match for one address family.
 * IPv4 uses DIR-24-8 (Gupta, Lin, McKeown, INFOCOM 1998), IPv6 Poptrie (Asai,
 * Ohara, SIGCOMM 2015); both live in the engine (wasm today). The IPv4 RIB (the
 * set of prefixes, to find the covering route when one is deleted) is kept here
 * (forward-rib4.ts); for IPv6 a key set here and the prefixes in the engine.
 */
import { readFileSync } from 'node:fs';
import { ArgumentRangeError, TfwError } from '../errors.js';
import { bytesArg, int32ArrayArg } from './args.js';
import { resolveBackend, type BackendOptions, type ConcreteBackend } from './backend.js';
import { createEngine, type ForwardEngine } from './forward-engine.js';
import { checkNextHop, formatAddress, parseAddress, parsePrefix, parsePrefix4, PrefixError, type Family, type Prefix } from './forward-prefix.js';
import { Rib4 } from './forward-rib4.js';
import { parseRoutes, type RouteParseOptions } from './forward-routes.js';

/** Internal: lets a Classifier build its two Fibs on its own engine. */
export const ENGINE = Symbol('tfw.forward.engine');

export interface FibOptions extends BackendOptions {
  [ENGINE]?: ForwardEngine;
}

const u32of = (b: Uint8Array): number => ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export class Fib {
  readonly family: Family;
  readonly backend: ConcreteBackend;
  /** @internal the engine that holds the table (shared with a Classifier). */
  readonly engine: ForwardEngine;
  private readonly rib4 = new Rib4();
  private readonly rib6 = new Map<string, number>();
  private count = 0;

  /**
   * @param family  `'ipv4'` or `'ipv6'`
   * @param options `{ backend }`: `auto` | `wasm` | `wasm-simd` | `wasm-scalar` | `native`
   * @throws TfwError `ERR_TFW_FAMILY` for another family; BackendUnavailableError
   */
  constructor(family: Family, options: FibOptions = {}) {
    if (family !== 'ipv4' && family !== 'ipv6') {
      throw new TfwError('ERR_TFW_FAMILY', `family: expected 'ipv4' or 'ipv6', got ${JSON.stringify(family)}`);
    }
    this.family = family;
    this.engine = options[ENGINE] ?? createEngine(resolveBackend(options, 'forward'));
    this.backend = this.engine.backend;
  }

  /**
   * Reads a route file (see `loadRoutes`) into a new table.
   * @throws RouteFileError, PrefixError, and fs errors for an unreadable file
   */
  static fromFile(path: string, family: Family, options: FibOptions & RouteParseOptions = {}): Fib {
    const fib = new Fib(family, options);
    fib.loadRoutes(readFileSync(path, 'utf8'), options);
    return fib;
  }

  /** Number of prefixes in the table. */
  get size(): number {
    return this.count;
  }

  /**
   * Exact bytes held by this family's data-plane structures in the engine: for
   * IPv4 the 64 MiB tbl24 (allocated at the first insert) plus 1 KiB per tbl8
   * group; for IPv6 the fixed arrays (1 MiB), Poptrie nodes and leaves, prefix
   * records and the rebuild scratch. The TypeScript RIB is not counted.
   */
  get memoryBytes(): number {
    return this.family === 'ipv4' ? this.engine.v4Bytes() : this.engine.v6Bytes();
  }

  private parse(prefix: string): Prefix {
    return parsePrefix(this.family, prefix);
  }

  /**
   * Adds `prefix` -> `nextHop`, replacing the next hop when the prefix is present.
   * `prefix` is CIDR text (`10.0.0.0/8`, `2001:db8::/32`; a bare address is a host
   * route); host bits set below the length are accepted and masked off.
   * @throws PrefixError (`ERR_TFW_PREFIX`), NextHopError (`ERR_TFW_NEXT_HOP`), ForwardMemoryError
   */
  insert(prefix: string, nextHop: number): void {
    if (this.family === 'ipv4') {
      const packed = parsePrefix4(prefix);
      this.apply4(Math.floor(packed / 64), packed % 64, checkNextHop(nextHop));
      return;
    }
    const p = this.parse(prefix);
    checkNextHop(nextHop);
    this.apply(p, nextHop);
  }

  private apply4(key: number, length: number, nextHop: number): void {
    this.engine.v4Insert(key, length, nextHop);
    if (this.rib4.set(key, length, nextHop)) this.count++;
  }

  private apply(p: Prefix, nextHop: number): void {
    if (this.family === 'ipv4') {
      this.apply4(u32of(p.bytes), p.length, nextHop);
    } else {
      const key = `${hexOf(p.bytes)}/${p.length}`;
      const had = this.rib6.has(key);
      this.engine.v6Insert(p.bytes, p.length, nextHop, !had);
      this.rib6.set(key, nextHop);
      if (!had) this.count++;
    }
  }

  /**
   * Adds many routes in one update (IPv6 rebuilds each touched subtree once).
   * All entries are validated before any is applied.
   * @throws PrefixError, NextHopError
   */
  insertMany(routes: Iterable<{ prefix: string; nextHop: number }>): number {
    if (this.family === 'ipv4') {
      // Validate everything first into flat arrays (a million routes must not
      // become a million objects), then apply.
      const list = Array.isArray(routes) ? routes : [...routes];
      const packed = new Float64Array(list.length);
      const hops = new Uint16Array(list.length);
      for (let i = 0; i < list.length; i++) {
        packed[i] = parsePrefix4(list[i].prefix);
        hops[i] = checkNextHop(list[i].nextHop);
      }
      for (let i = 0; i < list.length; i++) this.apply4(Math.floor(packed[i] / 64), packed[i] % 64, hops[i]);
      return list.length;
    }
    const parsed: Array<[Prefix, number]> = [];
    for (const r of routes) parsed.push([this.parse(r.prefix), checkNextHop(r.nextHop)]);
    if (this.family === 'ipv6') this.engine.v6Begin();
    try {
      for (const [p, nh] of parsed) this.apply(p, nh);
    } finally {
      if (this.family === 'ipv6') this.engine.v6Commit();
    }
    return parsed.length;
  }

  /**
   * Loads routes from text: `prefix nexthop` lines (`#` comments) or the JSON of
   * `ip -j route` (gateways/devices mapped to next-hop ids through
   * `options.nextHops`, see RouteParseOptions). Nothing is applied when any line
   * is bad. Returns the number of routes and the next-hop map used.
   * @throws RouteFileError (`ERR_TFW_ROUTES`) naming the line
   */
  loadRoutes(text: string, options: RouteParseOptions = {}): { added: number; nextHops: Map<string, number> } {
    const nextHops = options.nextHops ?? new Map<string, number>();
    const routes = parseRoutes(this.family, text, { nextHops });
    return { added: this.insertMany(routes), nextHops };
  }

  /**
   * Removes `prefix` (host bits masked as in insert). Addresses it covered fall
   * back to the next shorter covering prefix. Returns false when it was absent.
   * @throws PrefixError
   */
  delete(prefix: string): boolean {
    if (this.family === 'ipv4') {
      const packed = parsePrefix4(prefix);
      const key = Math.floor(packed / 64);
      const length = packed % 64;
      if (!this.rib4.delete(key, length)) return false;
      const cover = this.rib4.cover(key, length);
      this.engine.v4Delete(key, length, cover ? cover[0] : -1, cover ? cover[1] : 0);
    } else {
      const p = this.parse(prefix);
      const key = `${hexOf(p.bytes)}/${p.length}`;
      if (!this.rib6.delete(key)) return false;
      this.engine.v6Delete(p.bytes, p.length);
    }
    this.count--;
    return true;
  }

  private address(address: string | Uint8Array): Uint8Array {
    const width = this.family === 'ipv4' ? 4 : 16;
    if (address instanceof Uint8Array) {
      if (address.length !== width) throw new PrefixError('address', `${address.length} bytes`, `${width} bytes in network order`);
      return address;
    }
    return parseAddress(this.family, address);
  }

  /**
   * Longest-prefix match for one address (text, or 4 / 16 bytes in network order).
   * Returns the next hop id, or -1 when no prefix matches.
   * @throws PrefixError for a malformed address
   */
  lookup(address: string | Uint8Array): number {
    const a = this.address(address);
    return this.family === 'ipv4' ? this.engine.v4Lookup(u32of(a)) : this.engine.v6Lookup(a);
  }

  /**
   * Batch lookup: `addresses` packs `n` addresses in network order (4 bytes each
   * for IPv4, 16 for IPv6); `out[i]` receives address i's next hop or -1. No
   * allocation per call once the engine's batch buffer fits `n`.
   * @throws ArgumentTypeError (ERR_TFW_ARG_TYPE) when `addresses` is not a Uint8Array or `out` not an
   *         Int32Array (or either is detached), on every backend; ArgumentRangeError (ERR_TFW_ARG_RANGE)
   *         when `addresses.length` is not a multiple of the width or `out` is shorter than `n`
   */
  lookupBatch(addresses: Uint8Array, out: Int32Array): void {
    const width = this.family === 'ipv4' ? 4 : 16;
    bytesArg('addresses', addresses);
    if (addresses.length % width !== 0) throw new ArgumentRangeError(`addresses: expected a multiple of ${width} bytes, got ${addresses.length}`);
    const n = addresses.length / width;
    int32ArrayArg('out', out, n);
    if (this.family === 'ipv4') this.engine.v4LookupBatch(addresses, n, out);
    else this.engine.v6LookupBatch(addresses, n, out);
  }

  /** The routes as `[prefix, nextHop]` pairs (RIB order, not sorted). */
  *routes(): IterableIterator<[string, number]> {
    if (this.family === 'ipv4') {
      for (const [k, l, nh] of this.rib4.entries()) {
        yield [`${k >>> 24}.${(k >>> 16) & 255}.${(k >>> 8) & 255}.${k & 255}/${l}`, nh];
      }
    } else {
      for (const [k, nh] of this.rib6) {
        const [hex, len] = k.split('/');
        yield [`${formatAddress(new Uint8Array(Buffer.from(hex, 'hex')))}/${len}`, nh];
      }
    }
  }
}
