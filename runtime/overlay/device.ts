/**
 * The WireGuard device (wireguard-go device/device.go): the peer table,
 * cryptokey routing (routes.ts), key slots and roaming, all batch-in /
 * batch-out over caller-provided I/O, with time injected so tests drive the
 * timers. The send path is send.ts, the receive path receive.ts (handshake
 * messages and cookie replies go on to handshake.ts), the timers
 * wireguard/timers.ts (the only writer of peer timers: the others report timer
 * events to it); they reach the device through one host object built in
 * the constructor. Nothing from the network throws out of `receive`: every
 * bad datagram is counted in `drops` by reason.
 */
import { formatCidr, maskCidr, parseCidr } from '../config/ip.js';
import { Endpoint } from './links/conn.js';
import type { PeerConfig } from '../config/schema.js';
import { overlayAddressBytes } from './address.js';
import { Keypair } from './wireguard/keypair.js';
import { LimitedLog } from './log-limit.js';
import { publicKeyFromPrivate, toBase64 } from './wireguard/keys.js';
import { DeviceTimers, type TimersHost } from './wireguard/timers.js';
import type { Drops } from './drops.js';
import { Handshakes, type HandshakeHost } from './wireguard/handshake.js';
import type { IndexEntry } from './wireguard/index-entry.js';
import { IcmpErrors, type IcmpCounters } from './routing/icmp.js';
import { Receiver, type ReceiveHost } from './receive.js';
import { localStatic, type LocalStatic } from './wireguard/noise.js';
import { Peer } from './wireguard/peer.js';
import type { RouteVia } from './routing/route-via.js';
import { RouteTable } from './routing/routes.js';
import { PacketBatches, type DeviceIO } from './links/batches.js';
import { Sender, type SendHost } from './send.js';
import { MyceliumHooks } from './mycelium-hooks.js';
import { relayClassifier } from './routing/relay-classifier.js';
import type { Classifier } from '../kernels/forward.js';

export type { DeviceIO } from './links/batches.js';
export type { Drops } from './drops.js';
export type { RouteVia } from './routing/route-via.js';

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
  /**
   * Runs handshake work off the data path: called (once until it runs) with a
   * function to call soon, e.g. `setImmediate`, when handshake messages were
   * queued by `receive`. Unset: they are handled at the end of `receive`.
   */
  scheduleHandshakes?: (run: () => void) => void;
  /** Wall time (ms) the scheduled handshake work may take per run before yielding (default 2). */
  handshakeBudgetMs?: number;
  /** Handshake queue capacity (default QUEUE_HANDSHAKE_SIZE, 1024). */
  handshakeQueueSize?: number;
  /**
   * Wall time (ms) handshake messages may take in one second before the
   * device counts as under load (default HANDSHAKE_BUSY_MS with
   * `scheduleHandshakes`; unlimited without, where the caller drives handshakes).
   */
  handshakeBusyMs?: number;
}

/** The /64 prefix bytes (16, host part zero) of a node address. */
const overlaySubnetBytes = (nodeAddress: Uint8Array): Uint8Array => {
  const b = nodeAddress.slice();
  b.fill(0, 8);
  return b;
};

