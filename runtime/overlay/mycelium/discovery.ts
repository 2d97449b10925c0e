/**
 * Mycelium's local peer discovery: every minute a node sends a 50-byte beacon
 * to [ff02::cafe]:9650 on each IPv6 interface, `"mycelium"` (8) | TCP listen
 * port (2, big endian) | router id (40); a node hearing a beacon from a
 * link-local (fe80::/64) address that is not its own router id adds
 * tcp://[that address%iface]:port as a peer. Source: threefoldtech/mycelium
 * mycelium/src/peer_manager.rs (local_discovery, handle_discovery_packet).
 *
 * Bounded: one beacon per interface per interval (after a start-up burst of
 * four, at 0, 1, 3 and 7 s: a beacon sent while the link is still coming up,
 * its link-local address tentative, is lost, and the next would be a minute
 * later), a fixed receive size, and at most `maxPeers` discovered endpoints
 * reported.
 */
import { createSocket, type Socket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { ROUTER_ID_BYTES } from './router-id.js';

export const DISCOVERY_PORT = 9650;
export const DISCOVERY_GROUP = 'ff02::cafe';
export const BEACON_MAGIC = new TextEncoder().encode('mycelium');
export const BEACON_BYTES = 8 + 2 + ROUTER_ID_BYTES;
export const BEACON_INTERVAL_MS = 60_000;
/** Extra beacons after the first, in ms from start (the start-up burst). */
export const BEACON_BURST_MS = [1_000, 3_000, 7_000];

export function encodeBeacon(tcpPort: number, routerId: Uint8Array): Uint8Array {
  const b = new Uint8Array(BEACON_BYTES);
  b.set(BEACON_MAGIC);
  b[8] = tcpPort >> 8;
  b[9] = tcpPort & 0xff;
  b.set(routerId.subarray(0, ROUTER_ID_BYTES), 10);
  return b;
}

/** Null unless the datagram is exactly a beacon with the magic. */
export function decodeBeacon(b: Uint8Array): { port: number; routerId: Uint8Array } | null {
  if (b.length !== BEACON_BYTES) return null;
  for (let i = 0; i < 8; i++) if (b[i] !== BEACON_MAGIC[i]) return null;
  return { port: (b[8] << 8) | b[9], routerId: b.slice(10) };
}

export interface DiscoveryOptions {
  tcpPort: number;
  routerId: Uint8Array;
  /** Called for each new peer heard: host is `fe80::...%iface`. */
  found: (host: string, port: number) => void;
  port?: number;
  intervalMs?: number;
  maxPeers?: number;
  log?: (line: string) => void;
}

/** Starts beaconing and listening; returns a stop function. */
export function startDiscovery(o: DiscoveryOptions): () => void {
  const port = o.port ?? DISCOVERY_PORT;
  const seen = new Set<string>();
  const sock: Socket = createSocket({ type: 'udp6', reuseAddr: true });
  const beacon = encodeBeacon(o.tcpPort, o.routerId);
  const ifaces = (): string[] =>
    Object.entries(networkInterfaces())
      .filter(([, addrs]) => addrs?.some((a) => a.family === 'IPv6' && a.address.startsWith('fe80')))
      .map(([n]) => n);
  sock.on('error', (err) => o.log?.(`tfw: mycelium: discovery: ${err.message}`));
  sock.on('message', (msg, rinfo) => {
    if (!rinfo.address.toLowerCase().startsWith('fe80:')) return;
    const b = decodeBeacon(msg);
    if (!b || Buffer.compare(b.routerId, o.routerId) === 0) return;
    const key = `${rinfo.address}|${b.port}`;
    if (seen.has(key) || seen.size >= (o.maxPeers ?? 64)) return;
    seen.add(key);
    o.found(rinfo.address, b.port);
  });
  const send = () => {
    for (const i of ifaces()) {
      try {
        sock.addMembership(DISCOVERY_GROUP, `::%${i}`);
      } catch {
        // already joined, or no multicast on this interface
      }
      sock.send(beacon, port, `${DISCOVERY_GROUP}%${i}`, () => {});
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const burst: NodeJS.Timeout[] = [];
  sock.bind(port, '::', () => {
    try {
      sock.setMulticastLoopback(false);
    } catch {
      // not fatal: our own beacons are filtered by router id
    }
    send();
    for (const ms of BEACON_BURST_MS) burst.push(setTimeout(send, ms));
    timer = setInterval(send, o.intervalMs ?? BEACON_INTERVAL_MS);
  });
  return () => {
    if (timer) clearInterval(timer);
    for (const t of burst) clearTimeout(t);
    sock.close();
  };
}
