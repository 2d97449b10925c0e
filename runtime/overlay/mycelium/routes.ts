/**
 * The route table of a Mycelium-dialect node: routes per (subnet, neighbour),
 * the feasibility condition over a source table (RFC 8966 §3.5.1, sources
 * keyed by subnet and 40-byte router id as in Mycelium's source_table.rs), and
 * selection of the smallest metric (advertised metric + RTT link cost) among
 * feasible routes (§3.6), and the seqno requests an unfeasible update calls
 * for (§3.8.2.2). Pure: no sockets or timers; the node feeds it TLVs
 * and the clock, and sends what it returns. Source: threefoldtech/mycelium
 * mycelium/src/router.rs (handle_incoming_update, route selection),
 * source_table.rs; RFC 8966 §3.5-3.7.
 *
 * tfw checks what Mycelium does not: an Update for a /64 inside 400::/7 must
 * name a router id whose key derives that /64 (../address.ts), so a node cannot
 * announce another node's subnet; the wire format is unchanged.
 */
import { seqnoAdd, seqnoLess } from '../babel/seqno.js';
import { overlayAddressBytes } from '../address.js';
import type { Counters } from './counters.js';
import { routerIdKey } from './router-id.js';
import { subnetKey, type Subnet } from './subnet.js';
import { METRIC_INFINITE, type Update } from './update.js';

/** A neighbour as the table sees it: an id and the current link cost. */
export interface Neighbour {
  readonly id: number;
  /** RTT-based link cost (ms, at least 1). */
  cost: number;
}

export interface Route {
  subnet: Subnet;
  routerId: Uint8Array;
  seqno: number;
  /** Metric the neighbour advertised (before adding the link cost). */
  metric: number;
  neighbour: Neighbour;
  /** Milliseconds (table clock) after which the route is dropped. */
  expires: number;
}

/** The metric of a route through its neighbour, capped below infinity. */
export const routeMetric = (r: Route): number => Math.min(METRIC_INFINITE - 1, r.metric + r.neighbour.cost);

/**
 * A metric change of the selected route that makes a triggered update
 * (RFC 8966 §3.7.2 leaves the threshold to the node): more than 10 (ms of
 * round trip, router.rs BIG_METRIC_CHANGE_TRESHOLD) or more than 25% of the
 * last reported metric. Smaller changes wait for the next full dump.
 */
export const BIG_METRIC_CHANGE = 10;
const significantChange = (last: number, now: number): boolean => {
  const d = Math.abs(now - last);
  return d > BIG_METRIC_CHANGE || d * 4 > Math.max(last, 4);
};

const sourceKey = (s: Subnet, rid: Uint8Array): string => `${subnetKey(s)}|${Buffer.from(rid).toString('hex')}`;

/** True when `s` is a /64 inside 400::/7 (a node subnet). */
const isNodeSubnet = (s: Subnet): boolean => s.family === 6 && s.plen === 64 && (s.bytes[0] & 0xfe) === 0x04;

/** What changed in the selected route of a subnet. */
export interface Selection {
  subnet: Subnet;
  /** The new selected route, or null when the subnet became unreachable. */
  route: Route | null;
  /** The route it replaced (null when there was none). */
  previous: Route | null;
}

/**
 * A seqno request an unfeasible update calls for (RFC 8966 §3.8.2.2): the
 * node sends it to the neighbour the update came from. `seqno` is the
 * source's feasibility-distance seqno + 1 (as router.rs handle_incoming_update
 * asks for).
 */
export interface SeqnoWanted {
  subnet: Subnet;
  routerId: Uint8Array;
  seqno: number;
}

export class RouteTable {
  /** Routes per subnet key, one per neighbour id. */
  private readonly routes = new Map<string, Map<number, Route>>();
  private readonly selected = new Map<string, Route>();
  /** Feasibility distances: the best (seqno, metric) this node advertised per source. */
  private readonly sources = new Map<string, { seqno: number; metric: number }>();
  private count = 0;
  /** What was last reported for a selected route, to report only real changes. */
  private readonly announced = new WeakMap<Route, { seqno: number; metric: number }>();

  constructor(
    private readonly counters: Counters,
    /** Bound on stored routes; more are dropped ('table-full'). */
    readonly maxRoutes = 65536,
  ) {}

  /** Number of stored routes (all neighbours). */
  get size(): number {
    return this.count;
  }

  /** The selected route for a subnet key, if any. */
  selectedFor(key: string): Route | undefined {
    return this.selected.get(key);
  }

  /** Every selected route. */
  selectedRoutes(): IterableIterator<Route> {
    return this.selected.values();
  }

  /** RFC 8966 §3.5.1: (seqno, metric) is feasible for a source unless the source has a newer seqno, or the same seqno with a metric at most this one. */
  feasible(subnet: Subnet, routerId: Uint8Array, seqno: number, metric: number): boolean {
    if (metric === METRIC_INFINITE) return true;
    const fd = this.sources.get(sourceKey(subnet, routerId));
    if (!fd) return true;
    return seqnoLess(fd.seqno, seqno) || (fd.seqno === seqno && metric < fd.metric);
  }

  /** Records that this node advertised (seqno, metric) for a source (§3.7.3), lowering its feasibility distance. */
  advertised(subnet: Subnet, routerId: Uint8Array, seqno: number, metric: number): void {
    if (metric === METRIC_INFINITE) return;
    const k = sourceKey(subnet, routerId);
    const fd = this.sources.get(k);
    if (!fd || seqnoLess(fd.seqno, seqno)) this.sources.set(k, { seqno, metric });
    else if (fd.seqno === seqno && metric < fd.metric) fd.metric = metric;
  }

