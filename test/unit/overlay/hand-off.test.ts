// One TUN for both kinds of links (send.ts `handOff`, index.ts `joinMycelium`):
// the WireGuard device's send path hands this node's IPv6 packets for 400::/7
// destinations it has no route for to the Mycelium node sharing the TUN, and
// keeps everything else as before (routed packets to their peer, other
// unrouted packets counted as noRoute).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Device } from '../../../runtime/overlay/device.js';
import { overlayAddress, overlayAddressBytes, overlaySubnet } from '../../../runtime/overlay/address.js';
import { myceliumDialTargets } from '../../../runtime/overlay/index.js';
import { generatePrivateKey, publicKeyFromPrivate, toBase64 } from '../../../runtime/overlay/wireguard/keys.js';
import { hex, unhex } from '../../helpers.js';

function v6(src: Uint8Array, dst: Uint8Array, tag: number): Uint8Array {
  const p = new Uint8Array(48);
  p[0] = 0x60;
  p[5] = 8;
  p[6] = 59;
  p[7] = 64;
  p.set(src, 8);
  p.set(dst, 24);
  p[40] = tag;
  return p;
}

function setup() {
  const key = generatePrivateKey();
  const peerPub = publicKeyFromPrivate(generatePrivateKey());
  let transmitted = 0;
  const dev = new Device({ privateKey: key, now: () => 1_700_000_000_000, io: { transmit: (_b, _s, _e, n) => void (transmitted += n), deliver() {} } });
  dev.setPeers([{ publicKey: toBase64(peerPub), endpoint: '192.0.2.2:51820', allowedIPs: [overlaySubnet(peerPub)] }], false);
  return { dev, me: overlayAddressBytes(publicKeyFromPrivate(key)), peer: overlayAddressBytes(peerPub), peerPub, transmitted: () => transmitted };
}

test('unrouted 400::/7 packets go to handOff byte for byte; routed ones to their peer; others count noRoute', () => {
  const { dev, me, peer, transmitted } = setup();
  const handed: string[] = [];
  dev.mycelium.handOff = (p) => handed.push(hex(p));
  const myc = overlayAddressBytes(new Uint8Array(32)); // a node only Mycelium knows
  const toMyc = v6(me, myc, 1), toPeer = v6(me, peer, 2), toDoc = v6(me, unhex('20010db8000000000000000000000001'), 3);
  const v4 = new Uint8Array(20);
  v4[0] = 0x45; v4[3] = 20; v4[8] = 64; v4[16] = 10; v4[19] = 9;
  dev.send([toMyc, toPeer, toDoc, v4], [48, 48, 48, 20], 4);
  assert.equal(handed, [hex(toMyc)], 'only the 400::/7 packet without a route');
  assert.is(dev.drops.noRoute, 2, '2001:db8::1 and 10.0.0.9');
  assert.is(dev.peers.size, 1);
  assert.is([...dev.peers.values()][0].staged.length, 1, 'the packet for the WireGuard peer waits for its handshake');
  assert.ok(transmitted() >= 1, 'a handshake initiation went out');
});

test('without handOff an unrouted 400::/7 packet is a noRoute drop, as before', () => {
  const { dev, me } = setup();
  dev.send([v6(me, overlayAddressBytes(new Uint8Array(32)), 1)], [48], 1);
  assert.is(dev.drops.noRoute, 1);
});

test('a packet whose length is under the IPv6 header is malformed, never handed off', () => {
  const { dev } = setup();
  let handed = 0;
  dev.mycelium.handOff = () => void handed++;
  const p = new Uint8Array(48);
  p[0] = 0x60;
  p[24] = 0x04;
  dev.send([p], [30], 1);
  assert.is(handed, 0);
  assert.is(dev.drops.malformed, 1);
});

test('endToEnd: a 400::/7 packet only a Babel route covers goes to handOff when Mycelium routes it; direct peers and other prefixes keep WireGuard', () => {
  const { dev, me, peer, peerPub } = setup();
  const handed: string[] = [];
  dev.mycelium.handOff = (p) => handed.push(hex(p));
  const farPub = publicKeyFromPrivate(generatePrivateKey());
  const far = overlayAddressBytes(farPub); // two hops away: Babel routes it via the peer
  const [peerKey] = [...dev.peers.keys()];
  dev.setRoute(overlaySubnet(farPub), peerKey, 5);
  dev.setRoute('2001:db8::/64', peerKey, 5);
  const staged = () => [...dev.peers.values()][0].staged.length;
  const asked: string[] = [];
  let mycRoutes = true;
  dev.mycelium.endToEnd = (dst) => (asked.push(hex(dst)), mycRoutes);
  const toFar = v6(me, far, 1), toPeer = v6(me, peer, 2), toDoc = v6(me, unhex('20010db8000000000000000000000001'), 3);
  dev.send([toFar, toPeer, toDoc], [48, 48, 48], 3);
  assert.equal(handed, [hex(toFar)], 'only the multi-hop overlay destination is handed off');
  assert.equal(asked, [hex(far)], 'asked only about the Babel-routed 400::/7 destination');
  assert.is(staged(), 2, 'the direct peer and 2001:db8::1 keep their WireGuard route');
  assert.equal(dev.mycelium.endToEndCounts, { handedOff: 1, hopByHop: 0 });
  mycRoutes = false;
  dev.send([v6(me, far, 4)], [48], 1);
  assert.is(handed.length, 1, 'no Mycelium route: the Babel route is used');
  assert.is(staged(), 3);
  assert.equal(dev.mycelium.endToEndCounts, { handedOff: 1, hopByHop: 1 }, 'and counted as the hop-by-hop fallback');
  // Babel also learns the direct peer's own /64 through it (metric > 0): the Mycelium
  // link to the peer runs to that address, so it must stay WireGuard's (else a loop).
  mycRoutes = true;
  asked.length = 0;
  dev.setRoute(overlaySubnet(peerPub), peerKey, 5);
  dev.send([v6(me, peer, 6)], [48], 1);
  assert.equal(asked, [], "never asked about the next hop's own /64");
  assert.is(handed.length, 1);
  assert.is(staged(), 4, 'the packet to the peer itself goes to the peer');
  dev.mycelium.endToEnd = null;
  dev.send([v6(me, far, 5)], [48], 1);
  assert.is(handed.length, 1, 'without endToEnd Babel routes are used, as before');
  assert.is(staged(), 5);
  assert.equal(dev.mycelium.endToEndCounts, { handedOff: 1, hopByHop: 1 }, "the direct peer's /64 and packets without endToEnd are not counted");
});

