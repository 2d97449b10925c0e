/**
 * The transport-data receive path of the device (wireguard-go
 * device/receive.go): datagrams a batch at a time -> type dispatch (handshake
 * messages are queued for handshake.ts, cookie replies handled there at once) -> receiver index and age
 * checks -> one `open(n)` call -> replay window, session confirmation,
 * roaming, allowed-IPs check on the source -> TUN `deliver`, and mesh mode's
 * forwarding of packets for another peer (hop.ts), answering the packets it
 * cannot forward with ICMP errors (icmp.ts). Peer table, send path and
 * timers stay in device.ts, send.ts and wireguard/timers.ts; this class reaches
 * them through `ReceiveHost`.
 */
import type { Endpoint } from './links/conn.js';
import { BABEL_FRAME_OVERHEAD, parseBabel } from './babel/tunnel-frame.js';
import { DATAGRAM_FIRST_BYTE } from './mycelium/wg-datagram.js';
import type { DeviceTimers } from './wireguard/timers.js';
import type { Drops } from './drops.js';
import type { Handshakes } from './wireguard/handshake.js';
import type { IndexEntry } from './wireguard/index-entry.js';
import { decrementHop, HOP_EXPIRED, HOP_OK, restoreHop } from './routing/hop.js';
import { VERDICT_FORWARD, VERDICT_LOCAL } from './routing/relay-classifier.js';
import { DropReason, type Classifier } from '../kernels/forward.js';
import { ICMP_NO_ROUTE, ICMP_TIME_EXCEEDED, ICMP_TOO_BIG, type IcmpErrors, type IcmpKind } from './routing/icmp.js';
import type { Keypair } from './wireguard/keypair.js';
import {
  COOKIE_REPLY_SIZE, INITIATION_SIZE, MESSAGE_COOKIE_REPLY, MESSAGE_INITIATION, MESSAGE_RESPONSE, MESSAGE_TRANSPORT,
  RESPONSE_SIZE, TRANSPORT_COUNTER, TRANSPORT_HEADER_SIZE, TRANSPORT_MIN_SIZE, TRANSPORT_OVERHEAD, TRANSPORT_RECEIVER,
  readU32, readU64,
} from './wireguard/messages.js';
import type { Peer } from './wireguard/peer.js';
import type { RouteVia } from './routing/route-via.js';
import type { RouteTable } from './routing/routes.js';
import type { DeviceIO, PacketBatches } from './links/batches.js';
import { KEEPALIVE_TIMEOUT, REJECT_AFTER_MESSAGES, REJECT_AFTER_TIME, REKEY_TIMEOUT } from './wireguard/constants.js';

/** The device state and steps the receive path uses (device.ts provides them, once at construction). */
export interface ReceiveHost {
  readonly io: DeviceIO;
  readonly batches: PacketBatches;
  readonly batchSize: number;
  readonly mtu: number;
  /** This node's overlay address: its whole Mycelium /128 (address.ts). */
  readonly nodeAddress: Uint8Array;
  readonly drops: Drops;
  readonly indexTable: Map<number, IndexEntry>;
  readonly routes: RouteTable<RouteVia>;
  /** Destinations that are this node (mesh forwarding). */
  readonly localDest: RouteTable<true>;
  /** The relay classifier (routing/relay-classifier.ts; `routes` is on its Fibs), or null. */
  readonly classifier: Classifier | null;
  /** ICMP errors about packets forwarding drops (built there, sent from here). */
  readonly icmp: IcmpErrors;
  now(): number;
  log(msg: string): void;
  /** Sends one plaintext to a peer, staging it if no session is up. */
  sendToPeer(peer: Peer, pkt: Uint8Array, len: number): void;
  /** Relays the plaintext opened in receive slot `rxSlot` to a peer, sealed in that slot (send.ts relayToPeer). */
  relayToPeer(peer: Peer, pkt: Uint8Array, len: number, rxSlot: number): void;
  /** Sends the peer's staged packets. */
  sendStaged(peer: Peer): void;
  sendInitiation(peer: Peer, isRetry: boolean): void;
  /** Forgets a keypair: its index now, its key slot after the current batch. */
  releaseKeypair(kp: Keypair | null): void;
  /** Takes `from` as the peer's endpoint (roaming). */
  roam(peer: Peer, from: Endpoint): void;
  /** Reports a peer going down / coming back once per change (onPeerState). */
  peerState(peer: Peer, up: boolean): void;
  /** The only writer of peer timers (wireguard/timers.ts): this path reports its timer events there. */
  readonly timers: DeviceTimers;
  /** Sends what the batches hold (transport and control). */
  flush(): void;
}

