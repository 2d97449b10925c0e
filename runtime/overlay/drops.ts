/**
 * The device's drop counters (the `drops` object of GET /status): a leaf
 * file, so the send, receive, handshake and timer paths that count drops do
 * not import the device that holds them.
 */
import type { IcmpCounters } from './routing/icmp.js';

/**
 * Drop counters by reason (the `drops` object of GET /status), and how many
 * of the mesh forwarding drops (ttl, noRoute, oversized) were answered with an
 * ICMP error (icmp.ts: icmpSent, icmpRateLimited, icmpNoSource).
 */
export interface Drops extends IcmpCounters {
  replay: number;
  auth: number;
  malformed: number;
  noRoute: number;
  allowedIPs: number;
  unknownIndex: number;
  expired: number;
  handshake: number;
  mac: number;
  /** Handshake messages answered with a cookie reply (under load, no valid mac2) instead of processed. */
  cookieReplies: number;
  /** Handshake messages with a valid mac2 over the per-source rate limit (under load; ratelimiter.ts). */
  rateLimited: number;
  /** Handshake messages dropped because the handshake queue was full (handshake-queue.ts). */
  handshakeQueueFull: number;
  noEndpoint: number;
  staged: number;
  oversized: number;
  /** Forwarded packets whose TTL / hop limit ran out (mesh forwarding). */
  ttl: number;
}
