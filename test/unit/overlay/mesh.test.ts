/**
 * Mesh mode in process: three WireGuard devices (device.ts) on an in-memory
 * wire, each with its Babel router (mesh.ts) on one simulated clock. Checks the
 * router-id, the hop decrement (hop.ts) against a full checksum recomputation,
 * route learning through a line A-B-C, forwarding inside B (hop limit, TTL
 * expiry), B's ICMP errors (icmp.ts) arriving at A's TUN, plain-peer leaves,
 * WireGuard's linkDown, and the status shape.
 */
import { blake2s } from '@noble/hashes/blake2s';
import { test } from 'uvu';
import { hex } from '../../helpers.js';
import * as assert from 'uvu/assert';
import type { PeerConfig } from '../../../runtime/config/schema.js';
import { overlayAddress, overlayAddressBytes, overlaySubnet } from '../../../runtime/overlay/address.js';
import { myceliumDialTargets } from '../../../runtime/overlay/index.js';
import { ManualClock } from '../../../runtime/overlay/babel/index.js';
import { Endpoint, type EndpointBatch } from '../../../runtime/overlay/links/conn.js';
import { Device } from '../../../runtime/overlay/device.js';
import { foldChecksum, onesSum } from '../../../runtime/overlay/routing/checksum.js';
import { nativeAvailable } from '../../../runtime/kernels/native.js';
import { decrementHop, HOP_EXPIRED, HOP_MALFORMED, HOP_OK, restoreHop } from '../../../runtime/overlay/routing/hop.js';
import { generatePrivateKey, publicKeyFromPrivate, toBase64 } from '../../../runtime/overlay/wireguard/keys.js';
import { Mesh, meshRouterId } from '../../../runtime/overlay/mesh.js';
import { deviceStatus } from '../../../runtime/overlay/status.js';

