/**
 * Next Hop TLV (RFC 8966 §4.6.8): sets the next-hop address for the following
 * Updates of the same address family. Over tfw's point-to-point tunnels the next
 * hop is the neighbour itself, so the router records it but forwards by neighbour.
 */
import { AE, TlvType } from './constants.js';
import { addressOctets } from './ihu.js';
import { Writer } from './wire.js';

/** §4.6.8: AE (1, not 0), Reserved (1), Next hop (4, 16 or 8 octets). */
export interface NextHop {
  type: 'nextHop';
  ae: number;
  address: Uint8Array;
}

export function encodeNextHop(w: Writer, tlv: NextHop): void {
  w.u8(TlvType.NextHop).u8(2 + tlv.address.length).u8(tlv.ae).u8(0).bytes(tlv.address);
}

/** Returns null when malformed (AE 0, short body), 'unknownAe' for an unknown AE. */
export function decodeNextHop(body: Uint8Array): { tlv: NextHop; length: number } | null | 'unknownAe' {
  if (body.length < 2) return null;
  const ae = body[0];
  if (ae === AE.Wildcard) return null;
  const n = addressOctets(ae);
  if (n < 0) return 'unknownAe';
  if (body.length < 2 + n) return null;
  return { tlv: { type: 'nextHop', ae, address: body.slice(2, 2 + n) }, length: 2 + n };
}
