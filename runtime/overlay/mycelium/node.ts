/**
 * A Mycelium-dialect node: TCP peer links (listen, and connect with
 * exponential backoff), Hello/IHU link costs, Babel route selection with
 * feasibility (routes.ts), route and seqno requests, and the end-to-end data
 * plane (data-plane.ts). Speaks the wire format of threefoldtech/mycelium
 * (see docs/overlay.md "Mycelium"); its router.rs and peer_manager.rs are the
 * reference for the protocol handling, RFC 8966 for what they leave out.
 *
 * Packets reach the node through `send(packet)` and leave through the
 * `deliver` callback: tun-port.ts joins them to a TUN device, tests use an
 * in-memory array.
 */
import { createServer, connect, type Server } from 'node:net';
import { overlayAddressBytes } from '../address.js';
import { myceliumKeyHex } from './key.js';
import { Counters } from './counters.js';
import { DataPlane } from './data-plane.js';
import { formatTcpEndpoint, type TcpEndpoint } from './endpoint.js';
import { PeerLink, type LinkTransport } from './link.js';
import { dialsWhileLinked, redundantLink } from './link-pair.js';
import { realClock, type MyceliumClock } from './clock.js';
import { newRouterId, formatRouterId } from './router-id.js';
import { RouteTable, routeMetric, type Selection, type SeqnoWanted } from './routes.js';
import { SEQNO_REQUEST_HOPS, type SeqnoRequest } from './seqno-request.js';
import { subnet64, subnet64Key, subnetKey, type Subnet } from './subnet.js';
import type { Tlv } from './tlv.js';
import { METRIC_INFINITE, type Update } from './update.js';
import type { RouteRequest } from './route-request.js';
import { publicKeyFromPrivate } from '../wireguard/keys.js';
import { formatIp, parseIp } from '../../config/ip.js';
import type { DatagramPath } from './wg-datagram.js';
import { seqnoAdd, seqnoLess } from '../babel/seqno.js';

export interface MyceliumNodeOptions {
  /** The node's X25519 private key (32 bytes): the same key as its WireGuard one. */
  privateKey: Uint8Array;
  /** Where to accept peer links (Mycelium: tcp://[::]:9651). */
  listen?: TcpEndpoint[];
  /** Peers to keep a link to (known by address, not by key). */
  peers?: TcpEndpoint[];
  /**
   * Receives each IPv6 packet opened for this node: a view of the memory it was opened in (a
   * WireGuard receive slot, reused by the device's next receive batch, or a TCP read buffer);
   * copy it to keep it past the receive batch.
   */
  deliver?: (packet: Uint8Array) => void;
  /** Hello period in ms (Mycelium: 20 s). Link cost and liveness follow it. */
  helloIntervalMs?: number;
  /** Full route dump period in ms (Mycelium: 60 s); routes expire after 3.5 of them. */
  updateIntervalMs?: number;
  /** Reconnect backoff bounds in ms. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Bound on links (inbound beyond it are closed at once). */
  maxLinks?: number;
  /** Router id tail (6 bytes) for reproducible tests; random by default. */
  routerIdTail?: Uint8Array;
  /** Time and timers (clock.ts): real ones by default; a simulation passes manualClock(...). */
  clock?: MyceliumClock;
  /** Announce the node's own /64 (default true; false only for the mesh-scale simulation's sampled origins). */
  announce?: boolean;
  log?: (line: string) => void;
}

interface Dialer {
  endpoint: TcpEndpoint;
  delay: number;
  timer: unknown;
  link: PeerLink | null;
  /** Connection failures in a row; discovered peers are forgotten after 3 (peer_manager.rs). */
  failures: number;
  discovered: boolean;
  /** Set by removePeer: no more dials. */
  removed?: boolean;
}

/** How long a dial may wait for its TCP connection (a peer that drops SYNs, e.g. a phone over WireGuard). */
const CONNECT_TIMEOUT_MS = 15_000;

