/**
 * The route table (RFC 8966 §3.2.6): per prefix, one entry per neighbour that
 * advertised it, and route selection (§3.6): the lowest metric among feasible,
 * finite routes, keeping the current route on ties (a minimal hysteresis).
 */
import { INFINITY } from './constants.js';
import { Prefix } from './prefix.js';

export interface Route {
  neighbour: string;
  routerId: Uint8Array;
  /** Router-id in hex, the key used in the source table. */
  rid: string;
  seqno: number;
  /** Metric as advertised by the neighbour. */
  advMetric: number;
  /** M(link cost, advertised metric), §3.5.2 / A.3.1. */
  metric: number;
  nextHop: Uint8Array | null;
  /** Advertised update interval, ms. */
  interval: number;
  expiresAt: number;
}

/** What we last advertised for a prefix, to detect changes worth a triggered update. */
export interface Advertised {
  via: string;
  rid: string;
  seqno: number;
  metric: number;
}

export interface PrefixEntry {
  key: string;
  prefix: Prefix;
  routes: Map<string, Route>;
  selected: Route | null;
  advertised: Advertised | null;
  /** A retraction we keep sending until `until` (§3.5.5 hold time). */
  retracted: { routerId: Uint8Array; seqno: number; until: number } | null;
}

/** A.3.1: M(c, m) = c + m, infinite when either is infinite or the sum reaches 0xFFFF. */
export function routeMetric(cost: number, advMetric: number): number {
  if (cost >= INFINITY || advMetric >= INFINITY) return INFINITY;
  return Math.min(INFINITY, cost + advMetric);
}

/**
 * §3.6: the best route among those with a finite metric that are feasible; on a
 * tie the currently selected route stays, otherwise the lower neighbour id wins
 * (deterministic).
 */
export function selectRoute(entry: PrefixEntry, feasible: (r: Route) => boolean): Route | null {
  let best: Route | null = null;
  for (const r of entry.routes.values()) {
    if (r.metric >= INFINITY || !feasible(r)) continue;
    if (
      !best ||
      r.metric < best.metric ||
      (r.metric === best.metric && best !== entry.selected && (r === entry.selected || r.neighbour < best.neighbour))
    )
      best = r;
  }
  return best;
}
