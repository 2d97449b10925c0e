/**
 * The request side of the Babel router (RFC 8966 §3.8 Explicit Requests):
 * Route Requests received (§3.8.1.1: a full dump, an update or a retraction),
 * Seqno Requests received (§3.8.1.2: answered from our routes, by increasing
 * our own seqno, or forwarded towards the source with duplicate suppression),
 * and Seqno Requests sent (§3.8.2: for unfeasible updates §3.8.2.2, to avoid
 * starvation §3.8.2.1) and resent until answered. The outstanding requests
 * live in requests.ts's table, which stays in router.ts with the route and
 * source tables; this class reaches them, the router's steps and the updates
 * of route-selection.ts through `RequestsHost`.
 */
import { AE, INFINITY, SEQNO_REQUEST_HOP_COUNT } from './constants.js';
import type { Neighbour } from './neighbour.js';
import type { Tlv } from './packet.js';
import { aeOf, formatPrefix, Prefix, prefixFromWire } from './prefix.js';
import type { RouteRequest } from './route-request.js';
import { hex, type RouterState } from './route-selection.js';
import type { PrefixEntry, Route } from './route-table.js';
import { seqnoAdd, seqnoLess } from './seqno.js';
import type { SeqnoRequest } from './seqno-request.js';
import type { Update } from './update.js';

/** The router state and steps the request side uses (router.ts provides them, once at construction). */
export interface RequestsHost extends RouterState {
  /** Increases our own seqno by one (§3.8.1.2). */
  incrementSeqno(): void;
  // route-selection.ts
  feasible(entry: PrefixEntry, r: Route): boolean;
  localUpdate(p: Prefix): Update;
  /** The update for an entry's selected route to `to` (null: any), or null (none, split horizon). */
  routeUpdate(entry: PrefixEntry, to: string | null): Update | null;
  retraction(entry: PrefixEntry): Update;
  /** Our prefixes, our selected routes and the retractions still held (§3.7.1). */
  fullDump(n: Neighbour): void;
}

/** Route and seqno requests in and out, for one router. */
export class ExplicitRequests {
  constructor(private readonly router: RequestsHost) {}

  // ---- requests sent (§3.8.2) -------------------------------------------

  /** §3.8.2.1: no feasible route left but unfeasible ones exist: ask their sources for a newer seqno. */
  avoidStarvation(entry: PrefixEntry): void {
    for (const r of entry.routes.values()) {
      if (r.metric >= INFINITY || this.router.feasible(entry, r)) continue;
      this.requestNewerSeqno(entry, r.routerId, [r.neighbour]);
    }
  }

  /** Sends a seqno request for FD seqno + 1 (§3.8.2.1) to the given neighbours. */
  requestNewerSeqno(entry: PrefixEntry, routerId: Uint8Array, to: string[]): void {
    const rid = hex(routerId);
    const fd = this.router.sources.get(entry.key, rid);
    if (!fd) return; // no feasibility distance: every update from this source is feasible
    this.sendSeqnoRequest(entry, routerId, seqnoAdd(fd.seqno, 1), SEQNO_REQUEST_HOP_COUNT, to);
  }

  private sendSeqnoRequest(entry: PrefixEntry, routerId: Uint8Array, seqno: number, hopCount: number, to: string[]): void {
    const rid = hex(routerId);
    const p = this.router.requests.open(entry.key, entry.prefix, routerId, rid, seqno, hopCount, this.router.now());
    for (const id of to) {
      if (p.sentTo.has(id) || !this.router.neighbours.has(id)) continue;
      p.sentTo.add(id);
      this.router.stats.seqnoRequestsSent++;
      this.router.queue(id, this.seqnoRequestTlv(entry.prefix, routerId, p.seqno, p.hopCount));
    }
  }

  private seqnoRequestTlv(prefix: Prefix, routerId: Uint8Array, seqno: number, hopCount: number): Tlv {
    return { type: 'seqnoRequest', ae: aeOf(prefix), plen: prefix.plen, seqno, hopCount, routerId, prefix: prefix.bytes };
  }

  /** Resends the outstanding requests whose timeout passed (requests.ts) to the neighbours still there. */
  resend(now: number): void {
    for (const p of this.router.requests.due(now)) {
      for (const id of p.sentTo) {
        if (!this.router.neighbours.has(id)) continue;
        this.router.stats.seqnoRequestsSent++;
        this.router.queue(id, this.seqnoRequestTlv(p.prefix, p.routerId, p.seqno, p.hopCount));
      }
    }
  }

  // ---- requests received (§3.8.1) ---------------------------------------

  /** §3.8.1.1: a wildcard request gets a full dump, a prefix request an update or a retraction. */
  onRouteRequest(n: Neighbour, t: RouteRequest): void {
    if (t.ae === AE.Wildcard) {
      this.router.fullDump(n);
      return;
    }
    const prefix = prefixFromWire(t.ae, t.plen, t.prefix);
    const key = formatPrefix(prefix);
    const lp = this.router.local.get(key);
    if (lp) return this.router.queue(n.id, this.router.localUpdate(lp));
    const entry = this.router.table.get(key);
    const u = entry && this.router.routeUpdate(entry, n.id);
    if (u) this.router.queue(n.id, u);
    else this.router.queue(n.id, this.router.retraction(entry ?? { key, prefix, routes: new Map(), selected: null, advertised: null, retracted: null }));
  }

  /** §3.8.1.2: answer from our own routes, bump our seqno, or forward towards the source. */
  onSeqnoRequest(n: Neighbour, t: SeqnoRequest): void {
    const prefix = prefixFromWire(t.ae, t.plen, t.prefix);
    const key = formatPrefix(prefix);
    const rid = hex(t.routerId);
    const lp = this.router.local.get(key);
    if (lp) {
      if (rid === this.router.rid && seqnoLess(this.router.seqno(), t.seqno)) {
        // At most +1 per request (§3.8.1.2); the new seqno goes to every neighbour.
        this.router.incrementSeqno();
        this.router.stats.seqnoIncrements++;
        for (const m of this.router.neighbours.values()) for (const q of this.router.local.values()) this.router.queue(m.id, this.router.localUpdate(q));
      } else {
        this.router.queue(n.id, this.router.localUpdate(lp));
      }
      return;
    }
    const entry = this.router.table.get(key);
    const sel = entry?.selected;
    if (!entry || !sel || sel.metric >= INFINITY) return;
    if (sel.rid !== rid || !seqnoLess(sel.seqno, t.seqno)) {
      const u = this.router.routeUpdate(entry, null);
      if (u) this.router.queue(n.id, u);
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
    const p = this.router.requests.get(key, rid);
    const duplicate = p && !seqnoLess(p.seqno, t.seqno) && p.sentTo.has(target);
    this.router.requests.open(key, prefix, t.routerId, rid, t.seqno, t.hopCount - 1, this.router.now()).requesters.add(n.id);
    if (duplicate) return;
    this.router.stats.seqnoRequestsForwarded++;
    this.sendSeqnoRequest(entry, t.routerId, t.seqno, t.hopCount - 1, [target]);
  }
}