/**
 * Datagrams in, plaintext out to the TUN, for one device. Nothing from the
 * network throws: refused datagrams are counted in `drops` by reason.
 */
export class Receiver {
  /** Device.onBabelPacket: Babel payloads from tfw peers; unset = Babel frames go to the TUN. */
  onBabelPacket: ((peer: Peer, payload: Uint8Array) => void) | null = null;
  /**
   * Device.mycelium.onMyceliumFrame: Mycelium datagram frames (mycelium/wg-datagram.ts:
   * plaintext starting 0x01) from tfw peers, with the plaintext, its length and
   * its receive slot (for a relay from the slot). Unset: such plaintexts are
   * malformed (not IP).
   */
  onMyceliumFrame: ((peer: Peer, pkt: Uint8Array, len: number, slot: number) => void) | null = null;
  /** Device.forwarding: mesh forwarding inside the router. */
  forwarding = false;
  /**
   * The relay classifier (routing/relay-classifier.ts): forwarded packets of
   * a batch are classified in one call where they lie; null = per-packet
   * lookups (forward()). The device turns it off when its local set is full.
   */
  classifier: Classifier | null;
  // Classifier batch: descriptors (offset into the receive pool's memory, length), verdicts, and per packet its slot.
  private readonly fwdPool: Uint8Array;
  private readonly fwdDesc: Uint32Array;
  private readonly fwdVerdicts: Uint32Array;
  private readonly fwdSlot: Int32Array;
  private fwdCount = 0;
  // Hot-path state, held directly.
  private readonly io: DeviceIO;
  private readonly batches: PacketBatches;
  private readonly batchSize: number;
  private readonly mtu: number;
  private readonly nodeAddress: Uint8Array;
  private readonly drops: Drops;
  private readonly indexTable: Map<number, IndexEntry>;
  private readonly routes: RouteTable<RouteVia>;
  private readonly localDest: RouteTable<true>;
  private readonly icmp: IcmpErrors;
  /** One-packet delivery of an ICMP error to this node's own TUN. */
  private readonly icmpDeliver: Uint8Array[];
  private readonly icmpDeliverSize = new Int32Array(1);
  private readonly handshakes: Handshakes;
  private readonly now: () => number;
  private readonly log: (msg: string) => void;

  /** `handshakes`: where handshake messages and cookie replies go. */
  constructor(private readonly dev: ReceiveHost, handshakes: Handshakes) {
    this.io = dev.io;
    this.batches = dev.batches;
    this.batchSize = dev.batchSize;
    this.mtu = dev.mtu;
    this.nodeAddress = dev.nodeAddress;
    this.drops = dev.drops;
    this.indexTable = dev.indexTable;
    this.routes = dev.routes;
    this.localDest = dev.localDest;
    this.icmp = dev.icmp;
    this.icmpDeliver = [dev.icmp.buf];
    this.classifier = dev.classifier;
    const slots = dev.batches.rxBufs;
    this.fwdPool = new Uint8Array(slots[0].buffer);
    this.fwdDesc = new Uint32Array(2 * slots.length);
    this.fwdVerdicts = new Uint32Array(2 * slots.length);
    this.fwdSlot = new Int32Array(slots.length);
    this.handshakes = handshakes;
    this.now = dev.now;
    this.log = dev.log;
  }

