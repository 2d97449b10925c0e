/**
 * A mesh-scale simulation of tfw's Babel routing (runtime/overlay/babel/): the
 * real BabelRouter on SimNetwork (in-memory links, ManualClock), on a seeded
 * random sparse graph. Measures convergence, table sizes and heap, control
 * traffic, and reconvergence after a link cut and after a node crash. Used by
 * bench/mesh-scale.bench.ts and test/unit/mesh-sim.test.ts.
 *
 * Model (see docs/overlay.md "Mesh scale"):
 * - Topology: a random tree (node i links to a random earlier node) plus random
 *   extra links until the mean degree is `degree`; connected by construction.
 * - Link latency: uniform 5-50 ms one way, per link. Link cost: each router's
 *   nominal cost K (A.2.1) is uniform 64-256, so the cost of a hop into node B
 *   is K_B (Babel's txcost is the far end's rxcost). Shortest-path metrics are
 *   computed with Dijkstra on that graph to check what Babel selected.
 * - `origins` nodes announce a /64 each (all nodes by default). Babel handles
 *   every prefix independently (one distance-vector computation per source), so
 *   with fewer origins the per-node figures per origin scale by nodes/origins;
 *   the result says which were measured and which scaled.
 * - Timers are RFC 8966 Appendix B defaults (Hello 4 s, IHU 12 s, updates 16 s).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pathToFileURL } from 'node:url';
import { SimNetwork } from '../runtime/overlay/babel/sim.js';
import { INFINITY } from '../runtime/overlay/babel/constants.js';
import { formatPrefix, parsePrefix } from '../runtime/overlay/babel/prefix.js';

export interface MeshSimOptions {
  /** Routers in the mesh (at least 3). */
  nodes: number;
  /** Mean links per node (default 4). */
  degree?: number;
  /** Seed of the topology, latencies, costs and origins (default 1). */
  seed?: number;
  /** Routers that announce a prefix (default all). */
  origins?: number;
  /** Simulated-time bound of each phase, ms (default 120 s). */
  limitMs?: number;
  /** Steady-state traffic window, simulated ms (default 16 s: one full-dump period). */
  steadyMs?: number;
  /** Failure phases to run (default both): cut the busiest link, crash the busiest origin. */
  failures?: Array<'link' | 'node'>;
  /** Measure heap deltas with forced GCs (default false; slow on large heaps). */
  heap?: boolean;
  /** Progress lines. */
  progress?: (line: string) => void;
}

/**
 * Control traffic in one phase: totals over all links, and the phase's simulated
 * length. Link-state TLVs (Hello, IHU) cost the same whatever the number of
 * origins; route TLVs (Update, Router-Id, Next Hop, requests) grow with it.
 * A packet's 4-byte header counts as route bytes when it carries any route TLV.
 */
export interface Traffic {
  ms: number;
  packets: number;
  linkBytes: number;
  linkTlvs: number;
  routeBytes: number;
  routeTlvs: number;
  /** Update TLVs sent (stats.updatesSent). */
  updates: number;
}

export interface FailureResult {
  /** What failed: "link n3-n17" or "node n42". */
  what: string;
  /** Selected routes that used the failed link or node when it failed. */
  routesAffected: number;
  /** Simulated ms until every live node again had a route to every live origin, none over the failure; -1 = not within the limit. */
  rerouteMs: number;
  /** Node kill only: simulated ms until no live node had a route to the dead node's prefix. */
  flushMs?: number;
  /** Simulated ms until every selected metric was the new shortest path; -1 = not within the limit. */
  optimalMs: number;
  traffic: Traffic;
}

