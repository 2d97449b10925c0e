/**
 * The Babel router (RFC 8966 §3): neighbours and link costs, the route and source
 * tables, route selection with the feasibility condition, updates (periodic,
 * triggered, retractions) and requests. Links are point-to-point WireGuard
 * tunnels, so every Hello and IHU is unicast to the one neighbour of its link.
 * The public interface is documented in index.ts.
 */
import { AE, HELLO_INTERVAL, IHU_INTERVAL_FACTOR, INFINITY, MAX_PACKET_SIZE, NOMINAL_LINK_COST, ROUTE_EXPIRY_FACTOR, SEQNO_REQUEST_HOP_COUNT, UPDATE_INTERVAL_FACTOR } from './constants.js';
import { Clock, systemClock, TimerHandle } from './clock.js';
import { BabelArgumentError } from './errors.js';
import { LinkManager } from './links.js';
import { Neighbour } from './neighbour.js';
import { newParseStats, parsePacket, Tlv } from './packet.js';
import { aeOf, formatPrefix, parsePrefix, Prefix, prefixFromWire } from './prefix.js';
import { makeRetraction, makeUpdate } from './updates.js';
import { RequestTable } from './requests.js';
import { PrefixEntry, Route, routeMetric, selectRoute } from './route-table.js';
import { validRouterId } from './router-id.js';
import { seqnoAdd, seqnoLess } from './seqno.js';
import { SourceTable } from './source-table.js';
import type { Update } from './update.js';
import type { SeqnoRequest } from './seqno-request.js';
import type { RouteRequest } from './route-request.js';
import { Outbox } from './outbox.js';
import type { BabelRouterOptions, RouteEvent, RouteInfo, RouterStats } from './types.js';

