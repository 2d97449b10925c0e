/**
 * The WireGuard device (wireguard-go device/device.go, send.go, receive.go,
 * timers.go): the peer table, cryptokey routing (routes.ts), the receive path
 * (transport data; handshake messages and cookie replies are handed to
 * handshake.ts) and the send path, all
 * batch-in / batch-out over caller-provided I/O, with time injected so tests
 * drive the timers. Nothing from the network throws out of `receive`: every
 * bad datagram is counted in `drops` by reason.
 */
import { formatCidr, maskCidr, parseCidr } from '../config/ip.js';
import { Endpoint } from './conn.js';
import type { PeerConfig } from '../config/schema.js';
import { overlayAddressBytes } from './address.js';
import { BABEL_FRAME_OVERHEAD, frameBabel, parseBabel } from './babel-link.js';
import { decrementHop, HOP_EXPIRED, HOP_OK } from './hop.js';
import { Keypair } from './keypair.js';
import { publicKeyFromPrivate, toBase64 } from './keys.js';
import { Handshakes, type IndexEntry } from './handshake.js';
import {
  COOKIE_REPLY_SIZE, INITIATION_SIZE, MESSAGE_COOKIE_REPLY, MESSAGE_INITIATION, MESSAGE_RESPONSE, MESSAGE_TRANSPORT,
  RESPONSE_SIZE, TRANSPORT_COUNTER, TRANSPORT_HEADER_SIZE, TRANSPORT_MIN_SIZE, TRANSPORT_OVERHEAD, TRANSPORT_RECEIVER,
  readU32, readU64, writeType, writeU32, writeU64,
} from './messages.js';
import type { LocalStatic } from './noise.js';
import { Peer } from './peer.js';
import { RouteTable } from './routes.js';
import { PacketBatches, type DeviceIO } from './batches.js';
import {
  KEEPALIVE_TIMEOUT, MAX_STAGED_PACKETS, MAX_TIMER_HANDSHAKES, REJECT_AFTER_MESSAGES, REJECT_AFTER_TIME, REKEY_AFTER_MESSAGES,
  REKEY_AFTER_TIME, REKEY_TIMEOUT, jitter,
} from './timers.js';

export type { DeviceIO } from './batches.js';

export interface DeviceOptions {
  privateKey: Uint8Array;
  mtu?: number;
  io: DeviceIO;
  now?: () => number;
  log?: (msg: string) => void;
  /** Packets per output batch (default 64). */
  batchSize?: number;
  /** Force cookie replies to every handshake without a valid mac2 (tests). */
  forceUnderLoad?: boolean;
  /** Key slots in the AEAD pools (3 per peer at most, plus a few in flight; default 4096). */
  maxKeypairs?: number;
}

/** Drop counters by reason (the `drops` object of GET /status). */
export interface Drops {
  replay: number;
  auth: number;
  malformed: number;
  noRoute: number;
  allowedIPs: number;
  unknownIndex: number;
  expired: number;
  handshake: number;
  mac: number;
  noEndpoint: number;
  staged: number;
  oversized: number;
  /** Forwarded packets whose TTL / hop limit ran out (mesh forwarding). */
  ttl: number;
}

/** A route's target: a peer and Babel metric (0 = static allowed IP). */
export interface RouteVia {
  peer: Peer;
  metric: number;
}

/** The /64 prefix bytes (16, host part zero) of a node address. */
const overlaySubnetBytes = (nodeAddress: Uint8Array): Uint8Array => {
  const b = nodeAddress.slice();
  b.fill(0, 8);
  return b;
};

const EMPTY = new Uint8Array(0);

