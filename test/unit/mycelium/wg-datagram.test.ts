// Mycelium data frames as WireGuard datagrams (runtime/overlay/mycelium/wg-datagram.ts):
// the framing's length check on valid, padded, truncated and mutated frames;
// a round trip through three data planes (A seals for C, B relays from its
// "receive slot", C opens) checked against the packet sent and against
// sealBox/openBox; the MTU rule (too big: counted drop and an ICMPv6 Packet
// Too Big to the local TUN); and the decode path fuzzed with random and
// mutated frames: every input is a counted drop, a delivery or a relay, and
// nothing throws; and a device's interception of 0x01 plaintexts. The data
// planes' route tables are stubs naming the next hop.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { overlayAddressBytes } from '../../../runtime/overlay/address.js';
import { Counters } from '../../../runtime/overlay/mycelium/counters.js';
import { DataPlane } from '../../../runtime/overlay/mycelium/data-plane.js';
import type { PeerLink } from '../../../runtime/overlay/mycelium/link.js';
import { newRouterId } from '../../../runtime/overlay/mycelium/router-id.js';
import type { RouteTable } from '../../../runtime/overlay/mycelium/routes.js';
import { gcmEngine, openBox, sharedKey, USER_HEADER_BYTES } from '../../../runtime/overlay/mycelium/seal.js';
import {
  DATAGRAM_DST, DATAGRAM_HEADER_BYTES, DATAGRAM_HOP_LIMIT, DATAGRAM_OVERHEAD, DATAGRAM_SRC, datagramLength, datagramPacketMtu, isDatagramFrame,
  type DatagramPath,
} from '../../../runtime/overlay/mycelium/wg-datagram.js';
import { subnet64, subnet64Key, subnetKey } from '../../../runtime/overlay/mycelium/subnet.js';
import { Device } from '../../../runtime/overlay/device.js';
import { Endpoint } from '../../../runtime/overlay/links/conn.js';
import { TRANSPORT_HEADER_SIZE } from '../../../runtime/overlay/wireguard/messages.js';
import { generatePrivateKey, publicKeyFromPrivate, toBase64 } from '../../../runtime/overlay/wireguard/keys.js';
import { datagramCopiesPerFrame } from '../../../bench/overlay.bench.js';
import { prng } from '../../helpers.js';

interface Sent { peer: object; frame: Uint8Array; slot: number }

/** Three nodes A - B - C: data planes whose next hop toward C (at C: toward A) is a link over a "WireGuard peer" that records frames. */
function line(mtu = 1420) {
  const keys = [generatePrivateKey(), generatePrivateKey(), generatePrivateKey()];
  const pubs = keys.map((k) => publicKeyFromPrivate(k));
  const addrs = pubs.map((k) => overlayAddressBytes(k));
  const rids = pubs.map((k) => newRouterId(k));
  const peers = [{ name: 'A' }, { name: 'B' }, { name: 'C' }];
  const sent: Sent[][] = [[], [], []];
  const tcp: Uint8Array[][] = [[], [], []];
  const delivered: Uint8Array[][] = [[], [], []];
  const hops: [number, number][] = [[1, 2], [2, 2], [1, 0]];
  const session = [true, true, true];
  const links: PeerLink[] = [];
  const planes = keys.map((k, i) => {
    const link = { datagramPeer: peers[hops[i][0]], isClosed: false, sendFrame: (f: Uint8Array) => (tcp[i].push(f), true) } as unknown as PeerLink;
    links.push(link);
    const route = { neighbour: link, routerId: rids[hops[i][1]] };
    const counters = new Counters();
    const dp = new DataPlane({
      table: { selectedFor: () => route } as unknown as RouteTable,
      counters,
      address: addrs[i],
      privateKey: k,
      deliver: (p) => void delivered[i].push(p.slice()),
      missingRoute: () => {},
    });
    let claimed: { peer: object; buf: Uint8Array } | null = null;
    const path: DatagramPath = {
      mtu,
      peerAt: () => null,
      // A "WireGuard send slot" while a session is up (`session`), else null: the frame then goes by `send`.
      claim: (peer) => (session[i] ? (claimed = { peer, buf: new Uint8Array(16 + mtu + 32).fill(0xee) }).buf : null),
      claimOffset: 16,
      commit: (len) => {
        if (len) sent[i].push({ peer: claimed!.peer, frame: claimed!.buf.slice(16, 16 + len), slot: -2 });
        claimed = null;
      },
      send: (peer, f, len) => (sent[i].push({ peer, frame: f.slice(0, len), slot: -1 }), true),
      relay: (peer, f, len, slot) => (sent[i].push({ peer, frame: f.slice(0, len), slot }), true),
    };
    dp.path = path;
    return { dp, counters };
  });
  const packet = (len: number, from = 0, to = 2) => {
    const p = new Uint8Array(len);
    p[0] = 0x60; p[4] = (len - 40) >> 8; p[5] = (len - 40) & 0xff; p[6] = 17; p[7] = 64;
    p.set(addrs[from], 8);
    p.set(addrs[to], 24);
    for (let i = 40; i < len; i++) p[i] = i & 0xff;
    return p;
  };
  return { keys, pubs, addrs, peers, planes, sent, tcp, delivered, links, packet, session };
}

