// Babel router (RFC 8966 §3) on a simulated network and clock: convergence,
// rerouting after link failure, the feasibility condition against loops, seqno
// requests, retractions and restarts. Time is simulated: the assertions on
// seconds are protocol bounds, not wall-clock measurements.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { INFINITY } from '../../runtime/overlay/babel/constants.js';
import { Neighbour } from '../../runtime/overlay/babel/neighbour.js';
import { encodePacket, newParseStats, parsePacket, Tlv } from '../../runtime/overlay/babel/packet.js';
import { parsePrefix } from '../../runtime/overlay/babel/prefix.js';
import { BabelRouter } from '../../runtime/overlay/babel/router.js';
import { PrefixEntry, Route, selectRoute } from '../../runtime/overlay/babel/route-table.js';
import { SimNetwork } from '../../runtime/overlay/babel/sim.js';
import { SourceTable } from '../../runtime/overlay/babel/source-table.js';
import { prng } from '../helpers.js';

const P: Record<string, string> = { A: '400:a::/64', B: '400:b::/64', C: '400:c::/64', D: '400:d::/64' };
const K = 96; // nominal link cost (A.2.1)

function build(nodes: string[], links: Array<[string, string]>, opts: Record<string, unknown> = {}): SimNetwork {
  const net = new SimNetwork();
  for (const n of nodes) net.addNode(n, { prefixes: [P[n]], ...opts });
  for (const [a, b] of links) net.connect(a, b);
  return net;
}

function decodeFrom(bytes: Uint8Array): Tlv[] {
  return parsePacket(bytes, newParseStats());
}

// ---- parts -----------------------------------------------------------------

test('neighbour: 2-out-of-3 over the Hello history (A.1, A.2.1)', () => {
  const n = new Neighbour('x', () => {});
  assert.is(n.rxcost(K), INFINITY);
  n.recordHello(10);
  assert.is(n.rxcost(K), INFINITY); // one of three
  n.recordHello(11);
  assert.is(n.rxcost(K), K);
  n.missHello();
  assert.is(n.rxcost(K), K); // 0,1,1
  n.missHello();
  assert.is(n.rxcost(K), INFINITY); // 0,0,1
  n.recordHello(14); // expected 14 after two misses: counts as on time
  n.recordHello(16); // one lost in transit: a 0 is shifted in, then the 1
  assert.is(n.history >>> 13, 0b101);
  assert.is(n.rxcost(K), K);
  n.recordHello(1000); // far away: the neighbour restarted, history flushed
  assert.is(n.history, 0x8000);
  assert.is(n.rxcost(K), INFINITY);
});

test('neighbour: link cost needs a fresh IHU as well as our rxcost test', () => {
  const n = new Neighbour('x', () => {});
  n.recordHello(0);
  n.recordHello(1);
  assert.is(n.linkCost(0, K), INFINITY); // no IHU yet
  n.txcost = 256;
  n.ihuExpiresAt = 1000;
  assert.is(n.linkCost(0, K), 256);
  assert.is(n.linkCost(1000, K), INFINITY); // IHU hold time over
});

test('source table: the feasibility condition is strict (§3.5.1) and FD only improves (§3.7.3)', () => {
  const s = new SourceTable();
  assert.ok(s.feasible('p', 'r', 5, 500)); // no entry
  s.advertise('p', 'r', 5, 200, 0);
  assert.ok(s.feasible('p', 'r', 5, 199));
  assert.not.ok(s.feasible('p', 'r', 5, 200));
  assert.not.ok(s.feasible('p', 'r', 4, 0));
  assert.ok(s.feasible('p', 'r', 6, 60000));
  assert.ok(s.feasible('p', 'r', 4, INFINITY)); // retractions are always feasible
  s.advertise('p', 'r', 5, 300, 0); // worse: FD unchanged
  assert.is(s.get('p', 'r')!.metric, 200);
  s.advertise('p', 'r', 6, 300, 0); // newer seqno: replaces
  assert.equal({ ...s.get('p', 'r')!, gcAt: 0 }, { seqno: 6, metric: 300, gcAt: 0 });
  s.gc(180_000);
  assert.is(s.size, 0);
});

