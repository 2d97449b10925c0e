/**
 * Seqno Request TLV (RFC 8966 §4.6.11): asks the source of a route (router-id)
 * for an update with a sequence number at least `seqno`; forwarded hop by hop
 * towards the source (§3.8.1.2) while Hop Count allows.
 */
import { AE, TlvType } from './constants.js';
import { expandPrefix, prefixWireLength } from './prefix.js';
import { u16, Writer } from './wire.js';

/** §4.6.11: AE (1), Plen (1), Seqno (2), Hop Count (1), Reserved (1), Router-Id (8), Prefix. */
export interface SeqnoRequest {
  type: 'seqnoRequest';
  ae: number;
  plen: number;
  seqno: number;
  hopCount: number;
  routerId: Uint8Array;
  /** Full prefix (4 or 16 octets). */
  prefix: Uint8Array;
}

export function encodeSeqnoRequest(w: Writer, tlv: SeqnoRequest): void {
  const n = prefixWireLength(tlv.ae, tlv.plen);
  const from = tlv.ae === AE.LinkLocalIPv6 ? 8 : 0;
  w.u8(TlvType.SeqnoRequest).u8(14 + n);
  w.u8(tlv.ae).u8(tlv.plen).u16(tlv.seqno).u8(tlv.hopCount).u8(0).bytes(tlv.routerId);
  w.bytes(tlv.prefix.subarray(from, from + n));
}

/**
 * Returns null when malformed (short body, plen out of range, AE 0, which a seqno
 * request cannot use, or hop count 0) and 'unknownAe' for an unknown AE.
 */
export function decodeSeqnoRequest(body: Uint8Array): { tlv: SeqnoRequest; length: number } | null | 'unknownAe' {
  if (body.length < 14) return null;
  const ae = body[0];
  const plen = body[1];
  if (ae > AE.LinkLocalIPv6) return 'unknownAe';
  if (ae === AE.Wildcard) return null;
  const n = prefixWireLength(ae, plen);
  if (n < 0 || body.length < 14 + n) return null;
  const hopCount = body[4];
  if (hopCount === 0) return null;
  const prefix = expandPrefix(ae, plen, 0, body.subarray(14, 14 + n), undefined);
  if (!prefix) return null;
  return {
    tlv: { type: 'seqnoRequest', ae, plen, seqno: u16(body, 2), hopCount, routerId: body.slice(6, 14), prefix },
    length: 14 + n,
  };
}
