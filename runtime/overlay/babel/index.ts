/**
 * Babel (RFC 8966) mesh routing for tfw's overlay router.
 *
 * Each tfw node owns an overlay /64 inside 400::/7 and announces it (plus any
 * configured prefixes, IPv4 or IPv6) to the tfw nodes it has WireGuard tunnels
 * with. Babel packets travel inside those tunnels; this module only sees "send
 * these bytes to neighbour X" and "bytes arrived from neighbour X". Links are
 * point-to-point, so Hellos and IHUs are unicast per link.
 *
 * ```ts
 * const router = new BabelRouter({
 *   routerId,                        // Uint8Array(8), e.g. the low 8 bytes of the node's /64 hash
 *   prefixes: ['4ab:cd01:2:3::/64'], // our own prefixes, standard notation
 *   clock,                           // optional: { now(), setTimeout() }; ManualClock in tests
 *   log,                             // optional: (message) => void; default stderr "tfw: babel: ..."
 *   // optional: helloInterval (ms, 4000), ihuInterval, updateInterval, seqno (initial, 0),
 *   // linkCost (96), maxPacketSize (1232), splitHorizon (true), unicastHellos (true)
 * });
 * router.on('route', ({ prefix, via, metric, removed }) => fib.apply(...));
 * router.addNeighbour(peerId, (bytes) => tunnel.sendControl(peerId, bytes));
 * tunnel.onControl((peerId, bytes) => router.receive(peerId, bytes));
 * router.linkDown(peerId);           // optional fast path: WireGuard saw the peer go away
 * router.linkUp(peerId);             // optional: the tunnel is back, restart fast Hellos
 * router.removeNeighbour(peerId);    // peer removed from the config
 * router.addLocalPrefix('10.100.0.2/32'); router.removeLocalPrefix('10.100.0.2/32');
 * router.routes();                   // [{ prefix, via (neighbour id, null = local), metric, seqno, routerId (hex) }]
 * router.tableSize();               // { prefixes, routes (all neighbours), sources }
 * router.stats;                      // parse drops (badHeader, truncated, malformedTlv, ...) and activity counters
 * router.stop();
 * ```
 *
 * - `addNeighbour(id, send)`: `send(bytes)` delivers one Babel packet (at most
 *   `maxPacketSize`, default 1232 octets) to the neighbour; exceptions it throws
 *   are counted in `stats.sendErrors`. Throws BabelArgumentError for a duplicate id.
 * - `receive(id, bytes)`: never throws; malformed input is counted and skipped.
 * - Route events: `removed: false` when the selected route for a prefix appears or
 *   changes next hop or metric (`via` null for our own prefixes); `removed: true`
 *   when it goes away. A retracted prefix is held (and its retraction re-sent) for
 *   the hold time; while held, packets for it must not follow a shorter prefix
 *   (§3.5.5), so the FIB should install an unreachable entry or simply drop.
 * - Timers (Appendix B): Hello 4 s, IHU 12 s, update 16 s, route expiry 3.5 ×
 *   update interval, IHU hold 3.5 × IHU interval, request timeout 2 s (doubling,
 *   3 resends), source GC 3 min. Link cost: 2-out-of-3 (A.2.1), K = 96.
 *
 * Design notes and the list of implemented RFC sections are in docs/babel.md.
 */
export { BabelRouter } from './router.js';
export type { BabelRouterOptions, RouteEvent, RouteInfo, RouterStats } from './router.js';
export { ManualClock, systemClock } from './clock.js';
export type { Clock, TimerHandle } from './clock.js';
export { BabelArgumentError, BabelPrefixError } from './errors.js';
export { parsePrefix, formatPrefix } from './prefix.js';
export type { Prefix } from './prefix.js';
export { parsePacket, encodePacket, encodePackets, newParseStats, PacketEncoder } from './packet.js';
export type { ParseStats, Tlv } from './packet.js';
export * as constants from './constants.js';
