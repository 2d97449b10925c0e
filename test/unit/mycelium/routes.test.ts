// Route table of the Mycelium-dialect node (runtime/overlay/mycelium/routes.ts):
// RFC 8966 §3.5.1 feasibility, selection by metric + link cost, retraction,
// expiry, the table bound, tfw's check that a node /64 is announced only
// under the router id whose key derives it, and the seqno requests an
// unfeasible update calls for (§3.8.2.2), and which metric changes of the
// selected route are reported for a triggered update (§3.7.2).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Counters } from '../../../runtime/overlay/mycelium/counters.js';
import { RouteTable, routeMetric, type Neighbour, type SeqnoWanted } from '../../../runtime/overlay/mycelium/routes.js';
import { overlayAddressBytes } from '../../../runtime/overlay/address.js';
import { newRouterId } from '../../../runtime/overlay/mycelium/router-id.js';
import { subnet64, subnetKey } from '../../../runtime/overlay/mycelium/subnet.js';
import { METRIC_INFINITE, type Update } from '../../../runtime/overlay/mycelium/update.js';
import { prng } from '../../helpers.js';

const r = prng(3);
function origin() {
  const pk = r.bytes(32);
  const rid = newRouterId(pk, new Uint8Array(6));
  return { rid, subnet: subnet64(overlayAddressBytes(pk)) };
}
const upd = (o: ReturnType<typeof origin>, seqno: number, metric: number): Update => ({ type: 'update', flags: 0, interval: 100, seqno, metric, subnet: o.subnet, routerId: o.rid });

test('selection: the smallest advertised metric + link cost wins; a retraction falls back', () => {
  const c = new Counters();
  const t = new RouteTable(c);
  const n1: Neighbour = { id: 1, cost: 10 };
  const n2: Neighbour = { id: 2, cost: 50 };
  const o = origin();
  const k = subnetKey(o.subnet);
  assert.ok(t.applyUpdate(upd(o, 1, 100), n1, 0));
  t.applyUpdate(upd(o, 1, 20), n2, 0);
  assert.is(t.selectedFor(k)!.neighbour, n2); // 70 < 110
  assert.is(routeMetric(t.selectedFor(k)!), 70);
  const s = t.applyUpdate(upd(o, 1, METRIC_INFINITE), n2, 0)!;
  assert.is(s.route!.neighbour, n1);
  const gone = t.dropNeighbour(n1);
  assert.is(gone.length, 1);
  assert.is(gone[0].route, null);
  assert.is(t.size, 0);
});

test('triggered updates (§3.7.2): a metric change of the selected route is reported past 10 (router.rs) or past 25%, smaller ones are not', () => {
  const t = new RouteTable(new Counters());
  const n: Neighbour = { id: 1, cost: 40 };
  const o = origin();
  // Reported: new route (metric 340).
  assert.ok(t.applyUpdate(upd(o, 1, 300), n, 0));
  // 340 -> 330: a change of exactly 10 (routes.ts BIG_METRIC_CHANGE; 3%) waits for the dump.
  assert.is(t.applyUpdate(upd(o, 1, 290), n, 0), null);
  // 340 -> 328 (12 below the last reported 340, 3.5%): reported. Under the 25% rule alone
  // it waited for the next full dump, one hop per dump period (the 1,000-node cold start).
  const s = t.applyUpdate(upd(o, 1, 288), n, 0);
  assert.ok(s);
  assert.is(routeMetric(s!.route!), 328);
  // Measured from the last reported metric, not the last received one: 328 -> 320 -> 317 (11 in two steps).
  assert.is(t.applyUpdate(upd(o, 1, 280), n, 0), null);
  assert.ok(t.applyUpdate(upd(o, 1, 277), n, 0));
  // A link cost change counts the same way (reselectAll after an IHU): 317 -> 329.
  n.cost = 52;
  assert.is(t.reselectAll().length, 1);
  // Small metrics keep the 25% rule: 4 -> 6 is reported.
  const o2 = origin();
  const m: Neighbour = { id: 2, cost: 4 };
  assert.ok(t.applyUpdate(upd(o2, 1, 0), m, 0));
  m.cost = 6;
  assert.is(t.reselectAll().length, 1);
});