/** Route request generations after which a request is no longer forwarded. */
const MAX_RR_GENERATION = 8;
/** How long a forwarded request for the same subnet is not forwarded again (ms). */
const REQUEST_DEDUP_MS = 2000;

export class MyceliumNode {
  readonly counters = new Counters();
  readonly table = new RouteTable(this.counters);
  readonly publicKey: Uint8Array;
  readonly address: Uint8Array;
  readonly subnet: Subnet;
  readonly routerId: Uint8Array;
  seqno = 0;
  readonly links = new Set<PeerLink>();
  private readonly data: DataPlane;
  private readonly servers: Server[] = [];
  private readonly dialers: Dialer[] = [];
  private readonly recentRequests = new Map<string, number>();
  /** With a datagram path: the link through each WireGuard peer's tunnel (the latest when there are two). */
  private readonly linkByPeer = new Map<object, PeerLink>();
  private timers: unknown[] = [];
  private stopped = false;
  private readonly o: Required<Omit<MyceliumNodeOptions, 'routerIdTail' | 'listen' | 'peers'>>;
  private readonly clock: MyceliumClock;

  constructor(opts: MyceliumNodeOptions) {
    this.o = {
      privateKey: opts.privateKey,
      deliver: opts.deliver ?? (() => {}),
      helloIntervalMs: opts.helloIntervalMs ?? 20_000,
      updateIntervalMs: opts.updateIntervalMs ?? 60_000,
      reconnectMinMs: opts.reconnectMinMs ?? 1000,
      reconnectMaxMs: opts.reconnectMaxMs ?? 60_000,
      maxLinks: opts.maxLinks ?? 256,
      log: opts.log ?? ((l) => process.stderr.write(`${l}\n`)),
      clock: opts.clock ?? realClock,
      announce: opts.announce ?? true,
    };
    this.clock = this.o.clock;
    this.publicKey = publicKeyFromPrivate(opts.privateKey);
    this.address = overlayAddressBytes(this.publicKey);
    this.subnet = subnet64(this.address);
    this.routerId = newRouterId(this.publicKey, opts.routerIdTail);
    const self = this;
    this.data = new DataPlane({
      table: this.table,
      counters: this.counters,
      address: this.address,
      privateKey: opts.privateKey,
      deliver: (p) => self.o.deliver(p),
      missingRoute: (dst) => self.requestRoute(subnet64(dst)),
    });
    for (const e of opts.listen ?? []) this.listenOn(e);
    for (const e of opts.peers ?? []) this.addPeer(e);
  }

  /** The node's address as text (its whole /128 inside its /64). */
  get addressText(): string {
    return formatIp(this.address);
  }

  /** Resolves once every listener is bound; rejects with the first bind error. */
  async start(): Promise<void> {
    await Promise.all(this.servers.map((s) => (s.listening ? undefined : new Promise<void>((res, rej) => { s.once('listening', res); s.once('error', rej); }))));
    this.timers.push(this.clock.setInterval(() => this.helloTick(), this.o.helloIntervalMs));
    this.timers.push(this.clock.setInterval(() => this.updateTick(), this.o.updateIntervalMs));
    this.o.log(`tfw: mycelium: up ${this.addressText} key ${myceliumKeyHex(this.publicKey)}`);
  }

  /** The bound TCP ports of the listeners, in order. */
  listenPorts(): number[] {
    return this.servers.map((s) => (s.address() as { port: number }).port);
  }

  /** Replaces the callback that receives packets opened for this node. */
  setDeliver(deliver: (packet: Uint8Array) => void): void {
    this.o.deliver = deliver;
  }

  /** True when a route to the /64 of `dst` (16 bytes) is selected. Per packet (send.ts endToEnd): the data plane's key, no Subnet or Buffer built. */
  hasRoute(dst: Uint8Array): boolean {
    return !!this.table.selectedFor(subnet64Key(dst));
  }

  /** Sends one IPv6 packet from this node into the overlay. */
  send(packet: Uint8Array): void {
    this.data.send(packet);
  }