export class Device {
  readonly local: LocalStatic;
  readonly publicKeyB64: string;
  /** This node's overlay address prefix::1 (address.ts). */
  readonly nodeAddress: Uint8Array;
  readonly peers = new Map<string, Peer>();
  readonly routes = new RouteTable<RouteVia>();
  readonly drops: Drops = { replay: 0, auth: 0, malformed: 0, noRoute: 0, allowedIPs: 0, unknownIndex: 0, expired: 0, handshake: 0, mac: 0, noEndpoint: 0, staged: 0, oversized: 0, ttl: 0 };
  /** Called with Babel payloads from tfw peers (babel-link.ts framing); unset = Babel frames go to the TUN. */
  onBabelPacket: ((peer: Peer, payload: Uint8Array) => void) | null = null;
  /**
   * Called when WireGuard declares a peer unreachable (`up` false: an
   * initiation went unanswered for REKEY_TIMEOUT with nothing received
   * meanwhile, or data went unanswered for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT)
   * and when it is back (`up` true: a completed handshake or an authenticated
   * packet after that). Mesh mode feeds it to Babel's linkDown / linkUp.
   */
  onPeerState: ((peer: Peer, up: boolean) => void) | null = null;
  /**
   * Mesh mode: packets from one peer routed to another are forwarded inside
   * the router (hop.ts) instead of going through the kernel. Off by default,
   * as a stock WireGuard interface does not forward either.
   */
  forwarding = false;
  /** Destinations that are this node (mesh forwarding): the node /64 and the interface addresses. */
  private readonly localDest = new RouteTable<true>({ trie: true });
  private mesh = false;

  private readonly io: DeviceIO;
  private readonly now: () => number;
  private readonly log: (msg: string) => void;
  readonly mtu: number;
  private readonly indexTable = new Map<number, IndexEntry>();
  private readonly handshakes: Handshakes;
  private readonly batches: PacketBatches;
  private readonly batchSize: number;
  // Batch route lookups on the send path.
  private readonly sendKind: Int32Array;
  private readonly dst4: Uint8Array;
  private readonly dst6: Uint8Array;
  private readonly hops4: Int32Array;
  private readonly hops6: Int32Array;

  constructor(opts: DeviceOptions) {
    this.local = { privateKey: opts.privateKey, publicKey: publicKeyFromPrivate(opts.privateKey) };
    this.publicKeyB64 = toBase64(this.local.publicKey);
    this.nodeAddress = overlayAddressBytes(this.local.publicKey);
    this.io = opts.io;
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? (() => {});
    this.mtu = opts.mtu ?? 1420;
    // The handshake side reaches the device's state and steps through this host (handshake.ts).
    const dev = this;
    this.handshakes = new Handshakes({
      local: this.local, peers: this.peers, drops: this.drops, indexTable: this.indexTable, now: this.now,
      get mesh() {
        return dev.mesh;
      },
      queueDatagram: (msg, ep) => this.queueDatagram(msg, ep),
      installKeypair: (kp, peer) => this.installKeypair(kp, peer),
      releaseKeypair: (kp) => this.releaseKeypair(kp),
      roam: (peer, from) => this.roam(peer, from),
      timersHandshakeComplete: (peer) => this.timersHandshakeComplete(peer),
      timersAnyAuthenticatedPacketTraversal: (peer) => this.timersAnyAuthenticatedPacketTraversal(peer),
      sendKeepalive: (peer) => this.sendKeepalive(peer),
    }, opts.forceUnderLoad ?? false);
    this.batchSize = opts.batchSize ?? 64;
    const n = this.batchSize;
    this.batches = new PacketBatches(opts.io, n, this.mtu, opts.maxKeypairs ?? 4096);
    this.sendKind = new Int32Array(n);
    this.dst4 = new Uint8Array(n * 4);
    this.dst6 = new Uint8Array(n * 16);
    this.hops4 = new Int32Array(n);
    this.hops6 = new Int32Array(n);
  }

  // ---- peers and routes -------------------------------------------------

