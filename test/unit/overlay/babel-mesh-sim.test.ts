// The mesh-scale simulator (bench/mesh-sim.ts) on a tiny mesh: the real
// BabelRouter on SimNetwork converges to the shortest paths Dijkstra computes,
// and reconverges after a silent link cut and a node crash. A broken seam
// (clock, links, route events) leaves a phase unconverged (-1) and fails here.
// Times are simulated; no wall-clock assertions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualClock } from '../../../runtime/overlay/babel/clock.js';
import { randomMesh, rng, simulateMesh } from '../../../bench/mesh-sim.js';

test('ManualClock runs timers in (time, insertion) order, skips cancelled ones', () => {
  const clock = new ManualClock();
  const rand = rng(7);
  const ran: Array<[number, number]> = [];
  const want: Array<[number, number]> = [];
  for (let i = 0; i < 500; i++) {
    const at = Math.floor(rand() * 50);
    const h = clock.setTimeout(() => ran.push([clock.now(), i]), at);
    if (i % 7 === 3) h.cancel();
    else want.push([at, i]);
  }
  // A timer scheduled while running, due in the same advance, still runs in order.
  clock.setTimeout(() => clock.setTimeout(() => ran.push([clock.now(), -1]), 5), 10);
  want.push([15, -1]);
  clock.advance(100);
  want.sort((a, b) => a[0] - b[0] || (a[1] === -1 ? 1 : b[1] === -1 ? -1 : a[1] - b[1]));
  assert.equal(ran, want);
  assert.is(clock.now(), 100);
});

test('randomMesh is connected with the asked mean degree, and the same for the same seed', () => {
  const { adj, edges } = randomMesh(200, 4, rng(3));
  assert.is(edges.length, 400);
  const seen = new Set([0]);
  const stack = [0];
  while (stack.length) for (const u of adj[stack.pop()!]) if (!seen.has(u)) (seen.add(u), stack.push(u));
  assert.is(seen.size, 200);
  assert.equal(randomMesh(200, 4, rng(3)).edges, edges);
});

test('10 nodes: converge to shortest paths, reroute after a link cut and a node crash', () => {
  const r = simulateMesh({ nodes: 10, seed: 1 });
  assert.ok(r.convergedMs > 0, `converged ${r.convergedMs}`);
  assert.ok(r.optimalMs >= r.convergedMs, `optimal ${r.optimalMs}`);
  assert.is(r.perNode.selected, 9);
  assert.ok(r.perNode.stored >= 9);
  assert.ok(r.convergence.routeBytes > 0 && r.convergence.linkBytes > 0);
  assert.ok(r.steady.routeTlvs > 0 && r.steady.ms === 16_000);
  const cut = r.linkCut!;
  assert.ok(cut.routesAffected > 0, cut.what);
  assert.ok(cut.rerouteMs > 0 && cut.optimalMs >= cut.rerouteMs, JSON.stringify(cut));
  const kill = r.nodeKill!;
  assert.ok(kill.routesAffected > 0, kill.what);
  assert.ok(kill.rerouteMs > 0 && kill.flushMs! > 0 && kill.optimalMs >= 0, JSON.stringify(kill));
  // Missed Hellos (4 s interval) are what detects a silent failure: not before one interval.
  assert.ok(cut.rerouteMs >= 4000 && kill.rerouteMs >= 4000);
});

test('sampled origins: every node reaches each origin, and the run is reproducible', () => {
  const a = simulateMesh({ nodes: 12, origins: 4, seed: 5, failures: ['node'] });
  assert.ok(a.convergedMs > 0 && a.optimalMs > 0);
  assert.is(a.perNode.selected, (4 * 11) / 12);
  assert.ok(a.nodeKill!.rerouteMs > 0);
  assert.is(a.linkCut, undefined);
  const b = simulateMesh({ nodes: 12, origins: 4, seed: 5, failures: ['node'] });
  assert.equal({ ...b, wallMs: 0 }, { ...a, wallMs: 0 });
});

test('bad sizes are refused naming the field', () => {
  assert.throws(() => simulateMesh({ nodes: 2 }), /nodes: expected an integer of at least 3/);
  assert.throws(() => simulateMesh({ nodes: 10, origins: 11 }), /origins: expected an integer in \[2, 10\]/);
});

test.run();
