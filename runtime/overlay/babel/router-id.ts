/** Router-Id TLV (RFC 8966 §4.6.7): sets the router-id for the following Updates in the packet. */
import { TlvType } from './constants.js';
import { Writer } from './wire.js';

/** §4.6.7: Reserved (2), Router-Id (8). */
export interface RouterId {
  type: 'routerId';
  routerId: Uint8Array;
}

/** §4.6.7: a router-id of all zeroes or all ones MUST NOT be used (and is malformed on receipt). */
export function validRouterId(id: Uint8Array): boolean {
  return id.length === 8 && !id.every((b) => b === 0) && !id.every((b) => b === 0xff);
}

export function encodeRouterId(w: Writer, tlv: RouterId): void {
  w.u8(TlvType.RouterId).u8(10).u16(0).bytes(tlv.routerId);
}

/** Returns null when the body is shorter than 10 octets or the id is all zeroes / all ones. */
export function decodeRouterId(body: Uint8Array): { tlv: RouterId; length: number } | null {
  if (body.length < 10) return null;
  const routerId = body.slice(2, 10);
  if (!validRouterId(routerId)) return null;
  return { tlv: { type: 'routerId', routerId }, length: 10 };
}
