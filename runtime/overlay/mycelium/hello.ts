/**
 * Hello TLV (type 4) in Mycelium's Babel dialect: RFC 8966 §4.6.5 layout,
 * Flags (2; U = 0x8000, other bits ignored), Seqno (2), Interval (2,
 * centiseconds). Mycelium sends only unicast Hellos, one per peer link.
 * Source: threefoldtech/mycelium mycelium/src/babel/hello.rs.
 */
export const TLV_HELLO = 4;
export const HELLO_FLAG_UNICAST = 0x8000;
export const HELLO_BODY_BYTES = 6;

export interface Hello {
  type: 'hello';
  unicast: boolean;
  seqno: number;
  /** Centiseconds until the next Hello. */
  interval: number;
}

/** The 6-byte body. */
export function encodeHelloBody(h: Hello): Uint8Array {
  const b = new Uint8Array(HELLO_BODY_BYTES);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, h.unicast ? HELLO_FLAG_UNICAST : 0);
  dv.setUint16(2, h.seqno & 0xffff);
  dv.setUint16(4, h.interval & 0xffff);
  return b;
}

/** Null when the body is shorter than 6 bytes. */
export function decodeHelloBody(body: Uint8Array): Hello | null {
  if (body.length < HELLO_BODY_BYTES) return null;
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  return { type: 'hello', unicast: (dv.getUint16(0) & HELLO_FLAG_UNICAST) !== 0, seqno: dv.getUint16(2), interval: dv.getUint16(4) };
}