export interface MeshSimResult {
  nodes: number;
  links: number;
  origins: number;
  seed: number;
  /** Simulated ms until every node had a selected (feasible) route to every origin's prefix; -1 = not within the limit. */
  convergedMs: number;
  /** Simulated ms until every selected metric equalled the shortest path; -1 = not within the limit. */
  optimalMs: number;
  /** Hops on the longest shortest path (diameter, by hop count, from the origins). */
  diameter: number;
  convergence: Traffic;
  steady: Traffic;
  /** Per node, after convergence: selected routes, stored routes (all neighbours) and source entries. */
  perNode: { selected: number; stored: number; sources: number };
  /** Heap bytes (forced GC): routers and links before any packet; tables and in-flight state after convergence. */
  heap?: { routers: number; converged: number };
  linkCut?: FailureResult;
  nodeKill?: FailureResult;
  /** Wall-clock ms the simulation took. */
  wallMs: number;
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The graph: adjacency lists and edges, connected (random tree + extra links). */
export function randomMesh(n: number, degree: number, rand: () => number): { adj: number[][]; edges: Array<[number, number]> } {
  const adj: number[][] = Array.from({ length: n }, () => []);
  const edges: Array<[number, number]> = [];
  const seen = new Set<number>();
  const add = (a: number, b: number): boolean => {
    if (a === b) return false;
    const k = Math.min(a, b) * n + Math.max(a, b);
    if (seen.has(k)) return false;
    seen.add(k);
    adj[a].push(b);
    adj[b].push(a);
    edges.push([a, b]);
    return true;
  };
  for (let i = 1; i < n; i++) add(i, Math.floor(rand() * i));
  const target = Math.round((n * degree) / 2);
  for (let tries = 0; edges.length < target && tries < target * 20; tries++) add(Math.floor(rand() * n), Math.floor(rand() * n));
  return { adj, edges };
}

/**
 * Metric of the shortest path from every node to `origin` (Dijkstra on a
 * binary heap), and the hop count of each path: a route at u through its
 * neighbour v costs v's metric plus `weight(v, j)`, where adj[v][j] = u;
 * edges where `skip(v, u)` is true are left out. Unreachable
 * nodes keep Infinity and hops -1. Shared with bench/mycelium-sim.ts.
 */
export function shortestPaths(adj: number[][], origin: number, weight: (v: number, j: number) => number, skip: (v: number, u: number) => boolean): { dist: Float64Array; hops: Int32Array } {
  const n = adj.length;
  const dist = new Float64Array(n).fill(Infinity);
  const hops = new Int32Array(n).fill(-1);
  dist[origin] = 0;
  hops[origin] = 0;
  // Binary heap of [dist, node].
  const heap: Array<[number, number]> = [[0, origin]];
  const push = (e: [number, number]) => {
    let i = heap.push(e) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (heap[p][0] <= e[0]) break;
      heap[i] = heap[p];
      i = p;
    }
    heap[i] = e;
  };
  const pop = (): [number, number] => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= heap.length) break;
        const c = l + 1 < heap.length && heap[l + 1][0] < heap[l][0] ? l + 1 : l;
        if (heap[c][0] >= last[0]) break;
        heap[i] = heap[c];
        i = c;
      }
      heap[i] = last;
    }
    return top;
  };
  while (heap.length) {
    const [d, v] = pop();
    if (d > dist[v]) continue;
    const nb = adj[v];
    for (let j = 0; j < nb.length; j++) {
      const u = nb[j];
      if (skip(v, u)) continue;
      const nd = d + weight(v, j);
      if (nd < dist[u]) {
        dist[u] = nd;
        hops[u] = hops[v] + 1;
        push([nd, u]);
      }
    }
  }
  return { dist, hops };
}

/**
 * Babel's metrics: a hop into node v costs cost[v] (the origin's own cost
 * counts, the start's does not); nodes in `dead` and the edge `cut` are left out.
 */
function dijkstra(adj: number[][], cost: Float64Array, origin: number, dead: number, cut: [number, number] | null): { dist: Float64Array; hops: Int32Array } {
  return shortestPaths(adj, origin, (v) => cost[v], (v, u) =>
    u === dead || v === dead || (cut !== null && ((u === cut[0] && v === cut[1]) || (u === cut[1] && v === cut[0]))));
}