  /**
   * Makes the peer set equal to `configs`: new peers are added, removed ones
   * dropped (with their sessions), kept ones keep their sessions and take the
   * new endpoint / allowed IPs / keepalive (SIGHUP reload).
   */
  setPeers(configs: PeerConfig[], mesh = false): void {
    this.mesh = mesh;
    const want = new Set(configs.map((c) => c.publicKey));
    for (const [key, peer] of this.peers) if (!want.has(key)) this.removePeer(peer);
    for (const cfg of configs) {
      let peer = this.peers.get(cfg.publicKey);
      if (peer) peer.applyConfig(cfg);
      else {
        peer = new Peer(this.local, cfg, this.now);
        this.peers.set(cfg.publicKey, peer);
      }
      const p = peer;
      this.routes.deleteWhere((v) => v.peer === p && v.metric === 0);
      for (const a of cfg.allowedIPs) this.routes.insert(parseCidr(a)!, { peer, metric: 0 });
      if (mesh) this.routes.insert({ bytes: peer.nodeAddress, bits: 64 }, { peer, metric: 0 });
      if (peer.persistentKeepalive && !peer.timers.persistentKeepalive) peer.timers.persistentKeepalive = this.now();
    }
  }

  private removePeer(peer: Peer): void {
    this.routes.deleteWhere((v) => v.peer === peer);
    const kps = peer.keypairs;
    for (const k of [kps.previous, kps.current, kps.next]) this.releaseKeypair(k);
    kps.previous = kps.current = kps.next = null;
    for (const [idx, e] of this.indexTable) if (e.peer === peer) this.indexTable.delete(idx);
    this.peers.delete(peer.publicKeyB64);
  }

  /** Installs a route learned by Babel (`metric` > 0) through a peer. */
  setRoute(prefix: string, peerKey: string, metric: number): void {
    const c = parseCidr(prefix);
    const peer = this.peers.get(peerKey);
    if (!c || !peer) throw new RangeError(`route: expected a CIDR and a known peer, got ${prefix} via ${peerKey}`);
    this.routes.insert(c, { peer, metric: Math.max(1, metric) });
  }

  /**
   * Removes a Babel route. When the prefix is also a static one (a peer's
   * allowed IP, or a peer's /64 in mesh mode) that static route comes back.
   */
  deleteRoute(prefix: string): void {
    const c = parseCidr(prefix);
    if (!c) return;
    this.routes.delete(c);
    const key = formatCidr(maskCidr(c));
    for (const peer of this.peers.values()) {
      const mine = (this.mesh && key === formatCidr({ bytes: overlaySubnetBytes(peer.nodeAddress), bits: 64 })) ||
        peer.allowedIPs.some((a) => formatCidr(maskCidr(parseCidr(a)!)) === key);
      if (mine) {
        this.routes.insert(c, { peer, metric: 0 });
        return;
      }
    }
  }

  /**
   * Sets the destinations delivered to this node's TUN when forwarding: the
   * node /64 plus each interface address (as a host route). Throws RangeError
   * for a malformed CIDR.
   */
  setLocal(addresses: string[]): void {
    for (const e of this.localDest.entries()) this.localDest.delete(parseCidr(e.prefix)!);
    this.localDest.insert({ bytes: overlaySubnetBytes(this.nodeAddress), bits: 64 }, true);
    for (const a of addresses) {
      const c = parseCidr(a);
      if (!c) throw new RangeError(`address: expected a CIDR, got ${a}`);
      this.localDest.insert({ bytes: c.bytes, bits: c.bytes.length * 8 }, true);
    }
  }

  // ---- send path (TUN -> peers) ----------------------------------------

