// One Mycelium link per pair of nodes that are WireGuard peers (link-pair.ts,
// node.ts attachDatagram / dial): when each node of a pair dials the other
// through the tunnel (the mesh default dials every Babel neighbour), both
// keep the link the lower address dialled and close the other, whichever came
// up first. Two real MyceliumNodes on SimStream links (bench/mycelium-sim.ts)
// whose far addresses are the other node's, with a datagram path that maps
// that address to a WireGuard peer. Plain TCP links (no WireGuard peer behind
// the address) are never paired up: two nodes behind one NAT share an address.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualClock } from '../../../runtime/overlay/babel/clock.js';
import { manualClock } from '../../../runtime/overlay/mycelium/clock.js';
import { MyceliumNode } from '../../../runtime/overlay/mycelium/node.js';
import type { PeerLink } from '../../../runtime/overlay/mycelium/link.js';
import { dialsWhileLinked, redundantLink } from '../../../runtime/overlay/mycelium/link-pair.js';
import type { DatagramPath } from '../../../runtime/overlay/mycelium/wg-datagram.js';
import { SimStream } from '../../../bench/mycelium-sim.js';

function setup(withPath: boolean) {
  const clock = new ManualClock();
  const mc = manualClock(clock);
  const key = (b: number) => new Uint8Array(32).fill(b);
  const nodes = [1, 2].map((b) => new MyceliumNode({ privateKey: key(b), clock: mc, helloIntervalMs: 20_000, updateIntervalMs: 60_000, log: () => {} }));
  const [lo, hi] = Buffer.compare(nodes[0].address, nodes[1].address) < 0 ? nodes : [nodes[1], nodes[0]];
  if (withPath) {
    for (const n of nodes) {
      const other = n === lo ? hi : lo;
      const wgPeer = { name: `wg peer ${other.addressText}` };
      const path: DatagramPath = {
        peerAt: (addr) => (Buffer.compare(addr, other.address) === 0 ? wgPeer : null),
        mtu: 1420, send: () => false, claim: () => null, claimOffset: 16, commit: () => {}, relay: () => false,
      };
      n.setDatagrams(path);
    }
  }
  /** `from` dials `to`: one TCP connection, outbound at `from`, inbound at `to`; returns both ends' links. */
  const connect = (from: MyceliumNode, to: MyceliumNode): [PeerLink, PeerLink] => {
    const pipe = { up: true };
    const sf = new SimStream(clock, 5, pipe, () => {});
    const st = new SimStream(clock, 5, pipe, () => {});
    sf.peer = st;
    st.peer = sf;
    Object.defineProperty(sf, 'remoteAddress', { value: to.addressText });
    Object.defineProperty(st, 'remoteAddress', { value: from.addressText });
    return [from.attachLink(sf, `tcp://[${to.addressText}]:9651`, false), to.attachLink(st, `tcp://[${from.addressText}]:40000`, true)];
  };
  const live = (n: MyceliumNode) => [...n.links].filter((l) => !l.isClosed);
  return { clock, lo, hi, connect, live };
}

for (const first of ['lower', 'higher'] as const) {
  test(`both dial: each keeps only the link the lower address dialled (the ${first} one's dial up first)`, () => {
    const { clock, lo, hi, connect, live } = setup(true);
    const [loOut, hiIn] = first === 'lower' ? connect(lo, hi) : [null, null];
    const [hiOut, loIn] = connect(hi, lo);
    const [loOut2, hiIn2] = first === 'lower' ? [loOut!, hiIn!] : connect(lo, hi);
    clock.advance(100);
    assert.equal(live(lo), [loOut2], 'the lower node keeps its own dial');
    assert.equal(live(hi), [hiIn2], 'the higher node keeps the lower one\'s dial');
    assert.ok(hiOut.isClosed && loIn.isClosed, "the higher one's dial is closed at both ends");
    assert.is(lo.counters.linksPaired + hi.counters.linksPaired >= 1, true);
    // Routes and Hellos keep flowing on the link that stayed.
    clock.advance(25_000);
    assert.ok(loOut2.cost < 100 && hiIn2.cost < 100, 'the kept link measured its round trip');
    assert.is(live(lo).length + live(hi).length, 2);
  });
}

test('plain TCP links (no WireGuard peer behind the address) are never paired up', () => {
  const { clock, lo, hi, connect, live } = setup(false);
  connect(lo, hi);
  connect(hi, lo);
  clock.advance(100);
  assert.is(live(lo).length, 2);
  assert.is(live(hi).length, 2);
  assert.is(lo.counters.linksPaired + hi.counters.linksPaired, 0);
});

test('redundantLink and dialsWhileLinked: the rule both ends apply', () => {
  const a = new Uint8Array(16).fill(4), b = Uint8Array.from({ length: 16 }, (_, i) => (i === 15 ? 5 : 4));
  const link = (inbound: boolean) => ({ inbound }) as PeerLink;
  assert.is(dialsWhileLinked(a, b), true);
  assert.is(dialsWhileLinked(b, a), false);
  const out = link(false), inn = link(true);
  // At a (lower): its own dial stays, in either order.
  assert.is(redundantLink(a, b, out, inn), inn);
  assert.is(redundantLink(a, b, inn, out), inn);
  // At b (higher): a's dial (inbound here) stays.
  assert.is(redundantLink(b, a, out, inn), out);
  assert.is(redundantLink(b, a, inn, out), out);
  // Same dialler twice: the newer of two own dials goes; of two of theirs, the older (stale).
  const out2 = link(false), in2 = link(true);
  assert.is(redundantLink(a, b, out, out2), out2);
  assert.is(redundantLink(a, b, inn, in2), inn);
});

test.run();