/** True when the graph without `dead` / `cut` is still connected. */
function connectedWithout(adj: number[][], dead: number, cut: [number, number] | null): boolean {
  const n = adj.length;
  const start = dead === 0 ? 1 : 0;
  const seen = new Uint8Array(n);
  const stack = [start];
  seen[start] = 1;
  let count = 1;
  while (stack.length) {
    const v = stack.pop()!;
    for (const u of adj[v]) {
      if (seen[u] || u === dead) continue;
      if (cut && ((u === cut[0] && v === cut[1]) || (u === cut[1] && v === cut[0]))) continue;
      seen[u] = 1;
      count++;
      stack.push(u);
    }
  }
  return count === n - (dead >= 0 ? 1 : 0);
}

let gcFn: (() => void) | null = null;
/** Heap used after a full GC, bytes. */
export function heapUsed(): number {
  if (!gcFn) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  // Several full GCs: V8 ages some caches (compiled code, compilation cache) over
  // GCs, and one or two left ~2 MB that a later GC freed (negative deltas).
  for (let i = 0; i < 8; i++) gcFn();
  return process.memoryUsage().heapUsed;
}

/**
 * The heap baseline before building a mesh: the smaller of two readings with
 * garbage allocated between them. At random, ~2.5 MB that survived the first
 * GCs (caches V8 or the loader drop later) went at the next GC after
 * allocation, which turned small meshes' deltas negative.
 */
export function heapBaseline(): number {
  const a = heapUsed();
  let junk: object[] | null = Array.from({ length: 200_000 }, (_, i) => ({ i }));
  junk = junk.length > 0 ? null : junk;
  return Math.min(a, heapUsed());
}

/** The /64 of origin `o`: inside 400::/7 as tfw's overlay subnets are. */
const prefixOf = (o: number): string => `400:${((o >> 16) & 0xffff).toString(16)}:${(o & 0xffff).toString(16)}::/64`;

/** The seeded mesh both simulations run on (this file and mycelium-sim.ts). */
export interface MeshModel {
  /** Nodes, and nodes that announce a prefix. */
  N: number;
  K: number;
  seed: number;
  /** The generator, after the model's draws: later draws (mycelium-sim.ts keys, phases) continue from it. */
  rand: () => number;
  adj: number[][];
  edges: Array<[number, number]>;
  /** Babel's nominal link cost per router, 64-256. */
  cost: Float64Array;
  /** The origins, ascending; originOf[node] = its column in origins, or -1. */
  origins: number[];
  originOf: Int32Array;
  /** One-way latency per edge (aligned with `edges`), 5-50 ms. */
  latency: number[];
}

/**
 * Draws the model from `o.seed` (default 1), in a fixed order: graph
 * (randomMesh, mean degree `o.degree`, default 4), per-router costs, the
 * origins (a seeded sample of `o.origins`, default all), per-edge latencies.
 * Throws RangeError for nodes < 3 or origins outside [2, nodes].
 */