test("endToEnd is never asked about another configured peer's /64, even when Babel routes it through a different peer", () => {
  const key = generatePrivateKey();
  const [p, q] = [0, 1].map(() => publicKeyFromPrivate(generatePrivateKey()));
  const dev = new Device({ privateKey: key, now: () => 1_700_000_000_000, io: { transmit() {}, deliver() {} } });
  const peers = [p, q].map((pub, i) => ({ publicKey: toBase64(pub), endpoint: `192.0.2.${i + 2}:51820`, allowedIPs: [] }));
  dev.setPeers(peers, true);
  const me = overlayAddressBytes(publicKeyFromPrivate(key));
  const handed: string[] = [], asked: string[] = [];
  dev.mycelium.handOff = (x) => handed.push(hex(x));
  dev.mycelium.endToEnd = (dst) => (asked.push(hex(dst)), true);
  // Q's own /64 learned by Babel through P (Q's direct link is down, say): Q stays WireGuard's.
  dev.setRoute(overlaySubnet(q), toBase64(p), 5);
  dev.send([v6(me, overlayAddressBytes(q), 1)], [48], 1);
  assert.equal([asked, handed], [[], []]);
  // Removed from the config: Q's /64 is no longer a peer's, and is asked about.
  dev.setPeers(peers.slice(0, 1), true);
  dev.setRoute(overlaySubnet(q), toBase64(p), 5);
  dev.send([v6(me, overlayAddressBytes(q), 2)], [48], 1);
  assert.equal(asked, [hex(overlayAddressBytes(q))]);
  assert.is(handed.length, 1);
});

test('routePeerSubnets routes each peer\'s own /64 to it without mesh, and only while set', () => {
  const key = generatePrivateKey();
  const peerPub = publicKeyFromPrivate(generatePrivateKey());
  const dev = new Device({ privateKey: key, now: () => 1_700_000_000_000, io: { transmit() {}, deliver() {} } });
  const cfg = [{ publicKey: toBase64(peerPub), endpoint: '192.0.2.2:51820', allowedIPs: ['10.9.0.2/32'] }];
  const me = overlayAddressBytes(publicKeyFromPrivate(key)), peer = overlayAddressBytes(peerPub);
  dev.setPeers(cfg, false);
  dev.send([v6(me, peer, 1)], [48], 1);
  assert.is(dev.drops.noRoute, 1, 'a stock peer: only its allowed IPs are routed');
  dev.routePeerSubnets = true;
  dev.setPeers(cfg, false);
  dev.send([v6(me, peer, 2)], [48], 1);
  assert.is(dev.drops.noRoute, 1);
  assert.is([...dev.peers.values()][0].staged.length, 1, "the packet for the peer's address waits for its handshake");
  dev.routePeerSubnets = false;
  dev.setPeers(cfg, false);
  dev.send([v6(me, peer, 3)], [48], 1);
  assert.is(dev.drops.noRoute, 2, 'unset again: back to the allowed IPs');
});

test('overWireGuard dials peers with persistentKeepalive or heard speaking Babel (an idle phone is never woken), at their overlay address', () => {
  const [node, phone, off, router] = [0, 1, 2, 3].map(() => toBase64(publicKeyFromPrivate(generatePrivateKey())));
  const peers = [
    { publicKey: node, persistentKeepalive: 25 },
    { publicKey: phone },
    { publicKey: off, persistentKeepalive: 0 },
    { publicKey: router },
  ];
  assert.equal(myceliumDialTargets(peers), [overlayAddress(Buffer.from(node, 'base64'))]);
  const at = (k: string) => overlayAddress(Buffer.from(k, 'base64'));
  assert.equal(myceliumDialTargets(peers, (k) => k === router), [at(node), at(router)], 'a mesh neighbour without keepalive is dialled');
  assert.not.ok(myceliumDialTargets(peers, (k) => k === router).includes(at(phone)), 'the silent phone is not');
});

test.run();