export type { BabelRouterOptions, RouteEvent, RouteInfo, RouterStats } from './types.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
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
  };

  /** Throws BabelArgumentError for a bad router-id or option, BabelPrefixError for a bad prefix. */
  constructor(opts: BabelRouterOptions) {
    if (!(opts.routerId instanceof Uint8Array) || !validRouterId(opts.routerId))
      throw new BabelArgumentError('routerId', 'expected 8 bytes, not all zeroes or all ones (RFC 8966 §4.6.7)');
    for (const f of ['helloInterval', 'ihuInterval', 'updateInterval', 'linkCost', 'maxPacketSize'] as const) {
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
        onCostChange: (n, wasDown) => this.onCostChange(n, wasDown),
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
    this.every(this.updateInterval, () => this.sendFullDumps());
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
      if (entry.routes.delete(id)) this.select(entry);
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
        if (t.type === 'update') this.onUpdate(n, t);
        else if (t.type === 'routeRequest') this.onRouteRequest(n, t);
        else if (t.type === 'seqnoRequest') this.onSeqnoRequest(n, t);
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
    for (const n of this.neighbours.values()) this.queue(n.id, this.localUpdate(p));
    this.flush();
  }

  /** Stops originating a prefix and retracts it (or falls back to a route learned from others). */
  removeLocalPrefix(prefix: string): void {
    const p = parsePrefix(prefix);
    const key = formatPrefix(p);
    if (!this.local.delete(key)) return;
    this.emit({ prefix: key, via: null, metric: 0, removed: true });
    const entry = this.entryFor(key, p);
    entry.advertised = null;
    entry.retracted = { routerId: this.routerId, seqno: this.seqno, until: this.clock.now() + this.holdTime() };
    this.select(entry);
    if (!entry.selected) this.sendToAll(this.retraction(entry));
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

  private holdTime(): number {
    return ROUTE_EXPIRY_FACTOR * this.updateInterval;
  }

  // ---- link cost changes (§3.4.3) --------------------------------------

  /** Recomputes the metric of every route through `n`; a link that came up is asked for a full dump. */
  private onCostChange(n: Neighbour, wasDown: boolean): void {
    // Routes kept from before the link went down may be stale: ask for everything.
    if (wasDown && n.cost < INFINITY) this.queue(n.id, { type: 'routeRequest', ae: AE.Wildcard, plen: 0, prefix: new Uint8Array(0) });
    for (const entry of [...this.table.values()]) {
      const r = entry.routes.get(n.id);
      if (!r) continue;
      r.metric = routeMetric(n.cost, r.advMetric);
      this.select(entry);
    }
  }

  // ---- updates received (§3.5.3) ----------------------------------------

  private entryFor(key: string, prefix: Prefix): PrefixEntry {
    let e = this.table.get(key);
    if (!e) {
      e = { key, prefix, routes: new Map(), selected: null, advertised: null, retracted: null };
      this.table.set(key, e);
    }
    return e;
  }

  private feasible(entry: PrefixEntry, r: Route): boolean {
    return this.sources.feasible(entry.key, r.rid, r.seqno, r.advMetric);
  }

  private onUpdate(n: Neighbour, u: Update): void {
    const now = this.clock.now();
    const interval = u.interval * 10;
    if (u.ae === AE.Wildcard) {
      // §4.6.9: a wildcard retraction withdraws every route learned from this neighbour.
      for (const entry of [...this.table.values()]) {
        const r = entry.routes.get(n.id);
        if (!r) continue;
        r.advMetric = r.metric = INFINITY;
        r.expiresAt = now + ROUTE_EXPIRY_FACTOR * interval;
        this.select(entry);
      }
      return;
    }
    if (!u.routerId) {
      this.stats.malformedTlv++; // §4.6.9: an Update needs a router-id in force
      return;
    }
    const prefix = prefixFromWire(u.ae, u.plen, u.prefix);
    const key = formatPrefix(prefix);
    const rid = hex(u.routerId);
    if (rid === this.rid || this.local.has(key)) return; // our own routes, echoed back
    const feasible = this.sources.feasible(key, rid, u.seqno, u.metric);
    const pending = this.requests.get(key, rid);
    // An answer that is still too old: allow asking this neighbour again right away.
    if (pending && !feasible && seqnoLess(u.seqno, pending.seqno)) pending.sentTo.delete(n.id);
    let entry = this.table.get(key);
    let r = entry?.routes.get(n.id);
    if (!r) {
      if (u.metric >= INFINITY) return; // retraction of a route we never had
      entry ??= this.entryFor(key, prefix);
      r = { neighbour: n.id, routerId: u.routerId, rid, seqno: u.seqno, advMetric: u.metric, metric: INFINITY, nextHop: u.nextHop ?? null, interval, expiresAt: 0 };
      entry.routes.set(n.id, r); // unfeasible routes are kept: requests are sent along them (§3.8.2)
    } else if (entry!.selected === r && !feasible && rid === r.rid) {
      // §3.5.3: an unfeasible update for the selected route with the same source may be
      // ignored; §3.8.2.2: ask the neighbour for a newer seqno instead.
      this.requestNewerSeqno(entry!, u.routerId, [n.id]);
      return;
    } else {
      Object.assign(r, { routerId: u.routerId, rid, seqno: u.seqno, advMetric: u.metric, nextHop: u.nextHop ?? null, interval });
    }
    entry = entry!;
    r.metric = routeMetric(n.cost, r.advMetric);
    r.expiresAt = now + ROUTE_EXPIRY_FACTOR * interval;
    this.select(entry);
    // §3.8.2.2: an unfeasible route better than what we use is worth a seqno request.
    if (!feasible && r.metric < INFINITY && (!entry.selected || r.metric < entry.selected.metric))
      this.requestNewerSeqno(entry, u.routerId, [n.id]);
  }

  // ---- route selection and what follows from it (§3.6, §3.7.2) -----------

  private select(entry: PrefixEntry): void {
    if (this.local.has(entry.key)) {
      entry.selected = null;
      return;
    }
    const best = selectRoute(entry, (r) => this.feasible(entry, r));
    entry.selected = best;
    const prev = entry.advertised;
    if (best) {
      const p = this.requests.satisfy(entry.key, best.rid, best.seqno);
      const moved = !prev || prev.via !== best.neighbour || prev.metric !== best.metric;
      if (moved) this.emit({ prefix: entry.key, via: best.neighbour, metric: best.metric, removed: false });
      // Triggered update: new route, new source (MUST, §3.5.3), metric change, or a newer seqno.
      if (!prev || prev.rid !== best.rid || prev.metric !== best.metric || seqnoLess(prev.seqno, best.seqno) || p) {
        this.sendToAll(null, entry);
      }
      entry.advertised = { via: best.neighbour, rid: best.rid, seqno: best.seqno, metric: best.metric };
      entry.retracted = null;
    } else if (prev) {
      this.emit({ prefix: entry.key, via: prev.via, metric: INFINITY, removed: true });
      entry.advertised = null;
      const src = entry.routes.get(prev.via);
      entry.retracted = { routerId: src?.routerId ?? this.routerId, seqno: prev.seqno, until: this.clock.now() + this.holdTime() };
      this.sendToAll(this.retraction(entry));
    }
    if (!best) this.avoidStarvation(entry);
  }

  /** §3.8.2.1: no feasible route left but unfeasible ones exist: ask their sources for a newer seqno. */
  private avoidStarvation(entry: PrefixEntry): void {
    for (const r of entry.routes.values()) {
      if (r.metric >= INFINITY || this.feasible(entry, r)) continue;
      this.requestNewerSeqno(entry, r.routerId, [r.neighbour]);
    }
  }

  /** Sends a seqno request for FD seqno + 1 (§3.8.2.1) to the given neighbours. */
  private requestNewerSeqno(entry: PrefixEntry, routerId: Uint8Array, to: string[]): void {
    const rid = hex(routerId);
    const fd = this.sources.get(entry.key, rid);
    if (!fd) return; // no feasibility distance: every update from this source is feasible
    this.sendSeqnoRequest(entry, routerId, seqnoAdd(fd.seqno, 1), SEQNO_REQUEST_HOP_COUNT, to);
  }

  private sendSeqnoRequest(entry: PrefixEntry, routerId: Uint8Array, seqno: number, hopCount: number, to: string[]): void {
    const rid = hex(routerId);
    const p = this.requests.open(entry.key, entry.prefix, routerId, rid, seqno, hopCount, this.clock.now());
    for (const id of to) {
      if (p.sentTo.has(id) || !this.neighbours.has(id)) continue;
      p.sentTo.add(id);
      this.stats.seqnoRequestsSent++;
      this.queue(id, this.seqnoRequestTlv(entry.prefix, routerId, p.seqno, p.hopCount));
    }
  }

  private seqnoRequestTlv(prefix: Prefix, routerId: Uint8Array, seqno: number, hopCount: number): Tlv {
    return { type: 'seqnoRequest', ae: aeOf(prefix), plen: prefix.plen, seqno, hopCount, routerId, prefix: prefix.bytes };
  }

  // ---- requests received (§3.8.1) ---------------------------------------

  /** §3.8.1.1: a wildcard request gets a full dump, a prefix request an update or a retraction. */
  private onRouteRequest(n: Neighbour, t: RouteRequest): void {
    if (t.ae === AE.Wildcard) {
      this.fullDump(n);
      return;
    }
    const prefix = prefixFromWire(t.ae, t.plen, t.prefix);
    const key = formatPrefix(prefix);
    const lp = this.local.get(key);
    if (lp) return this.queue(n.id, this.localUpdate(lp));
    const entry = this.table.get(key);
    const u = entry && this.routeUpdate(entry, n.id);
    if (u) this.queue(n.id, u);
    else this.queue(n.id, this.retraction(entry ?? { key, prefix, routes: new Map(), selected: null, advertised: null, retracted: null }));
  }

  /** §3.8.1.2: answer from our own routes, bump our seqno, or forward towards the source. */
  private onSeqnoRequest(n: Neighbour, t: SeqnoRequest): void {
    const prefix = prefixFromWire(t.ae, t.plen, t.prefix);
    const key = formatPrefix(prefix);
    const rid = hex(t.routerId);
    const lp = this.local.get(key);
    if (lp) {
      if (rid === this.rid && seqnoLess(this.seqno, t.seqno)) {
        // At most +1 per request (§3.8.1.2); the new seqno goes to every neighbour.
        this.seqno = seqnoAdd(this.seqno, 1);
        this.stats.seqnoIncrements++;
        for (const m of this.neighbours.values()) for (const q of this.local.values()) this.queue(m.id, this.localUpdate(q));
      } else {
        this.queue(n.id, this.localUpdate(lp));
      }
      return;
    }
    const entry = this.table.get(key);
    const sel = entry?.selected;
    if (!entry || !sel || sel.metric >= INFINITY) return;
    if (sel.rid !== rid || !seqnoLess(sel.seqno, t.seqno)) {
      const u = this.routeUpdate(entry, null);
      if (u) this.queue(n.id, u);
      return;
    }
    if (t.hopCount < 2) return;
    // Forward to the selected next hop, or another neighbour with a route from this source, never back.
    let target: string | null = sel.neighbour !== n.id ? sel.neighbour : null;
    if (!target) {
      for (const r of entry.routes.values()) {
        if (r.neighbour !== n.id && r.rid === rid && r.metric < INFINITY) {
          target = r.neighbour;
          break;
        }
      }
    }
    if (!target) return;
    const p = this.requests.get(key, rid);
    const duplicate = p && !seqnoLess(p.seqno, t.seqno) && p.sentTo.has(target);
    this.requests.open(key, prefix, t.routerId, rid, t.seqno, t.hopCount - 1, this.clock.now()).requesters.add(n.id);
    if (duplicate) return;
    this.stats.seqnoRequestsForwarded++;
    this.sendSeqnoRequest(entry, t.routerId, t.seqno, t.hopCount - 1, [target]);
  }

  // ---- updates sent (§3.7) ----------------------------------------------

  private localUpdate(p: Prefix): Update {
    return makeUpdate(p, this.routerId, this.seqno, 0, this.updateInterval);
  }

  /**
   * The update advertising an entry's selected route to `to` (null: any), or null
   * when there is none or split horizon forbids it. Updates the feasibility
   * distance first (§3.7.3).
   */
  private routeUpdate(entry: PrefixEntry, to: string | null): Update | null {
    const r = entry.selected;
    if (!r || r.metric >= INFINITY) return null;
    if (this.splitHorizon && to !== null && r.neighbour === to) return null;
    this.sources.advertise(entry.key, r.rid, r.seqno, r.metric, this.clock.now());
    return makeUpdate(entry.prefix, r.routerId, r.seqno, r.metric, this.updateInterval);
  }

  private retraction(entry: PrefixEntry): Update {
    const src = entry.retracted ?? { routerId: this.routerId, seqno: this.seqno };
    return makeRetraction(entry.prefix, src.routerId, src.seqno, this.updateInterval);
  }

  /** Queues `u` (or the entry's route update, per neighbour for split horizon) to every neighbour. */
  private sendToAll(u: Update | null, entry?: PrefixEntry): void {
    for (const n of this.neighbours.values()) {
      const x = u ?? (entry ? this.routeUpdate(entry, n.id) : null);
      if (x) this.queue(n.id, x);
    }
  }

  /** Our prefixes, our selected routes and the retractions still held (§3.7.1). */
  private fullDump(n: Neighbour): void {
    for (const p of this.local.values()) this.queue(n.id, this.localUpdate(p));
    for (const e of this.table.values()) {
      if (this.local.has(e.key)) continue;
      const u = this.routeUpdate(e, n.id);
      if (u) this.queue(n.id, u);
      else if (e.retracted) this.queue(n.id, this.retraction(e));
    }
  }

  private sendFullDumps(): void {
    for (const n of this.neighbours.values()) this.fullDump(n);
  }

  // ---- housekeeping: expiry (§3.5.4), hold (§3.5.5), GC, request resends ----

  private housekeeping(): void {
    const now = this.clock.now();
    this.neighbours.refreshAll(); // IHU hold time
    for (const entry of [...this.table.values()]) {
      let changed = false;
      for (const [id, r] of entry.routes) {
        if (now < r.expiresAt) continue;
        changed = true;
        if (r.advMetric < INFINITY) {
          r.advMetric = r.metric = INFINITY; // §3.5.4: first retract, then flush after another expiry
          r.expiresAt = now + ROUTE_EXPIRY_FACTOR * r.interval;
        } else {
          entry.routes.delete(id);
        }
      }
      if (changed) this.select(entry);
      if (entry.retracted && now >= entry.retracted.until) entry.retracted = null;
      if (entry.routes.size === 0 && !entry.retracted && !entry.advertised) this.table.delete(entry.key);
    }
    this.sources.gc(now);
    for (const p of this.requests.due(now)) {
      for (const id of p.sentTo) {
        if (!this.neighbours.has(id)) continue;
        this.stats.seqnoRequestsSent++;
        this.queue(id, this.seqnoRequestTlv(p.prefix, p.routerId, p.seqno, p.hopCount));
      }
    }
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