export function drawModel(o: Pick<MeshSimOptions, 'nodes' | 'origins' | 'seed' | 'degree'>): MeshModel {
  const N = o.nodes;
  if (!(Number.isInteger(N) && N >= 3)) throw new RangeError(`nodes: expected an integer of at least 3, got ${N}`);
  const K = o.origins ?? N;
  if (!(Number.isInteger(K) && K >= 2 && K <= N)) throw new RangeError(`origins: expected an integer in [2, ${N}], got ${K}`);
  const seed = o.seed ?? 1;
  const rand = rng(seed);
  const { adj, edges } = randomMesh(N, o.degree ?? 4, rand);
  const cost = new Float64Array(N);
  for (let i = 0; i < N; i++) cost[i] = 64 + Math.floor(rand() * 193);
  const order = Array.from({ length: N }, (_, i) => i);
  for (let i = N - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const origins = order.slice(0, K).sort((a, b) => a - b);
  const originOf = new Int32Array(N).fill(-1);
  origins.forEach((v, i) => (originOf[v] = i));
  const latency = edges.map(() => 5 + Math.floor(rand() * 46));
  return { N, K, seed, rand, adj, edges, cost, origins, originOf, latency };
}

/**
 * Runs the simulation. Throws RangeError for nodes < 3 or origins outside
 * [2, nodes]. Every figure is in simulated time except `wallMs`.
 */
export function simulateMesh(opts: MeshSimOptions): MeshSimResult {
  const wall0 = performance.now();
  const { N, K, seed, adj, edges, cost, origins, originOf, latency } = drawModel(opts);
  const limit = opts.limitMs ?? 120_000;
  const steadyMs = opts.steadyMs ?? 16_000;
  const say = opts.progress ?? (() => {});
  const column = new Map<string, number>(origins.map((_, o) => [formatPrefix(parsePrefix(prefixOf(o))), o]));

  const heap0 = opts.heap ? heapBaseline() : 0;
  const net = new SimNetwork(10, false);
  // sel[i*K + o]: metric of node i's selected route to origin o (-1: none); via: next-hop node.
  const sel = new Int32Array(N * K).fill(-1);
  const via = new Int32Array(N * K).fill(-1);
  let reachable = 0;
  let best: Float64Array[] = [];
  let optimal = 0;
  const name = (i: number) => `n${i}`;
  for (let i = 0; i < N; i++) {
    const r = net.addNode(name(i), { prefixes: originOf[i] >= 0 ? [prefixOf(originOf[i])] : [], linkCost: cost[i], log: () => {} });
    const row = i * K;
    r.on('route', (e) => {
      if (e.via === null) return;
      const o = column.get(e.prefix);
      if (o === undefined) return;
      const k = row + o;
      const was = sel[k];
      if (was >= 0) {
        reachable--;
        if (best.length && was === best[o][i]) optimal--;
      }
      if (e.removed) {
        sel[k] = -1;
        via[k] = -1;
        return;
      }
      sel[k] = e.metric;
      via[k] = Number(e.via.slice(1));
      reachable++;
      if (best.length && e.metric === best[o][i]) optimal++;
    });
  }
  edges.forEach(([a, b], e) => net.connect(name(a), name(b), latency[e]));
  const heapRouters = opts.heap ? heapUsed() - heap0 : 0;

  let dead = -1;
  let cut: [number, number] | null = null;
  let diameter = 0;
  /** Recomputes the shortest-path metrics (after a failure) and recounts the optimal selections. */
  const computeBest = () => {
    best = [];
    for (let o = 0; o < K; o++) {
      if (origins[o] === dead) {
        best.push(new Float64Array(N).fill(-2)); // no route is right
        continue;
      }
      const { dist, hops } = dijkstra(adj, cost, origins[o], dead, cut);
      for (let i = 0; i < N; i++) if (i !== dead && dist[i] >= INFINITY) throw new Error(`metric to origin ${o} reaches Babel's infinity`);
      best.push(dist);
      for (let i = 0; i < N; i++) diameter = Math.max(diameter, hops[i]);
    }
    optimal = 0;
    for (let i = 0; i < N; i++) for (let o = 0; o < K; o++) if (sel[i * K + o] >= 0 && sel[i * K + o] === best[o][i]) optimal++;
  };
  computeBest();

  const tr = { packets: 0, linkBytes: 0, linkTlvs: 0, routeBytes: 0, routeTlvs: 0 };
  net.tap = (_from, _to, b) => {
    tr.packets++;
    // Walk the TLVs (RFC 8966 §4.3): type, length, body; Pad1 (type 0) is one octet.
    let route = false;
    for (let i = 4; i < b.length; ) {
      const type = b[i];
      const len = type === 0 ? 1 : 2 + (b[i + 1] ?? 0);
      if (type === 4 || type === 5) {
        tr.linkBytes += len;
        tr.linkTlvs++;
      } else if (type > 1) {
        tr.routeBytes += len;
        tr.routeTlvs++;
        route = true;
      }
      i += len;
    }
    if (route) tr.routeBytes += 4;
    else tr.linkBytes += 4;
  };
  const updates = () => {
    let u = 0;
    for (const r of net.routers.values()) u += r.stats.updatesSent;
    return u;
  };
  const mark = () => ({ t: net.clock.now(), ...tr, updates: updates() });
  const since = (m: ReturnType<typeof mark>): Traffic => ({
    ms: net.clock.now() - m.t, packets: tr.packets - m.packets, linkBytes: tr.linkBytes - m.linkBytes, linkTlvs: tr.linkTlvs - m.linkTlvs,
    routeBytes: tr.routeBytes - m.routeBytes, routeTlvs: tr.routeTlvs - m.routeTlvs, updates: updates() - m.updates,
  });

  // Phase 1: convergence from cold start (all routers and links up at t = 0).
  const full = K * (N - 1); // every node to every origin but itself
  const m0 = mark();
  const convergedMs = net.clock.runUntil(() => reachable === full, limit, 100);
  const convergence = since(m0);
  say(`mesh ${N}: converged in ${convergedMs} ms simulated`);
  const optimalMs = net.clock.runUntil(() => optimal === full, limit, 100);
  const optimalAt = optimalMs < 0 ? -1 : net.clock.now() - m0.t;

  let perNode = { selected: 0, stored: 0, sources: 0 };
  for (const r of net.routers.values()) {
    const s = r.tableSize();
    perNode.stored += s.routes;
    perNode.sources += s.sources;
  }
  perNode = { selected: reachable / N, stored: perNode.stored / N, sources: perNode.sources / N };
  const heapConverged = opts.heap ? heapUsed() - heap0 : 0;

  // Phase 2: steady state.
  const m1 = mark();
  net.clock.advance(steadyMs);
  const steady = since(m1);

  const result: MeshSimResult = {
    nodes: N, links: edges.length, origins: K, seed, convergedMs, optimalMs: optimalAt, diameter, convergence, steady, perNode,
    ...(opts.heap ? { heap: { routers: heapRouters, converged: heapConverged } } : {}),
    wallMs: 0,
  };

  const failures = opts.failures ?? ['link', 'node'];
  if (failures.length) {
    // Load per directed link: selected routes with next hop b at a.
    const load = new Map<number, number>();
    for (let i = 0; i < N; i++) for (let o = 0; o < K; o++) {
      const v = via[i * K + o];
      if (v >= 0) load.set(Math.min(i, v) * N + Math.max(i, v), (load.get(Math.min(i, v) * N + Math.max(i, v)) ?? 0) + 1);
    }
    // Phase 3: cut the busiest link that is not a bridge, silently (packets dropped; the routers notice missed Hellos).
    const byLoad = [...load.entries()].sort((x, y) => y[1] - x[1]);
    const pick = failures.includes('link') && byLoad.find(([k]) => connectedWithout(adj, -1, [Math.floor(k / N), k % N]));
    if (pick) {
      const a = Math.floor(pick[0] / N);
      const b = pick[0] % N;
      cut = [a, b];
      computeBest();
      net.setLink(name(a), name(b), false);
      const over = () => {
        let c = 0;
        for (let o = 0; o < K; o++) c += (via[a * K + o] === b ? 1 : 0) + (via[b * K + o] === a ? 1 : 0);
        return c;
      };
      const m = mark();
      const rerouteMs = net.clock.runUntil(() => reachable === full && over() === 0, limit, 100);
      const opt = net.clock.runUntil(() => optimal === full, limit, 100);
      result.linkCut = { what: `link n${a}-n${b}`, routesAffected: pick[1], rerouteMs, optimalMs: opt < 0 ? -1 : net.clock.now() - m.t, traffic: since(m) };
      say(`mesh ${N}: link cut rerouted in ${rerouteMs} ms simulated`);
    }

    // Phase 4: crash the origin that carries the most transit routes and is not an articulation point.
    const transit = new Float64Array(N);
    for (let i = 0; i < N; i++) for (let o = 0; o < K; o++) if (via[i * K + o] >= 0) transit[via[i * K + o]]++;
    const candidates = origins.filter((v) => v !== cut?.[0] && v !== cut?.[1]).sort((x, y) => transit[y] - transit[x]);
    const victim = failures.includes('node') ? candidates.find((v) => connectedWithout(adj, v, cut)) : undefined;
    if (victim !== undefined) {
      const vo = originOf[victim];
      let affected = 0;
      for (let i = 0; i < N; i++) for (let o = 0; o < K; o++) if (i !== victim && (via[i * K + o] === victim || o === vo) && sel[i * K + o] >= 0) affected++;
      dead = victim;
      // The dead row and column leave every count: recount over live nodes and live origins.
      const liveFull = (N - 1) * (K - 1) - (K - 1);
      const liveReach = () => {
        let r = reachable;
        for (let o = 0; o < K; o++) if (sel[victim * K + o] >= 0) r--;
        for (let i = 0; i < N; i++) if (i !== victim && sel[i * K + vo] >= 0) r--;
        return r;
      };
      const viaDead = () => {
        let c = 0;
        for (const nb of adj[victim]) for (let o = 0; o < K; o++) if (o !== vo && via[nb * K + o] === victim) c++;
        return c;
      };
      const deadPrefix = () => {
        let c = 0;
        for (let i = 0; i < N; i++) if (i !== victim && sel[i * K + vo] >= 0) c++;
        return c;
      };
      const liveOptimal = () => {
        let c = 0;
        for (let i = 0; i < N; i++) {
          if (i === victim) continue;
          for (let o = 0; o < K; o++) if (o !== vo && sel[i * K + o] >= 0 && sel[i * K + o] === best[o][i]) c++;
        }
        return c;
      };
      computeBest();
      net.kill(name(victim));
      const m = mark();
      let flushMs = -1;
      const rerouteMs = net.clock.runUntil(() => {
        if (flushMs < 0 && deadPrefix() === 0) flushMs = net.clock.now() - m.t;
        return liveReach() === liveFull && viaDead() === 0;
      }, limit, 100);
      if (flushMs < 0) {
        const f = net.clock.runUntil(() => deadPrefix() === 0, limit, 100);
        flushMs = f < 0 ? -1 : net.clock.now() - m.t;
      }
      const opt = net.clock.runUntil(() => liveOptimal() === liveFull, limit, 500);
      result.nodeKill = { what: `node n${victim}`, routesAffected: affected, rerouteMs, flushMs, optimalMs: opt < 0 ? -1 : net.clock.now() - m.t, traffic: since(m) };
      say(`mesh ${N}: node kill rerouted in ${rerouteMs} ms, dead prefix flushed in ${flushMs} ms simulated`);
    }
  }
  net.stop();
  result.wallMs = performance.now() - wall0;
  return result;
}

/**
 * Child-process entry: `node --import tsx bench/mesh-sim.ts '<MeshSimOptions JSON>'`
 * warms the router code up on a 30-node mesh, runs one simulation and prints its
 * MeshSimResult as JSON on stdout (progress on stderr). A fresh process per size
 * keeps each heap delta free of the previous sizes' compiled code and garbage.
 */
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const o = JSON.parse(process.argv[2] ?? '{}') as MeshSimOptions;
  simulateMesh({ nodes: 30, seed: 2, heap: true });
  const r = simulateMesh({ ...o, progress: (l) => process.stderr.write(`tfw: bench: mesh-scale: ${l}\n`) });
  process.stdout.write(JSON.stringify(r) + '\n');
}
