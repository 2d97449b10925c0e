/**
 * Mesh mode (`mesh: true`): the Babel router (RFC 8966, babel/) on top of the
 * WireGuard device. Every configured peer is a Babel neighbour over its tunnel
 * (babel/tunnel-frame.ts framing); the selected routes feed the device's route table
 * (and, through the caller, the kernel's); WireGuard's own liveness verdicts
 * (device.ts `onPeerState`) are Babel's fast linkDown / linkUp path.
 *
 * - Router-id: bytes 8..15 of BLAKE2s-256(publicKey), stable across restarts
 *   and as unique as the key. It does not depend on the node address (address.ts
 *   hashes the key with BLAKE3), so the address change of overlay v2 left it as it was.
 * - Own prefixes: the node /64, the network part of each `address`, and, as
 *   leaves, the allowed IPs of peers that are plain WireGuard peers (except /0).
 * - tfw peer or plain WireGuard peer: every peer gets Hellos (a stock peer
 *   drops them: their source, our node address, is not in its allowed IPs). A peer
 *   becomes a mesh neighbour once an authenticated Babel frame (IPv6/UDP 6696
 *   from its node address to ours, hop limit 1) arrives from it; from then on its
 *   allowed IPs stop being our leaves (it announces its own prefixes).
 * - Hello interval 1 s instead of RFC 8966 Appendix B's 4 s (intervals are a
 *   local choice, section 3.4.1): a silent link failure is noticed after two
 *   missed Hellos (2-out-of-3, A.2.1), about 2.5 s.
 */
import { blake2s } from '@noble/hashes/blake2s';
import { formatCidr, maskCidr, parseCidr } from '../config/ip.js';
import type { PeerConfig } from '../config/schema.js';
import { overlaySubnet } from './address.js';
import { BabelRouter, formatPrefix, parsePrefix, type Clock, type RouteEvent } from './babel/index.js';
import type { Device } from './device.js';

/** Hello interval of the overlay's Babel router, ms (see the header). */
export const MESH_HELLO_INTERVAL = 1000;

export interface MeshOptions {
  device: Device;
  /** The config's `address` list (CIDRs with host bits). */
  addresses: string[];
  peers: PeerConfig[];
  /** Installs a selected route through a peer (device table, kernel route). */
  install(prefix: string, peerKey: string, metric: number): void;
  /** Removes an installed route. */
  uninstall(prefix: string): void;
  /** Called once a peer is first heard speaking Babel (it became a mesh neighbour). */
  neighbour?(peerKey: string): void;
  log?: (msg: string) => void;
  helloInterval?: number;
  clock?: Clock;
}

/** One route of GET /status: `via` is the next hop's public key, null for the node's own prefixes. */
export interface MeshRoute {
  prefix: string;
  via: string | null;
  metric: number;
}

/** The router-id of a node (see the header): 8 bytes of BLAKE2s-256(publicKey). */
export function meshRouterId(publicKey: Uint8Array): Uint8Array {
  let h = blake2s(publicKey);
  // All-zero / all-one ids are reserved (RFC 8966 section 4.6.7): hash again (never seen in practice).
  while (h.subarray(8, 16).every((b) => b === 0) || h.subarray(8, 16).every((b) => b === 0xff)) h = blake2s(h);
  return h.slice(8, 16);
}

const norm = (p: string): string => formatPrefix(parsePrefix(p));
const network = (cidr: string): string => norm(formatCidr(maskCidr(parseCidr(cidr)!)));

export class Mesh {
  readonly router: BabelRouter;
  private readonly device: Device;
  private readonly opts: MeshOptions;
  private readonly log: (msg: string) => void;
  /** Own prefixes (node /64 and address networks). */
  private own = new Set<string>();
  /** Leaf prefix -> the plain peer it belongs to. */
  private leaves = new Map<string, string>();
  /** Routes handed to `install`, by prefix. */
  private readonly installed = new Map<string, { via: string; metric: number }>();
  private peerKeys: PeerConfig[] = [];
  private readonly neighbourIds = new Set<string>();
  private stopped = false;

  /** Throws BabelPrefixError for a malformed address (configs are validated before this). */
  constructor(opts: MeshOptions) {
    this.opts = opts;
    this.device = opts.device;
    this.log = opts.log ?? ((m) => process.stderr.write(`tfw: mesh: ${m}\n`));
    this.own = this.ownPrefixes(opts.addresses);
    this.router = new BabelRouter({
      routerId: meshRouterId(this.device.local.publicKey),
      prefixes: [...this.own],
      helloInterval: opts.helloInterval ?? MESH_HELLO_INTERVAL,
      clock: opts.clock,
      log: (m) => this.log(`babel: ${m}`),
    });
    this.router.on('route', (e) => this.onRoute(e));
    this.device.onPeerState = (peer, up) => {
      if (this.stopped) return;
      if (up) this.router.linkUp(peer.publicKeyB64);
      else this.router.linkDown(peer.publicKeyB64);
    };
    this.syncPeers(opts.peers, opts.addresses);
  }

