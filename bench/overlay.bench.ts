/**
 * Overlay router throughput, as ratios to peers measured in the same run:
 * 1. in process: Device.send (route lookup + seal, 64-packet batches of 1,420-byte
 *    IPv4 packets written into its send slots as the TUN read does) with the
 *    aead kernel's pool vs the node:crypto fallback; Mycelium's end-to-end box
 *    (mycelium/seal.ts) sealed into and opened in a buffer, 1,348-byte packets,
 *    with the native engine (gcm_napi.c, OpenSSL in process) vs node:crypto;
 * 2. end to end (root, iperf3, wireguard-go): iperf3 TCP, then iperf3 UDP
 *    (1,380-byte datagrams at a target rate above what either tunnel carries,
 *    TFW_BENCH_UDP_RATE, default 2G: received throughput and loss) through two
 *    `tfw runtime` nodes vs through two wireguard-go peers, each pair in its own
 *    two network namespaces joined by a veth pair, TFW_BENCH_SECONDS (default 5)
 *    per run;
 * 3. in process, the relay: B's receive (open, route, seal for C in the
 *    receive slots) with the forward kernel's classifier vs per-packet lookups;
 * 4. through a relay (root): iperf3 TCP from A to C in a line of three
 *    namespaces A - B - C (veth A-B and B-C only): three `tfw runtime` nodes
 *    with `mesh: true` and `mycelium: false`, A and C peered with B only (B relays
 *    hop by hop inside the router), vs wireguard-go's two-hop chain (A wg B, B
 *    forwarding with ip_forward from one wireguard-go interface to a second one, B wg C).
 *    Also, end to end: the same line with a `mycelium:` section on each node (links
 *    dialled through the tunnels, no mesh), and with `mesh: true` alone (the
 *    default: Mycelium over the links, no keepalives), iperf3 TCP A -> C's node address.
 * Namespace and interface names start with TFW_BENCH_NS_TAG (default empty)
 * and the pid. TFW_BENCH_TFW_CLI points the `tfw runtime` rows at another
 * checkout's host-tools/bin/tfw.mjs, to measure a "before" in the same session.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Device } from '../runtime/overlay/device.js';
import { Endpoint } from '../runtime/overlay/links/conn.js';
import { foldChecksum, onesSum } from '../runtime/overlay/routing/checksum.js';
import { fromBase64, generatePrivateKey, publicKeyFromPrivate, toBase64 } from '../runtime/overlay/wireguard/keys.js';
import { keygen } from '../host-tools/commands/keygen.js';
import { isRoot } from '../test/helpers.js';
import { overlayAddress, overlayAddressBytes } from '../runtime/overlay/address.js';
import { Counters as MyceliumCounters } from '../runtime/overlay/mycelium/counters.js';
import { DataPlane } from '../runtime/overlay/mycelium/data-plane.js';
import type { PeerLink } from '../runtime/overlay/mycelium/link.js';
import { newRouterId } from '../runtime/overlay/mycelium/router-id.js';
import type { RouteTable as MyceliumRouteTable } from '../runtime/overlay/mycelium/routes.js';
import { datagramPacketMtu } from '../runtime/overlay/mycelium/wg-datagram.js';
import { gcmEngine, gcmEngines, openBoxInPlace, pairKey, sealL3Into } from '../runtime/overlay/mycelium/seal.js';
import type { Peer } from '../runtime/overlay/wireguard/peer.js';
import { TRANSPORT_HEADER_SIZE } from '../runtime/overlay/wireguard/messages.js';
import { NetnsLine, NetnsPair, ROOT, getStatus, have, sh, spawnIn, waitFor, ping, type Proc } from '../test/integration/overlay-netns.js';
import { printTable, timeIt, writeResult, type Sample } from './lib.js';

const SECONDS = Number(process.env.TFW_BENCH_SECONDS ?? 5);
/** iperf3 UDP payload per datagram (bytes): 1,380 + 28 (IPv4 + UDP) fits the 1,420-byte tunnel MTU. */
const UDP_LEN = 1380;
const UDP_RATE = process.env.TFW_BENCH_UDP_RATE ?? '2G';
/** Prefix of the namespaces and interfaces this bench makes. */
const NS_TAG = process.env.TFW_BENCH_NS_TAG ?? '';
const TFW_CLI = process.env.TFW_BENCH_TFW_CLI ?? join(ROOT, 'host-tools/bin/tfw.mjs');
/** `tfw runtime --config file` inside a namespace, from TFW_CLI. */
const tfwRuntime = (ns: string, config: string): Proc => spawnIn(ns, [process.execPath, '--import', 'tsx', TFW_CLI, 'runtime', '--config', config]);

/** The copy counter of copiesPerPacket and datagramCopiesPerFrame: `counting` on, `copied` / `endpointCopied` bytes since reset. */
interface CopyCounter { counting: boolean; copied: number; endpointCopied: number }