  /**
   * Applies an Update received from `n` at time `now` (ms). Returns the
   * selection change it caused, or null. Counts drops for updates that name
   * a router id not owning the subnet, are unfeasible, or overflow the table.
   *
   * An unfeasible update is dropped; when its metric through `n` is finite and
   * smaller than the selected route's (or no route is selected), a
   * `SeqnoWanted` for its source is pushed to `wanted` (if given), so a route
   * better than the one in use becomes feasible once the origin's seqno grows
   * (§3.8.2.2). Deduplicating the requests is the caller's job.
   */
  applyUpdate(u: Update, n: Neighbour, now: number, wanted?: SeqnoWanted[]): Selection | null {
    if (isNodeSubnet(u.subnet)) {
      const a = overlayAddressBytes(routerIdKey(u.routerId));
      for (let i = 0; i < 8; i++) {
        if (a[i] !== u.subnet.bytes[i]) {
          this.counters.drop('update-key-mismatch');
          return null;
        }
      }
    }
    const key = subnetKey(u.subnet);
    let per = this.routes.get(key);
    const existing = per?.get(n.id);
    if (u.metric === METRIC_INFINITE) {
      if (!existing) return null;
      per!.delete(n.id);
      this.count--;
      return this.reselect(key, u.subnet);
    }
    if (!this.feasible(u.subnet, u.routerId, u.seqno, u.metric)) {
      // §3.5.4: an unfeasible update from the current next hop makes the route unusable.
      this.counters.drop('unfeasible');
      let change: Selection | null = null;
      if (existing && this.selected.get(key) === existing) {
        per!.delete(n.id);
        this.count--;
        change = this.reselect(key, u.subnet);
      }
      const cur = this.selected.get(key);
      const fd = this.sources.get(sourceKey(u.subnet, u.routerId));
      if (wanted && fd && (!cur || Math.min(METRIC_INFINITE - 1, u.metric + n.cost) < routeMetric(cur))) {
        wanted.push({ subnet: u.subnet, routerId: u.routerId, seqno: seqnoAdd(fd.seqno, 1) });
      }
      return change;
    }
    const expires = now + Math.max(1, u.interval) * 10 * 3.5;
    if (existing) {
      existing.routerId = u.routerId;
      existing.seqno = u.seqno;
      existing.metric = u.metric;
      existing.expires = expires;
    } else {
      if (this.count >= this.maxRoutes) {
        this.counters.drop('table-full');
        return null;
      }
      if (!per) this.routes.set(key, (per = new Map()));
      per.set(n.id, { subnet: u.subnet, routerId: u.routerId, seqno: u.seqno, metric: u.metric, neighbour: n, expires });
      this.count++;
    }
    return this.reselect(key, u.subnet);
  }

  /** Removes every route through `n` (link down); returns the selection changes. */
  dropNeighbour(n: Neighbour): Selection[] {
    const out: Selection[] = [];
    for (const [key, per] of this.routes) {
      const r = per.get(n.id);
      if (!r) continue;
      per.delete(n.id);
      this.count--;
      const s = this.reselect(key, r.subnet);
      if (s) out.push(s);
    }
    return out;
  }

  /** Drops routes whose hold time passed; returns the selection changes. */
  expire(now: number): Selection[] {
    const out: Selection[] = [];
    for (const [key, per] of this.routes) {
      let subnet: Subnet | null = null;
      for (const [id, r] of per) {
        if (r.expires <= now) {
          per.delete(id);
          this.count--;
          subnet = r.subnet;
        }
      }
      if (subnet) {
        const s = this.reselect(key, subnet);
        if (s) out.push(s);
      }
    }
    return out;
  }

  /** Re-runs selection for every subnet (after link costs changed). */
  reselectAll(): Selection[] {
    const out: Selection[] = [];
    for (const [key, per] of this.routes) {
      const first = per.values().next().value as Route | undefined;
      if (!first) continue;
      const s = this.reselect(key, first.subnet);
      if (s) out.push(s);
    }
    return out;
  }

  /** §3.6: the feasible route with the smallest metric; a change of next hop or seqno, or a significant metric change (significantChange), is reported. */
  private reselect(key: string, subnet: Subnet): Selection | null {
    const per = this.routes.get(key);
    let best: Route | null = null;
    if (per) {
      for (const r of per.values()) {
        if (r.metric === METRIC_INFINITE) continue;
        if (best === null || routeMetric(r) < routeMetric(best)) best = r;
      }
      if (per.size === 0) this.routes.delete(key);
    }
    const prev = this.selected.get(key) ?? null;
    if (best) this.selected.set(key, best);
    else this.selected.delete(key);
    if (best === null && prev === null) return null;
    if (best !== null && prev === best) {
      const last = this.announced.get(best);
      const m = routeMetric(best);
      if (last && last.seqno === best.seqno && !significantChange(last.metric, m)) return null;
    }
    if (best) this.announced.set(best, { seqno: best.seqno, metric: routeMetric(best) });
    return { subnet, route: best, previous: prev };
  }

  /** The seqno to request when a route was lost (§3.8.2.1: one more than the last seen). */
  static requestSeqno(r: Route): number {
    return seqnoAdd(r.seqno, 1);
  }
}