/** A WireGuard receive slot holding `frame` and WireGuard's zero padding to 16 bytes. */
const inSlot = (frame: Uint8Array): [Uint8Array, number] => {
  const len = (frame.length + 15) & ~15;
  const slot = new Uint8Array(len + 64);
  slot.set(frame);
  return [slot, len];
};

test('the overhead and route MTU: 72 bytes around a packet, 1,348-byte packets at WireGuard MTU 1,420', () => {
  assert.is(DATAGRAM_OVERHEAD, 4 + 36 + 4 + 16 + 12);
  assert.is(datagramPacketMtu(1420), 1348);
  assert.ok(datagramPacketMtu(1420) >= 1280, "IPv6's minimum MTU fits");
});

test('A seals for C, B relays from the slot (hop limit - 1), C opens the packet A sent', () => {
  const l = line();
  const pkt = l.packet(1348);
  l.planes[0].dp.send(pkt);
  assert.is(l.sent[0].length, 1);
  const atA = l.sent[0][0];
  assert.is(atA.slot, -2, 'sealed into the claimed send slot');
  assert.is(atA.peer, l.peers[1], 'sent to the WireGuard peer of the link toward C');
  assert.is(atA.frame.length, 1348 + DATAGRAM_OVERHEAD);
  assert.is(datagramLength(atA.frame, atA.frame.length), atA.frame.length);
  assert.ok(isDatagramFrame(atA.frame, atA.frame.length));
  assert.is(atA.frame[0], 1, 'first byte 0x01: never an IP version');
  assert.equal(atA.frame.subarray(DATAGRAM_SRC, DATAGRAM_SRC + 16), l.addrs[0]);
  assert.equal(atA.frame.subarray(DATAGRAM_DST, DATAGRAM_DST + 16), l.addrs[2]);
  assert.is(atA.frame[DATAGRAM_HOP_LIMIT], 64);
  // The box is Mycelium's: opened with the A-C key it holds user header + the packet.
  const plain = openBox(sharedKey(l.keys[2], l.pubs[0])!, atA.frame.subarray(DATAGRAM_HEADER_BYTES))!;
  assert.ok(plain);
  assert.equal(plain.subarray(0, 2), Uint8Array.of(1, 0));
  assert.equal(plain.subarray(USER_HEADER_BYTES), pkt);

  const [slotB, lenB] = inSlot(atA.frame);
  l.planes[1].dp.receiveDatagram(slotB, lenB, 5, l.links[1]);
  assert.is(l.sent[1].length, 1);
  assert.is(l.sent[1][0].slot, 5, 'relayed from the receive slot it came in');
  assert.is(l.sent[1][0].peer, l.peers[2]);
  assert.is(l.sent[1][0].frame[DATAGRAM_HOP_LIMIT], 63);
  assert.equal(l.sent[1][0].frame.subarray(DATAGRAM_HEADER_BYTES), atA.frame.subarray(DATAGRAM_HEADER_BYTES), 'the box crosses B untouched');
  assert.is(l.planes[1].counters.datagramsRelayed, 1);
  assert.is(l.delivered[1].length, 0);

  const [slotC, lenC] = inSlot(l.sent[1][0].frame);
  l.planes[2].dp.receiveDatagram(slotC, lenC, 0, l.links[2]);
  assert.equal(l.delivered[2], [pkt]);
  assert.is(l.planes[2].counters.delivered, 1);
  assert.is(l.planes[0].counters.datagramsSent, 1);
});

