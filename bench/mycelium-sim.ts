/**
 * A mesh-scale simulation of tfw's Mycelium-dialect node (runtime/overlay/
 * mycelium/): the real MyceliumNode on in-memory links (SimStream, a
 * LinkTransport with a one-way latency) and a ManualClock (manualClock in
 * mycelium/clock.ts), on the same seeded random graph as bench/mesh-sim.ts.
 * Measures convergence, table sizes and heap, control traffic, and
 * reconvergence after a node crash. Used by bench/mesh-scale.bench.ts and
 * test/unit/mycelium/mesh-sim.test.ts.
 *
 * Model (see docs/overlay.md "Mesh scale"), as mesh-sim.ts except:
 * - The same seed draws the same graph, one-way latencies (5-50 ms) and origins
 *   as mesh-sim.ts. Babel's per-router costs are drawn but unused: a Mycelium
 *   link costs its measured Hello -> IHU round trip (ms), here 2 x latency, so
 *   shortest paths are Dijkstra on edge weights 2 x latency.
 * - Every origin announces its /64 as Mycelium does (the node's own subnet);
 *   non-origins run with `announce: false`, so with sampled origins the
 *   route-proportional figures scale by nodes/origins as Babel's do.
 * - Timers are tfw's Mycelium defaults (Hello 20 s, full dumps 60 s, routes
 *   and links held 3.5 periods). Every node and link comes up at t = 0, but
 *   each node's periodic timers run in a seeded random phase (in phase, every
 *   full dump would carry a metric one hop further per period).
 * - Traffic counts frame bytes (4-byte frame header + Babel header + one TLV);
 *   TCP/IP headers are left out, as mesh-sim.ts leaves out UDP/IP ones.
 * - A crash is silent (no FIN): the neighbours notice 3.5 Hello periods of
 *   silence at their next Hello tick.
 */
import { pathToFileURL } from 'node:url';
import { ManualClock } from '../runtime/overlay/babel/clock.js';
import { manualClock, type MyceliumClock } from '../runtime/overlay/mycelium/clock.js';
import type { LinkTransport, PeerLink } from '../runtime/overlay/mycelium/link.js';
import { MyceliumNode } from '../runtime/overlay/mycelium/node.js';
import { routeMetric } from '../runtime/overlay/mycelium/routes.js';
import { subnetKey } from '../runtime/overlay/mycelium/subnet.js';
import { TLV_HELLO } from '../runtime/overlay/mycelium/hello.js';
import { TLV_IHU } from '../runtime/overlay/mycelium/ihu.js';
import { TLV_UPDATE } from '../runtime/overlay/mycelium/update.js';
import { drawModel, heapBaseline, heapUsed, shortestPaths, type FailureResult, type MeshSimOptions, type MeshSimResult, type Traffic } from './mesh-sim.js';

/**
 * MeshSimOptions (mesh-sim.ts: nodes, degree, seed, origins, heap, progress;
 * the seed also draws the keys here) with this model's phases and timers.
 */
export interface MyceliumSimOptions extends Omit<MeshSimOptions, 'limitMs' | 'steadyMs' | 'failures'> {
  /** Simulated-time bound of each phase, ms (default 300 s: a crash takes 3.5 Hello periods to notice, stale metrics a full dump or more). */
  limitMs?: number;
  /** Steady-state window, simulated ms (default 60 s: one full-dump period). */
  steadyMs?: number;
  /** Failure phases (default ['node']): crash the busiest origin. */
  failures?: Array<'node'>;
  /** Hello and full-dump periods, ms (default 20 s and 60 s, the node's defaults). */
  helloIntervalMs?: number;
  updateIntervalMs?: number;
}

/** MeshSimResult (mesh-sim.ts) plus what only this model has. */
export interface MyceliumSimResult extends MeshSimResult {
  dialect: 'mycelium';
  /**
   * After the optimal phase (shortest next hops everywhere, or the limit):
   * selected routes whose metric is not the shortest path's (a change of at
   * most 10 and at most 25 % of a selected route is not sent before the next
   * full dump, routes.ts significantChange), and
   * whose next hop is not on a shortest path.
   */
  metricOff: number;
  nextHopOff: number;
  /** The crash, with the next hops not on a shortest path when its optimal phase ended. */
  nodeKill?: FailureResult & { nextHopOff: number };
  /** Hello and full-dump periods used, ms. */
  timers: { helloMs: number; updateMs: number };
}

