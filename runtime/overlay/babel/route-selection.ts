/**
 * The update/selection side of the Babel router (RFC 8966 §3.5 Route
 * Acquisition, §3.6 Route Selection, §3.7 Sending Updates): updates received
 * (§3.5.3, wildcard retractions §4.6.9) and their feasibility (§3.5.1), route
 * metrics after link cost changes (§3.5.2), route expiry (§3.5.4) and held
 * retractions (§3.5.5), route selection and what follows from it (route
 * events, triggered updates and retractions, §3.7.2), and the updates we send
 * (full dumps §3.7.1, feasibility distances §3.7.3, split horizon §3.7.4). The
 * route, source and request tables stay in router.ts; this class reaches them
 * and the router's steps through `SelectionHost`. The seqno requests that
 * updates and selection call for are sent by explicit-requests.ts.
 */
import { AE, INFINITY, ROUTE_EXPIRY_FACTOR } from './constants.js';
import type { LinkManager } from './links.js';
import type { Neighbour } from './neighbour.js';
import type { Tlv } from './packet.js';
import { formatPrefix, Prefix, prefixFromWire } from './prefix.js';
import type { RequestTable } from './requests.js';
import { PrefixEntry, Route, routeMetric, selectRoute } from './route-table.js';
import { seqnoLess } from './seqno.js';
import type { SourceTable } from './source-table.js';
import type { RouteEvent, RouterStats } from './types.js';
import type { Update } from './update.js';
import { makeRetraction, makeUpdate } from './updates.js';

/** A router-id in hex: Route.rid, the key of the source and request tables. */
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The router state and steps both this side and the request side (explicit-requests.ts) use. */
export interface RouterState {
  /** Our router-id in hex. */
  readonly rid: string;
  readonly neighbours: LinkManager;
  /** Our own prefixes, by formatted prefix. */
  readonly local: Map<string, Prefix>;
  readonly table: Map<string, PrefixEntry>;
  readonly sources: SourceTable;
  readonly requests: RequestTable;
  readonly stats: RouterStats;
  now(): number;
  /** Our own route sequence number (§3.2.1). */
  seqno(): number;
  queue(id: string, tlv: Tlv): void;
}

/** The router state and steps route selection uses (router.ts provides them, once at construction). */
export interface SelectionHost extends RouterState {
  readonly routerId: Uint8Array;
  /** Our update interval, ms (§3.7.1). */
  readonly updateInterval: number;
  /** Do not advertise a route back to the neighbour it was learned from (§3.7.4). */
  readonly splitHorizon: boolean;
  /** Routes learned from one neighbour at most (further new prefixes: stats.prefixLimit). */
  readonly maxPrefixesPerNeighbour: number;
  /** Tells the route listeners about a selected-route change. */
  emit(e: RouteEvent): void;
  /** Sends a seqno request for FD seqno + 1 to the given neighbours (§3.8.2, explicit-requests.ts). */
  requestNewerSeqno(entry: PrefixEntry, routerId: Uint8Array, to: string[]): void;
  /** §3.8.2.1: no feasible route left: seqno requests along the unfeasible ones (explicit-requests.ts). */
  avoidStarvation(entry: PrefixEntry): void;
}

/** Updates in, route selection, updates out, for one router. */
export class RouteSelection {
  constructor(private readonly router: SelectionHost) {}

  /** How long a retraction is held and re-sent (§3.5.5), ms. */
  holdTime(): number {
    return ROUTE_EXPIRY_FACTOR * this.router.updateInterval;
  }

  // ---- link cost changes (§3.4.3) --------------------------------------

  /** Recomputes the metric of every route through `n`; a link that came up is asked for a full dump. */
  onCostChange(n: Neighbour, wasDown: boolean): void {
    // Routes kept from before the link went down may be stale: ask for everything.
    if (wasDown && n.cost < INFINITY) this.router.queue(n.id, { type: 'routeRequest', ae: AE.Wildcard, plen: 0, prefix: new Uint8Array(0) });
    for (const entry of [...this.router.table.values()]) {
      const r = entry.routes.get(n.id);
      if (!r) continue;
      r.metric = routeMetric(n.cost, r.advMetric);
      this.select(entry);
    }
  }

