/**
 * The send path of the device (wireguard-go device/send.go): IP packets from
 * the TUN a batch at a time -> destinations looked up in one `lookupBatch`
 * call per family (routes.ts) -> staged on the peer while no session is up
 * (at most MAX_STAGED_PACKETS, wireguard-go QueueStagedSize) and a handshake
 * started, else the header written in front of the padded plaintext
 * (whitepaper 5.4.6) -> one `seal(n)` call and the UDP batch on `flush`
 * (batches.ts), with the send-side timer events and key freshness checks.
 * Packets the TUN read into `sendSlots` (batches.ts) are sealed and sent from
 * that slot, without a copy; other buffers are copied into a slot first.
 * Keepalives, staged packets and Babel frames (babel/tunnel-frame.ts) take the same
 * path. Peer table, handshakes and timers stay in device.ts, handshake.ts and
 * wireguard/timers.ts; this class reaches them through `SendHost`.
 * An IPv6 packet for 400::/7 that no route here covers goes to `handOff` when
 * set (the Mycelium node sharing this TUN, docs/overlay.md "One TUN for both
 * kinds of links") instead of being dropped as noRoute, and so does one that
 * only a Babel route covers when `endToEnd` says Mycelium routes it.
 */
import { BABEL_FRAME_OVERHEAD, frameBabel } from './babel/tunnel-frame.js';
import type { PacketBatches } from './links/batches.js';
import type { DeviceTimers } from './wireguard/timers.js';
import type { Drops } from './drops.js';
import { MESSAGE_TRANSPORT, TRANSPORT_COUNTER, TRANSPORT_HEADER_SIZE, TRANSPORT_RECEIVER, writeType, writeU32, writeU64 } from './wireguard/messages.js';
import type { Keypair } from './wireguard/keypair.js';
import type { Peer } from './wireguard/peer.js';
import type { RouteVia } from './routing/route-via.js';
import type { RouteTable } from './routing/routes.js';
import { MAX_STAGED_PACKETS, REJECT_AFTER_MESSAGES, REJECT_AFTER_TIME, REKEY_AFTER_MESSAGES, REKEY_AFTER_TIME } from './wireguard/constants.js';

/** The device state and steps the send path uses (device.ts provides them, once at construction). */
export interface SendHost {
  readonly batches: PacketBatches;
  readonly batchSize: number;
  readonly mtu: number;
  /** This node's overlay address: its whole Mycelium /128 (address.ts). */
  readonly nodeAddress: Uint8Array;
  readonly drops: Drops;
  readonly routes: RouteTable<RouteVia>;
  /** The configured peers' own /64s (device.ts): never handed to Mycelium by `endToEnd`. */
  readonly peerSubnets: RouteTable<true>;
  now(): number;
  sendInitiation(peer: Peer, isRetry: boolean): void;
  /** The only writer of peer timers (wireguard/timers.ts): this path reports its timer events there. */
  readonly timers: DeviceTimers;
  /** Sends what the batches hold (transport and control). */
  flush(): void;
}

const EMPTY = new Uint8Array(0);

/** Multi-hop 400::/7 packets sent end to end or, for want of a Mycelium route, hop by hop (Sender.endToEndCounts). */
export interface EndToEndCounts {
  handedOff: number;
  hopByHop: number;
}

/**
 * Plaintext in, sealed datagrams out, for one device. Nothing throws on bad
 * input: refused packets are counted in `drops` by reason.
 */