  private ownPrefixes(addresses: string[]): Set<string> {
    const s = new Set<string>([norm(overlaySubnet(this.device.local.publicKey))]);
    for (const a of addresses) s.add(network(a));
    return s;
  }

  /**
   * Applies a (re)loaded peer list and address list: neighbours added and
   * removed, own prefixes and leaves re-announced, learned routes re-installed
   * (Device.setPeers puts static routes back first).
   */
  syncPeers(peers: PeerConfig[], addresses: string[]): void {
    this.peerKeys = peers;
    const want = new Set(peers.map((p) => p.publicKey));
    for (const p of [...this.neighbourIds]) if (!want.has(p)) {
      this.router.removeNeighbour(p);
      this.neighbourIds.delete(p);
    }
    for (const p of peers) {
      if (this.neighbourIds.has(p.publicKey)) continue;
      const key = p.publicKey;
      this.neighbourIds.add(key);
      this.router.addNeighbour(key, (bytes) => this.sendTo(key, bytes));
    }
    const own = this.ownPrefixes(addresses);
    for (const p of this.own) if (!own.has(p)) this.router.removeLocalPrefix(p);
    for (const p of own) if (!this.own.has(p)) this.router.addLocalPrefix(p);
    this.own = own;
    this.syncLeaves();
    for (const [prefix, r] of this.installed) {
      if (this.device.peers.has(r.via)) this.tryInstall(prefix, r.via, r.metric);
      else {
        this.installed.delete(prefix);
        this.opts.uninstall(prefix);
      }
    }
  }


  /** Leaves = allowed IPs of peers not (yet) heard speaking Babel, minus own prefixes and /0. */
  private syncLeaves(): void {
    const want = new Map<string, string>();
    for (const p of this.peerKeys) {
      if (this.device.peers.get(p.publicKey)?.meshNeighbour) continue;
      for (const a of p.allowedIPs) {
        const c = parseCidr(a);
        if (!c || c.bits === 0) continue;
        const k = network(a);
        if (!this.own.has(k) && !want.has(k)) want.set(k, p.publicKey);
      }
    }
    for (const k of this.leaves.keys()) if (!want.has(k)) this.router.removeLocalPrefix(k);
    for (const k of want.keys()) if (!this.leaves.has(k)) this.router.addLocalPrefix(k);
    this.leaves = want;
  }

  /**
   * Sends a Babel packet to a peer in its tunnel. Without a session the packet
   * is not queued (the device starts a handshake instead): Hellos are periodic.
   */
  private sendTo(key: string, bytes: Uint8Array): void {
    const peer = this.device.peers.get(key);
    if (peer && !this.stopped) this.device.sendBabel(peer, bytes, false);
  }

  /** A Babel payload arrived from a peer (Device.onBabelPacket). Never throws. */
  receive(peerKey: string, bytes: Uint8Array): void {
    if (this.stopped) return;
    const peer = this.device.peers.get(peerKey);
    if (!peer) return;
    if (!peer.meshNeighbour) {
      peer.meshNeighbour = true;
      this.log(`peer ${peerKey} speaks Babel: mesh neighbour`);
      this.syncLeaves();
      this.opts.neighbour?.(peerKey);
    }
    this.router.receive(peerKey, bytes);
  }

  private onRoute(e: RouteEvent): void {
    if (this.stopped) return;
    const key = e.prefix;
    if (e.removed || e.via === null) {
      if (this.installed.delete(key)) this.opts.uninstall(key);
      return;
    }
    if (!this.device.peers.has(e.via)) return;
    const old = this.installed.get(key);
    if (old && old.via === e.via && old.metric === e.metric) return;
    this.installed.set(key, { via: e.via, metric: e.metric });
    this.tryInstall(key, e.via, e.metric);
  }

  private tryInstall(prefix: string, via: string, metric: number): void {
    try {
      this.opts.install(prefix, via, metric);
    } catch (err) {
      this.log(`route ${prefix} via ${via}: ${(err as Error).message}`);
    }
  }

  /** The selected routes for GET /status (leaves show the plain peer they lead to). */
  routes(): MeshRoute[] {
    return this.router
      .routes()
      .map((r) => ({ prefix: r.prefix, via: r.via ?? this.leaves.get(r.prefix) ?? null, metric: r.metric }))
      .sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
  }

  /** Babel packets dropped as malformed (bad header, truncated, malformed TLV). */
  get malformed(): number {
    const s = this.router.stats;
    return s.badHeader + s.truncated + s.malformedTlv;
  }

  /** Updates for new prefixes ignored: their neighbour reached the cap of learned prefixes (MAX_PREFIXES_PER_NEIGHBOUR). */
  get prefixLimit(): number {
    return this.router.stats.prefixLimit;
  }

  /** Stops the router and removes the installed routes. */
  stop(): void {
    if (this.stopped) return;
    this.router.stop();
    this.stopped = true;
    this.device.onPeerState = null;
    for (const k of this.installed.keys()) {
      try {
        this.opts.uninstall(k);
      } catch {
        /* the interface may already be gone */
      }
    }
    this.installed.clear();
  }
}