  /**
   * Encrypts and sends `count` IP packets read from the TUN: destinations are
   * looked up a batch at a time (routes.ts), sealed a batch at a time (seal.ts).
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
          this.drops.noRoute++;
          continue;
        }
        this.sendToPeer(via.peer, bufs[base + i], len);
      }
    }
    this.flush();
  }

  /** Sends one plaintext (0 bytes = keepalive) to a peer, staging it if no session is up. */
  private sendToPeer(peer: Peer, pkt: Uint8Array, len: number): void {
    const kp = peer.keypairs.current;
    const t = this.now();
    if (!kp || kp.sendNonce >= REJECT_AFTER_MESSAGES || t - kp.created >= REJECT_AFTER_TIME) {
      if (peer.staged.length >= MAX_STAGED_PACKETS) {
        peer.staged.shift();
        this.drops.staged++;
      }
      peer.staged.push(pkt.slice(0, len));
      this.sendInitiation(peer, false);
      return;
    }
    if (!peer.endpoint) {
      this.drops.noEndpoint++;
      return;
    }
    // Padding to a multiple of 16 bytes, capped by the MTU (whitepaper 5.4.6).
    const padded = len === 0 ? 0 : Math.min((len + 15) & ~15, Math.max(this.mtu, len));
    const b = this.batches;
    const j = b.claimTx(peer, peer.endpoint);
    const out = b.txBufs[j];
    writeType(out, MESSAGE_TRANSPORT);
    writeU32(out, TRANSPORT_RECEIVER, kp.remoteIndex);
    writeU64(out, TRANSPORT_COUNTER, kp.sendNonce);
    if (len) out.set(pkt.subarray(0, len), TRANSPORT_HEADER_SIZE);
    if (padded !== len) out.fill(0, TRANSPORT_HEADER_SIZE + len, TRANSPORT_HEADER_SIZE + padded);
    b.txPool.setPacket(j, j, padded, kp.keyIndex, kp.sendNonce, TRANSPORT_HEADER_SIZE);
    kp.sendNonce++;
    this.timersAnyAuthenticatedPacketTraversal(peer);
    peer.timers.sendKeepalive = 0; // any authenticated packet sent
    if (len > 0 && !peer.timers.newHandshake) peer.timers.newHandshake = t + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter();
    // keepKeyFreshSending
    if (kp.isInitiator && (kp.sendNonce > REKEY_AFTER_MESSAGES || t - kp.created > REKEY_AFTER_TIME)) this.sendInitiation(peer, false);
  }

  private queueDatagram(msg: Uint8Array, ep: Endpoint): void {
    this.batches.queueControl(msg, ep);
  }

  private flush(): void {
    this.batches.flush();
  }

  /** Gives a new keypair its key slot in both pools and its index; false when no slot is free. */
  private installKeypair(kp: Keypair, peer: Peer): boolean {
    if (!this.batches.installKeys(kp)) {
      this.log('no free AEAD key slot: handshake dropped (raise maxKeypairs)');
      return false;
    }
    this.indexTable.set(kp.localIndex, { peer, keypair: kp });
    return true;
  }

  /** Forgets a keypair: its index now, its key slot after the current batch. */
  private releaseKeypair(kp: Keypair | null): void {
    if (!kp) return;
    this.indexTable.delete(kp.localIndex);
    this.batches.releaseKeys(kp);
  }

  /** Which transport AEAD runs ('wasm-simd', 'native', 'node:crypto'...) and which route lookup ('fib' or 'trie'). */
  get engines(): { aead: string; routes: string } {
    return { aead: this.batches.txPool.backend, routes: this.routes.engine };
  }

  /** The receive slots (views of the AEAD pool): pass them to recvBatch so datagrams are opened where they land. */
  receiveBuffers(): Uint8Array[] {
    return this.batches.rxBufs;
  }

  /**
   * Sends a Babel payload to a peer inside the tunnel (babel-link.ts framing).
   * With `stage` false and no session up, the frame is dropped (uncounted) and
   * a handshake is started instead: Babel's periodic Hellos need no queueing.
   */
  sendBabel(peer: Peer, payload: Uint8Array, stage = true): void {
    const kp = peer.keypairs.current;
    if (!stage && (!kp || kp.sendNonce >= REJECT_AFTER_MESSAGES || this.now() - kp.created >= REJECT_AFTER_TIME)) {
      if (peer.endpoint) this.sendInitiation(peer, false);
      this.flush();
      return;
    }
    const frame = new Uint8Array(payload.length + BABEL_FRAME_OVERHEAD);
    const n = frameBabel(this.nodeAddress, peer.nodeAddress, payload, frame);
    this.sendToPeer(peer, frame, n);
    this.flush();
  }

