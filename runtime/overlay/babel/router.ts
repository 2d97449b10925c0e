/**
 * The Babel router (RFC 8966 §3): the public interface, neighbours and link
 * costs (links.ts, §3.4), the route, source and request tables (§3.2.5,
 * §3.2.6, §3.8), packet dispatch, timers, housekeeping and output (§4.2).
 * The update/selection side (§3.5-3.7: updates received, feasibility, route
 * selection, retractions, updates sent) is route-selection.ts, the request
 * side (§3.8: route and seqno requests received and sent) explicit-requests.ts;
 * both reach the router's state and steps through one host object built in
 * the constructor. Links are point-to-point WireGuard tunnels, so every Hello
 * and IHU is unicast to the one neighbour of its link. The public interface
 * is documented in index.ts.
 */
import { AE, HELLO_INTERVAL, IHU_INTERVAL_FACTOR, INFINITY, MAX_PACKET_SIZE, MAX_PREFIXES_PER_NEIGHBOUR, NOMINAL_LINK_COST, UPDATE_INTERVAL_FACTOR } from './constants.js';
import { Clock, systemClock, TimerHandle } from './clock.js';
import { BabelArgumentError } from './errors.js';
import { ExplicitRequests, type RequestsHost } from './explicit-requests.js';
import { LinkManager } from './links.js';
import { newParseStats, parsePacket, Tlv } from './packet.js';
import { formatPrefix, parsePrefix, Prefix } from './prefix.js';
import { RequestTable } from './requests.js';
import { hex, RouteSelection, type SelectionHost } from './route-selection.js';
import type { PrefixEntry } from './route-table.js';
import { validRouterId } from './router-id.js';
import { seqnoAdd } from './seqno.js';
import { SourceTable } from './source-table.js';
import { Outbox } from './outbox.js';
import type { BabelRouterOptions, RouteEvent, RouteInfo, RouterStats } from './types.js';

export type { BabelRouterOptions, RouteEvent, RouteInfo, RouterStats } from './types.js';

const HOUSEKEEPING_INTERVAL = 500;

export class BabelRouter {
  readonly routerId: Uint8Array;
  private readonly rid: string;
  private seqno: number;
  private readonly clock: Clock;
  private readonly log: (message: string) => void;
  private readonly updateInterval: number;
  private readonly splitHorizon: boolean;
  private readonly neighbours: LinkManager;
  private readonly local = new Map<string, Prefix>();
  private readonly table = new Map<string, PrefixEntry>();
  private readonly sources = new SourceTable();
  private readonly requests = new RequestTable();
  private readonly outbox: Outbox;
  private readonly selection: RouteSelection;
  private readonly explicitRequests: ExplicitRequests;
  private readonly listeners = new Set<(e: RouteEvent) => void>();
  private readonly timers = new Set<TimerHandle>();
  private stopped = false;
  readonly stats: RouterStats = {
    ...newParseStats(),
    unknownNeighbour: 0,
    sendErrors: 0,
    updatesSent: 0,
    seqnoRequestsSent: 0,
    seqnoRequestsForwarded: 0,
    seqnoIncrements: 0,
    internalErrors: 0,
    prefixLimit: 0,
  };

