/**
 * Route Request TLV (RFC 8966 §4.6.10): asks a neighbour for an update for one
 * prefix, or (AE 0) for a full dump of its routing table (§3.8.1.1).
 */
import { AE, TlvType } from './constants.js';
import { expandPrefix, prefixWireLength } from './prefix.js';
import { Writer } from './wire.js';

/** §4.6.10: AE (1), Plen (1), Prefix (ceil(Plen/8) octets, no compression). */
export interface RouteRequest {
  type: 'routeRequest';
  ae: number;
  plen: number;
  /** Full prefix (4 or 16 octets), empty for the wildcard request. */
  prefix: Uint8Array;
}

export function encodeRouteRequest(w: Writer, tlv: RouteRequest): void {
  const n = prefixWireLength(tlv.ae, tlv.plen);
  const from = tlv.ae === AE.LinkLocalIPv6 ? 8 : 0;
  w.u8(TlvType.RouteRequest).u8(2 + n).u8(tlv.ae).u8(tlv.plen).bytes(tlv.prefix.subarray(from, from + n));
}

/** Returns null when malformed (short body, plen out of range), 'unknownAe' for an unknown AE. */
export function decodeRouteRequest(body: Uint8Array): { tlv: RouteRequest; length: number } | null | 'unknownAe' {
  if (body.length < 2) return null;
  const ae = body[0];
  const plen = body[1];
  if (ae > AE.LinkLocalIPv6) return 'unknownAe';
  const n = prefixWireLength(ae, plen);
  if (n < 0 || body.length < 2 + n) return null;
  const prefix = expandPrefix(ae, plen, 0, body.subarray(2, 2 + n), undefined);
  if (!prefix) return null;
  return { tlv: { type: 'routeRequest', ae, plen, prefix }, length: 2 + n };
}