  /**
   * Handles `count` datagrams bufs[i][0..sizes[i]) received from eps[i].
   * Zero-copy when `bufs` are `receiveBuffers()`; other buffers are copied in.
   * Transport messages are opened in one pool call per batch. Never throws on bad input.
   */
  receive(bufs: Uint8Array[], sizes: ArrayLike<number>, eps: ArrayLike<Endpoint>, count: number): void {
    for (let base = 0; base < count; base += this.batchSize) {
      const n = Math.min(this.batchSize, count - base);
      this.batches.rxEntries = 0;
      for (let i = 0; i < n; i++) {
        const len = sizes[base + i];
        const slot = this.batches.rxBufs[i];
        try {
          if (len < 0 || len > slot.length) {
            this.drops.oversized++;
            continue;
          }
          if (bufs[base + i] !== slot) slot.set(bufs[base + i].subarray(0, len));
          this.receiveDatagram(i, slot, len, eps[base + i]);
        } catch (err) {
          this.drops.malformed++;
          this.log(`dropped a datagram: ${(err as Error).message}`);
        }
      }
      this.openEntries(eps, base);
    }
    this.dev.flush();
  }

  private receiveDatagram(slotIndex: number, buf: Uint8Array, len: number, from: Endpoint): void {
    const type = len >= 4 ? readU32(buf, 0) : 0;
    if (type === MESSAGE_TRANSPORT && len >= TRANSPORT_MIN_SIZE) this.queueTransport(slotIndex, buf, len);
    else if ((type === MESSAGE_INITIATION && len === INITIATION_SIZE) || (type === MESSAGE_RESPONSE && len === RESPONSE_SIZE)) this.handshakes.enqueue(buf, len, from);
    else if (type === MESSAGE_COOKIE_REPLY && len === COOKIE_REPLY_SIZE) this.handshakes.receiveCookieReply(buf.subarray(0, len));
    else this.drops.malformed++;
  }

  /** Phase 1: checks the index and age, and queues the message for the batch open. */
  private queueTransport(slotIndex: number, buf: Uint8Array, len: number): void {
    const entry = this.indexTable.get(readU32(buf, TRANSPORT_RECEIVER));
    const kp = entry?.keypair;
    if (!entry || !kp || kp.keyIndex < 0) {
      this.drops.unknownIndex++;
      return;
    }
    if (this.now() - kp.created >= REJECT_AFTER_TIME) {
      this.drops.expired++;
      return;
    }
    // A counter past 2^53 (never reached by a real sender) is opened with its exact
    // 64-bit nonce all the same: garbage then counts as `auth`, and an authentic
    // one as `replay` (past the reject limit), in wireguard-go's order.
    let counter: number | bigint = readU64(buf, TRANSPORT_COUNTER);
    if (counter > Number.MAX_SAFE_INTEGER) counter = (BigInt(readU32(buf, TRANSPORT_COUNTER + 4)) << 32n) | BigInt(readU32(buf, TRANSPORT_COUNTER));
    this.batches.queueOpen(slotIndex, len - TRANSPORT_HEADER_SIZE, kp, entry.peer, counter);
  }

  /** Phase 2: opens the queued messages in one call, then replay check, session confirmation, roaming, timers, delivery. */
  private openEntries(eps: ArrayLike<Endpoint>, base: number): void {
    const b = this.batches;
    const n = b.rxEntries;
    if (!n) return;
    const status = b.rxPool.open(n);
    const lengths = b.rxPool.lengths;
    const t = this.now();
    let out = 0;
    for (let e = 0; e < n; e++) {
      const kp = b.rxEntryKeypair[e]!;
      const peer = b.rxEntryPeer[e]!;
      b.rxEntryKeypair[e] = null;
      b.rxEntryPeer[e] = null;
      if (status[e] !== 0) {
        this.drops.auth++;
        continue;
      }
      if (!kp.replay.validate(b.rxEntryCounter[e], Math.min(REJECT_AFTER_MESSAGES, Number.MAX_SAFE_INTEGER))) {
        this.drops.replay++;
        continue;
      }
      const slot = b.rxEntrySlot[e];
      const plen = lengths[e];
      const kps = peer.keypairs;
      if (kp === kps.next) {
        // First packet with the responder's new keypair: it becomes current.
        this.dev.releaseKeypair(kps.previous);
        kps.previous = kps.current;
        kps.current = kp;
        kps.next = null;
        this.dev.timers.handshakeComplete(peer);
        if (peer.staged.length) this.dev.sendStaged(peer);
      }
      this.dev.roam(peer, eps[base + slot]);
      // keepKeyFreshReceiving
      if (kp === kps.current && kp.isInitiator && !peer.timers.sentLastMinuteHandshake && t - kp.created > REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT) {
        this.dev.timers.lastMinuteHandshakeSent(peer);
        this.dev.sendInitiation(peer, false);
      }
      this.dev.timers.anyAuthenticatedPacketReceived(peer);
      this.dev.timers.anyAuthenticatedPacketTraversal(peer);
      peer.rxBytes += plen + TRANSPORT_OVERHEAD;
      if (plen === 0) continue; // keepalive
      this.dev.timers.dataReceived(peer);
      const size = this.acceptPlaintext(peer, b.rxPayloads[slot], plen, slot);
      if (size > 0) {
        b.deliverBufs[out] = b.rxPayloads[slot];
        b.deliverSizes[out++] = size;
      }
    }
    b.rxEntries = 0;
    if (this.fwdCount) out = this.classifyForwards(out);
    if (out) this.io.deliver(b.deliverBufs, b.deliverSizes, out);
    // Relays reuse the pool's entries: sealed and sent before the next batch is queued for open.
    b.flushRelay();
  }