  // ---- updates received (§3.5.3) ----------------------------------------

  entryFor(key: string, prefix: Prefix): PrefixEntry {
    let e = this.router.table.get(key);
    if (!e) {
      e = { key, prefix, routes: new Map(), selected: null, advertised: null, retracted: null };
      this.router.table.set(key, e);
    }
    return e;
  }

  feasible(entry: PrefixEntry, r: Route): boolean {
    return this.router.sources.feasible(entry.key, r.rid, r.seqno, r.advMetric);
  }

  onUpdate(n: Neighbour, u: Update): void {
    const now = this.router.now();
    const interval = u.interval * 10;
    if (u.ae === AE.Wildcard) {
      // §4.6.9: a wildcard retraction withdraws every route learned from this neighbour.
      for (const entry of [...this.router.table.values()]) {
        const r = entry.routes.get(n.id);
        if (!r) continue;
        r.advMetric = r.metric = INFINITY;
        r.expiresAt = now + ROUTE_EXPIRY_FACTOR * interval;
        this.select(entry);
      }
      return;
    }
    if (!u.routerId) {
      this.router.stats.malformedTlv++; // §4.6.9: an Update needs a router-id in force
      return;
    }
    const prefix = prefixFromWire(u.ae, u.plen, u.prefix);
    const key = formatPrefix(prefix);
    const rid = hex(u.routerId);
    if (rid === this.router.rid || this.router.local.has(key)) return; // our own routes, echoed back
    const feasible = this.router.sources.feasible(key, rid, u.seqno, u.metric);
    const pending = this.router.requests.get(key, rid);
    // An answer that is still too old: allow asking this neighbour again right away.
    if (pending && !feasible && seqnoLess(u.seqno, pending.seqno)) pending.sentTo.delete(n.id);
    let entry = this.router.table.get(key);
    let r = entry?.routes.get(n.id);
    if (!r) {
      if (u.metric >= INFINITY) return; // retraction of a route we never had
      if (n.routeCount >= this.router.maxPrefixesPerNeighbour) {
        this.router.stats.prefixLimit++;
        return;
      }
      entry ??= this.entryFor(key, prefix);
      n.routeCount++;
      r = { neighbour: n.id, routerId: u.routerId, rid, seqno: u.seqno, advMetric: u.metric, metric: INFINITY, nextHop: u.nextHop ?? null, interval, expiresAt: 0 };
      entry.routes.set(n.id, r); // unfeasible routes are kept: requests are sent along them (§3.8.2)
    } else if (entry!.selected === r && !feasible && rid === r.rid) {
      // §3.5.3: an unfeasible update for the selected route with the same source may be
      // ignored; §3.8.2.2: ask the neighbour for a newer seqno instead.
      this.router.requestNewerSeqno(entry!, u.routerId, [n.id]);
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
      this.router.requestNewerSeqno(entry, u.routerId, [n.id]);
  }

  // ---- route selection and what follows from it (§3.6, §3.7.2) -----------

  select(entry: PrefixEntry): void {
    if (this.router.local.has(entry.key)) {
      entry.selected = null;
      return;
    }
    const best = selectRoute(entry, (r) => this.feasible(entry, r));
    entry.selected = best;
    const prev = entry.advertised;
    if (best) {
      const p = this.router.requests.satisfy(entry.key, best.rid, best.seqno);
      const moved = !prev || prev.via !== best.neighbour || prev.metric !== best.metric;
      if (moved) this.router.emit({ prefix: entry.key, via: best.neighbour, metric: best.metric, removed: false });
      // Triggered update: new route, new source (MUST, §3.5.3), metric change, or a newer seqno.
      if (!prev || prev.rid !== best.rid || prev.metric !== best.metric || seqnoLess(prev.seqno, best.seqno) || p) {
        this.sendToAll(null, entry);
      }
      entry.advertised = { via: best.neighbour, rid: best.rid, seqno: best.seqno, metric: best.metric };
      entry.retracted = null;
    } else if (prev) {
      this.router.emit({ prefix: entry.key, via: prev.via, metric: INFINITY, removed: true });
      entry.advertised = null;
      const src = entry.routes.get(prev.via);
      entry.retracted = { routerId: src?.routerId ?? this.router.routerId, seqno: prev.seqno, until: this.router.now() + this.holdTime() };
      this.sendToAll(this.retraction(entry));
    }
    if (!best) this.router.avoidStarvation(entry);
  }

  // ---- route expiry (§3.5.4), held retractions (§3.5.5), source GC ----------

  /** Retracts routes past their expiry, flushes them after another period, drops finished entries. */
  expire(now: number): void {
    const table = this.router.table;
    for (const entry of [...table.values()]) {
      let changed = false;
      for (const [id, r] of entry.routes) {
        if (now < r.expiresAt) continue;
        changed = true;
        if (r.advMetric < INFINITY) {
          r.advMetric = r.metric = INFINITY; // §3.5.4: first retract, then flush after another expiry
          r.expiresAt = now + ROUTE_EXPIRY_FACTOR * r.interval;
        } else {
          entry.routes.delete(id);
          const n = this.router.neighbours.get(id);
          if (n) n.routeCount--;
        }
      }
      if (changed) this.select(entry);
      if (entry.retracted && now >= entry.retracted.until) entry.retracted = null;
      if (entry.routes.size === 0 && !entry.retracted && !entry.advertised) table.delete(entry.key);
    }
    this.router.sources.gc(now);
  }

  // ---- updates sent (§3.7) ----------------------------------------------

  localUpdate(p: Prefix): Update {
    return makeUpdate(p, this.router.routerId, this.router.seqno(), 0, this.router.updateInterval);
  }

  /**
   * The update advertising an entry's selected route to `to` (null: any), or null
   * when there is none or split horizon forbids it. Updates the feasibility
   * distance first (§3.7.3).
   */
  routeUpdate(entry: PrefixEntry, to: string | null): Update | null {
    const r = entry.selected;
    if (!r || r.metric >= INFINITY) return null;
    if (this.router.splitHorizon && to !== null && r.neighbour === to) return null;
    this.router.sources.advertise(entry.key, r.rid, r.seqno, r.metric, this.router.now());
    return makeUpdate(entry.prefix, r.routerId, r.seqno, r.metric, this.router.updateInterval);
  }

  retraction(entry: PrefixEntry): Update {
    const src = entry.retracted ?? { routerId: this.router.routerId, seqno: this.router.seqno() };
    return makeRetraction(entry.prefix, src.routerId, src.seqno, this.router.updateInterval);
  }

  /** Queues `u` (or the entry's route update, per neighbour for split horizon) to every neighbour. */
  sendToAll(u: Update | null, entry?: PrefixEntry): void {
    for (const n of this.router.neighbours.values()) {
      const x = u ?? (entry ? this.routeUpdate(entry, n.id) : null);
      if (x) this.router.queue(n.id, x);
    }
  }

  /** Our prefixes, our selected routes and the retractions still held (§3.7.1). */
  fullDump(n: Neighbour): void {
    for (const p of this.router.local.values()) this.router.queue(n.id, this.localUpdate(p));
    for (const e of this.router.table.values()) {
      if (this.router.local.has(e.key)) continue;
      const u = this.routeUpdate(e, n.id);
      if (u) this.router.queue(n.id, u);
      else if (e.retracted) this.router.queue(n.id, this.retraction(e));
    }
  }

  sendFullDumps(): void {
    for (const n of this.router.neighbours.values()) this.fullDump(n);
  }
}
