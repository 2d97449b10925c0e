/**
 * The overlay router: WireGuard links (device.ts) between a TUN interface
 * (tun.ts) and a batched UDP socket (conn.ts), with the status endpoint and
 * the Babel hooks. `startOverlay` is what `tfw runtime` and the image runtime
 * (runtime/main.ts) call.
 *
 * Data path, one batch at a time and no per-packet allocation in this file:
 * TUN readBatch -> route lookup -> seal -> UDP sendBatch, and the mirror
 * UDP recvBatch -> open -> replay check -> allowed-IPs check -> TUN writeBatch.
 */
import { lookup } from 'node:dns/promises';
import type { Server } from 'node:http';
import { isIP } from 'node:net';
import { formatEndpoint as formatEndpointText, parseCidr, parseEndpoint } from '../config/ip.js';
import type { OverlayConfig } from '../config/schema.js';
import { MESH_MYCELIUM_PORT } from '../config/mycelium.js';
import { ConfigError, RouteError } from '../errors.js';
import { overlayAddress, overlaySubnet } from './address.js';
import { bindUdp, EndpointBatch, type UdpBind } from './links/conn.js';
import { Device } from './device.js';
import { fromBase64 } from './wireguard/keys.js';
import { Mesh } from './mesh.js';
import { KernelRoutes } from './os/kernel-routes.js';
import { addAddress } from './os/netlink.js';
import type { Peer } from './wireguard/peer.js';
import { datagramPacketMtu, type DatagramPath } from './mycelium/wg-datagram.js';
import { TRANSPORT_HEADER_SIZE } from './wireguard/messages.js';
import { deviceStatus, serveStatus, type OverlayStatus } from './status.js';
import { openTun, type TunDevice } from './os/tun.js';

export { overlayAddress, overlayPrefix, overlaySubnet, overlayAddressBytes } from './address.js';
export { BABEL_PORT, frameBabel, parseBabel } from './babel/tunnel-frame.js';
export type { OverlayStatus } from './status.js';
export { Device } from './device.js';
export { Mesh, meshRouterId, MESH_HELLO_INTERVAL } from './mesh.js';

/** How often timers are checked (ms); the whitepaper's timers are multiples of seconds. */
const TICK_MS = 250;
/** Batches handled per readiness callback before yielding to the event loop. */
const MAX_BATCHES_PER_WAKE = 16;
const BATCH = 64;
/** Packets a joined Mycelium node opened, written to the TUN per call at most. */
const DELIVER_BATCH = 64;

/**
 * A Mycelium-dialect node as the overlay sees it when they share one TUN
 * (mycelium/node.ts MyceliumNode fits): it takes this node's IPv6 packets and
 * hands back the ones it opened for this node.
 */
export interface MyceliumPort {
  /** Seals and sends one of this node's IPv6 packets (a view valid during the call). */
  send(packet: Uint8Array): void;
  /** Sets where packets opened for this node go. */
  setDeliver(deliver: (packet: Uint8Array) => void): void;
  /** True when it routes the /64 of `dst` (16 bytes); used with `overWireGuard`. */
  hasRoute?(dst: Uint8Array): boolean;
  /** Keeps / stops keeping a peer link to a TCP endpoint; used with `overWireGuard`. */
  addPeer?(endpoint: { host: string; port: number }): void;
  removePeer?(endpoint: { host: string; port: number }): void;
  /** Sets / clears where data frames to links through WireGuard tunnels go (mycelium/wg-datagram.ts); used with `overWireGuard`. */
  setDatagrams?(path: DatagramPath | null): void;
  /** Takes a datagram frame a WireGuard peer sent (the device's receive slot `slot`, valid during the call). */
  receiveDatagram?(peer: object, pkt: Uint8Array, len: number, slot: number): void;
}

/**
 * The overlay addresses of the WireGuard peers a joined Mycelium node dials
 * through their tunnels (`overWireGuard`): peers with persistentKeepalive,
 * whose session is kept up anyway, and peers that have shown they are tfw mesh
 * nodes (`meshNeighbour(publicKey)` true: the Babel mesh heard an
 * authenticated frame from it, mesh.ts), which talk to us every second anyway.
 * A peer that never spoke Babel and has no keepalive (a stock phone) is never
 * dialled: a SYN a minute would wake its tunnel.
 * docs/overlay.md "Mycelium over WireGuard links".
 */