export class Sender {
  // Hot-path state, held directly.
  private readonly batches: PacketBatches;
  private readonly batchSize: number;
  private readonly mtu: number;
  private readonly drops: Drops;
  private readonly routes: RouteTable<RouteVia>;
  private readonly peerSubnets: RouteTable<true>;
  private readonly now: () => number;
  /** The TUN read slots (batches.ts): a packet in sendSlots[i] is sealed where it lies. */
  private readonly sendSlots: Uint8Array[];
  // Batch route lookups.
  private readonly sendKind: Int32Array;
  private readonly dst4: Uint8Array;
  private readonly dst6: Uint8Array;
  private readonly hops4: Int32Array;
  private readonly hops6: Int32Array;
  /**
   * Takes this node's own IPv6 packets for 400::/7 destinations no WireGuard
   * route covers (the Mycelium node on the same TUN and address); called with
   * a view valid only during the call. Null: such packets count as noRoute.
   */
  handOff: ((packet: Uint8Array) => void) | null = null;
  /**
   * With `handOff`: asked (the destination address, a view) for an IPv6
   * packet whose 400::/7 destination only a Babel-learned route (metric > 0,
   * mesh mode, hop-by-hop) covers; true sends it to `handOff` instead, sealed
   * end to end by the Mycelium node (which answers true when it has a route).
   * Never asked for a destination in a configured peer's own /64 (Babel also
   * learns direct peers' /64s, even through another peer, and the Mycelium
   * link to a peer runs to that address: handing it over would loop), nor
   * for static routes (metric 0).
   * Null: Babel routes are used.
   */
  endToEnd: ((dst: Uint8Array) => boolean) | null = null;
  /**
   * While `endToEnd` is set: packets to multi-hop 400::/7 destinations (the
   * ones it is asked about) handed to Mycelium (`handedOff`) and sent hop by
   * hop on Babel's route because Mycelium had no route yet (`hopByHop`: the
   * start-up and convergence window, docs/overlay.md "End to end by default
   * in a mesh"). GET /status `endToEnd`.
   */
  readonly endToEndCounts: EndToEndCounts = { handedOff: 0, hopByHop: 0 };

  constructor(private readonly dev: SendHost) {
    this.batches = dev.batches;
    this.batchSize = dev.batchSize;
    this.mtu = dev.mtu;
    this.drops = dev.drops;
    this.routes = dev.routes;
    this.peerSubnets = dev.peerSubnets;
    this.now = dev.now;
    this.sendSlots = dev.batches.sendSlots;
    const n = this.batchSize;
    this.sendKind = new Int32Array(n);
    this.dst4 = new Uint8Array(n * 4);
    this.dst6 = new Uint8Array(n * 16);
    this.hops4 = new Int32Array(n);
    this.hops6 = new Int32Array(n);
  }

  /**
   * Encrypts and sends `count` IP packets read from the TUN: destinations are
   * looked up a batch at a time (routes.ts), sealed a batch at a time (seal.ts).
   * `bufs[i]` that is `sendSlots[i]` is sealed in place (no copy); other
   * buffers are copied into a send slot. The slots are free again on return.
   */
  send(bufs: Uint8Array[], sizes: ArrayLike<number>, count: number): void {
    const kind = this.sendKind;
    for (let base = 0; base < count; base += this.batchSize) {
      const n = Math.min(this.batchSize, count - base);
      let n4 = 0, n6 = 0;
      for (let i = 0; i < n; i++) {
        const pkt = bufs[base + i], len = sizes[base + i];
        const version = len > 0 ? pkt[0] >> 4 : 0;
        if (version === 4 && len >= 20) {
          for (let b = 0; b < 4; b++) this.dst4[n4 * 4 + b] = pkt[16 + b];
          kind[i] = n4++;
        } else if (version === 6 && len >= 40) {
          for (let b = 0; b < 16; b++) this.dst6[n6 * 16 + b] = pkt[24 + b];
          kind[i] = -2 - n6++;
        } else kind[i] = -1;
      }
      this.routes.lookupBatch(this.dst4, n4, 4, this.hops4);
      this.routes.lookupBatch(this.dst6, n6, 16, this.hops6);
      for (let i = 0; i < n; i++) {
        const k = kind[i], len = sizes[base + i];
        if (k === -1) {
          this.drops.malformed++;
          continue;
        }
        if (len > this.mtu) {
          this.drops.oversized++;
          continue;
        }
        const via = this.routes.valueOf(k >= 0 ? this.hops4[k] : this.hops6[-2 - k]);
        if (!via) {
          const pkt = bufs[base + i];
          if (k < -1 && this.handOff && (pkt[24] & 0xfe) === 0x04) {
            this.handOff(pkt.subarray(0, len));
            continue;
          }
          this.drops.noRoute++;
          continue;
        }
        const buf = bufs[base + i];
        if (via.metric > 0 && k < -1 && this.endToEnd && this.handOff && (buf[24] & 0xfe) === 0x04 && !this.peerSubnets.lookup(buf, 24, 16)) {
          if (this.endToEnd(buf.subarray(24, 40))) {
            this.endToEndCounts.handedOff++;
            this.handOff(buf.subarray(0, len));
            continue;
          }
          // Mycelium has no route yet: Babel's hop-by-hop route carries it (relays open it), counted.
          this.endToEndCounts.hopByHop++;
        }
        this.sendToPeer(via.peer, buf, len, buf === this.sendSlots[base + i] ? base + i : -1);
      }
    }
    this.dev.flush();
  }

