/**
 * The status endpoint (ARCHITECTURE.md, "Overlay config, keys and status"):
 * `GET /status` on 127.0.0.1:port (or host:port) or a Unix socket path returns
 * `{ publicKey, listenPort, peers: [{ publicKey, endpoint, lastHandshake,
 * rxBytes, txBytes }], routes: [{ prefix, via, metric }], drops: {...} }` with
 * `lastHandshake` in Unix seconds (0 before the first), and `endToEnd: {
 * handedOff, hopByHop }` while a Mycelium node seals end to end.
 */
import { createServer, type Server } from 'node:http';
import { existsSync, unlinkSync } from 'node:fs';
import { parseListenAddress } from '../config/ip.js';
import { ConfigError } from '../errors.js';
import type { Device } from './device.js';
import type { Drops } from './drops.js';
import type { EndToEndCounts } from './send.js';

export interface PeerStatus {
  publicKey: string;
  endpoint: string | null;
  lastHandshake: number;
  rxBytes: number;
  txBytes: number;
}

export interface OverlayStatus {
  publicKey: string;
  listenPort: number;
  peers: PeerStatus[];
  routes: { prefix: string; via: string | null; metric: number }[];
  /**
   * The device's drop counters (with icmpSent / icmpRateLimited / icmpNoSource:
   * the ICMP errors answering mesh forwarding drops, icmp.ts), plus
   * `babelMalformed` (malformed Babel packets) and `babelPrefixLimit`
   * (Updates for new prefixes ignored: the neighbour reached its cap of
   * learned prefixes) in mesh mode.
   */
  drops: Drops & { babelMalformed?: number; babelPrefixLimit?: number };
  /**
   * Only while a Mycelium node seals multi-hop 400::/7 packets end to end
   * (over the WireGuard links: `mesh: true` by default, or a `mycelium:`
   * section): packets it took (`handedOff`) and packets Babel's hop-by-hop
   * route carried because Mycelium had no route yet (`hopByHop`; send.ts).
   */
  endToEnd?: EndToEndCounts;
}

/** What the status needs from mesh mode (mesh.ts). */
export interface MeshStatusSource {
  routes(): { prefix: string; via: string | null; metric: number }[];
  readonly malformed: number;
  /** Updates ignored because their neighbour reached the cap of learned prefixes. */
  readonly prefixLimit: number;
}

/**
 * Snapshot of a device's state as the status JSON. With `mesh`, `routes` are
 * the Babel-selected routes (via = next hop's public key, null for own
 * prefixes) and `drops.babelMalformed` counts malformed Babel packets.
 */
export function deviceStatus(device: Device, listenPort: number, mesh: MeshStatusSource | null = null): OverlayStatus {
  return {
    publicKey: device.publicKeyB64,
    listenPort,
    peers: [...device.peers.values()].map((p) => ({
      publicKey: p.publicKeyB64,
      endpoint: p.endpoint ? p.endpoint.toString() : null,
      lastHandshake: Math.floor(p.lastHandshake / 1000),
      rxBytes: p.rxBytes,
      txBytes: p.txBytes,
    })),
    routes: mesh ? mesh.routes() : device.routes.entries().map((e) => ({ prefix: e.prefix, via: e.value.peer.publicKeyB64, metric: e.value.metric })),
    drops: mesh ? { ...device.drops, babelMalformed: mesh.malformed, babelPrefixLimit: mesh.prefixLimit } : { ...device.drops },
    ...(device.mycelium.endToEnd ? { endToEnd: { ...device.mycelium.endToEndCounts } } : {}),
  };
}

/**
 * Serves GET /status at `address`: `host:port`, `:port`/`port` (127.0.0.1) or a
 * path (Unix socket, replaced if stale). Throws ConfigError('status') when the
 * address is malformed; resolves once listening.
 */
export async function serveStatus(address: string, status: () => OverlayStatus): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/status' || req.url === '/status/')) {
      const body = JSON.stringify(status());
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: try GET /status\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new ConfigError('status', `cannot listen on ${address}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
    const a = parseListenAddress(address);
    if (!a) {
      reject(new ConfigError('status', `expected host:port, :port, port or a Unix socket path, got ${JSON.stringify(address)}`));
      return;
    }
    if ('path' in a) {
      if (existsSync(a.path)) unlinkSync(a.path);
      server.listen(a.path, resolve);
      return;
    }
    server.listen(a.port, a.host, resolve);
  });
  return server;
}