test('no session with the next hop yet: the frame goes by send (the device stages a copy), the same bytes but the nonce', () => {
  const l = line();
  l.session[0] = false;
  l.planes[0].dp.send(l.packet(500));
  l.session[0] = true;
  l.planes[0].dp.send(l.packet(500));
  const [staged, claimed] = l.sent[0];
  assert.is(staged.slot, -1);
  assert.is(claimed.slot, -2);
  assert.is(staged.frame.length, claimed.frame.length);
  assert.equal(staged.frame.subarray(0, DATAGRAM_HEADER_BYTES), claimed.frame.subarray(0, DATAGRAM_HEADER_BYTES));
  for (const s of [staged, claimed]) l.planes[2].dp.receiveDatagram(...inSlot(s.frame), 0, l.links[2]);
  assert.equal(l.delivered[2], [l.packet(500), l.packet(500)]);
});

test('a frame from a TCP link whose next hop is over WireGuard goes on as a datagram; one to a TCP next hop is a copy', () => {
  const l = line();
  l.planes[0].dp.send(l.packet(200));
  const frame = l.sent[0][0].frame;
  // B without a datagram peer toward C: the TCP link gets a copy, not the slot.
  (l.links[1] as unknown as { datagramPeer: object | null }).datagramPeer = null;
  const [slot, len] = inSlot(frame);
  l.planes[1].dp.receiveDatagram(slot, len, 3, l.links[1]);
  assert.is(l.tcp[1].length, 1);
  assert.equal(l.tcp[1][0], (() => { const f = frame.slice(); f[DATAGRAM_HOP_LIMIT]--; return f; })());
  assert.is.not(l.tcp[1][0].buffer, slot.buffer, 'copied out of the receive slot');
  assert.is(l.planes[1].counters.relayed, 1);
  assert.is(l.planes[1].counters.datagramsRelayed, 0);
});

test('too big for one WireGuard packet: counted drop and an ICMPv6 Packet Too Big naming the datagram MTU to the local TUN', () => {
  const l = line(1420);
  l.planes[0].dp.send(l.packet(1349));
  assert.is(l.sent[0].length, 0);
  assert.is(l.planes[0].counters.drops['too-big'], 1);
  assert.is(l.delivered[0].length, 1);
  const icmp = l.delivered[0][0];
  assert.is(icmp[6], 58, 'ICMPv6');
  assert.is(icmp[40], 2, 'Packet Too Big');
  assert.is((icmp[44] << 24) | (icmp[45] << 16) | (icmp[46] << 8) | icmp[47], 1348);
  assert.equal(icmp.subarray(24, 40), l.addrs[0], 'back to the sender');
  l.planes[0].dp.send(l.packet(1348));
  assert.is(l.sent[0].length, 1, 'the largest that fits goes');
});

test('subnet64Key (the per-packet route key) equals subnetKey(subnet64(addr)) for random addresses and offsets', () => {
  const r = prng(64);
  for (let i = 0; i < 500; i++) {
    const buf = r.bytes(40);
    const off = r.int(25);
    assert.is(subnet64Key(buf, off), subnetKey(subnet64(buf.subarray(off, off + 16))));
  }
});

test('relays of frames over the next WireGuard packet MTU go on the TCP link (a stock Mycelium TUN is 1,400 bytes)', () => {
  const big = line(1500);
  big.planes[0].dp.send(big.packet(1400));
  const frame = big.sent[0][0].frame;
  assert.is(frame.length, 1472);
  const l = line(1420);
  l.planes[1].dp.receiveDatagram(...inSlot(frame), 0, l.links[1]);
  assert.is(l.sent[1].length, 0);
  assert.is(l.tcp[1].length, 1);
  assert.is(l.tcp[1][0].length, 1472);
  assert.is(l.planes[1].counters.relayed, 1);
  assert.is(l.planes[1].counters.dropped(), 0);
  // From a TCP link: receive() hands it to the TCP link too.
  l.planes[1].dp.receive({ frame: frame.slice(), hopLimit: 64, src: frame.slice(DATAGRAM_SRC, DATAGRAM_SRC + 16), dst: frame.slice(DATAGRAM_DST, DATAGRAM_DST + 16), body: frame.slice(DATAGRAM_HEADER_BYTES) }, l.links[0]);
  assert.is(l.tcp[1].length, 2);
  assert.is(l.sent[1].length, 0);
});