/**
 * One end of an in-memory link: bytes written arrive at the other end's 'data'
 * listeners `latency` simulated ms later, in order (ManualClock runs equal
 * times in insertion order). No bandwidth limit (writableLength is 0).
 * destroy() tells the other end ('close', after the latency) unless the pipe
 * was cut first (a silent crash).
 */
export class SimStream implements LinkTransport {
  readonly writableLength = 0;
  peer: SimStream | null = null;
  private readonly listeners = new Map<string, Array<(...a: any[]) => void>>();
  private closed = false;

  constructor(
    private readonly clock: ManualClock,
    readonly latency: number,
    /** Shared by both ends: false drops every byte (a cut or crash). */
    readonly pipe: { up: boolean },
    private readonly tap: (bytes: Uint8Array) => void,
  ) {}

  setNoDelay(): this {
    return this;
  }
  cork(): void {}
  uncork(): void {}

  on(event: 'data' | 'error' | 'close', listener: (...args: any[]) => void): this {
    const l = this.listeners.get(event) ?? [];
    l.push(listener);
    this.listeners.set(event, l);
    return this;
  }

  private emit(event: string, arg?: unknown): void {
    for (const l of this.listeners.get(event) ?? []) l(arg);
  }

  write(bytes: Uint8Array): boolean {
    if (this.closed || !this.pipe.up) return true;
    this.tap(bytes);
    const to = this.peer!;
    this.clock.setTimeout(() => {
      if (this.pipe.up && !to.closed) to.emit('data', bytes);
    }, this.latency);
    return true;
  }

  destroy(): this {
    if (this.closed) return this;
    this.closed = true;
    const to = this.peer!;
    if (this.pipe.up) this.clock.setTimeout(() => to.destroyFromPeer(), this.latency);
    return this;
  }

  private destroyFromPeer(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
  }
}

/**
 * `clock` with every periodic timer in its own phase: the first tick of a
 * period of `ms` comes after `first(ms)` ms, then one every `ms` (a real node
 * starts its timers at its own time). Cancelling clears whichever is pending.
 */
export function phasedClock(clock: MyceliumClock, first: (ms: number) => number): MyceliumClock {
  return {
    ...clock,
    setInterval(fn, ms) {
      let h: unknown = null;
      const t = clock.setTimeout(() => {
        h = clock.setInterval(fn, ms);
        fn();
      }, first(ms));
      return { cancel: () => (clock.clearTimeout(t), h && clock.clearInterval(h)) };
    },
    clearInterval: (h) => (h as { cancel(): void }).cancel(),
  };
}

/** Shortest-path metric (and its hop count) from every node to `origin` with edge weights `w` (adjacency-aligned); `dead` is left out. */
function dijkstra(adj: number[][], w: number[][], origin: number, dead: number): { dist: Float64Array; hops: Int32Array } {
  return shortestPaths(adj, origin, (v, j) => w[v][j], (v, u) => u === dead || v === dead);
}

/**
 * Runs the simulation. Throws RangeError for nodes < 3 or origins outside
 * [2, nodes]. Every figure is in simulated time except `wallMs`. Async only
 * for MyceliumNode.start(); the simulation itself runs synchronously.
 */
