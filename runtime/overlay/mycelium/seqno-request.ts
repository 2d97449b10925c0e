/**
 * Seqno request TLV (type 10) in Mycelium's Babel dialect: AE (1), Plen (1),
 * Seqno (2), Hop count (1, never 0), Reserved (1), Router id (40), Prefix.
 * RFC 8966 §4.6.11 has an 8-byte router id; Mycelium's is 40 bytes.
 * Source: threefoldtech/mycelium mycelium/src/babel/seqno_request.rs.
 */
import { ROUTER_ID_BYTES } from './router-id.js';
import { aeOf, prefixOf, readPrefix, type Subnet } from './subnet.js';

export const TLV_SEQNO_REQUEST = 10;
/** RFC 8966 §3.8.2.1: hop count of a new request. */
export const SEQNO_REQUEST_HOPS = 64;

export interface SeqnoRequest {
  type: 'seqno-request';
  seqno: number;
  hopCount: number;
  routerId: Uint8Array;
  subnet: Subnet;
}

export function encodeSeqnoRequestBody(r: SeqnoRequest): Uint8Array {
  const p = prefixOf(r.subnet);
  const b = new Uint8Array(6 + ROUTER_ID_BYTES + p.length);
  b[0] = aeOf(r.subnet);
  b[1] = r.subnet.plen;
  new DataView(b.buffer).setUint16(2, r.seqno & 0xffff);
  b[4] = r.hopCount & 0xff;
  b.set(r.routerId.subarray(0, ROUTER_ID_BYTES), 6);
  b.set(p, 6 + ROUTER_ID_BYTES);
  return b;
}

/** Null for an unknown AE, a bad plen, hop count 0, or a short body. */
export function decodeSeqnoRequestBody(body: Uint8Array): SeqnoRequest | null {
  if (body.length < 6 + ROUTER_ID_BYTES) return null;
  const pr = readPrefix(body[0], body[1], body, 6 + ROUTER_ID_BYTES);
  if (pr === null || body[4] === 0) return null;
  return {
    type: 'seqno-request',
    seqno: new DataView(body.buffer, body.byteOffset, body.byteLength).getUint16(2),
    hopCount: body[4],
    routerId: body.slice(6, 6 + ROUTER_ID_BYTES),
    subnet: pr.subnet ?? { family: 6, bytes: new Uint8Array(16), plen: 0 },
  };
}
