/** IHU ("I Heard You") TLV (RFC 8966 §4.6.6): the receive cost a node measured for a neighbour. */
import { AE, TlvType } from './constants.js';
import { u16, Writer } from './wire.js';

/**
 * §4.6.6: AE (1), Reserved (1), Rxcost (2), Interval (2, centiseconds), Address.
 * AE 0 (no address) is allowed on point-to-point links, which is what tfw sends.
 */
export interface Ihu {
  type: 'ihu';
  ae: number;
  rxcost: number;
  /** Centiseconds until the next IHU; MUST NOT be 0. */
  interval: number;
  /** The neighbour's address as on the wire (4, 16 or 8 octets), null for AE 0. */
  address: Uint8Array | null;
}

/** Octets of an address in IHU / Next Hop for each AE (no compression there). */
export function addressOctets(ae: number): number {
  return ae === AE.Wildcard ? 0 : ae === AE.IPv4 ? 4 : ae === AE.IPv6 ? 16 : ae === AE.LinkLocalIPv6 ? 8 : -1;
}

export function encodeIhu(w: Writer, tlv: Ihu): void {
  const addr = tlv.address ?? new Uint8Array(0);
  w.u8(TlvType.IHU).u8(6 + addr.length).u8(tlv.ae).u8(0).u16(tlv.rxcost).u16(tlv.interval).bytes(addr);
}

/**
 * Returns null when malformed (short body, address past the end, interval 0) and
 * 'unknownAe' for an AE this implementation does not know (the TLV is then ignored, §4.1.3).
 */
export function decodeIhu(body: Uint8Array): { tlv: Ihu; length: number } | null | 'unknownAe' {
  if (body.length < 6) return null;
  const ae = body[0];
  const n = addressOctets(ae);
  if (n < 0) return 'unknownAe';
  if (body.length < 6 + n) return null;
  const interval = u16(body, 4);
  if (interval === 0) return null;
  return {
    tlv: { type: 'ihu', ae, rxcost: u16(body, 2), interval, address: n === 0 ? null : body.slice(6, 6 + n) },
    length: 6 + n,
  };
}