test('route selection: lowest metric among feasible finite routes, current route kept on ties (§3.6)', () => {
  const mk = (neighbour: string, metric: number, seqno = 1): Route => ({
    neighbour, routerId: new Uint8Array(8), rid: 'r', seqno, advMetric: metric, metric, nextHop: null, interval: 1, expiresAt: 1,
  });
  const e: PrefixEntry = { key: 'k', prefix: parsePrefix('400::/64'), routes: new Map(), selected: null, advertised: null, retracted: null };
  for (const r of [mk('a', 300), mk('b', 200), mk('c', 100, 0), mk('d', INFINITY)]) e.routes.set(r.neighbour, r);
  assert.is(selectRoute(e, (r) => r.seqno === 1)!.neighbour, 'b'); // c is better but unfeasible
  e.routes.get('a')!.metric = 200;
  e.selected = e.routes.get('b')!;
  assert.is(selectRoute(e, () => true)!.neighbour, 'c');
  e.routes.delete('c');
  assert.is(selectRoute(e, () => true)!.neighbour, 'b'); // tie a/b: keep b
  assert.is(selectRoute(e, () => false), null);
});

test('constructor and API reject bad arguments with stable codes', () => {
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as { code: string }).code;
    }
    return 'none';
  };
  assert.is(code(() => new BabelRouter({ routerId: new Uint8Array(7) })), 'ERR_TFW_BABEL_ARGUMENT');
  assert.is(code(() => new BabelRouter({ routerId: new Uint8Array(8) })), 'ERR_TFW_BABEL_ARGUMENT');
  assert.is(code(() => new BabelRouter({ routerId: SimNetwork.routerId('x'), prefixes: ['400::1/64'] })), 'ERR_TFW_BABEL_PREFIX');
  for (const bad of [{ helloInterval: 0 }, { updateInterval: NaN }, { maxPacketSize: 10 }, { linkCost: INFINITY }])
    assert.is(code(() => new BabelRouter({ routerId: SimNetwork.routerId('x'), ...bad })), 'ERR_TFW_BABEL_ARGUMENT', JSON.stringify(bad));
  const net = build(['A', 'B'], [['A', 'B']]);
  assert.is(code(() => net.node('A').addNeighbour('B', () => {})), 'ERR_TFW_BABEL_ARGUMENT');
  assert.is(code(() => net.node('A').addNeighbour('Z', 'nope' as never)), 'ERR_TFW_BABEL_ARGUMENT');
  net.node('A').receive('B', 'junk' as never);
  assert.is(net.node('A').stats.badHeader, 1);
  net.stop();
});

// ---- convergence -----------------------------------------------------------

test('a line of three routers converges with next hops and metrics', () => {
  const net = build(['A', 'B', 'C'], [['A', 'B'], ['B', 'C']]);
  net.clock.advance(10_000);
  const expect: Array<[string, string, string | null, number]> = [
    ['A', 'A', null, 0], ['A', 'B', 'B', K], ['A', 'C', 'B', 2 * K],
    ['B', 'A', 'A', K], ['B', 'C', 'C', K],
    ['C', 'A', 'B', 2 * K], ['C', 'B', 'B', K], ['C', 'C', null, 0],
  ];
  for (const [at, to, via, metric] of expect) {
    const r = net.route(at, P[to]);
    assert.ok(r, `${at} has no route to ${to}`);
    assert.is(r!.via, via, `${at} -> ${to} via`);
    assert.is(r!.metric, metric, `${at} -> ${to} metric`);
  }
  assert.is(net.route('A', P.C)!.routerId, Buffer.from(SimNetwork.routerId('C')).toString('hex'));
  // The events told the FIB the same thing.
  const last = net.events.get('A')!.filter((e) => e.prefix === P.C).pop()!;
  assert.equal(last, { prefix: P.C, via: 'B', metric: 2 * K, removed: false });
  net.stop();
});

test('a triangle converges on the direct links; a fourth node hanging off C is two hops from A and B', () => {
  const net = build(['A', 'B', 'C', 'D'], [['A', 'B'], ['B', 'C'], ['A', 'C'], ['C', 'D']]);
  net.clock.advance(10_000);
  for (const [x, y] of [['A', 'B'], ['B', 'C'], ['A', 'C'], ['B', 'A'], ['C', 'B'], ['C', 'A']]) {
    const r = net.route(x, P[y])!;
    assert.is(r.via, y, `${x} -> ${y}`);
    assert.is(r.metric, K);
  }
  assert.is(net.route('A', P.D)!.via, 'C');
  assert.is(net.route('A', P.D)!.metric, 2 * K);
  assert.is(net.route('D', P.B)!.metric, 2 * K);
  net.stop();
});