/** Runs `body` with every TypedArray set / slice / copyWithin (and Endpoint.set apart) counted while `counting`. */
function withCopyCounter<T>(body: (c: CopyCounter) => T): T {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const proto = Object.getPrototypeOf(Uint8Array.prototype) as Record<string, (this: Uint8Array, ...a: any[]) => any>;
  const saved = { set: proto.set, slice: proto.slice, copyWithin: proto.copyWithin };
  const savedEndpointSet = Endpoint.prototype.set;
  const cc: CopyCounter = { counting: false, copied: 0, endpointCopied: 0 };
  let inEndpoint = false;
  proto.set = function (src: ArrayLike<number>, offset?: number) {
    if (cc.counting) {
      if (inEndpoint) cc.endpointCopied += src.length * this.BYTES_PER_ELEMENT;
      else cc.copied += src.length * this.BYTES_PER_ELEMENT;
    }
    return saved.set.call(this, src, offset);
  };
  // Endpoint records (20 bytes: the datagram's destination for sendmmsg, conn.ts) are counted apart from packet bytes.
  Endpoint.prototype.set = function (this: Endpoint, other: Endpoint) {
    inEndpoint = true;
    try {
      return savedEndpointSet.call(this, other);
    } finally {
      inEndpoint = false;
    }
  };
  proto.slice = function (start?: number, end?: number) {
    const out = saved.slice.call(this, start, end) as Uint8Array;
    if (cc.counting) cc.copied += out.byteLength;
    return out;
  };
  proto.copyWithin = function (t: number, s0: number, e?: number) {
    if (cc.counting) cc.copied += ((e ?? this.length) - s0) * this.BYTES_PER_ELEMENT;
    return saved.copyWithin.call(this, t, s0, e);
  };
  try {
    return body(cc);
  } finally {
    Object.assign(proto, saved);
    Endpoint.prototype.set = savedEndpointSet;
  }
}

/**
 * Three in-memory devices A, B, C (keys fresh, endpoints 10.0.0.{1,2,3}:{1,2,3},
 * no peers yet) joined by `wire`, the datagrams they transmit, copied off their
 * slots with the copy counter paused (the harness's copies, not the overlay's).
 * `pump` hands what is on the wire to its devices one datagram at a time
 * (bounded rounds) until the wire is empty; `landBatch(dev)` puts the queued
 * datagrams in `dev`'s receive slots, as recvBatch does (not counted), and
 * returns the call that receives them as one batch. Used by copiesPerPacket
 * and datagramCopiesPerFrame.
 */
function deviceLine(cc: CopyCounter, deliver: (i: number, n: number) => void) {
  const keys = [generatePrivateKey(), generatePrivateKey(), generatePrivateKey()];
  const pubKeys = keys.map((k) => publicKeyFromPrivate(k));
  const pubs = pubKeys.map((k) => toBase64(k));
  const eps = ['10.0.0.1:1', '10.0.0.2:2', '10.0.0.3:3'];
  const from = eps.map((e) => Endpoint.parse(e));
  const wire: { from: number; to: number; data: Uint8Array }[] = [];
  const devs = keys.map((k, i) => new Device({ privateKey: k, io: {
    transmit: (bufs, sizes, e, n) => {
      const was = cc.counting;
      cc.counting = false;
      for (let j = 0; j < n; j++) wire.push({ from: i, to: e.items[j].port - 1, data: bufs[j].slice(0, sizes[j]) });
      cc.counting = was;
    },
    deliver: (_b, _s, n) => deliver(i, n),
  } }));
  const pump = (): void => {
    for (let round = 0; round < 8 && wire.length; round++) {
      for (const d of wire.splice(0)) {
        const slot = devs[d.to].receiveBuffers()[0];
        slot.set(d.data);
        devs[d.to].receive([slot], [d.data.length], [from[d.from]], 1);
      }
    }
  };
  const landBatch = (dev: Device): (() => void) => {
    const batch = wire.splice(0);
    const slots = dev.receiveBuffers();
    batch.forEach((d, k) => slots[k].set(d.data));
    return () => dev.receive(slots.slice(0, batch.length), batch.map((d) => d.data.length), batch.map((d) => from[d.from]), batch.length);
  };
  return { keys, pubKeys, pubs, eps, devs, wire, pump, landBatch };
}

/**
 * Bytes copied per packet by the overlay's own code, on send (TUN packet ->
 * sealed datagram), receive (datagram in a receive slot -> TUN) and relay
 * (datagram in -> forwarded datagram out, mesh forwarding in the middle node
 * of a line A-B-C): every TypedArray `set`, `slice` and `copyWithin` is counted
 * while 64 packets of 1,420 bytes take the path once; the test harness's own
 * copies (the in-memory wire, and the packets written into A's send slots
 * where the runtime's TUN read puts them) are left out. The AEAD works in place in the pool
 * (not a copy); the 4- or 16-byte destination gathered for the batch route
 * lookup is not counted either. Copies of endpoint records (the 20-byte
 * destination address + port of each datagram sent, conn.ts Endpoint.set) are
 * counted apart, in `endpoint`. `feed` 'own' hands A's packets in from the
 * caller's own buffers instead of A's send slots (they are copied then: a
 * check that the counter sees copies).
 */
