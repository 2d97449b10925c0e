// The Mycelium-dialect mesh simulator (bench/mycelium-sim.ts): the real
// MyceliumNode on in-memory links and a ManualClock (mycelium/clock.ts,
// LinkTransport in link.ts) converges to next hops on the shortest RTT paths
// Dijkstra computes, drops a crashed node's routes and /64, and its traffic
// counters add up to what the protocol must send. A broken seam (clock, link
// transport, announce) leaves a phase unconverged (-1) or the counts off.
// Times are simulated; no wall-clock assertions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualClock } from '../../../runtime/overlay/babel/clock.js';
import { manualClock } from '../../../runtime/overlay/mycelium/clock.js';
import { SimStream, simulateMycelium } from '../../../bench/mycelium-sim.js';

test('manualClock: intervals keep their period, clearInterval and clearTimeout stop them', () => {
  const clock = new ManualClock();
  const c = manualClock(clock);
  const ticks: number[] = [];
  const h = c.setInterval(() => ticks.push(c.now()), 300);
  const once: number[] = [];
  c.setTimeout(() => once.push(c.now()), 450);
  c.clearTimeout(c.setTimeout(() => once.push(-1), 100));
  clock.advance(1000);
  assert.equal(ticks, [300, 600, 900]);
  assert.equal(once, [450]);
  c.clearInterval(h);
  clock.advance(1000);
  assert.equal(ticks, [300, 600, 900]);
  assert.throws(() => c.setInterval(() => {}, 0), /interval: expected at least 1 ms/);
});

test('SimStream: bytes arrive after the latency in order; destroy closes the far end unless the pipe was cut', () => {
  const clock = new ManualClock();
  const tapped: number[] = [];
  const pipe = { up: true };
  const a = new SimStream(clock, 7, pipe, (b) => tapped.push(b.length));
  const b = new SimStream(clock, 7, pipe, () => {});
  a.peer = b;
  b.peer = a;
  const got: Array<[number, number]> = [];
  let closed = 0;
  b.on('data', (d: Uint8Array) => got.push([clock.now(), d[0]]));
  b.on('close', () => closed++);
  a.write(Uint8Array.of(1));
  clock.advance(3);
  a.write(Uint8Array.of(2, 2));
  clock.advance(20);
  assert.equal(got, [[7, 1], [10, 2]]);
  assert.equal(tapped, [1, 2]);
  a.destroy();
  clock.advance(7);
  assert.is(closed, 1);
  // A cut pipe carries nothing and tells nobody (a silent crash).
  const p2 = { up: true };
  const c = new SimStream(clock, 5, p2, () => {});
  const d = new SimStream(clock, 5, p2, () => {});
  c.peer = d;
  d.peer = c;
  let heard = 0;
  d.on('data', () => heard++);
  d.on('close', () => heard++);
  c.write(Uint8Array.of(9));
  p2.up = false;
  c.destroy();
  clock.advance(50);
  assert.is(heard, 0);
});

test('40 nodes: shortest-path next hops, a crash rerouted and flushed, traffic counts add up', async () => {
  const r = await simulateMycelium({ nodes: 40, seed: 2, limitMs: 200_000 });
  assert.is(r.perNode.selected, 39);
  assert.ok(r.convergedMs > 0, `converged ${r.convergedMs}`);
  // Every next hop on a shortest path (RTT metric); stale metrics (under 25 %) may remain.
  assert.ok(r.optimalMs >= r.convergedMs, `optimal ${r.optimalMs}`);
  assert.is(r.nextHopOff, 0);
  assert.ok(r.metricOff < 0.02 * 40 * 39, `metrics off ${r.metricOff}`);
  assert.ok(r.perNode.stored >= 39 && r.perNode.stored <= 39 * 8, `stored ${r.perNode.stored}`);

  // Steady state: one frame per TLV; each link end sends 3 Hellos in 60 s and
  // answers the other end's 3 with IHUs; the only route TLVs are the full
  // dumps (per node, per link: its own /64 plus every selected route that is
  // not via that link: the sum over nodes of degree x 40 - 39) and the few
  // triggered updates a dump's corrected metric (stale, under 25 %) causes.
  const st = r.steady;
  assert.is(st.ms, 60_000);
  assert.is(st.packets, st.linkTlvs + st.routeTlvs);
  assert.is(st.linkTlvs, 12 * r.links);
  assert.is(st.updates, st.routeTlvs);
  const dumps = 2 * r.links * 40 - 40 * 39;
  assert.ok(st.updates >= dumps && st.updates <= dumps * 1.01, `${st.updates} updates, ${dumps} in full dumps`);
  assert.ok(st.routeBytes > st.updates * 8 + st.updates * 2 && st.linkBytes > st.linkTlvs * 8);
  assert.ok(r.convergence.routeTlvs > 0 && r.convergence.linkTlvs >= 4 * r.links);

  const kill = r.nodeKill!;
  assert.ok(kill.routesAffected >= 39, kill.what);
  // A silent crash is noticed after 3.5 Hello periods (70 s) at a Hello tick, not before.
  assert.ok(kill.rerouteMs >= 70_000 && kill.rerouteMs <= 100_000, JSON.stringify(kill));
  assert.ok(kill.flushMs! >= 70_000 && kill.flushMs! <= kill.rerouteMs, JSON.stringify(kill));
  assert.ok(kill.optimalMs >= kill.rerouteMs, JSON.stringify(kill));
  assert.is(kill.nextHopOff, 0);
  assert.ok(kill.traffic.routeTlvs > 0);
});

test('sampled origins: only origins announce, every node reaches each; the run is reproducible', async () => {
  const o = { nodes: 16, origins: 4, seed: 5, failures: [] as Array<'node'>, limitMs: 200_000 };
  const a = await simulateMycelium(o);
  assert.is(a.perNode.selected, (4 * 15) / 16);
  assert.ok(a.convergedMs > 0);
  assert.is(a.nodeKill, undefined);
  // Full dumps: origins send their own /64 on each link; everyone sends its 4 (or 3) selected routes but not back.
  assert.ok(a.steady.updates < 2 * a.links * 4, `${a.steady.updates}`);
  const b = await simulateMycelium(o);
  assert.equal({ ...b, wallMs: 0 }, { ...a, wallMs: 0 });
});

test('bad sizes are refused naming the field', async () => {
  await simulateMycelium({ nodes: 2 }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /nodes: expected an integer of at least 3/));
  await simulateMycelium({ nodes: 10, origins: 11 }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /origins: expected an integer in \[2, 10\]/));
});

test.run();