  /** Sends a keepalive (empty transport message) to a peer now. */
  sendKeepalive(peer: Peer): void {
    if (peer.staged.length === 0) this.sendToPeer(peer, EMPTY, 0);
    else this.sendStaged(peer);
  }

  private sendStaged(peer: Peer): void {
    const staged = peer.staged;
    peer.staged = [];
    for (const p of staged) this.sendToPeer(peer, p, p.length);
  }

  // ---- handshake (handshake.ts) ------------------------------------------

  /** Sends a handshake initiation to `peer` unless one went out less than REKEY_TIMEOUT ago. */
  sendInitiation(peer: Peer, isRetry: boolean): void {
    this.handshakes.sendInitiation(peer, isRetry);
  }

  private timersHandshakeComplete(peer: Peer): void {
    peer.timers.retransmitHandshake = 0;
    peer.timers.handshakeAttempts = 0;
    peer.timers.sentLastMinuteHandshake = false;
    peer.lastHandshake = this.now();
    peer.lastReceived = this.now();
    this.peerState(peer, true);
  }

  /** Reports a peer going down / coming back once per change (onPeerState). */
  private peerState(peer: Peer, up: boolean): void {
    if (peer.down === !up) return;
    peer.down = !up;
    if (!up) this.log(`peer ${peer.publicKeyB64} unreachable`);
    try {
      this.onPeerState?.(peer, up);
    } catch (err) {
      this.log(`peer state hook: ${(err as Error).message}`);
    }
  }

  private timersAnyAuthenticatedPacketTraversal(peer: Peer): void {
    if (peer.persistentKeepalive) peer.timers.persistentKeepalive = this.now() + peer.persistentKeepalive * 1000;
  }

  private roam(peer: Peer, from: Endpoint): void {
    if (!peer.endpoint) peer.endpoint = new Endpoint().set(from);
    else if (!peer.endpoint.equals(from)) peer.endpoint.set(from);
  }