test('feasibility (RFC 8966 §3.5.1): after advertising (s, m), only a newer seqno or a smaller metric is accepted', () => {
  const c = new Counters();
  const t = new RouteTable(c);
  const o = origin();
  t.advertised(o.subnet, o.rid, 10, 50);
  assert.ok(t.feasible(o.subnet, o.rid, 10, 49));
  assert.not.ok(t.feasible(o.subnet, o.rid, 10, 50));
  assert.not.ok(t.feasible(o.subnet, o.rid, 9, 1));
  assert.ok(t.feasible(o.subnet, o.rid, 11, 5000));
  assert.ok(t.feasible(o.subnet, o.rid, 0, 5000) === false);
  assert.ok(t.feasible(o.subnet, o.rid, 10, METRIC_INFINITE)); // retractions always are
  // seqno wraps modulo 2^16: 0 is newer than 65535
  const w = origin();
  t.advertised(w.subnet, w.rid, 65535, 10);
  assert.ok(t.feasible(w.subnet, w.rid, 0, 500));
  assert.not.ok(t.feasible(w.subnet, w.rid, 65534, 1));
  // an unfeasible update is dropped and counted
  assert.is(t.applyUpdate(upd(w, 65535, 10), { id: 3, cost: 1 }, 0), null);
  assert.is(c.drops.unfeasible, 1);
});

test('tfw check: a node /64 announced under another key is dropped (update-key-mismatch)', () => {
  const c = new Counters();
  const t = new RouteTable(c);
  const victim = origin();
  const thief = origin();
  assert.is(t.applyUpdate({ ...upd(victim, 1, 1), routerId: thief.rid }, { id: 1, cost: 1 }, 0), null);
  assert.is(c.drops['update-key-mismatch'], 1);
  assert.is(t.size, 0);
  // prefixes outside 400::/7 (not node subnets) are not bound to a key
  assert.ok(t.applyUpdate({ ...upd(thief, 1, 1), subnet: { family: 6, bytes: new Uint8Array(16).fill(0x20, 0, 1), plen: 48 } }, { id: 1, cost: 1 }, 0));
});

test('expiry after 3.5 update intervals, and the table bound', () => {
  const c = new Counters();
  const t = new RouteTable(c, 3);
  const n: Neighbour = { id: 1, cost: 1 };
  const os = [origin(), origin(), origin(), origin()];
  for (const o of os) t.applyUpdate(upd(o, 1, 1), n, 0);
  assert.is(t.size, 3);
  assert.is(c.drops['table-full'], 1);
  assert.is(t.expire(3499).length, 0); // interval 100 cs = 1 s; hold 3.5 s
  assert.is(t.expire(3500).length, 3);
  assert.is(t.size, 0);
});

test('§3.8.2.2: an unfeasible update better than the selected route (or with none selected) asks for FD seqno + 1; a worse one does not', () => {
  const c = new Counters();
  const t = new RouteTable(c);
  const o = origin();
  const k = subnetKey(o.subnet);
  const n1: Neighbour = { id: 1, cost: 100 };
  const n2: Neighbour = { id: 2, cost: 6 };
  // The 100-node case: selected metric 264, FD (seqno 5, metric 176), a neighbour offers 182 (+6 = 188).
  t.applyUpdate(upd(o, 5, 164), n1, 0);
  assert.is(routeMetric(t.selectedFor(k)!), 264);
  t.advertised(o.subnet, o.rid, 5, 176);
  const w: SeqnoWanted[] = [];
  assert.is(t.applyUpdate(upd(o, 5, 182), n2, 0, w), null); // dropped: 182 is not below 176
  assert.is(c.drops.unfeasible, 1);
  assert.is(t.selectedFor(k)!.neighbour, n1);
  assert.equal(w, [{ subnet: o.subnet, routerId: o.rid, seqno: 6 }]);
  // Unfeasible and not better (300 + 6 > 264): no request.
  t.applyUpdate(upd(o, 5, 300), n2, 0, w);
  assert.is(w.length, 1);
  // Unfeasible from the selected next hop: the route goes, none is left, so any finite metric asks.
  const s = t.applyUpdate(upd(o, 4, 5000), n1, 0, w)!;
  assert.is(s.route, null);
  assert.is(w.length, 2);
  assert.is(w[1].seqno, 6);
  // Feasible updates and retractions ask nothing; the seqno wraps modulo 2^16.
  t.applyUpdate(upd(o, 6, 10), n2, 0, w);
  t.applyUpdate(upd(o, 6, METRIC_INFINITE), n2, 0, w);
  assert.is(w.length, 2);
  const x = origin();
  t.advertised(x.subnet, x.rid, 65535, 10);
  t.applyUpdate(upd(x, 65535, 10), n2, 0, w);
  assert.is(w[2].seqno, 0);
});

test.run();