export function myceliumDialTargets(
  peers: ReadonlyArray<Pick<OverlayConfig['peers'][number], 'publicKey' | 'persistentKeepalive'>>,
  meshNeighbour: (publicKey: string) => boolean = () => false,
): string[] {
  return peers.filter((p) => (p.persistentKeepalive ?? 0) > 0 || meshNeighbour(p.publicKey)).map((p) => overlayAddress(fromBase64(p.publicKey)));
}

export interface JoinOptions {
  /**
   * Also link the Mycelium node to every WireGuard peer with
   * persistentKeepalive set or heard speaking Babel (myceliumDialTargets; an
   * idle phone is not woken), at tcp://[<the peer's overlay address>]:9651 through its tunnel: each peer's
   * own /64 is routed to it (as in mesh mode), and 400::/7 destinations that
   * only a Babel route covers go to the Mycelium node when it routes them
   * (end to end instead of hop by hop). docs/overlay.md "Mycelium over WireGuard links".
   */
  overWireGuard?: boolean;
}

export interface OverlayOptions {
  log?: (msg: string) => void;
}

/** A running overlay router. */
export interface Overlay {
  readonly name: string;
  readonly publicKey: string;
  /** The node's overlay address: its whole Mycelium /128, inside its /64 (address.ts). */
  readonly address: string;
  readonly device: Device;
  /** The Babel router and its glue (with `mesh: true`), else null. */
  readonly mesh: Mesh | null;
  /** Stops the router: closes the TUN (the interface goes away), the socket and the status server. */
  stop(): Promise<void>;
  /** Applies a new config's peers (and their routes) without dropping kept sessions. */
  reload(config: OverlayConfig): Promise<void>;
  status(): OverlayStatus;
  /** Sends a Babel payload to the peer with this public key inside its tunnel. */
  sendBabel(peerKey: string, payload: Uint8Array): void;
  /**
   * Joins a Mycelium-dialect node to this overlay's TUN, which carries the
   * one node address both use (address.ts): 400::/7 is routed to the TUN,
   * TUN packets for 400::/7 destinations no WireGuard route covers go to
   * `node.send`, and packets the node opened for us are written to the TUN
   * (docs/overlay.md "One TUN for both kinds of links"). With
   * `overWireGuard` the node also links to each WireGuard peer through its
   * tunnel (JoinOptions). Returns the undo.
   */
  joinMycelium(node: MyceliumPort, opts?: JoinOptions): () => void;
  /**
   * Receives Babel payloads from tfw peers (with `mesh: true`; babel/tunnel-frame.ts
   * framing). While null, Babel frames are dropped.
   */
  onBabelPacket: ((peerKey: string, payload: Uint8Array) => void) | null;
  /** Installs / removes a Babel-learned route (also in the kernel table of the TUN). */
  setRoute(prefix: string, peerKey: string, metric: number): void;
  deleteRoute(prefix: string): void;
}

/** True for IPv6 prefixes inside 400::/7 (overlay node /64s), which the TUN gets as one route. */
function inOverlayRange(prefix: string): boolean {
  const c = parseCidr(prefix);
  return !!c && c.bytes.length === 16 && c.bits >= 7 && (c.bytes[0] & 0xfe) === 0x04;
}