export function copiesPerPacket(feed: 'slots' | 'own' = 'slots'): Record<'send' | 'receive' | 'relay', number> & { endpoint: Record<'send' | 'receive' | 'relay', number> } {
  return withCopyCounter((cc) => {
    const delivered: number[] = [0, 0, 0];
    const { pubs, eps, devs, wire, pump, landBatch } = deviceLine(cc, (i, n) => void (delivered[i] += n));
    const [a, b, c] = devs;
    a.setPeers([{ publicKey: pubs[1], endpoint: eps[1], allowedIPs: ['10.100.0.0/16'] }]);
    b.setPeers([{ publicKey: pubs[0], endpoint: eps[0], allowedIPs: ['10.100.0.1/32'] }, { publicKey: pubs[2], endpoint: eps[2], allowedIPs: ['10.100.0.3/32'] }]);
    c.setPeers([{ publicKey: pubs[1], endpoint: eps[1], allowedIPs: ['10.100.0.0/16'] }]);
    b.forwarding = true;
    /** Has `dev` receive the queued datagrams as one batch, counting the copies. */
    const receiveBatch = (dev: Device): number => {
      const receive = landBatch(dev);
      return measure(receive);
    };
    const pkt = new Uint8Array(1420);
    pkt[0] = 0x45; pkt[2] = 1420 >> 8; pkt[3] = 1420 & 0xff; pkt[8] = 64;
    pkt.set([10, 100, 0, 1], 12);
    pkt.set([10, 100, 0, 3], 16);
    const hc = foldChecksum(onesSum(pkt, 0, 20)); // B's relay checks IPv4 header checksums
    pkt[10] = hc >> 8; pkt[11] = hc & 0xff;
    const N = 64;
    const endpoint = { send: 0, receive: 0, relay: 0 };
    let lastEndpoint = 0;
    const measure = (fn: () => void): number => {
      cc.copied = 0;
      cc.endpointCopied = 0;
      cc.counting = true;
      fn();
      cc.counting = false;
      lastEndpoint = cc.endpointCopied / N;
      return cc.copied / N;
    };
    // Sessions A-B and B-C first (the staged packets flow then; not counted).
    a.send([pkt], [1420], 1);
    pump();
    c.send([Uint8Array.from([0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 100, 0, 3, 10, 100, 0, 1])], [20], 1);
    pump();
    // As the runtime's TUN readBatch does: the packets land in A's send slots (not counted; the TUN writes them).
    const bufs = feed === 'slots' ? a.sendBuffers().slice(0, N) : Array.from({ length: N }, () => pkt.slice());
    if (feed === 'slots') for (const s of bufs) s.set(pkt);
    const sizes = new Int32Array(N).fill(1420);
    const send = measure(() => a.send(bufs, sizes, N));
    endpoint.send = lastEndpoint;
    const toB = wire.length;
    const relay = receiveBatch(b);
    endpoint.relay = lastEndpoint;
    const toC = wire.length;
    const before = delivered[2];
    const receive = receiveBatch(c);
    endpoint.receive = lastEndpoint;
    if (toB !== N || toC !== N || delivered[2] - before !== N)
      throw new Error(`overlay bench: copies: expected ${N} datagrams A->B->C and ${N} delivered at C, got ${toB}, ${toC}, ${delivered[2] - before}`);
    return { send, receive, relay, endpoint };
  });
}

/**
 * Bytes copied per Mycelium data frame sent as a WireGuard datagram
 * (mycelium/wg-datagram.ts) along A - B - C in process: A's TUN packet (an
 * IPv6 packet of 1,348 bytes, the most a frame carries at MTU 1,420, landed in
 * A's send slots) handed off to A's Mycelium data plane, sealed end to end for
 * C straight into a WireGuard send slot and sent to B (send); B's device opens the datagram in a receive slot and
 * its data plane relays the frame to C from that slot (relay); C opens the
 * WireGuard packet and the box and delivers the packet (receive). Counted as
 * copiesPerPacket counts (the AES-GCM output node:crypto allocates is not a
 * copy; writing it into the frame is). The data planes' route tables are
 * stubs naming the next hop's link, whose datagram peer is the real device peer.
 */
export function datagramCopiesPerFrame(): Record<'send' | 'receive' | 'relay', number> & { delivered: number } {
  return withCopyCounter((cc) => {
    let delivered = 0;
    const { keys, pubKeys, pubs, eps, devs, wire, pump, landBatch } = deviceLine(cc, () => {});
    const addrs = pubKeys.map((k) => overlayAddressBytes(k));
    const rids = pubKeys.map((k) => newRouterId(k));
    const peer = (i: number, j: number) => devs[i].peers.get(pubs[j])!;
    devs[0].setPeers([{ publicKey: pubs[1], endpoint: eps[1], allowedIPs: [] }]);
    devs[1].setPeers([{ publicKey: pubs[0], endpoint: eps[0], allowedIPs: [] }, { publicKey: pubs[2], endpoint: eps[2], allowedIPs: [] }]);
    devs[2].setPeers([{ publicKey: pubs[1], endpoint: eps[1], allowedIPs: [] }]);
    // Each node's next hop (a link over the WireGuard peer toward C, or back toward A at C) and whose key the route names.
    const hops: [number, number][] = [[1, 2], [2, 2], [1, 0]];
    const planes = devs.map((dev, i) => {
      const link = { datagramPeer: peer(i, hops[i][0]), isClosed: false, sendFrame: () => false } as unknown as PeerLink;
      const route = { neighbour: link, routerId: rids[hops[i][1]] };
      const dp = new DataPlane({
        table: { selectedFor: () => route } as unknown as MyceliumRouteTable,
        counters: new MyceliumCounters(),
        address: addrs[i],
        privateKey: keys[i],
        deliver: () => void delivered++,
        missingRoute: () => {},
      });
      dp.path = {
        mtu: dev.mtu,
        peerAt: () => null,
        send: (p, f, len) => (dev.mycelium.sendDatagramFrame(p as Peer, f, len), true),
        claim: (p) => dev.mycelium.claimDatagramSlot(p as Peer),
        claimOffset: TRANSPORT_HEADER_SIZE,
        commit: (len) => dev.mycelium.commitDatagramSlot(len),
        relay: (p, f, len, slot) => (dev.mycelium.relayDatagramFrame(p as Peer, f, len, slot), true),
      };
      dev.mycelium.onMyceliumFrame = (_p, pkt, len, slot) => dp.receiveDatagram(pkt, len, slot, link);
      dev.mycelium.handOff = (p) => dp.send(p);
      return dp;
    });
    void planes;
    const LEN = datagramPacketMtu(1420);
    const pkt = new Uint8Array(LEN);
    pkt[0] = 0x60; pkt[4] = (LEN - 40) >> 8; pkt[5] = (LEN - 40) & 0xff; pkt[6] = 17; pkt[7] = 64;
    pkt.set(addrs[0], 8);
    pkt.set(addrs[2], 24);
    const N = 64;
    const measure = (fn: () => void): number => {
      cc.copied = 0;
      cc.counting = true;
      fn();
      cc.counting = false;
      return cc.copied / N;
    };
    const receiveBatch = (dev: Device): number => {
      const receive = landBatch(dev);
      return measure(receive);
    };
    // Sessions A-B and B-C first: the first frame is staged at A, then at B (not counted).
    devs[0].send([pkt.slice()], [LEN], 1);
    pump();
    if (delivered !== 1) throw new Error(`overlay bench: datagram copies: the warm-up frame did not reach C (${delivered})`);
    const bufs = devs[0].sendBuffers().slice(0, N);
    for (const b of bufs) b.set(pkt);
    const send = measure(() => devs[0].send(bufs, new Int32Array(N).fill(LEN), N));
    const toB = wire.length;
    const relay = receiveBatch(devs[1]);
    const toC = wire.length;
    const receive = receiveBatch(devs[2]);
    if (toB !== N || toC !== N || delivered !== N + 1)
      throw new Error(`overlay bench: datagram copies: expected ${N} frames A->B->C and ${N} delivered at C, got ${toB}, ${toC}, ${delivered - 1}`);
    return { send, receive, relay, delivered: delivered - 1 };
  });
}

