/**
 * The link side of the router (RFC 8966 §3.4), the "peer manager" of Mycelium's
 * split: one Neighbour per WireGuard tunnel, unicast Hellos and IHUs on their
 * timers, the Hello history and missed-Hello timeouts (Appendix A.1), and the link
 * cost (2-out-of-3, A.2.1). Cost changes are reported to the router, which owns
 * the routes.
 */
import { AE, HELLO_TIMEOUT_FACTOR, IHU_HOLD_FACTOR, INFINITY } from './constants.js';
import { TimerHandle } from './clock.js';
import { BabelArgumentError } from './errors.js';
import type { Ihu } from './ihu.js';
import { Neighbour } from './neighbour.js';
import type { Tlv } from './packet.js';
import { seqnoAdd } from './seqno.js';

/** What the link manager needs from the router. */
export interface LinkContext {
  now(): number;
  /** A one-shot timer that is dropped when the router stops. */
  after(ms: number, fn: () => void): TimerHandle;
  queue(id: string, tlv: Tlv): void;
  log(message: string): void;
  /** The link cost of `n` changed (n.cost holds the new one); `wasDown` when it was infinite. */
  onCostChange(n: Neighbour, wasDown: boolean): void;
}

export interface LinkTimers {
  /** Hello interval, ms. */
  hello: number;
  /** IHU interval, ms. */
  ihu: number;
  /** Nominal link cost K (A.2.1). */
  nominalCost: number;
  /** Set the Hello U flag (§4.6.5). */
  unicastHellos: boolean;
}

export class LinkManager {
  private readonly neighbours = new Map<string, Neighbour>();

  constructor(
    private readonly ctx: LinkContext,
    private readonly t: LinkTimers,
  ) {}

  get(id: string): Neighbour | undefined {
    return this.neighbours.get(id);
  }

  has(id: string): boolean {
    return this.neighbours.has(id);
  }

  values(): IterableIterator<Neighbour> {
    return this.neighbours.values();
  }

  /** Adds a neighbour and starts its Hellos. Throws BabelArgumentError for a duplicate id. */
  add(id: string, send: (bytes: Uint8Array) => void): Neighbour {
    if (this.neighbours.has(id)) throw new BabelArgumentError('id', `neighbour "${id}" already exists`);
    const n = new Neighbour(id, send);
    this.neighbours.set(id, n);
    this.startHellos(n);
    return n;
  }

  remove(id: string): boolean {
    const n = this.neighbours.get(id);
    if (!n) return false;
    n.cancelTimers();
    this.neighbours.delete(id);
    return true;
  }

  /** Forgets the link state at once (fast path for a tunnel known to be down). */
  down(id: string): void {
    const n = this.neighbours.get(id);
    if (!n) return;
    n.reset();
    n.helloTimeout?.cancel();
    n.helloTimeout = null;
    this.refresh(n);
  }

  /** Restarts the fast Hello start towards a neighbour whose tunnel came back. */
  up(id: string): void {
    const n = this.neighbours.get(id);
    if (!n) return;
    n.helloTimer?.cancel();
    this.startHellos(n);
  }

  /** Stops every neighbour's timers. */
  stop(): void {
    for (const n of this.neighbours.values()) n.cancelTimers();
  }

  /**
   * Two Hellos in the first quarter interval, then one per interval: the far end
   * passes the 2-out-of-3 test about a second after the link appears instead of
   * after a full interval. Hello intervals are upper bounds (§4.6.5), so this is allowed.
   */
  private startHellos(n: Neighbour): void {
    this.sendHello(n);
    n.helloTimer = this.ctx.after(this.t.hello / 4, () => this.helloTick(n));
    n.ihuTimer?.cancel();
    n.ihuTimer = this.ctx.after(this.t.ihu, () => this.ihuTick(n));
  }

  private helloTick(n: Neighbour): void {
    if (this.neighbours.get(n.id) !== n) return;
    this.sendHello(n);
    n.helloTimer = this.ctx.after(this.t.hello, () => this.helloTick(n));
  }

  private ihuTick(n: Neighbour): void {
    if (this.neighbours.get(n.id) !== n) return;
    this.sendIhu(n);
    n.ihuTimer = this.ctx.after(this.t.ihu, () => this.ihuTick(n));
  }

  /** §3.4.1: a Hello in this link's own seqno space (flag U unless configured otherwise). */
  private sendHello(n: Neighbour): void {
    this.ctx.queue(n.id, { type: 'hello', unicast: this.t.unicastHellos, seqno: n.helloSeqno, interval: Math.round(this.t.hello / 10) });
    n.helloSeqno = seqnoAdd(n.helloSeqno, 1);
  }

  /** §3.4.2: IHU with AE 0 (allowed on point-to-point links, §4.6.6). */
  private sendIhu(n: Neighbour): void {
    n.sentRxcost = n.rxcost(this.t.nominalCost);
    this.ctx.queue(n.id, { type: 'ihu', ae: AE.Wildcard, rxcost: n.sentRxcost, interval: Math.round(this.t.ihu / 10), address: null });
  }

  /** A.1: record the Hello, re-arm the "Hello missed" timer from its advertised interval (ms; 0 = unscheduled). */
  onHello(n: Neighbour, seqno: number, intervalMs: number): void {
    n.recordHello(seqno);
    if (intervalMs > 0) n.helloInterval = intervalMs;
    if (n.helloInterval > 0) {
      n.helloTimeout?.cancel();
      n.helloTimeout = this.ctx.after(HELLO_TIMEOUT_FACTOR * n.helloInterval, () => this.onHelloMissed(n));
    }
  }

  /** §3.4.2: the neighbour's rxcost for us is our txcost, valid for the IHU hold time. */
  onIhu(n: Neighbour, t: Ihu): void {
    n.txcost = t.rxcost;
    n.ihuExpiresAt = this.ctx.now() + IHU_HOLD_FACTOR * t.interval * 10;
  }

  private onHelloMissed(n: Neighbour): void {
    if (this.neighbours.get(n.id) !== n) return;
    n.missHello();
    n.helloTimeout = n.history !== 0 ? this.ctx.after(n.helloInterval, () => this.onHelloMissed(n)) : null;
    this.refresh(n);
  }

  /** Sends an IHU when our rxcost changed, and reports a changed link cost to the router. */
  refresh(n: Neighbour): void {
    if (n.rxcost(this.t.nominalCost) !== n.sentRxcost) this.sendIhu(n);
    const cost = n.linkCost(this.ctx.now(), this.t.nominalCost);
    if (cost === n.cost) return;
    const wasDown = n.cost >= INFINITY;
    n.cost = cost;
    if (cost >= INFINITY) this.ctx.log(`neighbour ${n.id} down`);
    else if (wasDown) this.ctx.log(`neighbour ${n.id} up, cost ${cost}`);
    this.ctx.onCostChange(n, wasDown);
  }

  /** Re-evaluates every link (IHU hold time runs out without any event). */
  refreshAll(): void {
    for (const n of this.neighbours.values()) this.refresh(n);
  }

  info(): Array<{ id: string; cost: number; rxcost: number; txcost: number; history: number }> {
    return [...this.neighbours.values()].map((n) => ({
      id: n.id,
      cost: n.cost,
      rxcost: n.rxcost(this.t.nominalCost),
      txcost: n.txcost,
      history: n.history,
    }));
  }
}