  /** Throws BabelArgumentError for a bad router-id or option, BabelPrefixError for a bad prefix. */
  constructor(opts: BabelRouterOptions) {
    if (!(opts.routerId instanceof Uint8Array) || !validRouterId(opts.routerId))
      throw new BabelArgumentError('routerId', 'expected 8 bytes, not all zeroes or all ones (RFC 8966 §4.6.7)');
    for (const f of ['helloInterval', 'ihuInterval', 'updateInterval', 'linkCost', 'maxPacketSize', 'maxPrefixesPerNeighbour'] as const) {
      const v = opts[f];
      if (v !== undefined && !(Number.isFinite(v) && v > 0))
        throw new BabelArgumentError(f, `expected a positive number, got ${String(v)}`);
    }
    if (opts.maxPacketSize !== undefined && opts.maxPacketSize < 64)
      throw new BabelArgumentError('maxPacketSize', `expected at least 64 octets, got ${opts.maxPacketSize}`);
    if (opts.linkCost !== undefined && opts.linkCost >= INFINITY)
      throw new BabelArgumentError('linkCost', `expected less than ${INFINITY}, got ${opts.linkCost}`);
    this.routerId = Uint8Array.from(opts.routerId);
    this.rid = hex(this.routerId);
    this.seqno = (opts.seqno ?? 0) & 0xffff;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? ((m) => console.error(`tfw: babel: ${m}`));
    const hello = opts.helloInterval ?? HELLO_INTERVAL;
    this.updateInterval = opts.updateInterval ?? UPDATE_INTERVAL_FACTOR * hello;
    this.neighbours = new LinkManager(
      {
        now: () => this.clock.now(),
        after: (ms, fn) => this.after(ms, fn),
        queue: (id, tlv) => this.queue(id, tlv),
        log: (m) => this.log(m),
        onCostChange: (n, wasDown) => this.selection.onCostChange(n, wasDown),
      },
      { hello, ihu: opts.ihuInterval ?? IHU_INTERVAL_FACTOR * hello, nominalCost: opts.linkCost ?? NOMINAL_LINK_COST, unicastHellos: opts.unicastHellos ?? true },
    );
    this.outbox = new Outbox(opts.maxPacketSize ?? MAX_PACKET_SIZE, (id, err) => {
      this.stats.sendErrors++;
      this.log(`send to ${id} failed: ${err.message}`);
    });
    this.splitHorizon = opts.splitHorizon ?? true;
    for (const [i, p] of (opts.prefixes ?? []).entries()) {
      const prefix = parsePrefix(p, `prefixes[${i}]`);
      this.local.set(formatPrefix(prefix), prefix);
    }
    // The update/selection side and the request side reach the router's state and steps through one
    // host, built once (route-selection.ts, explicit-requests.ts).
    const host: SelectionHost & RequestsHost = {
      routerId: this.routerId, rid: this.rid, updateInterval: this.updateInterval, splitHorizon: this.splitHorizon,
      maxPrefixesPerNeighbour: opts.maxPrefixesPerNeighbour ?? MAX_PREFIXES_PER_NEIGHBOUR,
      neighbours: this.neighbours, local: this.local, table: this.table, sources: this.sources, requests: this.requests,
      stats: this.stats,
      now: () => this.clock.now(),
      seqno: () => this.seqno,
      incrementSeqno: () => {
        this.seqno = seqnoAdd(this.seqno, 1);
      },
      queue: (id, tlv) => this.queue(id, tlv),
      emit: (e) => this.emit(e),
      feasible: (entry, r) => this.selection.feasible(entry, r),
      localUpdate: (p) => this.selection.localUpdate(p),
      routeUpdate: (entry, to) => this.selection.routeUpdate(entry, to),
      retraction: (entry) => this.selection.retraction(entry),
      fullDump: (n) => this.selection.fullDump(n),
      requestNewerSeqno: (entry, routerId, to) => this.explicitRequests.requestNewerSeqno(entry, routerId, to),
      avoidStarvation: (entry) => this.explicitRequests.avoidStarvation(entry),
    };
    this.selection = new RouteSelection(host);
    this.explicitRequests = new ExplicitRequests(host);
    this.every(this.updateInterval, () => this.selection.sendFullDumps());
    this.every(HOUSEKEEPING_INTERVAL, () => this.housekeeping());
  }

  // ---- public interface -------------------------------------------------

  /** Subscribes to selected-route changes (feed them to the FIB). */
  on(event: 'route', fn: (e: RouteEvent) => void): this {
    if (event === 'route') this.listeners.add(fn);
    return this;
  }

