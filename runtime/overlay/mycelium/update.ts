/**
 * Update TLV (type 8) in Mycelium's Babel dialect: AE (1), Flags (1; only
 * 0x80 and 0x40 kept), Plen (1), Omitted (1, always 0), Interval (2,
 * centiseconds), Seqno (2), Metric (2; 0xFFFF retracts), Prefix
 * (ceil(plen/8) bytes), then the 40-byte router id of the route's origin.
 * RFC 8966 carries the router id in a separate Router-Id TLV; Mycelium
 * appends it to every Update instead (dialect version 3).
 * Source: threefoldtech/mycelium mycelium/src/babel/update.rs.
 */
import { ROUTER_ID_BYTES } from './router-id.js';
import { aeOf, prefixOf, readPrefix, type Subnet } from './subnet.js';

export const TLV_UPDATE = 8;
/** RFC 8966 §2.1: the infinite metric; an Update with it is a retraction. */
export const METRIC_INFINITE = 0xffff;
const FLAG_MASK = 0xc0;

export interface Update {
  type: 'update';
  flags: number;
  /** Centiseconds until the next Update for this prefix. */
  interval: number;
  seqno: number;
  metric: number;
  subnet: Subnet;
  /** 40 bytes: origin public key, zone, random. */
  routerId: Uint8Array;
}

export function encodeUpdateBody(u: Update): Uint8Array {
  const p = prefixOf(u.subnet);
  const b = new Uint8Array(10 + p.length + ROUTER_ID_BYTES);
  const dv = new DataView(b.buffer);
  b[0] = aeOf(u.subnet);
  b[1] = u.flags & 0xff;
  b[2] = u.subnet.plen;
  dv.setUint16(4, u.interval & 0xffff);
  dv.setUint16(6, u.seqno & 0xffff);
  dv.setUint16(8, u.metric & 0xffff);
  b.set(p, 10);
  b.set(u.routerId.subarray(0, ROUTER_ID_BYTES), 10 + p.length);
  return b;
}

/** Null for an unknown AE, a plen too long for the AE, or a short body. */
export function decodeUpdateBody(body: Uint8Array): Update | null {
  if (body.length < 10 + ROUTER_ID_BYTES) return null;
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const plen = body[2];
  const pr = readPrefix(body[0], plen, body, 10);
  if (pr === null) return null;
  const off = 10 + pr.used;
  if (off + ROUTER_ID_BYTES > body.length) return null;
  return {
    type: 'update',
    flags: body[1] & FLAG_MASK,
    interval: dv.getUint16(4),
    seqno: dv.getUint16(6),
    metric: dv.getUint16(8),
    // AE 0 (plen 0): Mycelium reads it as ::/0.
    subnet: pr.subnet ?? { family: 6, bytes: new Uint8Array(16), plen: 0 },
    routerId: body.slice(off, off + ROUTER_ID_BYTES),
  };
}