  /**
   * Sets (or clears, null) where data frames to links through WireGuard
   * tunnels go (wg-datagram.ts; overlay/index.ts joinMycelium): every link
   * whose remote address is a WireGuard peer's node address then sends its
   * data frames as WireGuard packets to that peer, and takes them from it
   * (`receiveDatagram`). Control stays on the links.
   */
  setDatagrams(path: DatagramPath | null): void {
    this.data.path = path;
    this.linkByPeer.clear();
    for (const l of this.links) this.attachDatagram(l);
  }

  /**
   * A datagram frame from WireGuard peer `peer` (pkt[0..len), the plaintext in
   * the device's receive slot `slot`, valid during the call): handled as data
   * from the node's link through that peer's tunnel; dropped
   * ('datagram-no-link') when there is none. Never throws for frame contents.
   */
  receiveDatagram(peer: object, pkt: Uint8Array, len: number, slot: number): void {
    const link = this.linkByPeer.get(peer);
    if (!link || link.isClosed) return this.counters.drop('datagram-no-link');
    link.lastHeard = this.clock.now();
    this.data.receiveDatagram(pkt, len, slot, link);
  }

  /** The WireGuard peer whose node address is `host` (IP text) on the datagram path, with that address; null without a path or such a peer. */
  private wgPeerAt(host: string | undefined): { peer: object; addr: Uint8Array } | null {
    const path = this.data.path;
    const addr = path && host ? parseIp(host) : null;
    const peer = addr && addr.length === 16 ? path!.peerAt(addr) : null;
    return peer ? { peer, addr: addr! } : null;
  }

  /** Maps a link over a WireGuard peer to that peer, keeping one link per peer (link-pair.ts): may close `link`. */
  private attachDatagram(link: PeerLink): void {
    const at = this.wgPeerAt(link.socket.remoteAddress);
    link.datagramPeer = at?.peer ?? null;
    if (!at) return;
    const { peer, addr } = at;
    const other = this.linkByPeer.get(peer);
    if (other && other !== link && !other.isClosed) {
      const drop = redundantLink(this.address, addr, other, link);
      this.counters.linksPaired++;
      drop.close();
      if (drop === link) return;
    }
    this.linkByPeer.set(peer, link);
  }

  private detachDatagram(link: PeerLink): void {
    const peer = link.datagramPeer;
    if (!peer || this.linkByPeer.get(peer) !== link) return;
    this.linkByPeer.delete(peer);
    for (const l of this.links) if (l.datagramPeer === peer) this.linkByPeer.set(peer, l);
  }

  /** Adds a peer to keep a link to (idempotent per endpoint). */
  addPeer(endpoint: TcpEndpoint, discovered = false): void {
    const text = formatTcpEndpoint(endpoint);
    if (this.dialers.some((d) => formatTcpEndpoint(d.endpoint) === text)) return;
    const d: Dialer = { endpoint, delay: this.o.reconnectMinMs, timer: null, link: null, failures: 0, discovered };
    this.dialers.push(d);
    this.dial(d);
  }