  /** Checks a decrypted packet (in receive slot `slot`); returns its IP length to deliver, or 0 (consumed or dropped). */
  private acceptPlaintext(peer: Peer, pkt: Uint8Array, n: number, slot: number): number {
    if (pkt[0] === DATAGRAM_FIRST_BYTE && this.onMyceliumFrame) {
      try {
        this.onMyceliumFrame(peer, pkt, n, slot);
      } catch (err) {
        this.drops.malformed++;
        this.log(`dropped a Mycelium frame: ${(err as Error).message}`);
      }
      return 0;
    }
    const version = pkt[0] >> 4;
    let size: number;
    let via: RouteVia | undefined;
    if (version === 4 && n >= 20) {
      size = (pkt[2] << 8) | pkt[3];
      via = this.routes.lookup(pkt, 12, 4);
    } else if (version === 6 && n >= 40) {
      size = 40 + ((pkt[4] << 8) | pkt[5]);
      if (this.onBabelPacket && size <= n) {
        const m = parseBabel(pkt, size, peer.nodeAddress, this.nodeAddress);
        if (m >= 0) {
          this.onBabelPacket(peer, pkt.slice(BABEL_FRAME_OVERHEAD, BABEL_FRAME_OVERHEAD + m));
          return 0;
        }
      }
      via = this.routes.lookup(pkt, 8, 16);
    } else {
      this.drops.malformed++;
      return 0;
    }
    if (size > n || size < 20) {
      this.drops.malformed++;
      return 0;
    }
    // Cryptokey routing: the source must be routed to this very peer. A mesh
    // neighbour also relays packets from sources the mesh routes (Babel routes,
    // metric > 0, or another mesh router's prefixes): loose reverse-path check
    // (RFC 3704 section 2.4), as routes through a mesh need not be symmetric.
    if (!via || (via.peer !== peer && !(peer.meshNeighbour && (via.metric > 0 || via.peer.meshNeighbour)))) {
      this.drops.allowedIPs++;
      return 0;
    }
    if (this.forwarding) {
      if (!this.classifier) return this.forward(pkt, size, version === 4, slot);
      const k = this.fwdCount++;
      this.fwdDesc[2 * k] = pkt.byteOffset;
      this.fwdDesc[2 * k + 1] = size;
      this.fwdSlot[k] = slot;
      return 0;
    }
    return size;
  }