  // ---- receive path (UDP -> TUN) ----------------------------------------

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
    this.flush();
  }

  private receiveDatagram(slotIndex: number, buf: Uint8Array, len: number, from: Endpoint): void {
    const type = len >= 4 ? readU32(buf, 0) : 0;
    if (type === MESSAGE_TRANSPORT && len >= TRANSPORT_MIN_SIZE) this.queueTransport(slotIndex, buf, len);
    else if (type === MESSAGE_INITIATION && len === INITIATION_SIZE) this.handshakes.receiveInitiation(buf.slice(0, len), from);
    else if (type === MESSAGE_RESPONSE && len === RESPONSE_SIZE) this.handshakes.receiveResponse(buf.slice(0, len), from);
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
    const counter = readU64(buf, TRANSPORT_COUNTER);
    if (counter > Number.MAX_SAFE_INTEGER) {
      this.drops.replay++;
      return;
    }
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
        this.releaseKeypair(kps.previous);
        kps.previous = kps.current;
        kps.current = kp;
        kps.next = null;
        this.timersHandshakeComplete(peer);
        if (peer.staged.length) this.sendStaged(peer);
      }
      this.roam(peer, eps[base + slot]);
      // keepKeyFreshReceiving
      if (kp === kps.current && kp.isInitiator && !peer.timers.sentLastMinuteHandshake && t - kp.created > REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT) {
        peer.timers.sentLastMinuteHandshake = true;
        this.sendInitiation(peer, false);
      }
      peer.timers.newHandshake = 0;
      peer.lastReceived = t;
      if (peer.down) this.peerState(peer, true);
      this.timersAnyAuthenticatedPacketTraversal(peer);
      peer.rxBytes += plen + TRANSPORT_OVERHEAD;
      if (plen === 0) continue; // keepalive
      if (!peer.timers.sendKeepalive) peer.timers.sendKeepalive = t + KEEPALIVE_TIMEOUT;
      else peer.timers.keepaliveAgain = true;
      const size = this.acceptPlaintext(peer, b.rxPayloads[slot], plen);
      if (size > 0) {
        b.deliverBufs[out] = b.rxPayloads[slot];
        b.deliverSizes[out++] = size;
      }
    }
    b.rxEntries = 0;
    if (out) this.io.deliver(b.deliverBufs, b.deliverSizes, out);
  }

  /** Checks a decrypted packet; returns its IP length to deliver, or 0 (consumed or dropped). */
  private acceptPlaintext(peer: Peer, pkt: Uint8Array, n: number): number {
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
    if (this.forwarding) return this.forward(pkt, size, version === 4);
    return size;
  }

  /**
   * Mesh forwarding of a checked packet: local destinations (setLocal) go to
   * the TUN; destinations routed to a peer are sent to it after the hop
   * (TTL / hop limit) decrement; other 400::/7 destinations are dropped
   * (noRoute); the rest goes to the TUN for the kernel. Returns the length to
   * deliver to the TUN, or 0.
   */
  private forward(pkt: Uint8Array, size: number, v4: boolean): number {
    const off = v4 ? 16 : 24, alen = v4 ? 4 : 16;
    if (this.localDest.lookup(pkt, off, alen)) return size;
    const via = this.routes.lookup(pkt, off, alen);
    if (!via) {
      if (!v4 && (pkt[24] & 0xfe) === 0x04) {
        this.drops.noRoute++;
        return 0;
      }
      return size;
    }
    if (size > this.mtu) {
      this.drops.oversized++;
      return 0;
    }
    const r = decrementHop(pkt, size);
    if (r !== HOP_OK) {
      if (r === HOP_EXPIRED) this.drops.ttl++;
      else this.drops.malformed++;
      return 0;
    }
    this.sendToPeer(via.peer, pkt, size);
    return 0;
  }

  // ---- timers (whitepaper section 6) ------------------------------------

  /** Fires due timers for every peer; call every ~100-250 ms. */
  tick(): void {
    const t = this.now();
    for (const peer of this.peers.values()) {
      const tm = peer.timers;
      if (tm.retransmitHandshake && t >= tm.retransmitHandshake) {
        tm.retransmitHandshake = 0;
        if (peer.lastReceived && t - peer.lastReceived >= REKEY_TIMEOUT) this.peerState(peer, false);
        if (tm.handshakeAttempts >= MAX_TIMER_HANDSHAKES) {
          this.drops.staged += peer.staged.length;
          peer.staged = [];
          if (!tm.zeroKeyMaterial) tm.zeroKeyMaterial = t + REJECT_AFTER_TIME * 3;
        } else {
          tm.handshakeAttempts++;
          this.sendInitiation(peer, true);
        }
      }
      if (tm.sendKeepalive && t >= tm.sendKeepalive) {
        tm.sendKeepalive = 0;
        this.sendKeepalive(peer);
        if (tm.keepaliveAgain) {
          tm.keepaliveAgain = false;
          tm.sendKeepalive = t + KEEPALIVE_TIMEOUT;
        }
      }
      if (tm.newHandshake && t >= tm.newHandshake) {
        tm.newHandshake = 0;
        this.peerState(peer, false);
        this.sendInitiation(peer, false);
      }
      if (tm.zeroKeyMaterial && t >= tm.zeroKeyMaterial) {
        tm.zeroKeyMaterial = 0;
        const kps = peer.keypairs;
        for (const k of [kps.previous, kps.current, kps.next]) this.releaseKeypair(k);
        kps.previous = kps.current = kps.next = null;
        if (peer.handshake.localIndex) this.indexTable.delete(peer.handshake.localIndex);
        peer.handshake.clear();
      }
      if (tm.persistentKeepalive && t >= tm.persistentKeepalive) {
        tm.persistentKeepalive = 0;
        this.sendKeepalive(peer);
      }
    }
    this.flush();
  }
}
