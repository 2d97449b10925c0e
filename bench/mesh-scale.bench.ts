/**
 * Mesh scale (issue 14): convergence, routing-table memory and control traffic
 * of tfw's Babel routing (runtime/overlay/babel/, the real BabelRouter on
 * SimNetwork's in-memory links and simulated clock) for meshes of 100, 1,000
 * and 10,000 nodes, with the growth between sizes. The model and what is
 * scaled are in bench/mesh-sim.ts and docs/overlay.md "Mesh scale".
 *
 * All N routers and links are simulated at every size; at 1,000 and 10,000
 * only a seeded sample of origins announces a prefix (every node's table to
 * every origin would be N^2 routes: 10^8 at 10,000). Route-proportional
 * figures are scaled by N/origins (Babel runs one independent computation per
 * source); the 100-node rows run both ways to show the scaling holds.
 * Failures: a silent link cut at 100 nodes, a node crash at every size.
 *
 * A second table runs the Mycelium-dialect node (runtime/overlay/mycelium/,
 * the real MyceliumNode on in-memory links, bench/mycelium-sim.ts) on the same
 * sizes, seeds, graphs, latencies and origins, with its own timers (Hello
 * 20 s, full dumps 60 s) and link costs (RTT); node crashes only.
 * TFW_BENCH_MESH_MYCELIUM=0 leaves it out.
 *
 * TFW_BENCH_MESH=nodes:origins[:link+node],... replaces the default sizes,
 * e.g. `TFW_BENCH_MESH=300:300 BENCH=mesh-scale make bench`.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { progress, writeResult } from './lib.js';
import type { MeshSimOptions, MeshSimResult, Traffic } from './mesh-sim.js';
import type { MyceliumSimOptions, MyceliumSimResult } from './mycelium-sim.js';

interface Size {
  nodes: number;
  origins: number;
  failures: Array<'link' | 'node'>;
}

const DEFAULT = '100:100:link+node,100:20:,1000:20:node,10000:4:node';

/** A one-line bad-input error (bench/run.ts prints ERR_TFW_ errors without a stack). */
function badInput(message: string): Error {
  return Object.assign(new Error(message), { code: 'ERR_TFW_BENCH_INPUT' });
}

/** Parses TFW_BENCH_MESH; throws ERR_TFW_BENCH_INPUT with the item named on bad input. */
function sizes(text: string): Size[] {
  return text.split(',').map((item) => {
    const [n, k, f] = item.split(':');
    const nodes = Number(n);
    const origins = k === undefined || k === '' ? nodes : Number(k);
    if (!(Number.isInteger(nodes) && nodes >= 3)) throw badInput(`TFW_BENCH_MESH: "${item}": expected nodes as an integer >= 3`);
    if (!(Number.isInteger(origins) && origins >= 2 && origins <= nodes)) throw badInput(`TFW_BENCH_MESH: "${item}": expected origins in [2, ${nodes}]`);
    const failures = (f ?? 'link+node').split('+').filter(Boolean);
    for (const x of failures) if (x !== 'link' && x !== 'node') throw badInput(`TFW_BENCH_MESH: "${item}": expected failures link, node or link+node`);
    return { nodes, origins, failures: failures as Array<'link' | 'node'> };
  });
}

/**
 * One size in a fresh Node process (bench/mesh-sim.ts's entry): heap deltas are
 * not disturbed by earlier sizes, and a 10,000-node heap is freed at once.
 */