  /**
   * Sends one plaintext (0 bytes = keepalive) to a peer, staging it (a copy)
   * if no session is up. `slot` >= 0: `pkt` is TUN read slot `slot`
   * (batches.ts sendSlots) and is sealed there; -1: `pkt` is copied into a slot.
   */
  sendToPeer(peer: Peer, pkt: Uint8Array, len: number, slot = -1): void {
    const t = this.now();
    const kp = this.sendingKeypair(peer, pkt, len, t);
    if (!kp) return;
    const padded = this.padded(len);
    const b = this.batches;
    const out = b.claimTx(peer, peer.endpoint!, slot);
    if (len && slot < 0) out.set(pkt.subarray(0, len), TRANSPORT_HEADER_SIZE);
    this.writeHeader(out, kp, len, padded);
    b.setTx(padded, kp.keyIndex, kp.sendNonce);
    this.sent(peer, kp, len, t);
  }

  /**
   * Relays a packet opened in receive slot `rxSlot` (batches.ts; `pkt` is its
   * plaintext view, the hop already decremented) to `peer`: sealed for the
   * next hop in that slot and sent from it on `flushRelay`, no copy. Staged
   * (a copy) when no session with `peer` is up.
   */
  relayToPeer(peer: Peer, pkt: Uint8Array, len: number, rxSlot: number): void {
    const t = this.now();
    const kp = this.sendingKeypair(peer, pkt, len, t);
    if (!kp) return;
    const padded = this.padded(len);
    const b = this.batches;
    this.writeHeader(b.rxBufs[rxSlot], kp, len, padded);
    b.queueRelay(rxSlot, padded, kp.keyIndex, kp.sendNonce, peer, peer.endpoint!);
    this.sent(peer, kp, len, t);
  }

  /**
   * Claims a send slot for a plaintext to `peer` that the caller writes in
   * place at TRANSPORT_HEADER_SIZE of the returned (whole) slot, then must
   * call `commitClaimed` with its length before anything else is sent: no
   * copy on the way out. Null when no session is up (or it is too old or
   * used up) or the peer has no endpoint: the caller sends a copy with
   * `sendToPeer`, which stages it and starts a handshake.
   */
  claimFor(peer: Peer): Uint8Array | null {
    const kp = peer.keypairs.current;
    if (!kp || kp.sendNonce >= REJECT_AFTER_MESSAGES || this.now() - kp.created >= REJECT_AFTER_TIME || !peer.endpoint) return null;
    this.claimed = this.batches.claimTx(peer, peer.endpoint, -1);
    this.claimedPeer = peer;
    return this.claimed;
  }

  /** Seals and queues the plaintext of `len` bytes (<= MTU; 0 = a keepalive) written into the slot `claimFor` returned. */
  commitClaimed(len: number): void {
    const peer = this.claimedPeer!, out = this.claimed!;
    this.claimedPeer = this.claimed = null;
    const kp = peer.keypairs.current!;
    const padded = this.padded(len);
    this.writeHeader(out, kp, len, padded);
    this.batches.setTx(padded, kp.keyIndex, kp.sendNonce);
    this.sent(peer, kp, len, this.now());
  }