const ipv4Checksum = (h: Uint8Array): number => {
  let s = 0;
  for (let i = 0; i < 20; i += 2) if (i !== 10) s += (h[i] << 8) | h[i + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
};

test('router-id is BLAKE2s(publicKey)[8..16]', () => {
  const pub = publicKeyFromPrivate(generatePrivateKey());
  assert.equal(meshRouterId(pub), blake2s(pub).slice(8, 16));
});

/**
 * `count` random 20-byte IPv4 headers (an LCG seeded with `seed`): version 4,
 * IHL 5, TTL 2..255, a correct header checksum; each a fresh array.
 */
function* randomIpv4Headers(seed: number, count: number): Generator<Uint8Array> {
  let x = seed;
  const rnd = () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  for (let n = 0; n < count; n++) {
    const p = new Uint8Array(20);
    for (let i = 0; i < 20; i++) p[i] = rnd();
    p[0] = 0x45;
    p[8] = 2 + (rnd() % 254);
    const c = ipv4Checksum(p);
    p[10] = c >> 8;
    p[11] = c & 0xff;
    yield p;
  }
}

test('decrementHop: IPv4 TTL and RFC 1624 checksum equal a full recomputation; IPv6 hop limit; expiry; malformed', () => {
  let n = -1;
  for (const p of randomIpv4Headers(12345, 5000)) {
    n++;
    const ttl = p[8];
    assert.is(decrementHop(p, 20), HOP_OK);
    assert.is(p[8], ttl - 1);
    assert.is((p[10] << 8) | p[11], ipv4Checksum(p), `packet ${n}`);
  }
  const t1 = new Uint8Array(20);
  t1[0] = 0x45;
  t1[8] = 1;
  assert.is(decrementHop(t1, 20), HOP_EXPIRED);
  assert.is(t1[8], 1);
  const v6 = new Uint8Array(40);
  v6[0] = 0x60;
  v6[7] = 64;
  assert.is(decrementHop(v6, 40), HOP_OK);
  assert.is(v6[7], 63);
  v6[7] = 1;
  assert.is(decrementHop(v6, 40), HOP_EXPIRED);
  assert.is(decrementHop(v6, 39), HOP_MALFORMED);
  assert.is(decrementHop(new Uint8Array([0x45]), 1), HOP_MALFORMED);
  assert.is(decrementHop(new Uint8Array(0), 0), HOP_MALFORMED);
});

test('restoreHop undoes a decrement byte for byte (IPv4 TTL + checksum over 5,000 random headers, IPv6 hop limit)', () => {
  let n = -1;
  for (const p of randomIpv4Headers(777, 5000)) {
    n++;
    const orig = p.slice();
    decrementHop(p, 20);
    restoreHop(p);
    assert.equal([...p], [...orig], `packet ${n}`);
    assert.is(ipv4Checksum(p), (p[10] << 8) | p[11]);
  }
  const v6 = new Uint8Array(40);
  v6[0] = 0x60;
  v6[7] = 9;
  decrementHop(v6, 40);
  restoreHop(v6);
  assert.is(v6[7], 9);
});

interface Node {
  dev: Device;
  mesh: Mesh;
  key: Uint8Array;
  pub: string;
  ep: Endpoint;
  delivered: Uint8Array[];
  /** Peers the mesh reported as newly heard speaking Babel (MeshOptions.neighbour), in order. */
  heard: string[];
}

/** Nodes 0..n-1 on an in-memory wire (node i at 10.0.0.(i+1):(1000+i)); `links` lists peerings; `mtu(i)`: node i's device MTU. */
function makeMesh(n: number, links: [number, number][], extraPeers: (i: number) => PeerConfig[] = () => [], stagger = 150, mtu: (i: number) => number | undefined = () => undefined) {
  let t = 1_700_000_000_000;
  const clock = new ManualClock();
  const wire: { data: Uint8Array; to: number; from: Endpoint }[] = [];
  const cut = new Set<string>();
  const keys = Array.from({ length: n }, () => generatePrivateKey());
  const pubs = keys.map((k) => toBase64(publicKeyFromPrivate(k)));
  const eps = keys.map((_, i) => Endpoint.parse(`10.0.0.${i + 1}:${1000 + i}`));
  const nodes: Node[] = keys.map((key, i) => {
    const delivered: Uint8Array[] = [];
    const dev = new Device({
      privateKey: key,
      mtu: mtu(i),
      now: () => t,
      io: {
        transmit(bufs: Uint8Array[], sizes: Int32Array, e: EndpointBatch, count: number) {
          for (let j = 0; j < count; j++) if (sizes[j] > 0) wire.push({ data: bufs[j].slice(0, sizes[j]), to: e.items[j].port - 1000, from: eps[i] });
        },
        deliver(bufs: Uint8Array[], sizes: Int32Array, count: number) {
          for (let j = 0; j < count; j++) delivered.push(bufs[j].slice(0, sizes[j]));
        },
      },
    });
    return { dev, mesh: null as unknown as Mesh, key, pub: pubs[i], ep: eps[i], delivered, heard: [] as string[] };
  });
  nodes.forEach((node, i) => {
    const peers: PeerConfig[] = links
      .filter(([a, b]) => a === i || b === i)
      .map(([a, b]) => (a === i ? b : a))
      .map((j) => ({ publicKey: pubs[j], endpoint: `10.0.0.${j + 1}:${1000 + j}`, allowedIPs: [] }));
    peers.push(...extraPeers(i));
    node.dev.setPeers(peers, true);
    node.dev.forwarding = true;
    node.dev.setLocal([`10.100.0.${i + 1}/32`]);
    node.mesh = new Mesh({
      device: node.dev,
      addresses: [`10.100.0.${i + 1}/32`],
      peers,
      clock,
      log: () => {},
      install: (p, via, metric) => node.dev.setRoute(p, via, metric),
      uninstall: (p) => node.dev.deleteRoute(p),
      neighbour: (k) => node.heard.push(k),
    });
    node.dev.onBabelPacket = (peer, payload) => node.mesh.receive(peer.publicKeyB64, payload);
    // Nodes start `stagger` ms apart (0: every initiation collides in this lock-step simulation).
    advance(stagger);
  });
  function pump(): void {
    for (let round = 0; round < 20 && wire.length; round++) {
      for (const d of wire.splice(0)) {
        const from = d.from.port - 1000;
        if (cut.has(`${from}-${d.to}`) || !nodes[d.to]) continue;
        nodes[d.to].dev.receive([d.data], [d.data.length], [d.from], 1);
      }
    }
  }
  function advance(ms: number): void {
    for (let s = 0; s < ms; s += 50) {
      t += 50;
      clock.advance(50);
      if (t % 250 === 0) {
        for (const node of nodes) if (node.mesh) node.dev.tick();
      }
      pump();
    }
  }
  const cutLink = (a: number, b: number, down: boolean) => {
    for (const k of [`${a}-${b}`, `${b}-${a}`]) down ? cut.add(k) : cut.delete(k);
  };
  return { nodes, advance, pump, cutLink, stop: () => nodes.forEach((x) => x.mesh.stop()) };
}

/** Mesh relays run through the native classifier when it loads (routing/relay-classifier.ts), else per-packet lookups: both are tested. */
const RELAY_MODES = nativeAvailable() ? (['classifier', 'lookups'] as const) : (['lookups'] as const);
/** Sets TFW_OVERLAY_CLASSIFIER for the devices made next; returns the undo. */
function relayMode(mode: 'classifier' | 'lookups'): () => void {
  const was = process.env.TFW_OVERLAY_CLASSIFIER;
  if (mode === 'lookups') process.env.TFW_OVERLAY_CLASSIFIER = 'off';
  else delete process.env.TFW_OVERLAY_CLASSIFIER;
  return () => {
    if (was === undefined) delete process.env.TFW_OVERLAY_CLASSIFIER;
    else process.env.TFW_OVERLAY_CLASSIFIER = was;
  };
}

/** An ICMPv6-ish IPv6 packet from node `src` to node `dst`'s overlay address with `hops`. */
function v6(src: Node, dst: Node, hops: number, tag: number): Uint8Array {
  const p = new Uint8Array(48);
  p[0] = 0x60;
  p[5] = 8;
  p[6] = 59; // no next header
  p[7] = hops;
  p.set(overlayAddressBytes(publicKeyFromPrivate(src.key)), 8);
  p.set(overlayAddressBytes(publicKeyFromPrivate(dst.key)), 24);
  p[40] = tag;
  return p;
}

for (const relay of RELAY_MODES) {
  test(`line A-B-C: routes are learned through B, B forwards inside the router (hop limit - 1), TTL expiry and no-route are counted (${relay})`, () => {
    const restore = relayMode(relay);
    const m = makeMesh(3, [[0, 1], [1, 2]]);
    restore();
    const [a, b, c] = m.nodes;
    assert.is(b.dev.engines.relay, relay);
    try {
      m.advance(6000);
      const subC = overlaySubnet(publicKeyFromPrivate(c.key));
      const rA = a.mesh.routes().find((r) => r.prefix === subC);
      assert.ok(rA, JSON.stringify(a.mesh.routes()));
      assert.is(rA!.via, b.pub);
      assert.is(rA!.metric, 192);
      assert.ok(a.mesh.routes().some((r) => r.prefix === '10.100.0.3/32' && r.via === b.pub));
      assert.ok(a.mesh.routes().some((r) => r.prefix === overlaySubnet(publicKeyFromPrivate(a.key)) && r.via === null && r.metric === 0));
      // Data A -> C: sent by A's device to B, forwarded by B, delivered by C.
      const before = c.delivered.length;
      a.dev.send([v6(a, c, 64, 7)], [48], 1);
      m.pump();
      const got = c.delivered.slice(before).filter((p) => p.length === 48 && p[40] === 7);
      assert.is(got.length, 1, 'C got the packet');
      assert.is(got[0][7], 63, 'B decremented the hop limit');
      assert.is(b.delivered.filter((p) => p.length === 48 && p[40] === 7).length, 0, 'B did not hand it to its kernel');
      // B relays in place: opened, hop decremented and sealed again for C in the receive slot the datagram landed in.
      const slotB = b.dev.receiveBuffers()[0];
      const seen: { relayed: Uint8Array | null } = { relayed: null };
      const origReceive = c.dev.receive.bind(c.dev);
      c.dev.receive = (bufs, sizes, eps, count) => {
        if (!seen.relayed && sizes[0] === 16 + 48 + 16) seen.relayed = bufs[0].slice(0, sizes[0]);
        origReceive(bufs, sizes, eps, count);
      };
      a.dev.send([v6(a, c, 64, 10)], [48], 1);
      m.pump();
      c.dev.receive = origReceive;
      const relayed = seen.relayed;
      assert.ok(relayed, 'C got a relayed datagram');
      assert.is(hex(relayed!), hex(slotB.subarray(0, relayed!.length)), 'B sent it from its receive slot');
      assert.is(c.delivered.filter((p) => p[40] === 10 && p[7] === 63).length, 1);
      // Hop limit 1 dies at B.
      const ttl0 = b.dev.drops.ttl;
      a.dev.send([v6(a, c, 1, 8)], [48], 1);
      m.pump();
      assert.is(b.dev.drops.ttl, ttl0 + 1);
      assert.is(c.delivered.filter((p) => p[40] === 8).length, 0);
      // An overlay address nobody announces: A has no route (send path), B drops it as noRoute when asked to forward.
      const ghost = new Uint8Array(48);
      ghost.set(v6(a, c, 64, 9));
      ghost[24] = 0x05; ghost[25] = 0xff; ghost[26] = 0xee;
      const nr = a.dev.drops.noRoute;
      a.dev.send([ghost], [48], 1);
      assert.is(a.dev.drops.noRoute, nr + 1);
      // Status: Babel routes with via keys / null, and the Babel malformed counter.
      const st = deviceStatus(a.dev, 1000, a.mesh);
      assert.ok(st.routes.some((r) => r.prefix === subC && r.via === b.pub && r.metric === 192));
      assert.is(st.drops.babelMalformed, 0);
      a.mesh.receive(b.pub, new Uint8Array([42, 2, 0, 40, 1]));
      assert.is(deviceStatus(a.dev, 1000, a.mesh).drops.babelMalformed, 1);
    } finally {
      m.stop();
    }
  });
}

/** RFC 1071: true when the one's-complement sum of the ICMPv6 message in IPv6 packet `p`, with its pseudo-header (RFC 8200 8.1), is 0xffff. */
function icmp6ChecksumOk(p: Uint8Array): boolean {
  const len = p.length - 40;
  let s = len + 58;
  for (let i = 8; i < 40; i += 2) s += (p[i] << 8) | p[i + 1];
  for (let i = 40; i < p.length; i += 2) s += (p[i] << 8) | (i + 1 < p.length ? p[i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s === 0xffff;
}

for (const relay of RELAY_MODES) {
  test(`line A-B-C: B answers hop-limit expiry, no route and too big with ICMP errors that reach A's TUN from B's address (${relay})`, () => {
    const restore = relayMode(relay);
    // B's MTU is the smallest on the path, so only B can find a packet too big.
    const m = makeMesh(3, [[0, 1], [1, 2]], () => [], 150, (i) => (i === 1 ? 1280 : 1420));
    restore();
    const [a, b, c] = m.nodes;
    try {
      m.advance(6000);
      const addrA = overlayAddressBytes(publicKeyFromPrivate(a.key)), addrB = overlayAddressBytes(publicKeyFromPrivate(b.key));
      const errorsAtA = (type: number) => a.delivered.filter((p) => p[0] >> 4 === 6 && p[6] === 58 && p[40] === type);
      const check = (p: Uint8Array, invoking: Uint8Array) => {
        assert.equal(p.subarray(8, 24), addrB, 'from B\'s overlay address');
        assert.equal(p.subarray(24, 40), addrA, 'to A');
        assert.is(p[7], 64);
        assert.ok(icmp6ChecksumOk(p), 'ICMPv6 checksum');
        const quoted = p.subarray(48);
        assert.equal(quoted, invoking.subarray(0, quoted.length), 'quotes the packet as B got it');
      };
      // Hop limit 1: Time Exceeded (code 0).
      const expiring = v6(a, c, 1, 21);
      a.dev.send([expiring], [48], 1);
      m.pump();
      const te = errorsAtA(3);
      assert.is(te.length, 1, 'A got a Time Exceeded');
      assert.is(te[0][41], 0);
      check(te[0], expiring);
      assert.is(c.delivered.filter((p) => p[40] === 21).length, 0);
      // An overlay destination A routes to B but B has no route for: Destination Unreachable code 0.
      a.dev.setRoute('5ff:ee00::/24', b.pub, 1);
      const ghost = v6(a, c, 64, 22);
      ghost[24] = 0x05; ghost[25] = 0xff; ghost[26] = 0xee;
      const nr = b.dev.drops.noRoute;
      a.dev.send([ghost], [48], 1);
      m.pump();
      assert.is(b.dev.drops.noRoute, nr + 1);
      const du = errorsAtA(1);
      assert.is(du.length, 1, 'A got a Destination Unreachable');
      assert.is(du[0][41], 0);
      check(du[0], ghost);
      // 1400 bytes fit A's MTU (1420) but not B's (1280): Packet Too Big carrying 1280, the quote cut at 1280 bytes in all.
      const big = new Uint8Array(1400);
      big.set(v6(a, c, 64, 23));
      big[4] = (1400 - 40) >> 8; big[5] = (1400 - 40) & 0xff;
      a.dev.send([big], [1400], 1);
      m.pump();
      assert.is(b.dev.drops.oversized, 1);
      const ptb = errorsAtA(2);
      assert.is(ptb.length, 1, 'A got a Packet Too Big');
      assert.is(ptb[0].length, 1280);
      assert.is(new DataView(ptb[0].buffer, ptb[0].byteOffset).getUint32(44), 1280, 'MTU');
      check(ptb[0], big);
      // IPv4 TTL 1 to C's 10.100.0.3: Time Exceeded from B's first IPv4 address, 10.100.0.2.
      const v4 = new Uint8Array(28);
      v4.set([0x45, 0, 0, 28, 0, 0, 0x40, 0, 1, 17, 0, 0, 10, 100, 0, 1, 10, 100, 0, 3]);
      const hc = foldChecksum(onesSum(v4, 0, 20));
      v4[10] = hc >> 8; v4[11] = hc & 0xff;
      const before4 = a.delivered.length;
      a.dev.send([v4], [28], 1);
      m.pump();
      const te4 = a.delivered.slice(before4).filter((p) => p[0] === 0x45 && p[9] === 1 && p[20] === 11);
      assert.is(te4.length, 1, 'A got an IPv4 Time Exceeded');
      assert.equal([...te4[0].subarray(12, 20)], [10, 100, 0, 2, 10, 100, 0, 1]);
      assert.equal(te4[0].subarray(28), v4);
      // No error about an error: an expiring ICMPv6 Time Exceeded from A gets nothing back.
      const err = v6(a, c, 1, 0);
      err[6] = 58; err[40] = 3;
      a.dev.send([err], [48], 1);
      m.pump();
      assert.is(errorsAtA(3).length, 1);
      assert.is(b.dev.drops.ttl, 3);
      const st = deviceStatus(b.dev, 1000, b.mesh).drops;
      assert.equal([st.icmpSent, st.icmpRateLimited, st.icmpNoSource], [4, 0, 0]);
    } finally {
      m.stop();
    }
  });
}

test('triangle: a cut link reroutes through the third node in simulated seconds, and comes back', () => {
  const m = makeMesh(3, [[0, 1], [1, 2], [0, 2]]);
  const [a, b, c] = m.nodes;
  try {
    m.advance(6000);
    const subC = overlaySubnet(publicKeyFromPrivate(c.key));
    const via = () => a.mesh.routes().find((r) => r.prefix === subC)?.via;
    assert.is(via(), c.pub);
    m.cutLink(0, 2, true);
    let ms = 0;
    while (via() !== b.pub && ms < 20_000) {
      m.advance(100);
      ms += 100;
    }
    assert.is(via(), b.pub, `no reroute after ${ms} ms`);
    console.log(`  mesh (simulated): A -> C rerouted through B after ${ms} ms`);
    assert.ok(ms < 5000, `rerouted after ${ms} ms (simulated)`);
    // The device follows: A's packets for C go to B.
    const before = c.delivered.length;
    a.dev.send([v6(a, c, 64, 3)], [48], 1);
    m.pump();
    assert.is(c.delivered.slice(before).filter((p) => p[40] === 3).length, 1);
    m.cutLink(0, 2, false);
    m.advance(8000);
    assert.is(via(), c.pub);
  } finally {
    m.stop();
  }
});

test('plain WireGuard peers: their allowed IPs become leaves until Babel is heard from them', () => {
  const plainKey = toBase64(publicKeyFromPrivate(generatePrivateKey()));
  const m = makeMesh(2, [[0, 1]], (i) => (i === 0 ? [{ publicKey: plainKey, allowedIPs: ['192.168.50.0/24', '0.0.0.0/0'] }] : []));
  const [a, b] = m.nodes;
  try {
    m.advance(6000);
    const leaf = a.mesh.routes().find((r) => r.prefix === '192.168.50.0/24');
    assert.equal(leaf, { prefix: '192.168.50.0/24', via: plainKey, metric: 0 });
    assert.not.ok(a.mesh.routes().some((r) => r.prefix === '0.0.0.0/0'), '/0 is never announced');
    assert.ok(b.mesh.routes().some((r) => r.prefix === '192.168.50.0/24' && r.via === a.pub), JSON.stringify(b.mesh.routes()));
    assert.ok(b.dev.peers.get(a.pub)!.meshNeighbour);
    assert.not.ok(a.dev.peers.get(plainKey)!.meshNeighbour);
    // A Babel packet "from" the plain peer (as if it were a tfw node) withdraws the leaf.
    a.mesh.receive(plainKey, new Uint8Array([42, 2, 0, 0]));
    assert.not.ok(a.mesh.routes().some((r) => r.prefix === '192.168.50.0/24'));
  } finally {
    m.stop();
  }
});

test('Mycelium dial rule in a mesh: a Babel neighbour without keepalive is dialled, a silent phone peer without keepalive never', () => {
  // Neither the mesh link nor the phone has persistentKeepalive (routers in a mesh may not set it).
  const phoneKey = toBase64(publicKeyFromPrivate(generatePrivateKey()));
  const m = makeMesh(2, [[0, 1]], (i) => (i === 0 ? [{ publicKey: phoneKey, allowedIPs: ['10.100.9.2/32'] }] : []));
  const [a, b] = m.nodes;
  try {
    const peersA = [{ publicKey: b.pub }, { publicKey: phoneKey }];
    const heardBabel = (k: string) => a.dev.peers.get(k)?.meshNeighbour === true;
    m.advance(6000);
    assert.equal(a.heard, [b.pub], 'the mesh reports B once, when first heard');
    assert.equal(myceliumDialTargets(peersA, heardBabel), [overlayAddress(publicKeyFromPrivate(b.key))], 'B (a tfw node) is dialled, the phone is not');
    m.advance(3000);
    assert.equal(a.heard, [b.pub], 'reported once, not per Hello');
    // Had the phone spoken Babel it would be a tfw node, and dialled too.
    a.mesh.receive(phoneKey, new Uint8Array([42, 2, 0, 0]));
    assert.equal(a.heard, [b.pub, phoneKey]);
    assert.is(myceliumDialTargets(peersA, heardBabel).length, 2);
  } finally {
    m.stop();
  }
});

test('simultaneous initiations (nodes started in the same instant): the greater key retries at once and the session comes up', () => {
  const m = makeMesh(2, [[0, 1]], () => [], 0);
  const [a, b] = m.nodes;
  try {
    m.advance(2500);
    assert.ok(a.dev.peers.get(b.pub)!.keypairs.current && b.dev.peers.get(a.pub)!.keypairs.current, 'both ends have a session');
    // The initiations did cross: both responses were refused (without the retry: no session before REKEY_TIMEOUT, 5 s).
    assert.is(a.dev.drops.handshake + b.dev.drops.handshake, 2);
    assert.is(a.mesh.routes().find((r) => r.prefix === overlaySubnet(publicKeyFromPrivate(b.key)))?.via, b.pub);
  } finally {
    m.stop();
  }
});

test('WireGuard declaring a peer dead calls Babel linkDown; a handshake brings it back', () => {
  const m = makeMesh(2, [[0, 1]]);
  const [a, b] = m.nodes;
  try {
    m.advance(6000);
    const subB = overlaySubnet(publicKeyFromPrivate(b.key));
    assert.is(a.mesh.routes().find((r) => r.prefix === subB)?.via, b.pub);
    const states: boolean[] = [];
    const hook = a.dev.onPeerState!;
    a.dev.onPeerState = (p, up) => {
      states.push(up);
      hook(p, up);
    };
    m.cutLink(0, 1, true);
    m.advance(20_000);
    assert.equal(states.slice(0, 1), [false]);
    assert.is(a.mesh.routes().find((r) => r.prefix === subB), undefined);
    assert.is(a.dev.peers.get(b.pub)!.down, true);
    m.cutLink(0, 1, false);
    m.advance(10_000);
    assert.is(states[states.length - 1], true);
    assert.is(a.mesh.routes().find((r) => r.prefix === subB)?.via, b.pub);
  } finally {
    m.stop();
  }
});

test.run();