/**
 * In process, the relay: A seals 64 x 1,420-byte IPv4 packets for C, B opens
 * them, classifies and seals them again for C in its receive slots (what B's
 * `receive` does, timed alone), with the forward kernel's classifier (native)
 * vs per-packet lookups (TFW_OVERLAY_CLASSIFIER=off), alternated. The rate is
 * relayed plaintext per second of B's `receive`.
 */
function relayInProcess(samples: Sample[]): void {
  const make = (mode: 'classifier' | 'lookups') => {
    const was = process.env.TFW_OVERLAY_CLASSIFIER;
    if (mode === 'lookups') process.env.TFW_OVERLAY_CLASSIFIER = 'off';
    else delete process.env.TFW_OVERLAY_CLASSIFIER;
    const keys = [generatePrivateKey(), generatePrivateKey(), generatePrivateKey()];
    const pubs = keys.map((k) => toBase64(publicKeyFromPrivate(k)));
    const eps = ['10.0.0.1:1', '10.0.0.2:2', '10.0.0.3:3'];
    const from = eps.map((e) => Endpoint.parse(e));
    const wire: { from: number; to: number; data: Uint8Array }[] = [];
    let measuring = false, relayed = 0;
    const devs = keys.map((k, i) => new Device({ privateKey: k, io: {
      transmit: (bufs, sizes, e, n) => {
        for (let j = 0; j < n; j++) {
          const to = e.items[j].port - 1;
          if (measuring && i === 1 && to === 2) relayed++;
          else wire.push({ from: i, to, data: bufs[j].slice(0, sizes[j]) });
        }
      },
      deliver: () => {},
    } }));
    if (was === undefined) delete process.env.TFW_OVERLAY_CLASSIFIER;
    else process.env.TFW_OVERLAY_CLASSIFIER = was;
    const [a, b, c] = devs;
    a.setPeers([{ publicKey: pubs[1], endpoint: eps[1], allowedIPs: ['10.100.0.0/16'] }]);
    b.setPeers([{ publicKey: pubs[0], endpoint: eps[0], allowedIPs: ['10.100.0.1/32'] }, { publicKey: pubs[2], endpoint: eps[2], allowedIPs: ['10.100.0.3/32'] }]);
    c.setPeers([{ publicKey: pubs[1], endpoint: eps[1], allowedIPs: ['10.100.0.0/16'] }]);
    b.forwarding = true;
    b.setLocal(['10.100.0.2/32']);
    const pump = (): void => {
      for (let r = 0; r < 8 && wire.length; r++) {
        for (const d of wire.splice(0)) devs[d.to].receive([d.data], [d.data.length], [from[d.from]], 1);
      }
    };
    const pkt = new Uint8Array(1420);
    pkt[0] = 0x45; pkt[2] = 1420 >> 8; pkt[3] = 1420 & 0xff; pkt[8] = 64; pkt[9] = 17;
    pkt.set([10, 100, 0, 1], 12);
    pkt.set([10, 100, 0, 3], 16);
    const hc = foldChecksum(onesSum(pkt, 0, 20));
    pkt[10] = hc >> 8; pkt[11] = hc & 0xff;
    a.send([pkt], [1420], 1);
    pump();
    c.send([Uint8Array.from([0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 100, 0, 3, 10, 100, 0, 1])], [20], 1);
    pump();
    const slotsA = a.sendBuffers().slice(0, 64), sizes = new Int32Array(64).fill(1420);
    const rx = b.receiveBuffers(), rxSizes = new Int32Array(64), rxEps = Array<Endpoint>(64).fill(from[0]);
    measuring = true;
    let ms = 0;
    return {
      mode: b.engines.relay,
      /** Relays `batches` batches of 64; returns [packets relayed, ms in B's receive]. */
      run(batches: number): [number, number] {
        relayed = 0;
        ms = 0;
        for (let i = 0; i < batches; i++) {
          for (const s of slotsA) s.set(pkt);
          a.send(slotsA, sizes, 64);
          const batch = wire.splice(0);
          batch.forEach((d, k) => { rx[k].set(d.data); rxSizes[k] = d.data.length; });
          const t0 = performance.now();
          b.receive(rx, rxSizes, rxEps, batch.length);
          ms += performance.now() - t0;
        }
        return [relayed, ms];
      },
    };
  };
  const rows = [make('classifier'), make('lookups')];
  if (rows[0].mode !== 'classifier') {
    console.log('overlay bench: relay in process: no native forward classifier, row skipped');
    return;
  }
  const total = rows.map(() => [0, 0]);
  for (let round = 0; round < 6; round++) {
    rows.forEach((r, i) => {
      const [n, ms] = r.run(200);
      if (round > 0) { total[i][0] += n; total[i][1] += ms; }
    });
  }
  rows.forEach((r, i) => {
    const perSec = total[i][0] / (total[i][1] / 1000);
    samples.push({ name: r.mode === 'classifier' ? 'forward classifier (native), in the slots' : 'per-packet lookups', case: 'relay 64 x 1420 B (B: open, route, seal)', opsPerSec: perSec, bytesPerSec: perSec * 1420 });
  });
}