export async function simulateMycelium(opts: MyceliumSimOptions): Promise<MyceliumSimResult> {
  const wall0 = performance.now();
  const { N, K, seed, rand, adj, edges, origins, originOf, latency } = drawModel(opts);
  const limit = opts.limitMs ?? 300_000;
  const helloMs = opts.helloIntervalMs ?? 20_000;
  const updateMs = opts.updateIntervalMs ?? 60_000;
  const steadyMs = opts.steadyMs ?? updateMs;
  const say = opts.progress ?? (() => {});
  // Edge weights aligned with adj: the link cost both ends measure, 2 x latency.
  const w: number[][] = adj.map((l) => l.map(() => 0));
  edges.forEach(([a, b], e) => {
    w[a][adj[a].indexOf(b)] = 2 * latency[e];
    w[b][adj[b].indexOf(a)] = 2 * latency[e];
  });
  // Keys from the seed (after the topology draws, so those match mesh-sim.ts).
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));

  const heap0 = opts.heap ? heapBaseline() : 0;
  const clock = new ManualClock();
  const mclock = manualClock(clock);
  const nodes: MyceliumNode[] = [];
  for (let i = 0; i < N; i++) {
    // Each node's periodic timers run in their own phase (real nodes start at different times):
    // the first tick of a period P comes after a seeded fraction of P.
    const phase = rand();
    const clockI = phasedClock(mclock, (ms) => Math.max(1, Math.round(ms * phase)));
    nodes.push(new MyceliumNode({
      privateKey: bytes(32), routerIdTail: bytes(6), clock: clockI, announce: originOf[i] >= 0, helloIntervalMs: helloMs, updateIntervalMs: updateMs, log: () => {},
    }));
  }
  const keyOf = origins.map((v) => subnetKey(nodes[v].subnet));

  const tr = { packets: 0, linkBytes: 0, linkTlvs: 0, routeBytes: 0, routeTlvs: 0, updates: 0 };
  const tap = (b: Uint8Array) => {
    // One frame per write: frame header (4), Babel header (4), one TLV whose type is byte 8.
    tr.packets++;
    const t = b[8];
    if (b[1] !== 1) return;
    if (t === TLV_HELLO || t === TLV_IHU) {
      tr.linkBytes += b.length;
      tr.linkTlvs++;
    } else {
      tr.routeBytes += b.length;
      tr.routeTlvs++;
      if (t === TLV_UPDATE) tr.updates++;
    }
  };
  const mark = () => ({ t: clock.now(), ...tr });
  const since = (m: ReturnType<typeof mark>): Traffic => ({
    ms: clock.now() - m.t, packets: tr.packets - m.packets, linkBytes: tr.linkBytes - m.linkBytes, linkTlvs: tr.linkTlvs - m.linkTlvs,
    routeBytes: tr.routeBytes - m.routeBytes, routeTlvs: tr.routeTlvs - m.routeTlvs, updates: tr.updates - m.updates,
  });
  // Cold start: every link comes up at t = 0 (its Hello and full dump count as convergence traffic).
  const m0 = mark();
  // Link ids -> the node at the far end, for next-hop checks.
  const farEnd = new Map<number, number>();
  const pipes = new Map<number, Array<{ up: boolean }>>();
  for (let e = 0; e < edges.length; e++) {
    const [a, b] = edges[e];
    const pipe = { up: true };
    const sa = new SimStream(clock, latency[e], pipe, tap);
    const sb = new SimStream(clock, latency[e], pipe, tap);
    sa.peer = sb;
    sb.peer = sa;
    for (const v of [a, b]) pipes.set(v, [...(pipes.get(v) ?? []), pipe]);
    farEnd.set(nodes[a].attachLink(sa, `sim://n${b}`, false).id, b);
    farEnd.set(nodes[b].attachLink(sb, `sim://n${a}`, true).id, a);
  }
  await Promise.all(nodes.map((n) => n.start()));
  const heapRouters = opts.heap ? heapUsed() - heap0 : 0;

  let dead = -1;
  let best: Float64Array[] = [];
  let diameter = 0;
  const computeBest = () => {
    best = origins.map((v) => {
      if (v === dead) return new Float64Array(N).fill(-2);
      const { dist, hops } = dijkstra(adj, w, v, dead);
      for (const h of hops) diameter = Math.max(diameter, h);
      return dist;
    });
  };
  computeBest();
  const weight = (i: number, j: number) => w[i][adj[i].indexOf(j)];

  /** Counts over live nodes and live origins: reachable, right next hop, exact metric; plus routes via the dead node and to its /64. */
  const scan = () => {
    let reach = 0;
    let hop = 0;
    let exact = 0;
    let viaDead = 0;
    let toDead = 0;
    for (let i = 0; i < N; i++) {
      if (i === dead) continue;
      const t = nodes[i].table;
      for (let o = 0; o < K; o++) {
        if (origins[o] === i) continue;
        const r = t.selectedFor(keyOf[o]);
        if (origins[o] === dead) {
          if (r) toDead++;
          continue;
        }
        if (!r) continue;
        reach++;
        const nh = farEnd.get((r.neighbour as PeerLink).id)!;
        if (nh === dead) viaDead++;
        else if (best[o][nh] + weight(i, nh) === best[o][i]) hop++;
        if (routeMetric(r) === best[o][i]) exact++;
      }
    }
    return { reach, hop, exact, viaDead, toDead };
  };
  /** runUntil with 100 ms steps for the first 5 s, then 1 s (a scan is N x origins lookups). */
  const runUntil = (done: () => boolean): number => {
    const start = clock.now();
    const fine = clock.runUntil(done, 5000, 100);
    if (fine >= 0) return fine;
    const coarse = clock.runUntil(done, limit - 5000, 1000);
    return coarse < 0 ? -1 : clock.now() - start;
  };

  // Phase 1: cold start.
  const full = K * (N - 1);
  const convergedMs = runUntil(() => scan().reach === full);
  const convergence = since(m0);
  say(`mycelium ${N}: converged in ${convergedMs} ms simulated`);
  const hopMs = runUntil(() => scan().hop === full);
  const optimalMs = hopMs < 0 ? -1 : clock.now() - m0.t;
  const atEnd = scan();
  const metricOff = full - atEnd.exact;
  const nextHopOff = full - atEnd.hop;
  say(`mycelium ${N}: shortest next hops at ${optimalMs} ms simulated (${nextHopOff} not, ${metricOff} metrics not the shortest path's)`);

  let stored = 0;
  for (const n of nodes) stored += n.table.size;
  const perNode = { selected: scan().reach / N, stored: stored / N, sources: 0 };
  const heapConverged = opts.heap ? heapUsed() - heap0 : 0;

  // Phase 2: steady state.
  const m1 = mark();
  clock.advance(steadyMs);
  const steady = since(m1);

  const result: MyceliumSimResult = {
    dialect: 'mycelium', nodes: N, links: edges.length, origins: K, seed, convergedMs, optimalMs, diameter, convergence, steady, perNode, metricOff, nextHopOff,
    timers: { helloMs, updateMs }, ...(opts.heap ? { heap: { routers: heapRouters, converged: heapConverged } } : {}), wallMs: 0,
  };

  if ((opts.failures ?? ['node']).includes('node')) {
    // Crash the origin that carries the most transit routes and is not an articulation point.
    const transit = new Float64Array(N);
    for (let i = 0; i < N; i++) {
      for (let o = 0; o < K; o++) {
        const r = nodes[i].table.selectedFor(keyOf[o]);
        if (r) transit[farEnd.get((r.neighbour as PeerLink).id)!]++;
      }
    }
    const connectedWithout = (x: number) => {
      const seen = new Uint8Array(N);
      const s = x === 0 ? 1 : 0;
      const stack = [s];
      seen[s] = 1;
      let c = 1;
      while (stack.length) for (const u of adj[stack.pop()!]) if (!seen[u] && u !== x) (seen[u] = 1), c++, stack.push(u);
      return c === N - 1;
    };
    const victim = [...origins].sort((x, y) => transit[y] - transit[x]).find(connectedWithout);
    if (victim !== undefined) {
      const vo = originOf[victim];
      let affected = 0;
      for (let i = 0; i < N; i++) {
        if (i === victim) continue;
        for (let o = 0; o < K; o++) {
          const r = nodes[i].table.selectedFor(keyOf[o]);
          if (r && (o === vo || farEnd.get((r.neighbour as PeerLink).id) === victim)) affected++;
        }
      }
      dead = victim;
      computeBest();
      for (const p of pipes.get(victim) ?? []) p.up = false;
      nodes[victim].stop();
      const liveFull = (N - 1) * (K - 1) - (K - 1);
      const m = mark();
      let flushMs = -1;
      const rerouteMs = runUntil(() => {
        const s = scan();
        if (flushMs < 0 && s.toDead === 0) flushMs = clock.now() - m.t;
        return s.reach === liveFull && s.viaDead === 0;
      });
      if (flushMs < 0) {
        const f = runUntil(() => scan().toDead === 0);
        flushMs = f < 0 ? -1 : clock.now() - m.t;
      }
      const opt = runUntil(() => scan().hop === liveFull);
      const traffic = since(m);
      result.nodeKill = { what: `node n${victim}`, routesAffected: affected, rerouteMs, flushMs, optimalMs: opt < 0 ? -1 : clock.now() - m.t, traffic, nextHopOff: liveFull - scan().hop };
      say(`mycelium ${N}: node kill rerouted in ${rerouteMs} ms, dead /64 flushed in ${flushMs} ms simulated`);
    }
  }
  for (const n of nodes) n.stop();
  result.wallMs = performance.now() - wall0;
  return result;
}

/**
 * Child-process entry: `node --import tsx bench/mycelium-sim.ts '<MyceliumSimOptions JSON>'`
 * warms the node code up on a 30-node mesh, runs one simulation and prints
 * its result as JSON on stdout (progress on stderr), as mesh-sim.ts does.
 */
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const o = JSON.parse(process.argv[2] ?? '{}') as MyceliumSimOptions;
  await simulateMycelium({ nodes: 30, seed: 2, heap: true, failures: [] });
  const r = await simulateMycelium({ ...o, progress: (l) => process.stderr.write(`tfw: bench: mesh-scale: ${l}\n`) });
  process.stdout.write(JSON.stringify(r) + '\n');
}
