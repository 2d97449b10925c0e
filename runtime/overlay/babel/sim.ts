/**
 * A simulated network of BabelRouters on a ManualClock: links with a one-way
 * latency (the network's default or one per link) that can be cut silently
 * (packets dropped) or with the linkDown fast path. Used by the unit tests and
 * bench/mesh-scale.bench.ts; no sockets, no real time.
 */
import { createHash } from 'node:crypto';
import { ManualClock } from './clock.js';
import { BabelRouter, BabelRouterOptions, RouteEvent } from './router.js';

interface SimLink {
  up: boolean;
  /** One-way latency, simulated ms. */
  latency: number;
}

export class SimNetwork {
  readonly clock = new ManualClock();
  readonly routers = new Map<string, BabelRouter>();
  readonly events = new Map<string, RouteEvent[]>();
  private readonly links = new Map<string, SimLink>();
  private readonly options = new Map<string, Partial<BabelRouterOptions>>();
  /** Observes every packet put on a link: (from, to, bytes). */
  tap: ((from: string, to: string, bytes: Uint8Array) => void) | null = null;

  /**
   * `latency`: default one-way link latency (simulated ms). `recordEvents`: keep
   * every route event in `events` (tests read them; a large simulation turns it
   * off and subscribes with `node(name).on('route', ...)` instead).
   */
  constructor(
    readonly latency = 10,
    readonly recordEvents = true,
  ) {}

  /** Router-id derived from the node name (first 8 bytes of SHA-256). */
  static routerId(name: string): Uint8Array {
    return new Uint8Array(createHash('sha256').update(name).digest().subarray(0, 8));
  }

  private static key(a: string, b: string): string {
    return a < b ? `${a}|${b}` : `${b}|${a}`;
  }

  addNode(name: string, opts: Partial<BabelRouterOptions> = {}): BabelRouter {
    this.options.set(name, opts);
    const r = new BabelRouter({ routerId: SimNetwork.routerId(name), clock: this.clock, log: () => {}, ...opts });
    if (this.recordEvents) {
      const log: RouteEvent[] = this.events.get(name) ?? [];
      this.events.set(name, log);
      r.on('route', (e) => log.push(e));
    }
    this.routers.set(name, r);
    return r;
  }

  node(name: string): BabelRouter {
    const r = this.routers.get(name);
    if (!r) throw new Error(`no node ${name}`);
    return r;
  }

  private sender(from: string, to: string): (bytes: Uint8Array) => void {
    return (bytes) => {
      const link = this.links.get(SimNetwork.key(from, to));
      if (!link?.up) return;
      this.tap?.(from, to, bytes);
      const copy = Uint8Array.from(bytes);
      this.clock.setTimeout(() => {
        if (link.up && this.links.get(SimNetwork.key(from, to)) === link) this.routers.get(to)?.receive(from, copy);
      }, link.latency);
    };
  }

  /** Creates a link (one-way latency in simulated ms, default the network's) and adds each end as the other's neighbour. */
  connect(a: string, b: string, latency = this.latency): void {
    this.links.set(SimNetwork.key(a, b), { up: true, latency });
    this.node(a).addNeighbour(b, this.sender(a, b));
    this.node(b).addNeighbour(a, this.sender(b, a));
  }

  /** Drops (up = false) or carries packets on a link, without telling the routers. */
  setLink(a: string, b: string, up: boolean): void {
    const l = this.links.get(SimNetwork.key(a, b));
    if (l) l.up = up;
  }

  /** A crash: the node stops and its links carry nothing more; its neighbours are not told (they notice missed Hellos). */
  kill(name: string): void {
    this.node(name).stop();
    for (const [k, l] of this.links) {
      const [a, b] = k.split('|');
      if (a === name || b === name) l.up = false;
    }
  }

  /** Removes a link entirely (both ends remove the neighbour). */
  disconnect(a: string, b: string): void {
    this.links.delete(SimNetwork.key(a, b));
    this.routers.get(a)?.removeNeighbour(b);
    this.routers.get(b)?.removeNeighbour(a);
  }

  /** Replaces a node by a fresh router (a restart) with the same name and links; neighbours keep their state. */
  restart(name: string, opts: Partial<BabelRouterOptions> = {}): BabelRouter {
    this.node(name).stop();
    const r = this.addNode(name, { ...this.options.get(name), ...opts });
    for (const k of this.links.keys()) {
      const [a, b] = k.split('|');
      if (a === name) r.addNeighbour(b, this.sender(a, b));
      else if (b === name) r.addNeighbour(a, this.sender(b, a));
    }
    return r;
  }

  /** Hands `bytes` to `to` as if `from` had sent them, immediately. */
  inject(from: string, to: string, bytes: Uint8Array): void {
    this.node(to).receive(from, bytes);
  }

  /** The selected route at `name` for `prefix`, if any. */
  route(name: string, prefix: string) {
    return this.node(name).routes().find((r) => r.prefix === prefix);
  }

  stop(): void {
    for (const r of this.routers.values()) r.stop();
  }
}