function inProcess(samples: Sample[]): void {
  for (const aead of ['kernel', 'node'] as const) {
    if (aead === 'node') process.env.TFW_OVERLAY_AEAD = 'node';
    try {
      const a = generatePrivateKey(), b = generatePrivateKey();
      let sent = 0;
      const devA = new Device({ privateKey: a, io: { transmit: (_b, _s, _e, n) => void (sent += n), deliver: () => {} } });
      const sink = new Device({ privateKey: b, io: { transmit: () => {}, deliver: () => {} } });
      devA.setPeers([{ publicKey: toBase64(publicKeyFromPrivate(b)), endpoint: '127.0.0.1:9', allowedIPs: ['10.0.0.0/8'] }]);
      sink.setPeers([{ publicKey: toBase64(publicKeyFromPrivate(a)), endpoint: '127.0.0.1:9', allowedIPs: [] }]);
      // Complete a handshake by hand: relay initiation/response between the two.
      const wire: Uint8Array[] = [];
      (devA as unknown as { io: { transmit: unknown } }).io.transmit = (bufs: Uint8Array[], sizes: Int32Array, _e: unknown, n: number) => {
        for (let i = 0; i < n; i++) wire.push(bufs[i].slice(0, sizes[i]));
      };
      (sink as unknown as { io: { transmit: unknown } }).io.transmit = (bufs: Uint8Array[], sizes: Int32Array, _e: unknown, n: number) => {
        for (let i = 0; i < n; i++) wire.push(bufs[i].slice(0, sizes[i]));
      };
      const ep = devA.peers.values().next().value!.endpoint!;
      const pkt = new Uint8Array(1420);
      pkt[0] = 0x45; pkt[2] = 1420 >> 8; pkt[3] = 1420 & 0xff; pkt[16] = 10; pkt[19] = 2;
      devA.send([pkt], [1420], 1);
      for (let round = 0; round < 4 && wire.length; round++) {
        const batch = wire.splice(0);
        for (const d of batch) (d[0] === 2 ? devA : sink).receive([d], [d.length], [ep], 1);
      }
      (devA as unknown as { io: { transmit: unknown } }).io.transmit = (_b: unknown, _s: unknown, _e: unknown, n: number) => void (sent += n);
      // Fed as the runtime's TUN read feeds it: each packet written into a send slot (read(2)'s copy), sealed there.
      const bufs = devA.sendBuffers().slice(0, 64);
      const sizes = new Int32Array(64).fill(1420);
      const calls = timeIt(() => {
        for (const b of bufs) b.set(pkt);
        devA.send(bufs, sizes, 64);
      });
      const backend = `${devA.engines.aead}, ${devA.engines.routes}`;
      samples.push({ name: aead === 'node' ? 'node:crypto per packet' : `tfw pool (${backend})`, case: 'Device.send 64 x 1420 B', opsPerSec: calls * 64, bytesPerSec: calls * 64 * 1420 });
    } finally {
      delete process.env.TFW_OVERLAY_AEAD;
    }
  }
}

/**
 * In process, Mycelium's end-to-end box of a 1,348-byte IPv6 packet (the most a
 * datagram frame carries at MTU 1,420): sealL3Into a frame buffer at an offset,
 * and openBoxInPlace of such boxes, 64 per call, with each engine of
 * mycelium/seal.ts (gcmEngines). Opening in place destroys the box, so each
 * round first restores the 64 boxes from a sealed copy (one 1,380-byte set
 * each, the same for both engines).
 */
export function boxInProcess(samples: Sample[]): void {
  const LEN = datagramPacketMtu(1420);
  const N = 64;
  const raw = new Uint8Array(32).fill(0x5a);
  const pkt = new Uint8Array(LEN).fill(0x33);
  const OFF = 44; // where the box starts in a datagram frame after the WireGuard transport header room
  for (const engine of gcmEngines) {
    const key = pairKey(raw, engine);
    const frames = Array.from({ length: N }, () => new Uint8Array(OFF + LEN + 32));
    const seal = timeIt(() => {
      for (const f of frames) sealL3Into(key, pkt, f, OFF);
    });
    const sealed = frames.map((f) => f.slice(OFF));
    const boxes = frames.map((f) => f.subarray(OFF));
    let bad = 0;
    const open = timeIt(() => {
      for (let i = 0; i < N; i++) {
        boxes[i].set(sealed[i]);
        if (!openBoxInPlace(key, boxes[i])) bad++;
      }
    });
    if (bad) throw new Error(`overlay bench: box: ${bad} boxes did not open with ${engine}`);
    samples.push({ name: engine, case: 'seal 1,348 B', opsPerSec: seal * N, bytesPerSec: seal * N * LEN });
    samples.push({ name: engine, case: 'open 1,348 B', opsPerSec: open * N, bytesPerSec: open * N * LEN });
  }
}

interface IperfResult {
  /** Received throughput (bytes/s, payload as iperf3 counts it). */
  bytesPerSec: number;
  /** UDP only: datagrams lost (%), and datagrams sent. */
  lossPercent?: number;
  packets?: number;
}

/** Where an iperf3 run goes: client namespace, server namespace, the server's address (the tunnel's far end). */
interface IperfPath {
  client: string;
  serverNs: string;
  server: string;
  track(p: Proc): Proc;
}