  /** Stops keeping a link to `endpoint` (added by addPeer): its redials end and its link closes. */
  removePeer(endpoint: TcpEndpoint): void {
    const text = formatTcpEndpoint(endpoint);
    const i = this.dialers.findIndex((d) => formatTcpEndpoint(d.endpoint) === text);
    if (i < 0) return;
    const [d] = this.dialers.splice(i, 1);
    d.removed = true;
    if (d.timer) this.clock.clearTimeout(d.timer);
    d.timer = null;
    d.link?.close();
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) this.clock.clearInterval(t);
    for (const d of this.dialers) if (d.timer) this.clock.clearTimeout(d.timer);
    for (const s of this.servers) s.close();
    for (const l of [...this.links]) l.close();
  }

  status(): object {
    return {
      address: this.addressText,
      subnet: `${formatIp(this.subnet.bytes)}/64`,
      publicKey: myceliumKeyHex(this.publicKey),
      routerId: formatRouterId(this.routerId),
      /** The endpoints it keeps links to (configured, discovered, or WireGuard peers dialled through their tunnels). */
      peers: this.dialers.map((d) => formatTcpEndpoint(d.endpoint)),
      links: [...this.links].map((l) => ({ endpoint: l.endpoint, inbound: l.inbound, cost: l.cost, rxBytes: l.rxBytes, txBytes: l.txBytes, datagrams: !!l.datagramPeer })),
      routes: [...this.table.selectedRoutes()].map((r) => ({
        subnet: `${formatIp(r.subnet.bytes)}/${r.subnet.plen}`, metric: routeMetric(r), seqno: r.seqno, nextHop: (r.neighbour as PeerLink).endpoint,
      })),
      counters: this.counters.toJSON(),
    };
  }

  // ---- links ------------------------------------------------------------

  private listenOn(e: TcpEndpoint): void {
    const server = createServer((sock) => {
      if (this.stopped || this.links.size >= this.o.maxLinks) return void sock.destroy();
      this.attachLink(sock, `tcp://${sock.remoteAddress}:${sock.remotePort}`, true);
    });
    server.listen(e.port, e.host);
    this.servers.push(server);
  }

  private dial(d: Dialer): void {
    if (this.stopped || d.removed) return;
    d.timer = null;
    // A WireGuard peer below us whose own dial is up: keep that link, ask again later (link-pair.ts).
    if (this.linkedByPeerDial(d.endpoint.host)) return void this.retry(d);
    const sock = connect({ host: d.endpoint.host, port: d.endpoint.port });
    let up = false;
    sock.setTimeout(CONNECT_TIMEOUT_MS, () => {
      if (!up) sock.destroy(new Error('connect timeout'));
    });
    sock.once('connect', () => {
      up = true;
      sock.setTimeout(0);
      d.failures = 0;
      d.delay = this.o.reconnectMinMs;
      d.link = this.attachLink(sock, formatTcpEndpoint(d.endpoint), false, () => this.retry(d));
    });
    sock.on('error', () => {
      if (!up) this.retry(d, true);
    });
  }

  /**
   * True when `host` is the node address of a WireGuard peer whose address is
   * below ours and a link over that peer is up: it dialled, and only the lower
   * address dials (link-pair.ts), so this node waits.
   */
  private linkedByPeerDial(host: string): boolean {
    const at = this.wgPeerAt(host);
    const l = at && this.linkByPeer.get(at.peer);
    return !!l && !l.isClosed && !dialsWhileLinked(this.address, at.addr);
  }

  private retry(d: Dialer, failed = false): void {
    d.link = null;
    if (this.stopped || d.removed || d.timer) return;
    if (failed && d.discovered && ++d.failures >= 3) {
      this.dialers.splice(this.dialers.indexOf(d), 1);
      return;
    }
    d.timer = this.clock.setTimeout(() => this.dial(d), d.delay);
    d.delay = Math.min(this.o.reconnectMaxMs, d.delay * 2);
  }

  /**
   * Runs a peer link over `sock` (a Socket, or the simulation's in-memory
   * stream): Hello, full dump and a wildcard route request go out at once.
   * `endpoint` names it in status(); `closed` runs once the link is gone.
   */
  attachLink(sock: LinkTransport, endpoint: string, inbound: boolean, closed?: () => void): PeerLink {
    const link: PeerLink = new PeerLink(
      sock,
      endpoint,
      inbound,
      { data: (f) => this.data.receive(f, link), control: (t) => this.control(t, link) },
      this.counters,
      (l) => {
        this.links.delete(l);
        this.detachDatagram(l);
        for (const s of this.table.dropNeighbour(l)) this.propagate(s);
        closed?.();
      },
      undefined,
      () => this.clock.now(),
    );
    this.links.add(link);
    this.attachDatagram(link);
    if (link.isClosed) return link; // the pair's other link stays (link-pair.ts)
    this.sendHello(link);
    this.fullDump(link);
    link.sendTlv({ type: 'route-request', generation: 0, subnet: null });
    return link;
  }

  // ---- control TLVs -----------------------------------------------------

  private control(t: Tlv, link: PeerLink): void {
    switch (t.type) {
      case 'hello':
        // router.rs handle_incoming_hello: answer every Hello with an IHU.
        link.sendTlv({ type: 'ihu', rxCost: link.cost, interval: Math.max(1, Math.round(this.o.helloIntervalMs / 10)), address: null });
        return;
      case 'ihu':
        if (link.ihuReceived(this.clock.now())) for (const s of this.table.reselectAll()) this.propagate(s);
        return;
      case 'update':
        return this.onUpdate(t, link);
      case 'route-request':
        return this.onRouteRequest(t, link);
      case 'seqno-request':
        return this.onSeqnoRequest(t, link);
    }
  }

  private ownUpdate(): Update {
    return { type: 'update', flags: 0, interval: this.intervalCs(), seqno: this.seqno, metric: 0, subnet: this.subnet, routerId: this.routerId };
  }

  private intervalCs(): number {
    return Math.min(0xffff, Math.max(1, Math.round(this.o.updateIntervalMs / 10)));
  }

  private isOwn(s: Subnet): boolean {
    return subnetKey(s) === subnetKey(this.subnet);
  }

  private onUpdate(u: Update, link: PeerLink): void {
    if (this.isOwn(u.subnet)) return; // our own subnet coming back
    const wanted: SeqnoWanted[] = [];
    const s = this.table.applyUpdate(u, link, this.clock.now(), wanted);
    if (s) this.propagate(s);
    // §3.8.2.2 (router.rs handle_incoming_update asks the sender too): an
    // unfeasible update better than our route asks its sender for a newer
    // seqno, at most once per (subnet, seqno, link) in the dedup window.
    for (const w of wanted) {
      if (this.seenRecently(`sq|${subnetKey(w.subnet)}|${w.seqno}|${link.id}`)) continue;
      link.sendTlv({ type: 'seqno-request', seqno: w.seqno, hopCount: SEQNO_REQUEST_HOPS, routerId: w.routerId, subnet: w.subnet });
    }
  }

  /** Sends the selected route (or its retraction) for one subnet to every link but its next hop. */
  private propagate(s: Selection): void {
    const r = s.route;
    if (r) {
      const u: Update = { type: 'update', flags: 0, interval: this.intervalCs(), seqno: r.seqno, metric: routeMetric(r), subnet: r.subnet, routerId: r.routerId };
      let sent = false;
      for (const l of this.links) if (l !== r.neighbour) sent = l.sendTlv(u) || sent;
      // The feasibility distance drops only for what some neighbour was told (RFC 8966 §3.7.3).
      if (sent) this.table.advertised(r.subnet, r.routerId, r.seqno, u.metric);
      return;
    }
    const p = s.previous!;
    const retract: Update = { type: 'update', flags: 0, interval: this.intervalCs(), seqno: p.seqno, metric: METRIC_INFINITE, subnet: p.subnet, routerId: p.routerId };
    // §3.8.2.1: ask for a newer seqno so a route that is feasible again appears.
    const req: SeqnoRequest = { type: 'seqno-request', seqno: seqnoAdd(p.seqno, 1), hopCount: SEQNO_REQUEST_HOPS, routerId: p.routerId, subnet: p.subnet };
    for (const l of this.links) {
      l.sendTlv(retract);
      l.sendTlv(req);
    }
  }

  private fullDump(link: PeerLink): void {
    if (this.o.announce) link.sendTlv(this.ownUpdate());
    for (const r of this.table.selectedRoutes()) {
      if (r.neighbour === link) continue;
      const m = routeMetric(r);
      this.table.advertised(r.subnet, r.routerId, r.seqno, m);
      link.sendTlv({ type: 'update', flags: 0, interval: this.intervalCs(), seqno: r.seqno, metric: m, subnet: r.subnet, routerId: r.routerId });
    }
  }

  /** True when a request for `key` was handled within the dedup window (and marks it now). */
  private seenRecently(key: string): boolean {
    const now = this.clock.now();
    const t = this.recentRequests.get(key);
    if (t !== undefined && now - t < REQUEST_DEDUP_MS) return true;
    if (this.recentRequests.size > 4096) this.recentRequests.clear();
    this.recentRequests.set(key, now);
    return false;
  }

  /** Asks every link for a route to `s` (data for an unknown destination). */
  private requestRoute(s: Subnet): void {
    if (this.seenRecently(`rr|${subnetKey(s)}`)) return;
    for (const l of this.links) l.sendTlv({ type: 'route-request', generation: 0, subnet: s });
  }

  private onRouteRequest(rr: RouteRequest, link: PeerLink): void {
    if (rr.subnet === null) return this.fullDump(link);
    if (this.isOwn(rr.subnet)) return void link.sendTlv(this.ownUpdate());
    const r = this.table.selectedFor(subnetKey(rr.subnet));
    // Split horizon: the next hop of our route learns nothing from it (and our
    // feasibility distance must not drop for a route it cannot use).
    if (r && r.neighbour === link) return;
    if (r) {
      const m = routeMetric(r);
      this.table.advertised(r.subnet, r.routerId, r.seqno, m);
      link.sendTlv({ type: 'update', flags: 0, interval: this.intervalCs(), seqno: r.seqno, metric: m, subnet: r.subnet, routerId: r.routerId });
      return;
    }
    // Mycelium forwards requests for unknown subnets; the generation bounds how far.
    if (rr.generation >= MAX_RR_GENERATION || this.seenRecently(`rr|${subnetKey(rr.subnet)}`)) return;
    for (const l of this.links) if (l !== link) l.sendTlv({ ...rr, generation: rr.generation + 1 });
  }

  private onSeqnoRequest(sr: SeqnoRequest, link: PeerLink): void {
    if (this.isOwn(sr.subnet)) {
      // §3.8.1.2: only our own router id may make us bump our seqno.
      if (Buffer.compare(sr.routerId, this.routerId) !== 0) return;
      if (seqnoLess(this.seqno, sr.seqno)) {
        this.seqno = seqnoAdd(this.seqno, 1);
        if (seqnoLess(this.seqno, sr.seqno)) this.seqno = sr.seqno;
      }
      for (const l of this.links) l.sendTlv(this.ownUpdate());
      return;
    }
    const r = this.table.selectedFor(subnetKey(sr.subnet));
    if (!r) return;
    if (Buffer.compare(r.routerId, sr.routerId) === 0 && !seqnoLess(r.seqno, sr.seqno) && r.neighbour !== link) {
      const m = routeMetric(r);
      this.table.advertised(r.subnet, r.routerId, r.seqno, m);
      link.sendTlv({ type: 'update', flags: 0, interval: this.intervalCs(), seqno: r.seqno, metric: m, subnet: r.subnet, routerId: r.routerId });
      return;
    }
    if (sr.hopCount <= 1 || r.neighbour === link || this.seenRecently(`sr|${subnetKey(sr.subnet)}|${sr.seqno}`)) return;
    (r.neighbour as PeerLink).sendTlv({ ...sr, hopCount: sr.hopCount - 1 });
  }

  // ---- timers -----------------------------------------------------------

  private sendHello(l: PeerLink): void {
    l.helloSeqno = seqnoAdd(l.helloSeqno, 1);
    l.helloSent(this.clock.now());
    l.sendTlv({ type: 'hello', unicast: true, seqno: l.helloSeqno, interval: Math.max(1, Math.round(this.o.helloIntervalMs / 10)) });
  }

  private helloTick(): void {
    const now = this.clock.now();
    for (const l of [...this.links]) {
      // A link silent for 3.5 Hello periods is dead (RFC 8966 hold time).
      if (now - l.lastHeard > 3.5 * this.o.helloIntervalMs) {
        this.o.log(`tfw: mycelium: link ${l.endpoint} timed out`);
        l.close();
        continue;
      }
      this.sendHello(l);
    }
  }

  private updateTick(): void {
    for (const s of this.table.expire(this.clock.now())) this.propagate(s);
    for (const l of this.links) this.fullDump(l);
  }
}
