// Link cost of Mycelium-dialect nodes (link.ts, node.ts sendHello / 'ihu'):
// the cost is the Hello -> IHU round trip, and an IHU answers the oldest
// Hello still unanswered. Two real MyceliumNodes on a SimStream link with a
// known one-way latency and a ManualClock (bench/mycelium-sim.ts seams): when
// a Hello goes out before the previous Hello's IHU is back (a node's first
// Hello tick inside the first round trip, or a Hello period shorter than the
// round trip), the cost must still be the round trip. Before, each IHU was
// timed from the latest Hello: a 3 ms sample on a 78 ms link, which the
// smoothing took minutes to wash out while routes used the link as if short
// (the 1,000-node mesh-scale cold start kept next hops off shortest paths).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualClock } from '../../../runtime/overlay/babel/clock.js';
import { manualClock } from '../../../runtime/overlay/mycelium/clock.js';
import { MyceliumNode } from '../../../runtime/overlay/mycelium/node.js';
import { INITIAL_LINK_COST, MAX_UNANSWERED_HELLOS, PeerLink } from '../../../runtime/overlay/mycelium/link.js';
import { Counters } from '../../../runtime/overlay/mycelium/counters.js';
import { phasedClock, SimStream } from '../../../bench/mycelium-sim.js';

/** Two nodes joined by one link of one-way `latency` ms; node A's first Hello tick after `firstTickA` ms. */
function pair(latency: number, helloMs: number, firstTickA: number) {
  const clock = new ManualClock();
  const mc = manualClock(clock);
  // Node A's periodic timers start after firstTickA (a seeded phase in the mesh simulation).
  const shifted = phasedClock(mc, (ms) => (ms === helloMs ? firstTickA : ms));
  const key = (b: number) => new Uint8Array(32).fill(b);
  const a = new MyceliumNode({ privateKey: key(1), clock: shifted, helloIntervalMs: helloMs, updateIntervalMs: 60_000, log: () => {} });
  const b = new MyceliumNode({ privateKey: key(2), clock: mc, helloIntervalMs: helloMs, updateIntervalMs: 60_000, log: () => {} });
  const pipe = { up: true };
  const sa = new SimStream(clock, latency, pipe, () => {});
  const sb = new SimStream(clock, latency, pipe, () => {});
  sa.peer = sb;
  sb.peer = sa;
  const la = a.attachLink(sa, 'sim://b', false);
  const lb = b.attachLink(sb, 'sim://a', true);
  return { clock, a, b, la, lb };
}

test('a Hello tick inside the first round trip does not shorten the measured cost', async () => {
  // 39 ms each way: the IHU to the t = 0 Hello is back at 78 ms; A ticks (a second Hello) at 75 ms.
  const { clock, a, b, la, lb } = pair(39, 20_000, 75);
  await a.start();
  await b.start();
  clock.advance(100);
  assert.is(la.cost, 78, 'A: the IHU at 78 ms answers the Hello of t = 0, not the one of 75 ms');
  assert.is(lb.cost, 78);
  clock.advance(60_000);
  assert.is(la.cost, 78);
  assert.is(la.srtt, 78);
  a.stop();
  b.stop();
});

test('a Hello period shorter than the round trip: every IHU is matched to its own Hello', async () => {
  // 100 ms each way (200 ms round trip) with a Hello every 50 ms: four Hellos are always in flight.
  const { clock, a, b, la, lb } = pair(100, 50, 50);
  await a.start();
  await b.start();
  clock.advance(2_000);
  assert.is(la.cost, 200);
  assert.is(lb.cost, 200);
  a.stop();
  b.stop();
});

test('PeerLink: an IHU with no Hello outstanding is ignored; the oldest of too many unanswered Hellos is forgotten', () => {
  const sock = { writableLength: 0, setNoDelay() {}, on() {}, cork() {}, uncork() {}, write: () => true, destroy() {} };
  const l = new PeerLink(sock, 'x', false, { data() {}, control() {} }, new Counters(), () => {}, undefined, () => 0);
  assert.is(l.ihuReceived(10), false);
  assert.is(l.cost, INITIAL_LINK_COST);
  for (let i = 0; i <= MAX_UNANSWERED_HELLOS; i++) l.helloSent(i * 10);
  // Hello 0 was forgotten: this IHU answers the Hello sent at 10.
  assert.is(l.ihuReceived(60), true);
  assert.is(l.cost, 50);
  assert.is(l.srtt, 50);
  // Smoothing: 3/4 old + 1/4 sample (IHU at 80 answers the Hello sent at 20: 60 ms).
  l.ihuReceived(80);
  assert.is(l.srtt, 52.5);
  assert.is(l.cost, 53);
});

test.run();