export class Device {
  readonly local: LocalStatic;
  readonly publicKeyB64: string;
  /** This node's overlay address: its whole Mycelium /128 (address.ts). */
  readonly nodeAddress: Uint8Array;
  readonly peers = new Map<string, Peer>();
  /** Static and Babel routes; on the relay classifier's Fib pair when there is one. */
  readonly routes: RouteTable<RouteVia>;
  /**
   * The forward kernel's classifier for mesh relays (native engine: it reads
   * the receive slots in place), or null (wasm engine, node:crypto pools,
   * TFW_OVERLAY_FIB=js or TFW_OVERLAY_CLASSIFIER=off): per-packet lookups then.
   */
  private readonly classifier: Classifier | null;
  readonly drops: Drops = { replay: 0, auth: 0, malformed: 0, noRoute: 0, allowedIPs: 0, unknownIndex: 0, expired: 0, handshake: 0, mac: 0, cookieReplies: 0, rateLimited: 0, handshakeQueueFull: 0, noEndpoint: 0, staged: 0, oversized: 0, ttl: 0,
    icmpSent: 0, icmpRateLimited: 0, icmpNoSource: 0 };
  /**
   * Called when WireGuard declares a peer unreachable (`up` false: an
   * initiation went unanswered for REKEY_TIMEOUT with nothing received
   * meanwhile, or data went unanswered for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT)
   * and when it is back (`up` true: a completed handshake or an authenticated
   * packet after that). Mesh mode feeds it to Babel's linkDown / linkUp.
   */
  onPeerState: ((peer: Peer, up: boolean) => void) | null = null;
  /** Destinations that are this node (mesh forwarding): the node /64 and the interface addresses. */
  private readonly localDest = new RouteTable<true>({ trie: true });
  /**
   * The /64 each configured peer's key derives (address.ts), kept by
   * `setPeers`: the send path never hands a packet for one of them to
   * Mycelium (send.ts `endToEnd`), whatever route Babel learned for it.
   */
  private readonly peerSubnets = new RouteTable<true>({ trie: true });
  /** ICMP errors about packets mesh forwarding drops (icmp.ts; sent by receive.ts). */
  private readonly icmp: IcmpErrors;
  private mesh = false;
  /**
   * Routes each peer's own /64 (derived from its key) to it, as mesh mode
   * does, without mesh: set while a Mycelium node links to the peers through
   * their tunnels (overlay/index.ts joinMycelium). Applied by `setPeers`.
   */
  routePeerSubnets = false;
  /** The prefixes in the relay classifier's local set (syncClassifierLocal). */
  private classifierLocal: string[] = [];

  private readonly io: DeviceIO;
  private readonly now: () => number;
  private readonly log: (msg: string) => void;
  readonly mtu: number;
  private readonly indexTable = new Map<number, IndexEntry>();
  private readonly handshakes: Handshakes;
  private readonly batches: PacketBatches;
  private readonly batchSize: number;
  private readonly sender: Sender;
  private readonly receiver: Receiver;
  private readonly timers: DeviceTimers;
  /** The side of the device the Mycelium node sharing its TUN uses (mycelium-hooks.ts; index.ts `joinMycelium`). */
  readonly mycelium: MyceliumHooks;

  constructor(opts: DeviceOptions) {
    this.local = localStatic(opts.privateKey);
    this.publicKeyB64 = toBase64(this.local.publicKey);
    this.nodeAddress = overlayAddressBytes(this.local.publicKey);
    this.io = opts.io;
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? (() => {});
    this.mtu = opts.mtu ?? 1420;
    this.batchSize = opts.batchSize ?? 64;
    const n = this.batchSize;
    this.batches = new PacketBatches(opts.io, n, this.mtu, opts.maxKeypairs ?? 4096);
    this.classifier = relayClassifier(this.batches.rxBufs);
    this.routes = new RouteTable<RouteVia>(this.classifier ? { fibs: this.classifier } : {});
    this.icmp = new IcmpErrors(this.nodeAddress, this.mtu, this.drops, this.now);
    // The handshake side, the send and receive paths and the timers reach the device's state and steps
    // through one host, built once (handshake.ts, send.ts, receive.ts, wireguard/timers.ts); the send and
    // receive paths keep direct references to the state they use per packet. The timers are the one
    // writer of peer timers: the paths report their timer events to them (host.timers, set right below).
    const host = {
      local: this.local, peers: this.peers, drops: this.drops, indexTable: this.indexTable, now: this.now, log: this.log,
      io: this.io, batches: this.batches, batchSize: n, mtu: this.mtu, nodeAddress: this.nodeAddress, routes: this.routes,
      localDest: this.localDest, peerSubnets: this.peerSubnets, classifier: this.classifier, icmp: this.icmp, failures: new LimitedLog(this.log, this.now),
      queueDatagram: (msg, ep) => this.queueDatagram(msg, ep),
      installKeypair: (kp, peer) => this.installKeypair(kp, peer),
      releaseKeypair: (kp) => this.releaseKeypair(kp),
      roam: (peer, from) => this.roam(peer, from),
      peerState: (peer, up) => this.peerState(peer, up),
      sendToPeer: (peer, pkt, len) => this.sender.sendToPeer(peer, pkt, len),
      relayToPeer: (peer, pkt, len, rxSlot) => this.sender.relayToPeer(peer, pkt, len, rxSlot),
      sendStaged: (peer) => this.sender.sendStaged(peer),
      sendInitiation: (peer, isRetry) => this.sendInitiation(peer, isRetry),
      sendKeepalive: (peer) => this.sendKeepalive(peer),
      flush: () => this.flush(),
    } as { -readonly [K in 'timers']: DeviceTimers } & HandshakeHost & TimersHost & SendHost & ReceiveHost;
    host.timers = this.timers = new DeviceTimers(host);
    this.handshakes = new Handshakes(host, {
      forceUnderLoad: opts.forceUnderLoad,
      queueSize: opts.handshakeQueueSize,
      busyMs: opts.handshakeBusyMs,
      schedule: opts.scheduleHandshakes,
      budgetMs: opts.handshakeBudgetMs,
    });
    this.sender = new Sender(host);
    this.receiver = new Receiver(host, this.handshakes);
    this.mycelium = new MyceliumHooks(this.sender, this.receiver, this.mtu, () => this.flush());
  }

