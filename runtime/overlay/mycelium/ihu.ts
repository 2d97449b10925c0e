/**
 * IHU TLV (type 5) in Mycelium's Babel dialect: AE (1), Reserved (1),
 * Rxcost (2), Interval (2, centiseconds), then the address in AE form (none
 * for AE 0, 4 bytes, 16 bytes, or 8 for AE 3). Mycelium sends AE 0 and sets
 * the link cost from the Hello -> IHU round trip, not from Rxcost.
 * Source: threefoldtech/mycelium mycelium/src/babel/ihu.rs.
 */
import { formatIp } from '../../config/ip.js';
import { AE_IPV4, AE_IPV6, AE_IPV6_LL, AE_WILDCARD } from './subnet.js';

export const TLV_IHU = 5;

export interface Ihu {
  type: 'ihu';
  rxCost: number;
  /** Centiseconds; Mycelium refuses to send 0. */
  interval: number;
  /** The neighbour's address (4 or 16 bytes), or null for AE 0. */
  address: Uint8Array | null;
}

export function encodeIhuBody(t: Ihu): Uint8Array {
  const a = t.address;
  const ae = a === null ? AE_WILDCARD : a.length === 4 ? AE_IPV4 : AE_IPV6;
  const b = new Uint8Array(6 + (a?.length ?? 0));
  const dv = new DataView(b.buffer);
  b[0] = ae;
  dv.setUint16(2, t.rxCost & 0xffff);
  dv.setUint16(4, t.interval & 0xffff);
  if (a) b.set(a, 6);
  return b;
}

/** Null for an unknown AE or a body too short for its AE. */
export function decodeIhuBody(body: Uint8Array): Ihu | null {
  if (body.length < 6) return null;
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const rest = body.subarray(6);
  let address: Uint8Array | null;
  switch (body[0]) {
    case AE_WILDCARD:
      address = null;
      break;
    case AE_IPV4:
      if (rest.length < 4) return null;
      address = rest.slice(0, 4);
      break;
    case AE_IPV6:
      if (rest.length < 16) return null;
      address = rest.slice(0, 16);
      break;
    case AE_IPV6_LL:
      if (rest.length < 8) return null;
      address = new Uint8Array(16);
      address[0] = 0xfe;
      address[1] = 0x80;
      address.set(rest.subarray(0, 8), 8);
      break;
    default:
      return null;
  }
  return { type: 'ihu', rxCost: dv.getUint16(2), interval: dv.getUint16(4), address };
}

/** For logs: the IHU's address as text, or `*`. */
export const ihuAddressText = (t: Ihu): string => (t.address ? formatIp(t.address) : '*');