test('datagramLength: truncated, padded, wrong type or version, short body', () => {
  const l = line();
  l.planes[0].dp.send(l.packet(100));
  const f = l.sent[0][0].frame;
  const [slot, len] = inSlot(f);
  assert.is(datagramLength(slot, len), f.length, 'WireGuard padding after the frame is allowed');
  for (let n = 0; n < f.length; n++) assert.is(datagramLength(f, n), -1, `truncated to ${n}`);
  const m = f.slice();
  m[1] = 1;
  assert.is(datagramLength(m, m.length), -1, 'control type');
  m[1] = 0; m[0] = 0x60;
  assert.is(datagramLength(m, m.length), -1, 'an IPv6 packet');
  const short = f.slice(0, DATAGRAM_HEADER_BYTES + 31);
  short[5] = 0; short[6] = 31;
  assert.is(datagramLength(short, short.length), -1, 'body shorter than a box');
  assert.is(datagramLength(f, f.length + 1), -1, 'len past the buffer');
});

test('fuzz: random and mutated frames at B and C are counted drops, deliveries or relays; nothing throws', () => {
  const r = prng(14);
  const l = line();
  l.planes[0].dp.send(l.packet(300));
  const valid = l.sent[0][0].frame;
  // A valid frame relayed by B, for C's mutations.
  l.planes[1].dp.receiveDatagram(...inSlot(valid), 0, l.links[1]);
  const forC = l.sent[1][0].frame;
  const ROUNDS = 3000;
  for (const [node, template] of [[1, valid], [2, forC]] as const) {
    const { dp, counters } = l.planes[node];
    const before = { rx: counters.datagramsReceived, malformed: counters.drops['datagram-malformed'], drops: counters.dropped(), out: l.sent[node].length + l.tcp[node].length + l.delivered[node].length };
    for (let i = 0; i < ROUNDS; i++) {
      let buf: Uint8Array;
      const mode = r.int(4);
      if (mode === 0) buf = r.bytes(r.int(1500));
      else if (mode === 1) buf = template.slice(0, r.int(template.length + 1));
      else {
        buf = template.slice();
        for (let k = 1 + r.int(4); k > 0; k--) buf[r.int(mode === 2 ? DATAGRAM_HEADER_BYTES : buf.length)] = r.int(256);
      }
      if (buf.length) buf[0] = r.int(8) === 0 ? r.int(256) : 1;
      const slot = new Uint8Array(buf.length + 16);
      slot.set(buf);
      dp.receiveDatagram(slot, buf.length, 0, l.links[node]);
    }
    const malformed = counters.drops['datagram-malformed'] - before.malformed;
    const outs = l.sent[node].length + l.tcp[node].length + l.delivered[node].length - before.out;
    const drops = counters.dropped() - before.drops;
    assert.is(counters.datagramsReceived - before.rx + malformed, ROUNDS, `node ${node}: every input is received or malformed`);
    assert.is(drops + outs, ROUNDS, `node ${node}: every input is a counted drop or went somewhere (drops ${drops}, out ${outs})`);
    assert.ok(malformed > 0 && outs > 0, `node ${node}: the fuzz reached both outcomes (${malformed} malformed, ${outs} out)`);
    for (const s of l.sent[node]) assert.ok(datagramLength(s.frame, s.frame.length) === s.frame.length, 'only well-formed frames go on');
  }
  // Only A's true packet (and mutations outside the box that keep it authentic at C: none) opens at C.
  for (const p of l.delivered[2]) assert.equal(p, l.packet(300));
});