  private claimed: Uint8Array | null = null;
  private claimedPeer: Peer | null = null;

  /** The keypair to send with, or null: the packet was staged (a copy; handshake started) or dropped (no endpoint). */
  private sendingKeypair(peer: Peer, pkt: Uint8Array, len: number, t: number): Keypair | null {
    const kp = peer.keypairs.current;
    if (!kp || kp.sendNonce >= REJECT_AFTER_MESSAGES || t - kp.created >= REJECT_AFTER_TIME) {
      if (peer.staged.length >= MAX_STAGED_PACKETS) {
        peer.staged.shift();
        this.drops.staged++;
      }
      peer.staged.push(pkt.slice(0, len));
      this.dev.sendInitiation(peer, false);
      return null;
    }
    if (!peer.endpoint) {
      this.drops.noEndpoint++;
      return null;
    }
    return kp;
  }

  /** Padding to a multiple of 16 bytes, capped by the MTU (whitepaper 5.4.6). */
  private padded(len: number): number {
    return len === 0 ? 0 : Math.min((len + 15) & ~15, Math.max(this.mtu, len));
  }

  /** The transport header in front of the plaintext at 16, and zero padding after it. */
  private writeHeader(out: Uint8Array, kp: Keypair, len: number, padded: number): void {
    writeType(out, MESSAGE_TRANSPORT);
    writeU32(out, TRANSPORT_RECEIVER, kp.remoteIndex);
    writeU64(out, TRANSPORT_COUNTER, kp.sendNonce);
    if (padded !== len) out.fill(0, TRANSPORT_HEADER_SIZE + len, TRANSPORT_HEADER_SIZE + padded);
  }

  /** After a packet took its nonce: send-side timer events and keepKeyFreshSending. */
  private sent(peer: Peer, kp: Keypair, len: number, t: number): void {
    kp.sendNonce++;
    const timers = this.dev.timers;
    timers.anyAuthenticatedPacketTraversal(peer);
    timers.anyAuthenticatedPacketSent(peer);
    if (len > 0) timers.dataSent(peer);
    // keepKeyFreshSending
    if (kp.isInitiator && (kp.sendNonce > REKEY_AFTER_MESSAGES || t - kp.created > REKEY_AFTER_TIME)) this.dev.sendInitiation(peer, false);
  }

  /**
   * Sends a Babel payload to a peer inside the tunnel (babel/tunnel-frame.ts framing).
   * With `stage` false and no session up, the frame is dropped (uncounted) and
   * a handshake is started instead: Babel's periodic Hellos need no queueing.
   */
  sendBabel(peer: Peer, payload: Uint8Array, stage: boolean): void {
    const kp = peer.keypairs.current;
    if (!stage && (!kp || kp.sendNonce >= REJECT_AFTER_MESSAGES || this.now() - kp.created >= REJECT_AFTER_TIME)) {
      if (peer.endpoint) this.dev.sendInitiation(peer, false);
      this.dev.flush();
      return;
    }
    const frame = new Uint8Array(payload.length + BABEL_FRAME_OVERHEAD);
    const n = frameBabel(this.dev.nodeAddress, peer.nodeAddress, payload, frame);
    this.sendToPeer(peer, frame, n);
    this.dev.flush();
  }

  /** Sends the peer's staged packets, else a keepalive (empty transport message). */
  sendKeepalive(peer: Peer): void {
    if (peer.staged.length === 0) this.sendToPeer(peer, EMPTY, 0);
    else this.sendStaged(peer);
  }

  /** Sends the peer's staged packets (after a handshake completed). */
  sendStaged(peer: Peer): void {
    const staged = peer.staged;
    peer.staged = [];
    for (const p of staged) this.sendToPeer(peer, p, p.length);
  }
}