test('IPv4 prefixes and prefixes added later propagate; removed ones are retracted everywhere', () => {
  const net = build(['A', 'B', 'C'], [['A', 'B'], ['B', 'C']]);
  net.clock.advance(5_000);
  net.node('C').addLocalPrefix('10.100.0.2/32');
  net.node('C').addLocalPrefix('192.168.7.0/24');
  net.clock.advance(500);
  assert.is(net.route('A', '10.100.0.2/32')!.via, 'B');
  assert.is(net.route('A', '192.168.7.0/24')!.metric, 2 * K);
  net.node('C').removeLocalPrefix('10.100.0.2/32');
  const t = net.clock.runUntil(() => !net.route('A', '10.100.0.2/32') && !net.route('B', '10.100.0.2/32'), 10_000);
  assert.ok(t >= 0 && t < 1000, `retraction took ${t} ms`);
  assert.ok(net.route('A', '192.168.7.0/24'));
  const ev = net.events.get('A')!.filter((e) => e.prefix === '10.100.0.2/32').pop()!;
  assert.is(ev.removed, true);
  // The retraction keeps the prefix out: the periodic dumps do not bring it back.
  net.clock.advance(40_000);
  assert.not.ok(net.route('A', '10.100.0.2/32'));
  net.stop();
});

// ---- failures and recovery -------------------------------------------------

test('triangle: linkDown reroutes through the other path in under 5 s; restoring the link returns to it', () => {
  const net = build(['A', 'B', 'C'], [['A', 'B'], ['B', 'C'], ['A', 'C']]);
  net.clock.advance(20_000);
  assert.is(net.route('A', P.B)!.via, 'B');
  net.setLink('A', 'B', false);
  net.node('A').linkDown('B');
  net.node('B').linkDown('A');
  const ok = () =>
    net.route('A', P.B)?.via === 'C' && net.route('A', P.B)?.metric === 2 * K && net.route('B', P.A)?.via === 'C';
  const t = net.clock.runUntil(ok, 30_000);
  assert.ok(t >= 0, 'no reroute within 30 s');
  assert.ok(t < 5_000, `reroute took ${t} ms`);
  // The new route carries a newer seqno from B: the seqno request went through C (§3.8.2.1).
  assert.ok(net.node('A').stats.seqnoRequestsSent > 0);
  assert.ok(net.node('C').stats.seqnoRequestsForwarded > 0);
  assert.ok(net.node('B').stats.seqnoIncrements > 0);
  net.clock.advance(10_000);
  assert.ok(ok(), 'route flapped after reroute');
  net.setLink('A', 'B', true);
  net.node('A').linkUp('B');
  net.node('B').linkUp('A');
  const back = net.clock.runUntil(() => net.route('A', P.B)?.via === 'B' && net.route('B', P.A)?.via === 'A' && net.route('A', P.B)?.metric === K, 60_000);
  assert.ok(back >= 0, 'did not return to the direct link');
  net.stop();
});

test('triangle: a silently dead link is detected from missed Hellos within the 2-out-of-3 bound', () => {
  for (const helloInterval of [4000, 1000]) {
    const net = build(['A', 'B', 'C'], [['A', 'B'], ['B', 'C'], ['A', 'C']], { helloInterval });
    net.clock.advance(20_000 + 333);
    net.setLink('A', 'B', false);
    const t = net.clock.runUntil(() => net.route('A', P.B)?.via === 'C' && net.route('B', P.A)?.via === 'C', 60_000);
    // Two Hellos must be missed: the first after 1.5 intervals, the second one interval later.
    const bound = 2.5 * helloInterval + 1000;
    assert.ok(t >= 0 && t <= bound, `hello ${helloInterval} ms: reroute took ${t} ms (bound ${bound})`);
    if (helloInterval === 1000) assert.ok(t < 5000);
    net.stop();
  }
});