  /**
   * Mesh forwarding of the batch's checked packets in one classifier call
   * (routing/relay-classifier.ts), with forward()'s outcomes: local
   * destinations and unrouted ones outside 400::/7 are appended to the TUN
   * delivery from `out` (returns the new count); forwarded ones are relayed
   * from their slot; expired, unrouted 400::/7 and too-big ones are answered
   * with an ICMP error; bad headers count as malformed.
   */
  private classifyForwards(out: number): number {
    const n = this.fwdCount;
    this.fwdCount = 0;
    this.classifier!.classifyIn(this.fwdPool, this.fwdDesc, n, this.fwdVerdicts);
    const b = this.batches, v = this.fwdVerdicts;
    for (let k = 0; k < n; k++) {
      const slot = this.fwdSlot[k], size = this.fwdDesc[2 * k + 1];
      const pkt = b.rxPayloads[slot];
      const w0 = v[2 * k], action = w0 & 0xff, reason = (w0 >>> 8) & 0xff, v4 = pkt[0] >> 4 === 4;
      if (action === VERDICT_LOCAL) {
        b.deliverBufs[out] = pkt;
        b.deliverSizes[out++] = size;
      } else if (action === VERDICT_FORWARD) {
        const via = this.routes.valueOf(v[2 * k + 1] & 0xffff);
        if (size > this.mtu || !via) {
          restoreHop(pkt);
          if (!via) this.drops.noRoute++;
          else {
            this.drops.oversized++;
            this.icmpError(ICMP_TOO_BIG, pkt, size, v4);
          }
        } else this.dev.relayToPeer(via.peer, pkt, size, slot);
      } else if (reason === DropReason.TTL_EXPIRED) {
        this.drops.ttl++;
        this.icmpError(ICMP_TIME_EXCEEDED, pkt, size, v4);
      } else if (reason === DropReason.NO_ROUTE) {
        if (this.toKernelIfUnrouted(pkt, size, v4)) {
          b.deliverBufs[out] = pkt;
          b.deliverSizes[out++] = size;
        }
      } else this.drops.malformed++;
    }
    return out;
  }

  /**
   * A relayed packet no route covers (both forwarding paths): a 400::/7
   * destination is the mesh's and is dropped (noRoute) with an ICMPv6 "no
   * route" error; any other goes to the TUN for the kernel (true).
   */
  private toKernelIfUnrouted(pkt: Uint8Array, size: number, v4: boolean): boolean {
    if (v4 || (pkt[24] & 0xfe) !== 0x04) return true;
    this.drops.noRoute++;
    this.icmpError(ICMP_NO_ROUTE, pkt, size, v4);
    return false;
  }

  /**
   * Mesh forwarding of a checked packet: local destinations (setLocal) go to
   * the TUN; destinations routed to a peer are sent to it after the hop
   * (TTL / hop limit) decrement; other 400::/7 destinations are dropped
   * (noRoute); the rest goes to the TUN for the kernel. Expired, unrouted and
   * too-big packets are answered with an ICMP error (icmpError). A forwarded
   * packet is sealed for the next hop in its receive slot `slot` and sent from
   * there (send.ts relayToPeer). Returns the length to deliver to the TUN, or 0.
   */
  private forward(pkt: Uint8Array, size: number, v4: boolean, slot: number): number {
    const off = v4 ? 16 : 24, alen = v4 ? 4 : 16;
    if (this.localDest.lookup(pkt, off, alen)) return size;
    const via = this.routes.lookup(pkt, off, alen);
    if (!via) return this.toKernelIfUnrouted(pkt, size, v4) ? size : 0;
    if (size > this.mtu) {
      this.drops.oversized++;
      this.icmpError(ICMP_TOO_BIG, pkt, size, v4);
      return 0;
    }
    const r = decrementHop(pkt, size);
    if (r !== HOP_OK) {
      if (r === HOP_EXPIRED) {
        this.drops.ttl++;
        this.icmpError(ICMP_TIME_EXCEEDED, pkt, size, v4);
      } else this.drops.malformed++;
      return 0;
    }
    this.dev.relayToPeer(via.peer, pkt, size, slot);
    return 0;
  }

  /**
   * Answers a packet forward() dropped with an ICMP error (icmp.ts decides
   * whether one may go, and rate-limits), sent back the way a packet to the
   * invoking packet's source goes: to this node's TUN when that source is
   * local, else to the peer its route names. An error with no way back counts
   * as noRoute.
   */
  private icmpError(kind: IcmpKind, pkt: Uint8Array, size: number, v4: boolean): void {
    const n = this.icmp.build(kind, pkt, size);
    if (!n) return;
    const e = this.icmp.buf;
    const off = v4 ? 16 : 24, alen = v4 ? 4 : 16;
    if (this.localDest.lookup(e, off, alen)) {
      this.icmpDeliverSize[0] = n;
      this.io.deliver(this.icmpDeliver, this.icmpDeliverSize, 1);
    } else {
      const via = this.routes.lookup(e, off, alen);
      if (!via) {
        this.drops.noRoute++;
        return;
      }
      this.dev.sendToPeer(via.peer, e, n);
    }
    this.drops.icmpSent++;
  }
}