/**
 * One iperf3 run from path.client to the server in path.serverNs (TCP, or UDP with
 * UDP_LEN-byte datagrams at UDP_RATE), read from iperf3's JSON (`-J`).
 * Returns null when iperf3 fails or prints no result.
 */
function iperf(path: IperfPath, udp: boolean): IperfResult | null {
  const server = path.server;
  const s = path.track(spawnIn(path.serverNs, ['iperf3', '-s', '-1', '-B', server]));
  spawnSync('sleep', ['0.5']);
  const args = ['-c', server, '-t', String(SECONDS), '-J', ...(udp ? ['-u', '-l', String(UDP_LEN), '-b', UDP_RATE] : [])];
  const r = spawnSync('ip', ['netns', 'exec', path.client, 'iperf3', ...args], { encoding: 'utf8', timeout: (SECONDS + 20) * 1000 });
  s.child.kill();
  try {
    const end = JSON.parse(r.stdout).end;
    if (!udp) return { bytesPerSec: end.sum_received.bits_per_second / 8 };
    // iperf3 >= 3.11 reports the receiver's side as sum_received; older ones only `sum`.
    const rx = end.sum_received ?? end.sum;
    const received = end.sum_received ? rx.bytes : (rx.packets - rx.lost_packets) * UDP_LEN;
    return { bytesPerSec: received / rx.seconds, lossPercent: rx.lost_percent, packets: rx.packets };
  } catch {
    return null;
  }
}

/** Runs the TCP and UDP iperf3 rows for one tunnel implementation, once `ping` gets through. */
function iperfRows(samples: Sample[], name: string, pair: NetnsPair, server: string): void {
  if (!ping(pair.a, server)) {
    console.log(`overlay bench: ${name}: no ping through the tunnel, iperf3 rows skipped`);
    return;
  }
  const path = { client: pair.a, serverNs: pair.b, server, track: (p: Proc) => pair.track(p) };
  const tcp = iperf(path, false);
  if (tcp) samples.push({ name, case: `iperf3 TCP ${SECONDS} s`, opsPerSec: 0, bytesPerSec: tcp.bytesPerSec });
  const udp = iperf(path, true);
  if (udp) {
    samples.push({
      name, case: `iperf3 UDP ${UDP_LEN} B ${SECONDS} s`, opsPerSec: 0, bytesPerSec: udp.bytesPerSec,
      extra: { lossPercent: udp.lossPercent, packets: udp.packets, targetRate: UDP_RATE },
    });
  }
}

