/** The router's public option, route and counter shapes (see index.ts for the API). */
import type { Clock } from './clock.js';
import type { ParseStats } from './packet.js';

export interface BabelRouterOptions {
  /** 8-byte router-id (§3.2.1); not all zeroes or all ones. */
  routerId: Uint8Array;
  /** Prefixes this node originates, e.g. its overlay /64 (`'4ab:cd::/64'`) or `'10.1.0.0/24'`. */
  prefixes?: string[];
  /** Time source; default the system clock. Tests pass a ManualClock. */
  clock?: Clock;
  /** One line per notable event (without the `tfw: babel: ` prefix); default: stderr. */
  log?: (message: string) => void;
  /** Hello interval, ms (default 4000, Appendix B). IHU and update intervals follow it. */
  helloInterval?: number;
  /** IHU interval, ms (default 3 × Hello interval). */
  ihuInterval?: number;
  /** Update interval, ms (default 4 × Hello interval). */
  updateInterval?: number;
  /** Initial sequence number of our own routes (default 0). */
  seqno?: number;
  /** Nominal cost K of a working link (A.2.1; default 96). */
  linkCost?: number;
  /** Largest packet handed to `send`, octets (default 1232). */
  maxPacketSize?: number;
  /**
   * Send Hellos with the U flag (§4.6.5; default true). Each tunnel is a link with
   * exactly one neighbour, so both forms reach the same node; babeld 1.12 keeps a
   * neighbour only while it hears Hellos without the flag, so set false to peer with it.
   */
  unicastHellos?: boolean;
  /** Do not advertise a route back to the neighbour it was learned from (§3.7.4; default true). */
  splitHorizon?: boolean;
  /**
   * Routes learned from one neighbour at most (default MAX_PREFIXES_PER_NEIGHBOUR);
   * Updates for further prefixes are ignored and counted in `stats.prefixLimit`,
   * so a neighbour cannot make the node install routes without bound.
   */
  maxPrefixesPerNeighbour?: number;
}

/** A selected route, as `routes()` lists it. `via` is null for our own prefixes. */
export interface RouteInfo {
  prefix: string;
  via: string | null;
  metric: number;
  seqno: number;
  /** Router-id of the route's source, hex. */
  routerId: string;
}

/** Emitted when the selected route for a prefix appears, changes next hop or metric, or goes away. */
export interface RouteEvent {
  prefix: string;
  via: string | null;
  metric: number;
  removed: boolean;
}

/** Router counters: the parser's drop counts plus protocol activity. */
export interface RouterStats extends ParseStats {
  unknownNeighbour: number;
  sendErrors: number;
  updatesSent: number;
  seqnoRequestsSent: number;
  seqnoRequestsForwarded: number;
  seqnoIncrements: number;
  /** Exceptions caught while handling a packet (a bug; logged). */
  internalErrors: number;
  /** Updates for new prefixes ignored because their neighbour reached maxPrefixesPerNeighbour. */
  prefixLimit: number;
}