  off(event: 'route', fn: (e: RouteEvent) => void): this {
    if (event === 'route') this.listeners.delete(fn);
    return this;
  }

  /** Our own route sequence number (§3.2.1). */
  get ownSeqno(): number {
    return this.seqno;
  }

  /**
   * Adds the link to a neighbour; `send` carries one Babel packet to it. Starts
   * Hellos (two in the first quarter interval so the link passes 2-out-of-3 fast)
   * and asks the neighbour for a full table dump (wildcard Route Request, §3.8.1.1).
   * Throws BabelArgumentError when the id is already a neighbour.
   */
  addNeighbour(id: string, send: (bytes: Uint8Array) => void): void {
    if (typeof send !== 'function') throw new BabelArgumentError('send', `expected a function, got ${typeof send}`);
    const n = this.neighbours.add(id, send);
    this.queue(n.id, { type: 'routeRequest', ae: AE.Wildcard, plen: 0, prefix: new Uint8Array(0) });
    this.flush();
  }

  /** Removes a neighbour and every route learned from it. Unknown ids are ignored. */
  removeNeighbour(id: string): void {
    if (!this.neighbours.remove(id)) return;
    this.outbox.drop(id);
    this.requests.dropNeighbour(id);
    for (const entry of [...this.table.values()]) {
      if (entry.routes.delete(id)) this.selection.select(entry);
    }
    this.flush();
  }

  /**
   * Fast path for "the tunnel to this neighbour is down" (e.g. WireGuard saw no
   * handshake reply): the link cost becomes infinite at once instead of after the
   * missed Hellos, and routes through it are withdrawn (§3.4, §3.5.4).
   */
  linkDown(id: string): void {
    this.neighbours.down(id);
    this.flush();
  }

  /** The tunnel is back: restart the fast Hello start so the neighbour sees the link quickly. */
  linkUp(id: string): void {
    this.neighbours.up(id);
    this.flush();
  }

  /** Handles one Babel packet from a neighbour. Never throws; bad input is counted in `stats`. */
  receive(id: string, bytes: Uint8Array): void {
    if (this.stopped) return;
    const n = this.neighbours.get(id);
    if (!n) {
      this.stats.unknownNeighbour++;
      return;
    }
    if (!(bytes instanceof Uint8Array)) {
      this.stats.packets++;
      this.stats.badHeader++;
      return;
    }
    const tlvs = parsePacket(bytes, this.stats);
    try {
      // Link-state TLVs first, so Updates in the same packet see the new link cost.
      for (const t of tlvs) {
        if (t.type === 'hello') this.neighbours.onHello(n, t.seqno, t.interval * 10);
        else if (t.type === 'ihu') this.neighbours.onIhu(n, t);
      }
      this.neighbours.refresh(n);
      for (const t of tlvs) {
        if (t.type === 'update') this.selection.onUpdate(n, t);
        else if (t.type === 'routeRequest') this.explicitRequests.onRouteRequest(n, t);
        else if (t.type === 'seqnoRequest') this.explicitRequests.onSeqnoRequest(n, t);
        else if (t.type === 'ackRequest') this.queue(n.id, { type: 'ack', opaque: t.opaque });
      }
    } catch (err) {
      // A bug here must not take the overlay down with it: count, log, carry on.
      this.stats.internalErrors++;
      this.log(`packet from ${id} not fully processed: ${(err as Error).message}`);
    }
    this.flush();
  }

  /** Starts originating a prefix. Throws BabelPrefixError for a malformed prefix. */
  addLocalPrefix(prefix: string): void {
    const p = parsePrefix(prefix);
    const key = formatPrefix(p);
    if (this.local.has(key)) return;
    this.local.set(key, p);
    const entry = this.table.get(key);
    if (entry) {
      entry.advertised = null;
      entry.retracted = null;
    }
    this.emit({ prefix: key, via: null, metric: 0, removed: false });
    for (const n of this.neighbours.values()) this.queue(n.id, this.selection.localUpdate(p));
    this.flush();
  }