test('removeNeighbour flushes routes through it at once', () => {
  const net = build(['A', 'B', 'C'], [['A', 'B'], ['B', 'C']]);
  net.clock.advance(10_000);
  net.disconnect('A', 'B');
  assert.not.ok(net.route('A', P.B));
  assert.not.ok(net.route('A', P.C));
  net.clock.advance(1000);
  assert.not.ok(net.route('C', P.A));
  net.stop();
});

test('counting to infinity: a stale route via A is unfeasible at B; a seqno request recovers once C reappears', () => {
  // No split horizon, so A really advertises its route to C back to B.
  const net = build(['A', 'B', 'C'], [['A', 'B'], ['B', 'C']], { splitHorizon: false });
  net.clock.advance(20_000);
  const seqC = net.route('B', P.C)!.seqno;
  assert.is(net.route('A', P.C)!.metric, 2 * K);
  // C's link to B dies.
  net.setLink('B', 'C', false);
  net.node('B').linkDown('C');
  net.node('C').linkDown('B');
  // A still advertises the old route (metric 2K, same seqno): inject it at B explicitly.
  const stale = encodePacket([
    { type: 'routerId', routerId: SimNetwork.routerId('C') },
    { type: 'update', ae: 2, flags: 0, plen: 64, omitted: 0, interval: 1600, seqno: seqC, metric: 2 * K, prefix: parsePrefix(P.C).bytes },
  ]);
  net.inject('A', 'B', stale);
  assert.not.ok(net.route('B', P.C), 'B accepted the stale route via A');
  net.clock.advance(10);
  net.inject('A', 'B', stale);
  net.clock.advance(30_000);
  // No node ever routed C's prefix through a loop, and everybody dropped it.
  assert.not.ok(net.events.get('B')!.some((e) => e.prefix === P.C && e.via === 'A' && !e.removed));
  assert.not.ok(net.route('B', P.C));
  assert.not.ok(net.route('A', P.C));
  assert.ok(net.node('B').stats.seqnoRequestsSent > 0, 'B did not ask for a newer seqno');
  // C comes back through A: A's route (seqC, K) is not better than B's FD (seqC, K), so B
  // must request seqC + 1, which A forwards to C.
  net.connect('A', 'C');
  const t = net.clock.runUntil(() => net.route('B', P.C)?.via === 'A' && net.route('B', P.C)?.metric === 2 * K, 30_000);
  assert.ok(t >= 0, 'B did not recover a route to C');
  assert.ok(net.route('B', P.C)!.seqno !== seqC, 'recovered without a newer seqno');
  assert.ok(net.node('C').stats.seqnoIncrements > 0);
  net.stop();
});

test('a node that restarts with a lower seqno recovers via seqno requests', () => {
  const net = build(['A', 'B', 'C'], [['A', 'B'], ['B', 'C']], { seqno: 20 });
  net.clock.advance(10_000);
  assert.is(net.route('A', P.C)!.seqno, 20);
  // C restarts, forgetting its seqno (15 < 20): its updates are unfeasible at B.
  net.restart('C', { seqno: 15 });
  const t = net.clock.runUntil(() => net.route('A', P.C)?.via === 'B' && net.route('A', P.C)?.seqno === 21 && net.route('B', P.C)?.seqno === 21, 60_000);
  assert.ok(t >= 0, `no recovery: A sees ${JSON.stringify(net.route('A', P.C))}`);
  assert.is(net.node('C').ownSeqno, 21); // +1 per request, never more (§3.8.1.2)
  assert.is(net.node('C').stats.seqnoIncrements, 6);
  assert.is(net.route('A', P.C)!.metric, 2 * K);
  // C also learns the others again.
  assert.is(net.route('C', P.A)!.via, 'B');
  net.stop();
});

