/**
 * Mycelium's control packets: a Babel packet header (RFC 8966 §4.2: Magic 42,
 * Version, Body length) with Version 3 for Mycelium's dialect (40-byte router
 * ids, route request generations), then TLVs (Type, Length, Body). Mycelium
 * writes one TLV per packet and reads only the first; tfw writes one and
 * reads them all. Source: threefoldtech/mycelium mycelium/src/babel.rs
 * (Codec), and the TLV files beside it.
 */
import type { Counters } from './counters.js';
import { decodeHelloBody, encodeHelloBody, TLV_HELLO, type Hello } from './hello.js';
import { decodeIhuBody, encodeIhuBody, TLV_IHU, type Ihu } from './ihu.js';
import { decodeRouteRequestBody, encodeRouteRequestBody, TLV_ROUTE_REQUEST, type RouteRequest } from './route-request.js';
import { decodeSeqnoRequestBody, encodeSeqnoRequestBody, TLV_SEQNO_REQUEST, type SeqnoRequest } from './seqno-request.js';
import { decodeUpdateBody, encodeUpdateBody, TLV_UPDATE, type Update } from './update.js';

export const BABEL_MAGIC = 42;
/** Mycelium's Babel dialect version (RFC 8966 uses 2). */
export const BABEL_VERSION = 3;
export const BABEL_HEADER_BYTES = 4;

export type Tlv = Hello | Ihu | Update | RouteRequest | SeqnoRequest;

/** Type and body bytes of a TLV. */
export function encodeTlv(t: Tlv): { type: number; body: Uint8Array } {
  switch (t.type) {
    case 'hello':
      return { type: TLV_HELLO, body: encodeHelloBody(t) };
    case 'ihu':
      return { type: TLV_IHU, body: encodeIhuBody(t) };
    case 'update':
      return { type: TLV_UPDATE, body: encodeUpdateBody(t) };
    case 'route-request':
      return { type: TLV_ROUTE_REQUEST, body: encodeRouteRequestBody(t) };
    case 'seqno-request':
      return { type: TLV_SEQNO_REQUEST, body: encodeSeqnoRequestBody(t) };
  }
}

/** A Babel packet holding one TLV: header (4) + TLV header (2) + body. */
export function encodeBabelPacket(t: Tlv): Uint8Array {
  const { type, body } = encodeTlv(t);
  const out = new Uint8Array(BABEL_HEADER_BYTES + 2 + body.length);
  out[0] = BABEL_MAGIC;
  out[1] = BABEL_VERSION;
  out[2] = (body.length + 2) >> 8;
  out[3] = (body.length + 2) & 0xff;
  out[4] = type;
  out[5] = body.length;
  out.set(body, 6);
  return out;
}

/** Decodes one TLV body by type; null (and a counted drop) when unknown or malformed. */
export function decodeTlv(type: number, body: Uint8Array, counters: Counters): Tlv | null {
  let t: Tlv | null;
  switch (type) {
    case TLV_HELLO:
      t = decodeHelloBody(body);
      break;
    case TLV_IHU:
      t = decodeIhuBody(body);
      break;
    case TLV_UPDATE:
      t = decodeUpdateBody(body);
      break;
    case TLV_ROUTE_REQUEST:
      t = decodeRouteRequestBody(body);
      break;
    case TLV_SEQNO_REQUEST:
      t = decodeSeqnoRequestBody(body);
      break;
    default:
      counters.drop('tlv-unknown');
      return null;
  }
  if (t === null) counters.drop('tlv-malformed');
  return t;
}

/**
 * Decodes the TLVs of a Babel packet body (after its 4-byte header). A TLV
 * whose length runs past the body ends the walk (counted malformed).
 */
export function decodeBabelBody(body: Uint8Array, counters: Counters, out: Tlv[] = []): Tlv[] {
  let off = 0;
  while (off + 2 <= body.length) {
    const type = body[off];
    const len = body[off + 1];
    if (off + 2 + len > body.length) {
      counters.drop('tlv-malformed');
      break;
    }
    const t = decodeTlv(type, body.subarray(off + 2, off + 2 + len), counters);
    if (t) out.push(t);
    off += 2 + len;
  }
  return out;
}