/** The two-node rows; false when skipped (not root, or a tool missing). */
async function endToEnd(samples: Sample[]): Promise<boolean> {
  const missing = [!isRoot && 'root', ...['wireguard-go', 'wg', 'iperf3', 'ping'].filter((b) => !have(b))].filter(Boolean);
  if (missing.length) {
    console.log(`overlay bench: end-to-end part skipped (needs ${missing.join(', ')})`);
    return false;
  }
  // tfw <-> tfw
  let pair = new NetnsPair(`${NS_TAG}tbe`, 51);
  try {
    const a = keygen(), b = keygen();
    const conf = (k: typeof a, peer: typeof a, addr: string, peerAddr: string, ep: string) =>
      `name: ${NS_TAG}tbe0\nprivateKey: ${k.privateKey}\nlistenPort: 51820\naddress: [${addr}/24]\npeers:\n  - publicKey: ${peer.publicKey}\n    endpoint: ${ep}:51820\n    allowedIPs: [${peerAddr}/32]\n`;
    const ta = pair.track(tfwRuntime(pair.a, pair.file('a.yaml', conf(a, b, '10.100.0.1', '10.100.0.2', pair.ipB))));
    const tb = pair.track(tfwRuntime(pair.b, pair.file('b.yaml', conf(b, a, '10.100.0.2', '10.100.0.1', pair.ipA))));
    await waitFor(() => ta.out().includes('overlay: up') && tb.out().includes('overlay: up'), 30_000);
    iperfRows(samples, 'tfw runtime', pair, '10.100.0.2');
  } finally {
    await pair.cleanup();
  }
  // wireguard-go <-> wireguard-go
  pair = new NetnsPair(`${NS_TAG}wbe`, 52);
  try {
    const a = keygen(), b = keygen();
    const tag = `${NS_TAG}wb${process.pid % 10000}`;
    for (const [ns, k, peer, addr, ep, dev] of [[pair.a, a, b, '10.100.0.1', pair.ipB, `${tag}a`], [pair.b, b, a, '10.100.0.2', pair.ipA, `${tag}b`]] as const) {
      await wireguardGo(pair, ns, dev, k.privateKey, 51820, peer.publicKey, `${ep}:51820`, `${addr === '10.100.0.1' ? '10.100.0.2' : '10.100.0.1'}/32`);
      sh(['ip', '-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev]);
    }
    iperfRows(samples, 'wireguard-go', pair, '10.100.0.2');
  } finally {
    await pair.cleanup();
  }
  return true;
}

/**
 * Starts a wireguard-go interface `dev` in `ns` with one peer and brings it up
 * (MTU 1420); addresses and routes are the caller's. Interface names must be
 * distinct across namespaces: wireguard-go's UAPI sockets
 * (/var/run/wireguard/<dev>.sock) are not per namespace.
 */
async function wireguardGo(
  owner: { track(p: Proc): Proc; file(name: string, text: string): string },
  ns: string, dev: string, privateKey: string, port: number, peerKey: string, endpoint: string, allowedIPs: string,
): Promise<void> {
  owner.track(spawnIn(ns, ['wireguard-go', '-f', dev], { WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1' }));
  await waitFor(() => spawnSync('ip', ['-n', ns, 'link', 'show', dev], { stdio: 'ignore' }).status === 0, 10_000);
  const keyFile = owner.file(`${dev}.key`, `${privateKey}\n`);
  sh(['ip', 'netns', 'exec', ns, 'wg', 'set', dev, 'private-key', keyFile, 'listen-port', String(port), 'peer', peerKey, 'endpoint', endpoint, 'allowed-ips', allowedIPs]);
  sh(['ip', '-n', ns, 'link', 'set', dev, 'mtu', '1420', 'up']);
}

/** The TCP row through the line's relay, once `ping` from A reaches C's `server` address (bounded wait: routes converge first). */
async function relayRow(samples: Sample[], name: string, line: NetnsLine, server: string, convergeMs = 30_000): Promise<void> {
  if (!(await waitFor(() => ping(line.a, server, 1), convergeMs))) {
    console.log(`overlay bench: ${name}: no ping from A to C through B, relay row skipped`);
    return;
  }
  const tcp = iperf({ client: line.a, serverNs: line.c, server, track: (p) => line.track(p) }, false);
  if (tcp) samples.push({ name, case: `iperf3 TCP ${SECONDS} s A-B-C`, opsPerSec: 0, bytesPerSec: tcp.bytesPerSec });
}

/**
 * Through a relay: iperf3 TCP A -> C over A - B - C. tfw: three `tfw
 * runtime` nodes, `mesh: true`, A and C peered with B only, A reaching C's
 * 10.100.0.3/32 on the route Babel learns through B, which relays inside the
 * router (ip_forward stays 0); `mycelium: false`: the hop-by-hop relay is what
 * this row measures. Then end to end to C's node address: a `mycelium:`
 * section without mesh, and `mesh: true` alone (the default since issue 14).
 * wireguard-go: A wg B and B wg C as two wireguard-go interfaces on B, which
 * forwards between them with ip_forward.
 */
async function throughRelay(samples: Sample[]): Promise<void> {
  const PORT = 51821;
  let line = new NetnsLine(`${NS_TAG}trl`, 53);
  try {
    const [a, b, c] = [keygen(), keygen(), keygen()];
    const conf = (k: typeof a, addr: string, peers: [typeof a, string][]) =>
      `name: ${NS_TAG}trl0\nprivateKey: ${k.privateKey}\nlistenPort: ${PORT}\naddress: [${addr}/32]\nmesh: true\nmycelium: false\npeers:\n` +
      peers.map(([p, ep]) => `  - publicKey: ${p.publicKey}\n    endpoint: ${ep}:${PORT}\n    allowedIPs: []\n`).join('');
    const procs = [
      line.track(tfwRuntime(line.a, line.file('a.yaml', conf(a, '10.100.0.1', [[b, line.ipBA]])))),
      line.track(tfwRuntime(line.b, line.file('b.yaml', conf(b, '10.100.0.2', [[a, line.ipAB], [c, line.ipCB]])))),
      line.track(tfwRuntime(line.c, line.file('c.yaml', conf(c, '10.100.0.3', [[b, line.ipBC]])))),
    ];
    await waitFor(() => procs.every((p) => p.out().includes('overlay: up')), 30_000);
    await relayRow(samples, 'tfw runtime (mesh relay)', line, '10.100.0.3');
  } finally {
    await line.cleanup();
  }
  // End to end: Mycelium over the WireGuard links, no mesh; C's node address is sealed for by A alone.
  line = new NetnsLine(`${NS_TAG}tme`, 57);
  try {
    const [a, b, c] = [keygen(), keygen(), keygen()];
    const conf = (k: typeof a, peers: [typeof a, string][]) =>
      `name: ${NS_TAG}tme0\nprivateKey: ${k.privateKey}\nlistenPort: ${PORT}\naddress: []\n` +
      `mycelium:\n  listen: ['tcp://[::]:9651']\n  peers: []\n  discovery: false\n  overWireGuard: true\npeers:\n` +
      peers.map(([p, ep]) => `  - publicKey: ${p.publicKey}\n    endpoint: ${ep}:${PORT}\n    allowedIPs: []\n    persistentKeepalive: 1\n`).join('');
    const procs = [
      line.track(tfwRuntime(line.a, line.file('a.yaml', conf(a, [[b, line.ipBA]])))),
      line.track(tfwRuntime(line.b, line.file('b.yaml', conf(b, [[a, line.ipAB], [c, line.ipCB]])))),
      line.track(tfwRuntime(line.c, line.file('c.yaml', conf(c, [[b, line.ipBC]])))),
    ];
    await waitFor(() => procs.every((p) => p.out().includes('overlay: up') && p.out().includes('mycelium: up')), 30_000);
    await relayRow(samples, 'tfw runtime (end to end, Mycelium over WireGuard)', line, overlayAddress(fromBase64(c.publicKey)), 90_000);
  } finally {
    await line.cleanup();
  }
  // The mesh default (issue 14): `mesh: true` alone, no keepalives, no mycelium section: Mycelium runs over
  // the WireGuard links and seals A's packets to C's node address end to end (docs/overlay.md).
  line = new NetnsLine(`${NS_TAG}tmd`, 59);
  try {
    const [a, b, c] = [keygen(), keygen(), keygen()];
    const statusA = join(line.dir, 'a.sock');
    const conf = (k: typeof a, peers: [typeof a, string][]) =>
      `name: ${NS_TAG}tmd0\nprivateKey: ${k.privateKey}\nlistenPort: ${PORT}\nmesh: true\n${k === a ? `status: ${statusA}\n` : ''}peers:\n` +
      peers.map(([p, ep]) => `  - publicKey: ${p.publicKey}\n    endpoint: ${ep}:${PORT}\n    allowedIPs: []\n`).join('');
    const procs = [
      line.track(tfwRuntime(line.a, line.file('a.yaml', conf(a, [[b, line.ipBA]])))),
      line.track(tfwRuntime(line.b, line.file('b.yaml', conf(b, [[a, line.ipAB], [c, line.ipCB]])))),
      line.track(tfwRuntime(line.c, line.file('c.yaml', conf(c, [[b, line.ipBC]])))),
    ];
    await waitFor(() => procs.every((p) => p.out().includes('overlay: up') && p.out().includes('mycelium: up')), 30_000);
    // Converged end to end (not Babel's hop-by-hop fallback): a ping from A to C is handed to Mycelium.
    const handedOff = async () => ((await getStatus(statusA).catch(() => ({}))).endToEnd?.handedOff ?? 0) as number;
    const toC = overlayAddress(fromBase64(c.publicKey));
    if (!(await waitFor(async () => {
      const before = await handedOff();
      ping(line.a, toC, 1);
      return (await handedOff()) > before;
    }, 90_000))) console.log('overlay bench: mesh default: A never handed a packet to Mycelium (row measures the fallback)');
    await relayRow(samples, 'tfw runtime (mesh: true default, end to end)', line, overlayAddress(fromBase64(c.publicKey)), 90_000);
  } finally {
    await line.cleanup();
  }
  line = new NetnsLine(`${NS_TAG}wrl`, 55);
  try {
    const [a, b1, b2, c] = [keygen(), keygen(), keygen(), keygen()];
    const tag = `${NS_TAG}wr${process.pid % 10000}`;
    await wireguardGo(line, line.a, `${tag}a`, a.privateKey, PORT, b1.publicKey, `${line.ipBA}:${PORT}`, '10.100.0.0/24');
    await wireguardGo(line, line.b, `${tag}ba`, b1.privateKey, PORT, a.publicKey, `${line.ipAB}:${PORT}`, '10.100.0.1/32');
    await wireguardGo(line, line.b, `${tag}bc`, b2.privateKey, PORT + 1, c.publicKey, `${line.ipCB}:${PORT}`, '10.100.0.3/32');
    await wireguardGo(line, line.c, `${tag}c`, c.privateKey, PORT, b2.publicKey, `${line.ipBC}:${PORT + 1}`, '10.100.0.0/24');
    sh(['ip', '-n', line.a, 'addr', 'add', '10.100.0.1/24', 'dev', `${tag}a`]);
    sh(['ip', '-n', line.c, 'addr', 'add', '10.100.0.3/24', 'dev', `${tag}c`]);
    sh(['ip', '-n', line.b, 'addr', 'add', '10.100.0.2/32', 'dev', `${tag}ba`]);
    sh(['ip', '-n', line.b, 'route', 'add', '10.100.0.1/32', 'dev', `${tag}ba`]);
    sh(['ip', '-n', line.b, 'route', 'add', '10.100.0.3/32', 'dev', `${tag}bc`]);
    sh(['ip', 'netns', 'exec', line.b, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    await relayRow(samples, 'wireguard-go (two hops)', line, '10.100.0.3');
  } finally {
    await line.cleanup();
  }
}

export default async function overlayBench(): Promise<void> {
  const samples: Sample[] = [];
  inProcess(samples);
  const copies = copiesPerPacket();
  console.log(`overlay: bytes copied per 1,420-byte packet: send ${copies.send}, receive ${copies.receive}, relay ${copies.relay}` +
    ` (plus the 20-byte destination endpoint record per datagram sent: send ${copies.endpoint.send}, receive ${copies.endpoint.receive}, relay ${copies.endpoint.relay})`);
  const dg = datagramCopiesPerFrame();
  console.log(`overlay: bytes copied per Mycelium datagram frame (1,348-byte IPv6 packet, end to end A -> B -> C): send ${dg.send.toFixed(0)}, relay ${dg.relay}, receive ${dg.receive.toFixed(0)}`);
  printTable('overlay: Device.send (route + seal), 1,420-byte packets', samples.filter((s) => s.case.startsWith('Device')), { baseline: 'node:crypto per packet' });
  const box: Sample[] = [];
  boxInProcess(box);
  printTable(`overlay: Mycelium end-to-end box in process (seal.ts; runtime engine: ${gcmEngine})`, box, { baseline: 'node:crypto' });
  for (const s of box) console.log(`  ${s.name}, ${s.case}: ${(1e6 / s.opsPerSec).toFixed(2)} us per packet`);
  samples.push(...box.map((s) => ({ ...s, case: `Mycelium box ${s.case}` })));
  relayInProcess(samples);
  const relayRows = samples.filter((s) => s.case.startsWith('relay 64'));
  if (relayRows.length) printTable('overlay: relay in process (B receive: open, classify/look up, seal), 1,420-byte packets', relayRows, { baseline: 'per-packet lookups' });
  if (await endToEnd(samples)) await throughRelay(samples);
  const e2e = samples.filter((s) => s.case.startsWith('iperf3') && !s.case.endsWith('A-B-C'));
  const relay = samples.filter((s) => s.case.endsWith('A-B-C'));
  if (relay.length) printTable('overlay: iperf3 A -> C through a relay B (line of three namespaces, received)', relay, { baseline: 'wireguard-go (two hops)' });
  if (e2e.length) {
    printTable('overlay: iperf3 through two nodes in network namespaces (received)', e2e, { baseline: 'wireguard-go' });
    for (const x of e2e.filter((x) => x.extra)) console.log(`  ${x.name}, ${x.case}: ${Number(x.extra!.lossPercent).toFixed(1)}% of ${x.extra!.packets} datagrams lost (target ${UDP_RATE}bit/s)`);
  }
  writeResult('overlay', samples);
}