test('requests: a wildcard Route Request gets a full dump, an Ack Request an Ack, a Seqno Request for us bumps the seqno', () => {
  const net = build(['A', 'B', 'C'], [['A', 'B'], ['B', 'C']]);
  net.clock.advance(10_000);
  const seen: Tlv[] = [];
  net.tap = (from, to, bytes) => {
    if (from === 'B' && to === 'A') seen.push(...decodeFrom(bytes));
  };
  net.inject('A', 'B', encodePacket([
    { type: 'routeRequest', ae: 0, plen: 0, prefix: new Uint8Array(0) },
    { type: 'ackRequest', opaque: 0x4242, interval: 100 },
    { type: 'routeRequest', ae: 2, plen: 64, prefix: parsePrefix('400:ee::/64').bytes },
  ]));
  const updates = seen.filter((t) => t.type === 'update') as Array<Extract<Tlv, { type: 'update' }>>;
  const metrics = updates.map((u) => u.metric);
  assert.ok(metrics.includes(0) && metrics.includes(K), `dump metrics ${metrics}`); // B's own, and C's via B
  assert.ok(metrics.includes(INFINITY)); // unknown prefix: a retraction
  assert.ok(seen.some((t) => t.type === 'ack' && t.opaque === 0x4242));
  const before = net.node('B').ownSeqno;
  net.inject('A', 'B', encodePacket([
    { type: 'seqnoRequest', ae: 2, plen: 64, seqno: before + 1, hopCount: 5, routerId: SimNetwork.routerId('B'), prefix: parsePrefix(P.B).bytes },
  ]));
  assert.is(net.node('B').ownSeqno, before + 1);
  net.clock.advance(100);
  assert.is(net.route('C', P.B)!.seqno, before + 1);
  net.stop();
});

test('an Update without a router-id is counted as malformed, and an unknown neighbour is counted', () => {
  const net = build(['A', 'B'], [['A', 'B']]);
  net.clock.advance(5000);
  const b = net.node('B');
  const before = b.stats.malformedTlv;
  net.inject('A', 'B', encodePacket([{ type: 'update', ae: 2, flags: 0, plen: 64, omitted: 0, interval: 100, seqno: 1, metric: 1, prefix: parsePrefix('400:99::/64').bytes }]));
  assert.is(b.stats.malformedTlv, before + 1);
  assert.not.ok(net.route('B', '400:99::/64'));
  b.receive('nobody', new Uint8Array([42, 2, 0, 0]));
  assert.is(b.stats.unknownNeighbour, 1);
  net.stop();
});

test('long runs keep state bounded: timers, routes, sources, requests', () => {
  const net = build(['A', 'B', 'C'], [['A', 'B'], ['B', 'C'], ['A', 'C']]);
  net.clock.advance(600_000);
  for (const name of ['A', 'B', 'C']) {
    const r = net.node(name) as unknown as { timers: Set<unknown>; table: Map<string, unknown>; sources: { size: number }; requests: { size: number } };
    assert.ok(r.timers.size <= 10, `${name}: ${r.timers.size} timers`);
    assert.is(r.table.size, 2);
    assert.is(r.sources.size, 2);
    assert.is(r.requests.size, 0);
    assert.is(net.node(name).routes().length, 3);
  }
  net.stop();
});

test('random failures and repairs on a six-node mesh: no routing loop at any sampled instant, shortest paths at the end', () => {
  const names = ['A', 'B', 'C', 'D', 'E', 'F'];
  const pf = (n: string) => `400:${n.toLowerCase()}0::/64`;
  for (let seed = 1; seed <= 4; seed++) {
    const rnd = prng(seed);
    const net = new SimNetwork();
    for (const n of names) net.addNode(n, { prefixes: [pf(n)] });
    // A ring plus random chords.
    const links: Array<[string, string]> = names.map((n, i) => [n, names[(i + 1) % names.length]]);
    for (let k = 0; k < 3; k++) {
      const a = names[rnd.int(6)];
      const b = names[rnd.int(6)];
      if (a !== b && !links.some(([x, y]) => (x === a && y === b) || (x === b && y === a))) links.push([a, b]);
    }
    for (const [a, b] of links) net.connect(a, b);
    const up = links.map(() => true);
    const loop = (): string | null => {
      for (const src of names)
        for (const dst of names) {
          const seen = new Set<string>();
          for (let cur: string | null = src; cur !== null; cur = net.route(cur, pf(dst))?.via ?? null) {
            if (seen.has(cur)) return `${src} -> ${dst} loops through ${[...seen].join(',')}`;
            seen.add(cur);
          }
        }
      return null;
    };
    net.clock.advance(20_000);
    for (let e = 0; e < 15; e++) {
      const i = rnd.int(links.length);
      const [a, b] = links[i];
      up[i] = !up[i];
      net.setLink(a, b, up[i]);
      if (!up[i] && rnd.int(2) === 1) {
        net.node(a).linkDown(b);
        net.node(b).linkDown(a);
      } else if (up[i]) {
        net.node(a).linkUp(b);
        net.node(b).linkUp(a);
      }
      const dur = rnd.int(30_000);
      for (let t = 0; t < dur; t += 50) {
        net.clock.advance(50);
        const l = loop();
        assert.is(l, null, `seed ${seed}, event ${e}, t=${net.clock.now()}: ${l}`);
      }
    }
    links.forEach(([a, b], i) => {
      if (up[i]) return;
      net.setLink(a, b, true);
      net.node(a).linkUp(b);
      net.node(b).linkUp(a);
    });
    net.clock.advance(120_000);
    const hops = (from: string): Map<string, number> => {
      const dist = new Map([[from, 0]]);
      const queue = [from];
      while (queue.length) {
        const c = queue.shift()!;
        for (const [x, y] of links) {
          const m = x === c ? y : y === c ? x : null;
          if (m && !dist.has(m)) {
            dist.set(m, dist.get(c)! + 1);
            queue.push(m);
          }
        }
      }
      return dist;
    };
    for (const src of names) {
      const dist = hops(src);
      for (const dst of names) {
        if (dst === src) continue;
        const r = net.route(src, pf(dst));
        assert.is(r?.metric, K * dist.get(dst)!, `seed ${seed}: ${src} -> ${dst} metric`);
        assert.is(hops(r!.via!).get(dst), dist.get(dst)! - 1, `seed ${seed}: ${src} -> ${dst} next hop on a shortest path`);
      }
      assert.is(net.node(src).stats.internalErrors, 0);
    }
    net.stop();
  }
});