  /** Called with Babel payloads from tfw peers (babel/tunnel-frame.ts framing); unset = Babel frames go to the TUN. */
  get onBabelPacket(): ((peer: Peer, payload: Uint8Array) => void) | null {
    return this.receiver.onBabelPacket;
  }
  set onBabelPacket(fn: ((peer: Peer, payload: Uint8Array) => void) | null) {
    this.receiver.onBabelPacket = fn;
  }

  /**
   * Mesh mode: packets from one peer routed to another are forwarded inside
   * the router (hop.ts) instead of going through the kernel. Off by default,
   * as a stock WireGuard interface does not forward either.
   */
  get forwarding(): boolean {
    return this.receiver.forwarding;
  }
  set forwarding(on: boolean) {
    this.receiver.forwarding = on;
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
      if (mesh || this.routePeerSubnets) this.routes.insert({ bytes: peer.nodeAddress, bits: 64 }, { peer, metric: 0 });
      this.timers.persistentKeepaliveEnabled(peer);
    }
    for (const e of this.peerSubnets.entries()) this.peerSubnets.delete(parseCidr(e.prefix)!);
    for (const peer of this.peers.values()) this.peerSubnets.insert({ bytes: overlaySubnetBytes(peer.nodeAddress), bits: 64 }, true);
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
      const mine = ((this.mesh || this.routePeerSubnets) && key === formatCidr({ bytes: overlaySubnetBytes(peer.nodeAddress), bits: 64 })) ||
        peer.allowedIPs.some((a) => formatCidr(maskCidr(parseCidr(a)!)) === key);
      if (mine) {
        this.routes.insert(c, { peer, metric: 0 });
        return;
      }
    }
  }

  /**
   * Sets the destinations delivered to this node's TUN when forwarding: the
   * node /64 plus each interface address (as a host route). The first IPv4
   * address is also the source of IPv4 ICMP errors (none without one). Throws
   * RangeError for a malformed CIDR.
   */
  setLocal(addresses: string[]): void {
    for (const e of this.localDest.entries()) this.localDest.delete(parseCidr(e.prefix)!);
    this.localDest.insert({ bytes: overlaySubnetBytes(this.nodeAddress), bits: 64 }, true);
    this.icmp.source4 = null;
    for (const a of addresses) {
      const c = parseCidr(a);
      if (!c) throw new RangeError(`address: expected a CIDR, got ${a}`);
      this.localDest.insert({ bytes: c.bytes, bits: c.bytes.length * 8 }, true);
      if (c.bytes.length === 4 && !this.icmp.source4) this.icmp.source4 = c.bytes.slice();
    }
    this.syncClassifierLocal();
  }

  /**
   * The relay classifier's local set = `localDest`. Past its 64 entries per
   * family the receive path goes back to per-packet lookups (logged once).
   */
  private syncClassifierLocal(): void {
    const c = this.classifier;
    if (!c) return;
    for (const p of this.classifierLocal) c.removeLocal(p);
    this.classifierLocal = this.localDest.entries().map((e) => e.prefix);
    try {
      for (const p of this.classifierLocal) c.addLocal(p);
      this.receiver.classifier = c;
    } catch (err) {
      this.receiver.classifier = null;
      this.log(`relay classifier off: ${(err as Error).message}`);
    }
  }

  // ---- send path (send.ts) ------------------------------------------------

  /**
   * Encrypts and sends `count` IP packets read from the TUN: destinations are
   * looked up a batch at a time (routes.ts), sealed a batch at a time (seal.ts).
   */
  send(bufs: Uint8Array[], sizes: ArrayLike<number>, count: number): void {
    this.sender.send(bufs, sizes, count);
  }

  /**
   * Sends a Babel payload to a peer inside the tunnel (babel/tunnel-frame.ts framing).
   * With `stage` false and no session up, the frame is dropped (uncounted) and
   * a handshake is started instead: Babel's periodic Hellos need no queueing.
   */
  sendBabel(peer: Peer, payload: Uint8Array, stage = true): void {
    this.sender.sendBabel(peer, payload, stage);
  }

  /** Sends a keepalive (empty transport message) to a peer now. */
  sendKeepalive(peer: Peer): void {
    this.sender.sendKeepalive(peer);
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

  /**
   * Which transport AEAD runs ('wasm-simd', 'native', 'node:crypto'...), which
   * route lookup ('fib' or 'trie') and how mesh relays are classified
   * ('classifier': the forward kernel's, a batch per call in the receive
   * slots; 'lookups': per packet, routing/hop.ts).
   */
  get engines(): { aead: string; routes: string; relay: 'classifier' | 'lookups' } {
    return { aead: this.batches.txPool.backend, routes: this.routes.engine, relay: this.receiver.classifier ? 'classifier' : 'lookups' };
  }

  /**
   * The send slots (views of the AEAD pool after the WireGuard header room,
   * `batchSize` of them): pass them to the TUN's readBatch and then to `send`,
   * so packets are sealed and sent where they land. Free again when `send` returns.
   */
  sendBuffers(): Uint8Array[] {
    return this.batches.sendSlots;
  }

  /** The receive slots (views of the AEAD pool): pass them to recvBatch so datagrams are opened where they land. */
  receiveBuffers(): Uint8Array[] {
    return this.batches.rxBufs;
  }

  // ---- handshake (handshake.ts) ------------------------------------------

  /** Sends a handshake initiation to `peer` unless one went out less than REKEY_TIMEOUT ago. */
  sendInitiation(peer: Peer, isRetry: boolean): void {
    this.handshakes.sendInitiation(peer, isRetry);
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

  private roam(peer: Peer, from: Endpoint): void {
    if (!peer.endpoint) peer.endpoint = new Endpoint().set(from);
    else if (!peer.endpoint.equals(from)) peer.endpoint.set(from);
  }

  // ---- receive path (receive.ts) ----------------------------------------

  /**
   * Handles `count` datagrams bufs[i][0..sizes[i]) received from eps[i].
   * Zero-copy when `bufs` are `receiveBuffers()`; other buffers are copied in.
   * Transport messages are opened in one pool call per batch. Never throws on bad input.
   */
  receive(bufs: Uint8Array[], sizes: ArrayLike<number>, eps: ArrayLike<Endpoint>, count: number): void {
    this.receiver.receive(bufs, sizes, eps, count);
    this.handshakes.afterReceive();
  }

  // ---- timers (wireguard/timers.ts) ---------------------------------------

  /** Fires due timers for every peer; call every ~100-250 ms. */
  tick(): void {
    this.timers.tick();
  }
}