function runChild(o: MeshSimOptions | MyceliumSimOptions, sim = './mesh-sim.ts'): MeshSimResult {
  const script = fileURLToPath(new URL(sim, import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, JSON.stringify(o)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`mesh-scale: simulation of ${o.nodes} nodes failed (exit ${r.status ?? r.signal})`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as MeshSimResult;
}

/**
 * Bytes of heap per stored route, and per router besides its routes, fitted
 * from two runs of one mesh with different origin counts (the 100-node pair):
 * heap delta per node = perRouter + perRoute x stored routes per node. A
 * sampled run's delta also holds per-router state that appears with traffic
 * (timers, packets in flight, Hello state), which must not be scaled with the
 * routes. Without such a pair, the run with the most stored routes gives
 * delta / routes (an upper bound). Null without heap figures.
 */
function fitEntry(rs: MeshSimResult[]): number | null {
  const d = (r: MeshSimResult) => (r.heap!.converged - r.heap!.routers) / r.nodes;
  const withHeap = rs.filter((r) => r.heap && r.perNode.stored > 0);
  for (const a of withHeap) {
    const b = withHeap.find((x) => x.nodes === a.nodes && x.perNode.stored < a.perNode.stored * 0.8);
    if (b) return (d(a) - d(b)) / (a.perNode.stored - b.perNode.stored);
  }
  const best = withHeap.sort((x, y) => y.perNode.stored * y.nodes - x.perNode.stored * x.nodes)[0];
  return best ? d(best) / best.perNode.stored : null;
}

/** Figures of one run, route-proportional ones scaled to every node being an origin; `entry`: heap bytes per stored route. */
function figures(r: MeshSimResult, entry: number | null) {
  const f = r.nodes / r.origins;
  const perNodeSec = (t: Traffic, bytes: number) => (t.ms > 0 ? bytes / r.nodes / (t.ms / 1000) : 0);
  const rate = (t: Traffic) => ({
    bytes: perNodeSec(t, t.linkBytes + t.routeBytes * f),
    tlvs: perNodeSec(t, t.linkTlvs + t.routeTlvs * f),
    linkBytes: perNodeSec(t, t.linkBytes),
    routeBytes: perNodeSec(t, t.routeBytes * f),
  });
  const delta = r.heap ? (r.heap.converged - r.heap.routers) / r.nodes : 0;
  // Per router, measured: its heap before any packet plus what the run added besides routes.
  const perRouter = r.heap && entry !== null ? r.heap.routers / r.nodes + delta - r.perNode.stored * entry : 0;
  return {
    scale: f,
    selected: r.perNode.selected * f,
    stored: r.perNode.stored * f,
    /** Heap bytes per stored route used below (fitted, see fitEntry). */
    entry: entry ?? 0,
    perRouter,
    /** Heap per node: per-router part + stored routes (scaled) x entry. */
    heapPerNode: r.heap && entry !== null ? perRouter + r.perNode.stored * f * entry : 0,
    /** The whole measured delta scaled with the routes (overstates sampled runs; kept for the sampling check). */
    heapScaledDelta: r.heap ? r.heap.routers / r.nodes + delta * f : 0,
    convergence: rate(r.convergence),
    steady: rate(r.steady),
  };
}

const s = (ms: number | undefined) => (ms === undefined ? '-' : ms < 0 ? 'no' : (ms / 1000).toFixed(1));
const k = (n: number) => (n >= 10_000 ? `${(n / 1000).toFixed(0)}k` : n >= 1000 ? `${(n / 1000).toFixed(1)}k` : n.toFixed(n < 10 ? 1 : 0));

/** Prints one dialect's table, growth, sampling check and failures; returns the growth rows. */
function report(title: string[], results: MeshSimResult[], entry: number | null, myc: boolean): Array<Record<string, number | string>> {
  const runs = results.map((r) => ({ r, x: figures(r, entry) }));
  const head = ['nodes', 'origins', 'links', 'diam', 'conv s', 'opt s', ...(myc ? ['nh off'] : []), 'routes/node', 'stored/node', 'router B', 'heap/node', 'conv B/node/s', 'conv TLV/node/s', 'steady B/node/s', 'steady TLV/node/s', ...(myc ? [] : ['cut s']), 'kill s', 'flush s', 'wall s'];
  const rows = runs.map(({ r, x }) => [
    String(r.nodes), r.origins === r.nodes ? 'all' : `${r.origins} (x${x.scale})`, String(r.links), String(r.diameter),
    s(r.convergedMs), s(r.optimalMs), ...(myc ? [String((r as MyceliumSimResult).nextHopOff)] : []), k(x.selected), k(x.stored), `${k(x.perRouter)}B`, `${k(x.heapPerNode)}B`,
    k(x.convergence.bytes), k(x.convergence.tlvs), k(x.steady.bytes), k(x.steady.tlvs),
    ...(myc ? [] : [s(r.linkCut?.rerouteMs)]), s(r.nodeKill?.rerouteMs), s(r.nodeKill?.flushMs), (r.wallMs / 1000).toFixed(0),
  ]);
  const table = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  const line = (row: string[]) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  for (const t of title) console.log(t);
  console.log('  (routes, heap, B/node/s: scaled to every node announcing a /64 where origins were sampled; times simulated)');
  console.log(`  (heap/node = router B (per router, measured) + stored/node x ${entry === null ? '?' : entry.toFixed(0)} B per stored route, fitted on two runs of one size)`);
  console.log(table.map(line).join('\n'));

  // Growth between consecutive sizes (one row per size; the first run of each size).
  const bySize = runs.filter((u, i) => runs.findIndex((v) => v.r.nodes === u.r.nodes) === i);
  const growth: Array<Record<string, number | string>> = [];
  for (let i = 1; i < bySize.length; i++) {
    const a = bySize[i - 1];
    const b = bySize[i];
    const g = (p: number, q: number) => (p > 0 && q > 0 ? Number((q / p).toFixed(2)) : NaN);
    growth.push({
      from: a.r.nodes, to: b.r.nodes, nodes: g(a.r.nodes, b.r.nodes),
      convergence: g(a.r.convergedMs, b.r.convergedMs), routesPerNode: g(a.x.selected, b.x.selected), heapPerNode: g(a.x.heapPerNode, b.x.heapPerNode),
      steadyBytesPerNode: g(a.x.steady.bytes, b.x.steady.bytes), killReroute: g(a.r.nodeKill?.rerouteMs ?? 0, b.r.nodeKill?.rerouteMs ?? 0),
    });
  }
  console.log('\nmesh-scale: growth per step (ratio of the larger mesh to the smaller)');
  for (const gr of growth) {
    console.log(
      `  ${gr.from} -> ${gr.to} nodes (x${gr.nodes}): convergence x${gr.convergence}, routes/node x${gr.routesPerNode}, heap/node x${gr.heapPerNode}, ` +
        `steady bytes/node/s x${gr.steadyBytesPerNode}, reroute after node kill x${gr.killReroute}`,
    );
  }
  // The sampling check: the same 100-node mesh with all and with a sample of origins.
  const full = runs.find((u) => u.r.nodes === 100 && u.r.origins === 100);
  const part = runs.find((u) => u.r.nodes === 100 && u.r.origins < 100);
  if (full && part) {
    const pct = (p: number, q: number) => `${(((q - p) / p) * 100).toFixed(0)}%`;
    console.log(
      `\nmesh-scale: sampling check at 100 nodes, ${part.r.origins} origins scaled x${part.x.scale} vs all: routes/node ${pct(full.x.selected, part.x.selected)}, ` +
        `heap delta scaled ${pct(full.x.heapScaledDelta, part.x.heapScaledDelta)}, steady B/node/s ${pct(full.x.steady.bytes, part.x.steady.bytes)}, convergence ${s(full.r.convergedMs)} vs ${s(part.r.convergedMs)} s`,
    );
  }
  for (const { r, x } of runs) {
    for (const fl of [r.linkCut, r.nodeKill]) {
      if (!fl) continue;
      console.log(
        `  ${r.nodes} nodes: ${fl.what} (${fl.routesAffected} selected routes used it): rerouted ${s(fl.rerouteMs)} s, optimal ${s(fl.optimalMs)} s` +
          (fl.flushMs !== undefined ? `, its prefix gone everywhere ${s(fl.flushMs)} s` : '') +
          ('nextHopOff' in fl ? ` (${String(fl.nextHopOff)} next hops not on a shortest path then)` : '') +
          `; route TLVs meanwhile ${k(fl.traffic.routeBytes / r.nodes)}B per node` + (x.scale > 1 ? ` with ${r.origins} origins (not scaled: the dead origin's flush is one prefix at any size)` : ''),
      );
    }
  }
  return growth;
}

export default async function (): Promise<void> {
  const plan = sizes(process.env.TFW_BENCH_MESH ?? DEFAULT);
  const results: MeshSimResult[] = [];
  for (const z of plan) {
    progress(`mesh-scale: ${z.nodes} nodes, ${z.origins} origins`);
    results.push(runChild({ nodes: z.nodes, origins: z.origins, failures: z.failures, heap: true, seed: 1 }));
  }
  const entry = fitEntry(results);
  const growth = report(
    ['\nmesh-scale: tfw Babel (RFC 8966 timers: Hello 4 s, updates 16 s) on simulated meshes, mean degree 4, seed 1'],
    results, entry, false,
  );

  // The Mycelium dialect on the same plan (same seeds: same graphs, latencies and origins); crashes only.
  const mresults: MyceliumSimResult[] = [];
  if (process.env.TFW_BENCH_MESH_MYCELIUM !== '0') {
    for (const z of plan) {
      progress(`mesh-scale: mycelium ${z.nodes} nodes, ${z.origins} origins`);
      const failures = z.failures.filter((f): f is 'node' => f === 'node');
      mresults.push(runChild({ nodes: z.nodes, origins: z.origins, failures, heap: true, seed: 1 }, './mycelium-sim.ts') as MyceliumSimResult);
    }
  }
  const mentry = fitEntry(mresults);
  const mgrowth = mresults.length
    ? report(
        [
          '\nmesh-scale: tfw Mycelium dialect (Hello 20 s, full dumps 60 s, RTT link costs) on the same meshes, seed 1',
          "  (opt s: every next hop on a shortest path (RTT metric), 'no' = not within 300 s; nh off: next hops not on one then)",
        ],
        mresults, mentry, true,
      )
    : [];
  const file = writeResult('mesh-scale', {
    bytesPerStoredRoute: entry, runs: results.map((r) => ({ ...r, scaled: figures(r, entry) })), growth,
    mycelium: { bytesPerStoredRoute: mentry, runs: mresults.map((r) => ({ ...r, scaled: figures(r, mentry) })), growth: mgrowth },
  });
  console.log(`mesh-scale: wrote ${file}`);
}