test('Hellos carry the U flag by default and not with unicastHellos: false; IHUs use AE 0', () => {
  for (const unicastHellos of [true, false]) {
    const net = new SimNetwork();
    const hellos: Tlv[] = [];
    net.tap = (from, _to, bytes) => {
      if (from === 'A') hellos.push(...decodeFrom(bytes).filter((t) => t.type === 'hello' || t.type === 'ihu'));
    };
    net.addNode('A', { prefixes: [P.A], unicastHellos });
    net.addNode('B', { prefixes: [P.B] });
    net.connect('A', 'B');
    net.clock.advance(10_000);
    const hs = hellos.filter((t): t is Extract<Tlv, { type: 'hello' }> => t.type === 'hello');
    assert.ok(hs.length >= 3);
    assert.ok(hs.every((h) => h.unicast === unicastHellos && h.interval === 400));
    assert.equal(hs.map((h) => h.seqno).slice(0, 3), [0, 1, 2]);
    assert.ok(hellos.some((t) => t.type === 'ihu' && t.ae === 0 && t.rxcost === K));
    assert.is(net.route('B', P.A)!.metric, K);
    net.stop();
  }
});

test('stop() silences the router', () => {
  const net = build(['A', 'B'], [['A', 'B']]);
  net.clock.advance(5000);
  let sent = 0;
  net.tap = (from) => {
    if (from === 'A') sent++;
  };
  net.node('A').stop();
  net.clock.advance(60_000);
  assert.is(sent, 0);
  net.stop();
});

test('a neighbour announcing more prefixes than maxPrefixesPerNeighbour: the excess is ignored and counted, and freed room is used again', () => {
  const net = new SimNetwork();
  const many = Array.from({ length: 8 }, (_, i) => `10.${i}.0.0/16`);
  net.addNode('A', { prefixes: [P.A], maxPrefixesPerNeighbour: 5 });
  net.addNode('B', { prefixes: [P.B, ...many] });
  net.connect('A', 'B');
  net.clock.advance(10_000);
  const a = net.node('A');
  const learned = () => a.routes().filter((r) => r.via === 'B').length;
  assert.is(learned(), 5);
  assert.ok(a.stats.prefixLimit >= 4, `prefixLimit ${a.stats.prefixLimit}`);
  assert.ok(net.route('A', P.B), 'the cap left room for routes announced first');
  // B withdraws most of them: once the retractions are flushed, the rest fits.
  for (const p of many.slice(0, 6)) net.node('B').removeLocalPrefix(p);
  net.clock.advance(120_000);
  assert.is(learned(), 3, 'P.B and the two prefixes left');
  net.stop();
});

test.run();