/** Resolves host-name endpoints to addresses (the only DNS use, at start and reload). */
async function resolveEndpoints(cfg: OverlayConfig): Promise<OverlayConfig> {
  const peers = await Promise.all(
    cfg.peers.map(async (p, i) => {
      if (!p.endpoint) return p;
      const e = parseEndpoint(p.endpoint)!;
      if (isIP(e.host)) return p;
      try {
        const { address } = await lookup(e.host);
        return { ...p, endpoint: formatEndpointText({ host: address, port: e.port }) };
      } catch (err) {
        throw new ConfigError(`peers.${i}.endpoint`, `cannot resolve ${e.host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }),
  );
  return { ...cfg, peers };
}

/**
 * Starts the overlay router for a validated config: opens the TUN `name` with
 * `mtu`, adds the node's 400::/7-derived /64 and `address`, routes the peers'
 * allowed IPs (and 400::/7 with `mesh`) to it, binds UDP `listenPort`, serves
 * `status` if set, and logs `tfw: overlay: up <name> <publicKey>`.
 * Throws ConfigError for config problems, TunError / UdpError (native addon)
 * for system ones; nothing stays open when it throws.
 */
export async function startOverlay(config: OverlayConfig, opts: OverlayOptions = {}): Promise<Overlay> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`tfw: overlay: ${m}\n`));
  let cfg = await resolveEndpoints(config);
  let tun: TunDevice | null = null;
  let udp: UdpBind | null = null;
  let server: Server | null = null;
  let timer: NodeJS.Timeout | null = null;
  const routed = new Set<string>();
  let mesh: Mesh | null = null;
  /** Babel-learned prefixes outside 400::/7 given a kernel route to the TUN. */
  const babelKernel = new Set<string>();

  const tunSizes = new Int32Array(BATCH);
  const udpSizes = new Int32Array(BATCH);
  const udpEps = new EndpointBatch(BATCH);

  const device = new Device({
    privateKey: fromBase64(cfg.privateKey),
    mtu: cfg.mtu,
    batchSize: BATCH,
    log,
    // Handshakes after the data of each wake-up, a few ms at a time (handshake.ts).
    scheduleHandshakes: (run) => void setImmediate(run),
    io: {
      transmit: (bufs, sizes, eps, count) => {
        udp?.sendBatch(bufs, sizes, eps, count);
      },
      deliver: (bufs, sizes, count) => {
        tun?.writeBatch(bufs, sizes, count);
      },
    },
  });
  device.setPeers(cfg.peers, cfg.mesh);
  // Datagrams land in the AEAD pool's slots and are opened in place; TUN reads land in the
  // send pool's slots after the header room and are sealed in place.
  const udpBufs = device.receiveBuffers();
  const tunBufs = device.sendBuffers();

  /** A Mycelium node shares the TUN (joinMycelium): 400::/7 is routed here even without mesh. */
  let joined = false;
  /** With overWireGuard: the WireGuard peers' overlay addresses the Mycelium node dials (syncDials). */
  let dials: { node: MyceliumPort; hosts: Set<string> } | null = null;
  /** With overWireGuard and datagram frames: the route MTU of 400::/7 (mycelium/wg-datagram.ts), else 0. */
  let datagramMtu = 0;
  /**
   * Writes the packets the Mycelium node opened and has not yet written to the TUN (joinMycelium).
   * Packets opened from a WireGuard datagram are views of the device's receive slots (opened in
   * place, mycelium/seal.ts), so they are written before the next batch is received into the slots.
   */
  let flushDelivered = () => {};
  const syncDials = (c: OverlayConfig) => {
    if (!dials) return;
    const want = new Set(myceliumDialTargets(c.peers, (k) => device.peers.get(k)?.meshNeighbour === true));
    for (const h of dials.hosts) if (!want.has(h)) {
      dials.node.removePeer?.({ host: h, port: MESH_MYCELIUM_PORT });
      dials.hosts.delete(h);
    }
    for (const h of want) if (!dials.hosts.has(h)) {
      dials.node.addPeer?.({ host: h, port: MESH_MYCELIUM_PORT });
      dials.hosts.add(h);
    }
  };
  const wantedRoutes = (c: OverlayConfig): Set<string> => {
    const s = new Set<string>();
    for (const p of c.peers) for (const a of p.allowedIPs) s.add(a);
    if (c.mesh || joined) s.add('400::/7');
    return s;
  };
  // Kernel routes to the TUN go out in batches (kernel-routes.ts), never one blocking `ip` per route.
  let kernel: KernelRoutes | null = null;
  /** The static routes of the current config (allowed IPs, 400::/7 in mesh mode). */
  let wanted = new Set<string>();
  const syncRoutes = (c: OverlayConfig) => {
    const want = (wanted = wantedRoutes(c));
    for (const r of routed) if (!want.has(r) && !babelKernel.has(r)) {
      kernel!.delete(r);
      routed.delete(r);
    }
    for (const r of want) if (!routed.has(r)) {
      if (kernel!.add(r, r === '400::/7' ? datagramMtu : 0)) routed.add(r);
      else log(`not routing ${r} to ${c.name} (default routes are left to the system)`);
    }
  };

  const close = async () => {
    mesh?.stop();
    mesh = null;
    if (timer) clearInterval(timer);
    timer = null;
    kernel?.close();
    kernel = null;
    tun?.close();
    tun = null;
    udp?.close();
    udp = null;
    if (server) await new Promise<void>((r) => server!.close(() => r()));
    server = null;
  };

  try {
    tun = openTun(cfg.name, { mtu: cfg.mtu });
    addAddress(tun.name, `${overlayAddress(device.local.publicKey)}/64`);
    for (const a of cfg.address) addAddress(tun.name, a);
    kernel = new KernelRoutes(tun.name, { log: (m) => log(`routes: ${m}`) });
    syncRoutes(cfg);
    const r = await kernel.settled();
    if (r.failures.length) throw new RouteError(`${r.failures[0]}${r.failures.length > 1 ? ` (and ${r.failures.length - 1} more)` : ''}`);
    udp = bindUdp({ port: cfg.listenPort });
    if (cfg.status) server = await serveStatus(cfg.status, () => deviceStatus(device, udp?.port ?? cfg.listenPort, mesh));
  } catch (err) {
    await close();
    throw err;
  }

  const t = tun, u = udp;
  t.onReadable(() => {
    try {
      for (let i = 0, n; i < MAX_BATCHES_PER_WAKE && (n = t.readBatch(tunBufs, tunSizes)) > 0; i++) {
        device.send(tunBufs, tunSizes, n);
        // A packet handed to Mycelium for this node's own /64 comes straight back as a view of its read slot.
        flushDelivered();
      }
    } catch (err) {
      log(`tun read: ${(err as Error).message}`);
    }
  });
  u.onReadable(() => {
    try {
      for (let i = 0, n; i < MAX_BATCHES_PER_WAKE && (n = u.recvBatch(udpBufs, udpSizes, udpEps)) > 0; i++) {
        device.receive(udpBufs, udpSizes, udpEps.items, n);
        flushDelivered();
      }
    } catch (err) {
      log(`udp receive: ${(err as Error).message}`);
    }
  });
  timer = setInterval(() => {
    try {
      device.tick();
    } catch (err) {
      log(`timers: ${(err as Error).message}`);
    }
  }, TICK_MS);
  log(`up ${t.name} ${device.publicKeyB64}`);
  log(`address ${overlaySubnet(device.local.publicKey)} listen ${u.port} peers ${device.peers.size} aead ${device.engines.aead} routes ${device.engines.routes}`);

  const overlay: Overlay = {
    name: t.name,
    publicKey: device.publicKeyB64,
    address: overlayAddress(device.local.publicKey),
    device,
    stop: close,
    async reload(next: OverlayConfig) {
      const resolved = await resolveEndpoints(next);
      for (const f of ['name', 'privateKey', 'listenPort', 'mtu'] as const) {
        if (resolved[f] !== cfg[f]) log(`reload: ${f} changed; restart to apply it`);
      }
      device.setPeers(resolved.peers, resolved.mesh);
      syncDials(resolved);
      for (const a of resolved.address) addAddress(t.name, a);
      syncRoutes({ ...resolved, name: t.name });
      // Resolve once the kernel has the new routes: a `wg set` or an API PUT that returns has taken effect.
      await kernel?.settled();
      cfg = { ...resolved, name: cfg.name, privateKey: cfg.privateKey, listenPort: cfg.listenPort, mtu: cfg.mtu };
      if (resolved.mesh && mesh) {
        device.setLocal(cfg.address);
        mesh.syncPeers(cfg.peers, cfg.address);
      } else if (resolved.mesh) {
        device.onBabelPacket = (peer: Peer, payload: Uint8Array) => overlay.onBabelPacket?.(peer.publicKeyB64, payload);
        startMesh();
      } else if (mesh) {
        mesh.stop();
        mesh = null;
        device.forwarding = false;
        device.onBabelPacket = null;
      }
      log(`reloaded: ${device.peers.size} peers`);
    },
    get mesh() {
      return mesh;
    },
    status: () => deviceStatus(device, u.port, mesh),
    sendBabel(peerKey, payload) {
      const peer = device.peers.get(peerKey);
      if (!peer) throw new RangeError(`peerKey: expected a configured peer, got ${peerKey}`);
      device.sendBabel(peer, payload);
    },
    onBabelPacket: null,
    joinMycelium(node, jo = {}) {
      joined = true;
      syncRoutes({ ...cfg, name: t.name });
      device.mycelium.handOff = (p) => node.send(p);
      if (jo.overWireGuard) {
        device.routePeerSubnets = true;
        device.setPeers(cfg.peers, cfg.mesh);
        // A direct peer's /64 stays WireGuard's even when Babel routes it through another peer
        // (the device never asks about the peers' own /64s): the Mycelium link to a peer runs to its address.
        if (node.hasRoute) device.mycelium.endToEnd = (dst) => node.hasRoute!(dst);
        dials = { node, hosts: new Set() };
        syncDials(cfg);
        if (node.setDatagrams && node.receiveDatagram) {
          // Data frames to the peers the node links with through their tunnels go as WireGuard packets
          // (mycelium/wg-datagram.ts); 400::/7 gets the MTU that leaves room for the frame around a packet.
          const receive = node.receiveDatagram.bind(node);
          device.mycelium.onMyceliumFrame = (peer, pkt, len, slot) => receive(peer, pkt, len, slot);
          const live = (p: object): p is Peer => device.peers.get((p as Peer).publicKeyB64) === p;
          node.setDatagrams({
            mtu: device.mtu,
            peerAt: (addr) => {
              for (const p of device.peers.values()) if (Buffer.compare(p.nodeAddress, addr) === 0) return p;
              return null;
            },
            send: (p, frame, len) => live(p) && (device.mycelium.sendDatagramFrame(p, frame, len), true),
            claim: (p) => (live(p) ? device.mycelium.claimDatagramSlot(p) : null),
            claimOffset: TRANSPORT_HEADER_SIZE,
            commit: (len) => device.mycelium.commitDatagramSlot(len),
            relay: (p, frame, len, slot) => live(p) && (device.mycelium.relayDatagramFrame(p, frame, len, slot), true),
          });
          datagramMtu = datagramPacketMtu(device.mtu);
          kernel?.add('400::/7', datagramMtu);
        }
      }
      // Packets the node opened are written to the TUN in one batch per receive batch (a packet from a
      // datagram frame lies in a receive slot: written before the slots take the next batch), per
      // wake-up for those from TCP links (on the next tick), or when DELIVER_BATCH are waiting.
      const out: Uint8Array[] = [];
      const outSizes = new Int32Array(DELIVER_BATCH);
      let queued = false;
      const writeOut = () => {
        queued = false;
        const n = out.length;
        if (!n) return;
        for (let i = 0; i < n; i++) outSizes[i] = out[i].length;
        // A full TUN queue drops the packets, as the kernel would.
        tun?.writeBatch(out, outSizes, n);
        out.length = 0;
      };
      flushDelivered = writeOut;
      node.setDeliver((p) => {
        out.push(p);
        if (out.length === DELIVER_BATCH) writeOut();
        else if (!queued) {
          queued = true;
          process.nextTick(writeOut);
        }
      });
      return () => {
        if (dials) {
          syncDials({ ...cfg, peers: [] });
          node.setDatagrams?.(null);
          device.mycelium.onMyceliumFrame = null;
          datagramMtu = 0;
          dials = null;
          device.mycelium.endToEnd = null;
          device.routePeerSubnets = false;
          device.setPeers(cfg.peers, cfg.mesh);
        }
        device.mycelium.handOff = null;
        writeOut();
        node.setDeliver(() => {});
        flushDelivered = () => {};
        joined = false;
        if (kernel) {
          syncRoutes({ ...cfg, name: t.name });
          // Still routed (mesh): without the datagram MTU now.
          if (routed.has('400::/7')) kernel.add('400::/7');
        }
      };
    },
    setRoute(prefix, peerKey, metric) {
      device.setRoute(prefix, peerKey, metric);
      // 400::/7 is routed to the TUN as a whole; other prefixes get their own kernel route.
      if (!inOverlayRange(prefix) && !routed.has(prefix) && kernel?.add(prefix)) {
        routed.add(prefix);
        babelKernel.add(prefix);
      }
    },
    deleteRoute(prefix) {
      device.deleteRoute(prefix);
      if (babelKernel.delete(prefix) && !wanted.has(prefix)) {
        kernel?.delete(prefix);
        routed.delete(prefix);
      }
    },
  };
  device.onBabelPacket = cfg.mesh ? (peer: Peer, payload: Uint8Array) => overlay.onBabelPacket?.(peer.publicKeyB64, payload) : null;
  if (cfg.mesh) startMesh();
  return overlay;

  function startMesh(): void {
    device.forwarding = true;
    device.setLocal(cfg.address);
    mesh = new Mesh({
      device,
      addresses: cfg.address,
      peers: cfg.peers,
      install: (prefix, peerKey, metric) => overlay.setRoute(prefix, peerKey, metric),
      // A peer heard speaking Babel is a tfw node: the joined Mycelium node dials it (myceliumDialTargets).
      neighbour: () => syncDials(cfg),
      uninstall: (prefix) => overlay.deleteRoute(prefix),
      log,
    });
    overlay.onBabelPacket = (peerKey, payload) => mesh?.receive(peerKey, payload);
  }
}