  /** Stops originating a prefix and retracts it (or falls back to a route learned from others). */
  removeLocalPrefix(prefix: string): void {
    const p = parsePrefix(prefix);
    const key = formatPrefix(p);
    if (!this.local.delete(key)) return;
    this.emit({ prefix: key, via: null, metric: 0, removed: true });
    const entry = this.selection.entryFor(key, p);
    entry.advertised = null;
    entry.retracted = { routerId: this.routerId, seqno: this.seqno, until: this.clock.now() + this.selection.holdTime() };
    this.selection.select(entry);
    if (!entry.selected) this.selection.sendToAll(this.selection.retraction(entry));
    this.flush();
  }

  /** The selected routes: our own prefixes (via null, metric 0) and the best feasible route per learned prefix. */
  routes(): RouteInfo[] {
    const out: RouteInfo[] = [];
    for (const key of this.local.keys()) out.push({ prefix: key, via: null, metric: 0, seqno: this.seqno, routerId: this.rid });
    for (const e of this.table.values()) {
      if (!e.selected || this.local.has(e.key)) continue;
      const r = e.selected;
      out.push({ prefix: e.key, via: r.neighbour, metric: r.metric, seqno: r.seqno, routerId: r.rid });
    }
    return out;
  }

  /**
   * Table sizes: prefixes in the route table, routes stored (one per prefix and
   * neighbour that advertised it, selected or not) and source-table entries (§3.2.5).
   * O(prefixes); for status output and the mesh-scale bench.
   */
  tableSize(): { prefixes: number; routes: number; sources: number } {
    let routes = 0;
    for (const e of this.table.values()) routes += e.routes.size;
    return { prefixes: this.table.size, routes, sources: this.sources.size };
  }

  /** Link state per neighbour, for status output. */
  neighbourInfo(): Array<{ id: string; cost: number; rxcost: number; txcost: number; history: number }> {
    return this.neighbours.info();
  }

  /** Cancels every timer; the router sends nothing afterwards. */
  stop(): void {
    this.stopped = true;
    for (const t of [...this.timers]) t.cancel();
    this.timers.clear();
    this.neighbours.stop();
  }

  // ---- timers -----------------------------------------------------------

  /** A one-shot timer, tracked so stop() can cancel it; the router's output is flushed after it runs. */
  private after(ms: number, fn: () => void): TimerHandle {
    const inner = this.clock.setTimeout(() => {
      this.timers.delete(handle);
      if (this.stopped) return;
      fn();
      this.flush();
    }, ms);
    const handle: TimerHandle = {
      cancel: () => {
        inner.cancel();
        this.timers.delete(handle);
      },
    };
    this.timers.add(handle);
    return handle;
  }

  private every(ms: number, fn: () => void): void {
    this.after(ms, () => {
      fn();
      this.every(ms, fn);
    });
  }

  // ---- housekeeping: expiry (§3.5.4), hold (§3.5.5), GC, request resends ----

  private housekeeping(): void {
    const now = this.clock.now();
    this.neighbours.refreshAll(); // IHU hold time
    this.selection.expire(now); // route-selection.ts
    this.explicitRequests.resend(now); // explicit-requests.ts
  }

  // ---- output -------------------------------------------------------------

  private emit(e: RouteEvent): void {
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch (err) {
        this.log(`route listener failed: ${(err as Error).message}`);
      }
    }
  }

  private queue(id: string, tlv: Tlv): void {
    if (tlv.type === 'update') this.stats.updatesSent++;
    this.outbox.queue(id, tlv);
  }

  private flush(): void {
    if (this.stopped) this.outbox.clear();
    else this.outbox.flush((id) => this.neighbours.get(id)?.send);
  }
}
