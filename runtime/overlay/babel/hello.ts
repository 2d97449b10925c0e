/** Hello TLV (RFC 8966 §4.6.5): neighbour discovery and link quality (§3.4.1). */
import { HELLO_FLAG_UNICAST, TlvType } from './constants.js';
import { u16, Writer } from './wire.js';

/** §4.6.5: Flags (2; U = 0x8000), Seqno (2), Interval (2, centiseconds; 0 = unscheduled). */
export interface Hello {
  type: 'hello';
  /** Flag U: this Hello was sent to one neighbour and uses that neighbour's seqno space. */
  unicast: boolean;
  seqno: number;
  /** Centiseconds until the next scheduled Hello of this kind; 0 for an unscheduled Hello. */
  interval: number;
}

export function encodeHello(w: Writer, tlv: Hello): void {
  w.u8(TlvType.Hello).u8(6).u16(tlv.unicast ? HELLO_FLAG_UNICAST : 0).u16(tlv.seqno).u16(tlv.interval);
}

/** Returns null when the body is shorter than 6 octets. Unknown flags are ignored (§4.6.5). */
export function decodeHello(body: Uint8Array): { tlv: Hello; length: number } | null {
  if (body.length < 6) return null;
  const flags = u16(body, 0);
  return {
    tlv: { type: 'hello', unicast: (flags & HELLO_FLAG_UNICAST) !== 0, seqno: u16(body, 2), interval: u16(body, 4) },
    length: 6,
  };
}
