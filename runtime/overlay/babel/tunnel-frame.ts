/**
 * How Babel (RFC 8966) packets travel between tfw peers: inside the WireGuard
 * tunnel, as IPv6/UDP datagrams from the sender's overlay node address to the
 * receiver's (each node's whole /128, address.ts), source and destination port 6696
 * (RFC 8966 section 5: the Babel port), hop limit 1 (link-local scope, never
 * forwarded). A tunnel is a point-to-point link, so these node addresses act as
 * the link addresses Babel's Hello/IHU and next-hop fields carry. This is the
 * one place that defines the framing.
 */
import { ipv6UpperChecksum } from '../routing/checksum.js';

export const BABEL_PORT = 6696;
const IPV6_HEADER = 40;
const UDP_HEADER = 8;
export const BABEL_FRAME_OVERHEAD = IPV6_HEADER + UDP_HEADER;

/**
 * Writes an IPv6+UDP frame carrying `payload` from `src` to `dst` (16 bytes
 * each) into `out` (needs payload.length + 48 bytes); returns the frame length.
 */
export function frameBabel(src: Uint8Array, dst: Uint8Array, payload: Uint8Array, out: Uint8Array): number {
  const udpLen = UDP_HEADER + payload.length;
  if (udpLen > 0xffff) throw new RangeError(`payload: expected at most ${0xffff - UDP_HEADER} bytes, got ${payload.length}`);
  out.fill(0, 0, BABEL_FRAME_OVERHEAD);
  out[0] = 0x60;
  out[4] = udpLen >> 8; out[5] = udpLen & 0xff;
  out[6] = 17; // next header: UDP
  out[7] = 1; // hop limit
  out.set(src, 8);
  out.set(dst, 24);
  out[40] = BABEL_PORT >> 8; out[41] = BABEL_PORT & 0xff;
  out[42] = BABEL_PORT >> 8; out[43] = BABEL_PORT & 0xff;
  out[44] = udpLen >> 8; out[45] = udpLen & 0xff;
  out.set(payload, BABEL_FRAME_OVERHEAD);
  const ck = ipv6UpperChecksum(out, 17, udpLen) || 0xffff;
  out[46] = ck >> 8; out[47] = ck & 0xff;
  return IPV6_HEADER + udpLen;
}

const equal16 = (a: Uint8Array, ao: number, b: Uint8Array): boolean => {
  for (let i = 0; i < 16; i++) if (a[ao + i] !== b[i]) return false;
  return true;
};

/**
 * If `pkt[0..len)` is a Babel frame from `src` to `dst` (with a valid UDP
 * checksum), returns the payload's length (payload starts at
 * BABEL_FRAME_OVERHEAD); else -1. Never throws.
 */
export function parseBabel(pkt: Uint8Array, len: number, src: Uint8Array, dst: Uint8Array): number {
  if (len < BABEL_FRAME_OVERHEAD || pkt[0] >> 4 !== 6 || pkt[6] !== 17) return -1;
  if (((pkt[42] << 8) | pkt[43]) !== BABEL_PORT) return -1;
  const udpLen = (pkt[44] << 8) | pkt[45];
  if (udpLen < UDP_HEADER || IPV6_HEADER + udpLen > len || ((pkt[4] << 8) | pkt[5]) !== udpLen) return -1;
  if (!equal16(pkt, 8, src) || !equal16(pkt, 24, dst)) return -1;
  const ck = (pkt[46] << 8) | pkt[47];
  pkt[46] = pkt[47] = 0;
  const want = ipv6UpperChecksum(pkt, 17, udpLen) || 0xffff;
  pkt[46] = ck >> 8; pkt[47] = ck & 0xff;
  return ck === want ? udpLen - UDP_HEADER : -1;
}

/** True when `pkt` is IPv6 UDP to the Babel port (whatever the addresses): such packets are never forwarded. */
export const isBabelPort = (pkt: Uint8Array, len: number): boolean =>
  len >= BABEL_FRAME_OVERHEAD && pkt[0] >> 4 === 6 && pkt[6] === 17 && ((pkt[42] << 8) | pkt[43]) === BABEL_PORT;