test("a device hands 0x01 plaintexts to onMyceliumFrame (peer, frame, slot); without it they are malformed, never IP", async () => {
  const keys = [generatePrivateKey(), generatePrivateKey()];
  const pubs = keys.map((k) => toBase64(publicKeyFromPrivate(k)));
  const eps = ['10.0.0.1:1', '10.0.0.2:2'].map((e) => Endpoint.parse(e));
  const wire: { to: number; data: Uint8Array }[] = [];
  const tun: number[] = [0, 0];
  const devs = keys.map((k, i) => new Device({ privateKey: k, io: {
    transmit: (bufs, sizes, e, n) => { for (let j = 0; j < n; j++) wire.push({ to: e.items[j].port - 1, data: bufs[j].slice(0, sizes[j]) }); },
    deliver: (_b, _s, n) => void (tun[i] += n),
  } }));
  devs[0].setPeers([{ publicKey: pubs[1], endpoint: '10.0.0.2:2', allowedIPs: [] }]);
  devs[1].setPeers([{ publicKey: pubs[0], endpoint: '10.0.0.1:1', allowedIPs: [] }]);
  const pump = async () => {
    await new Promise((r) => process.nextTick(r)); // sendDatagramFrame flushes on the next tick
    for (let round = 0; round < 8 && wire.length; round++) {
      for (const d of wire.splice(0)) devs[d.to].receive([d.data], [d.data.length], [eps[1 - d.to]], 1);
      await new Promise((r) => process.nextTick(r));
    }
  };
  const l = line();
  l.planes[0].dp.send(l.packet(600));
  const frame = l.sent[0][0].frame;
  const got: { peer: object; frame: Uint8Array; slot: number }[] = [];
  devs[1].mycelium.onMyceliumFrame = (peer, pkt, len, slot) => got.push({ peer, frame: pkt.slice(0, datagramLength(pkt, len)), slot });
  devs[0].mycelium.sendDatagramFrame(devs[0].peers.get(pubs[1])!, frame, frame.length); // staged, handshake, then sent
  await pump();
  assert.is(got.length, 1);
  assert.is(got[0].peer, devs[1].peers.get(pubs[0]));
  assert.equal(got[0].frame, frame);
  assert.ok(got[0].slot >= 0);
  assert.is(tun[1], 0, 'not written to the TUN');
  // Claimed in place: written into the send slot, sealed there.
  const slot = devs[0].mycelium.claimDatagramSlot(devs[0].peers.get(pubs[1])!)!;
  slot.set(frame, TRANSPORT_HEADER_SIZE);
  devs[0].mycelium.commitDatagramSlot(frame.length);
  await pump();
  assert.is(got.length, 2);
  assert.equal(got[1].frame, frame);
  devs[1].mycelium.onMyceliumFrame = null;
  const malformed = devs[1].drops.malformed;
  devs[0].mycelium.sendDatagramFrame(devs[0].peers.get(pubs[1])!, frame, frame.length);
  await pump();
  assert.is(devs[1].drops.malformed, malformed + 1);
  assert.is(got.length, 2);
  assert.is(tun[1], 0);
  assert.throws(() => devs[0].mycelium.sendDatagramFrame(devs[0].peers.get(pubs[1])!, new Uint8Array(1421), 1421), /at most 1420 bytes/);
});

test('copies per frame in process (bench datagramCopiesPerFrame): the relay and receive copy no frame bytes, send only the data header addresses with native AES-GCM', () => {
  const c = datagramCopiesPerFrame();
  assert.is(c.delivered, 64);
  assert.ok(c.relay <= 16, `relay copied ${c.relay} bytes per frame (the /64 route key at most)`);
  assert.ok(c.receive <= 16, `receive copied ${c.receive} bytes per frame`);
  // The native seal engine writes the box straight into the WireGuard send slot; node:crypto's output is copied in.
  // What is left is the frame's data header: the two addresses taken from the packet's IPv6 header (32 bytes).
  if (gcmEngine === 'native') assert.ok(c.send <= 32, `native AES-GCM: the ciphertext is the send slot write, yet send copied ${c.send} bytes per frame`);
  else assert.ok(c.send > 1348 && c.send < 2 * 1420 + 64, `send copied ${c.send} bytes per frame`);
});

test.run();
