/**
 * Route request TLV (type 9) in Mycelium's Babel dialect: Generation (1, how
 * often it was forwarded), AE (1), Plen (1), Prefix. RFC 8966 §4.6.10 has no
 * generation byte; Mycelium adds it and forwards requests for prefixes it
 * does not know. AE 0 asks for a full table dump.
 * Source: threefoldtech/mycelium mycelium/src/babel/route_request.rs.
 */
import { aeOf, prefixOf, readPrefix, type Subnet } from './subnet.js';

export const TLV_ROUTE_REQUEST = 9;

export interface RouteRequest {
  type: 'route-request';
  generation: number;
  /** null: every route (wildcard). */
  subnet: Subnet | null;
}

export function encodeRouteRequestBody(r: RouteRequest): Uint8Array {
  if (r.subnet === null) return Uint8Array.of(r.generation & 0xff, 0, 0);
  const p = prefixOf(r.subnet);
  const b = new Uint8Array(3 + p.length);
  b[0] = r.generation & 0xff;
  b[1] = aeOf(r.subnet);
  b[2] = r.subnet.plen;
  b.set(p, 3);
  return b;
}

/** Null for an unknown AE, a bad plen, or a short body. AE 0 is a wildcard whatever plen says, as in Mycelium. */
export function decodeRouteRequestBody(body: Uint8Array): RouteRequest | null {
  if (body.length < 3) return null;
  if (body[1] === 0) return { type: 'route-request', generation: body[0], subnet: null };
  const pr = readPrefix(body[1], body[2], body, 3);
  if (pr === null) return null;
  return { type: 'route-request', generation: body[0], subnet: pr.subnet };
}
