/**
 * A neighbour: one tfw node at the far end of a point-to-point WireGuard link.
 * Keeps the Hello history of RFC 8966 Appendix A.1 and computes the link cost with
 * the 2-out-of-3 rule of Appendix A.2.1 (chosen over ETX, A.2.2: tunnel links are
 * either working or not, and a fixed cost keeps metrics and tests predictable).
 */
import { INFINITY } from './constants.js';
import { TimerHandle } from './clock.js';
import { seqnoAdd, seqnoDistance } from './seqno.js';

export class Neighbour {
  /** 16-bit Hello history, most recent Hello in the top bit (A.1). */
  history = 0;
  /** Seqno of the next Hello we expect from the neighbour, null before the first one. */
  expectedSeqno: number | null = null;
  /** Interval (ms) advertised by the neighbour's last scheduled Hello. */
  helloInterval = 0;
  /** Rxcost the neighbour reported for us in its last IHU (§3.4.2); infinite until heard. */
  txcost = INFINITY;
  /** When the last IHU stops counting (IHU hold time, Appendix B). */
  ihuExpiresAt = 0;
  /** Seqno of our next unicast Hello to this neighbour (§3.4.1: per-neighbour seqno space). */
  helloSeqno = 0;
  /** The link cost the router last acted on. */
  cost = INFINITY;
  /** The rxcost we last sent in an IHU. */
  sentRxcost = -1;
  /** Routes in the route table learned from this neighbour (capped: BabelRouterOptions.maxPrefixesPerNeighbour). */
  routeCount = 0;
  helloTimer: TimerHandle | null = null;
  helloTimeout: TimerHandle | null = null;
  ihuTimer: TimerHandle | null = null;

  constructor(
    readonly id: string,
    readonly send: (bytes: Uint8Array) => void,
  ) {}

  /**
   * Records a received Hello (A.1): a seqno more than 16 away from the expected one
   * means the neighbour restarted (history flushed); an earlier seqno undoes the
   * most recent entries; a later one shifts in a 0 per missed Hello.
   */
  recordHello(seqno: number): void {
    if (this.expectedSeqno !== null) {
      const d = seqnoDistance(this.expectedSeqno, seqno);
      if (d > 16 || d < -16) this.history = 0;
      else if (d < 0) this.history = (this.history << -d) & 0xffff;
      else if (d > 0) this.history >>>= d;
    }
    this.history = (this.history >>> 1) | 0x8000;
    this.expectedSeqno = seqnoAdd(seqno, 1);
  }

  /** A Hello did not arrive in time: shift in a 0 and expect the next seqno (A.1). */
  missHello(): void {
    this.history >>>= 1;
    if (this.expectedSeqno !== null) this.expectedSeqno = seqnoAdd(this.expectedSeqno, 1);
  }

  /** Forgets the link state (link down): empty history, no IHU. */
  reset(): void {
    this.history = 0;
    this.expectedSeqno = null;
    this.txcost = INFINITY;
    this.ihuExpiresAt = 0;
  }

  /** A.2.1: `nominal` when at least two of the last three Hellos arrived, else infinity. */
  rxcost(nominal: number): number {
    const last3 = this.history >>> 13;
    const heard = (last3 & 1) + ((last3 >> 1) & 1) + ((last3 >> 2) & 1);
    return heard >= 2 ? nominal : INFINITY;
  }

  /** A.2.1: the link cost is the neighbour's reported txcost once our rxcost test passes and its IHU is fresh. */
  linkCost(now: number, nominal: number): number {
    if (this.rxcost(nominal) >= INFINITY || now >= this.ihuExpiresAt) return INFINITY;
    return this.txcost;
  }

  cancelTimers(): void {
    this.helloTimer?.cancel();
    this.helloTimeout?.cancel();
    this.ihuTimer?.cancel();
    this.helloTimer = this.helloTimeout = this.ihuTimer = null;
  }
}
