/**
 * ICMP error messages a mesh router sends about packets it could not forward
 * (receive.ts `forward`), so traceroute and path-MTU discovery work across
 * the mesh:
 *
 * - IPv6 (RFC 4443): Destination Unreachable code 0 "no route to destination"
 *   (section 3.1), Packet Too Big with the MTU (3.2), Time Exceeded code 0
 *   "hop limit exceeded in transit" (3.3); hop limit 64, as much of the
 *   invoking packet as fits in the minimum MTU, 1280 bytes (2.4(c)); checksum
 *   over the RFC 8200 section 8.1 pseudo-header.
 * - IPv4 (RFC 792, RFC 1812 section 4.3.2.3): Time Exceeded code 0 and
 *   Destination Unreachable code 4 "fragmentation needed and DF set" with the
 *   next-hop MTU in the low 16 bits of the second word (RFC 1191 section 4);
 *   the IP header + as much of the datagram as fits in 576 bytes.
 * - Never about an ICMP error, a source that is not one host, a multicast /
 *   broadcast destination, or a non-first IPv4 fragment (RFC 4443 2.4(e),
 *   RFC 1812 4.3.2.7); at most `rate` per second with a burst of `burst`
 *   (token bucket, RFC 4443 2.4(f)).
 *
 * Errors are rare, so one preallocated 1280-byte scratch (`IcmpErrors.buf`)
 * holds the message being sent; the builders write into a caller's buffer.
 */

import { foldChecksum, ipv6UpperChecksum, onesSum } from './checksum.js';

/** Largest IPv6 ICMP error, bytes: the IPv6 minimum MTU (RFC 4443 section 2.4(c)). */
export const ICMP6_ERROR_MAX = 1280;
/** Largest IPv4 ICMP error, bytes (RFC 1812 section 4.3.2.3). */
export const ICMP4_ERROR_MAX = 576;

/** ICMPv6 types (RFC 4443 section 2.1). */
export const ICMP6_DEST_UNREACH = 1;
export const ICMP6_PACKET_TOO_BIG = 2;
export const ICMP6_TIME_EXCEEDED = 3;
/** ICMPv4 types (RFC 792). */
export const ICMP4_DEST_UNREACH = 3;
export const ICMP4_TIME_EXCEEDED = 11;
/** ICMPv4 Destination Unreachable code 4: fragmentation needed and DF set (RFC 792, RFC 1191). */
export const ICMP4_FRAG_NEEDED = 4;

/** Hop limit / TTL of the errors we originate (RFC 1700's default TTL, what Linux uses). */
const ERROR_HOP_LIMIT = 64;
/** IPv4 TOS of the errors: precedence 6, internetwork control (RFC 1812 section 4.3.2.5). */
const ERROR_TOS4 = 0xc0;
const PROTO_ICMP4 = 1;
const PROTO_ICMP6 = 58;

/** Why forward() could not forward a packet: the error it answers with. */
export const ICMP_TIME_EXCEEDED = 0;
export const ICMP_NO_ROUTE = 1;
export const ICMP_TOO_BIG = 2;
export type IcmpKind = typeof ICMP_TIME_EXCEEDED | typeof ICMP_NO_ROUTE | typeof ICMP_TOO_BIG;

const isIcmp4Error = (type: number) => type === 3 || type === 4 || type === 5 || type === 11 || type === 12;

/**
 * Whether a router may send an ICMP error about the IP packet pkt[0..len)
 * (RFC 4443 section 2.4(e), RFC 1812 section 4.3.2.7). False for: an ICMP
 * error message (IPv4 types 3, 4, 5, 11, 12; ICMPv6 types < 128), a source
 * that is unspecified, loopback, multicast, broadcast or class E, a multicast
 * or broadcast destination (IPv6: except for Packet Too Big, `tooBig`, RFC
 * 4443 2.4(e.2)), a non-first IPv4 fragment, and a header we cannot read.
 * IPv6 extension headers (hop-by-hop, routing, fragment, destination options,
 * AH) are walked to find an ICMPv6 message; a non-first IPv6 fragment hides
 * it, and RFC 4443 does not forbid an error about that. Never throws.
 */
export function icmpErrorAllowed(pkt: Uint8Array, len: number, tooBig: boolean): boolean {
  const version = len > 0 ? pkt[0] >> 4 : 0;
  if (version === 6) {
    if (len < 40) return false;
    let zero = true;
    for (let i = 8; i < 24; i++) if (pkt[i]) zero = false;
    if (zero) return false; // unspecified ::
    if (pkt[8] === 0xff) return false; // multicast source
    let loop = pkt[23] === 1;
    for (let i = 8; i < 23 && loop; i++) if (pkt[i]) loop = false;
    if (loop) return false; // ::1
    if (pkt[24] === 0xff && !tooBig) return false; // multicast destination
    // The upper-layer header: walk the extension headers (RFC 8200 section 4), at most 8.
    let next = pkt[6], off = 40;
    for (let hdr = 0; hdr < 8; hdr++) {
      if (next === PROTO_ICMP6) return off < len && pkt[off] >= 128;
      if (off + 8 > len) return true;
      const here = next;
      next = pkt[off];
      if (here === 0 || here === 43 || here === 60) off += (pkt[off + 1] + 1) * 8; // RFC 8200 4.3, 4.4, 4.6
      else if (here === 51) off += (pkt[off + 1] + 2) * 4; // AH, RFC 4302 section 2.2
      else if (here === 44) {
        if (((pkt[off + 2] << 8) | (pkt[off + 3] & 0xf8)) !== 0) return true; // non-first fragment
        off += 8;
      } else return true; // TCP, UDP, no next header...
    }
    return true;
  }
  if (version !== 4 || len < 20) return false;
  const ihl = (pkt[0] & 0x0f) * 4;
  if (ihl < 20 || ihl > len) return false;
  const s = pkt[12], d = pkt[16];
  if (s === 0 || s === 127 || s >= 224) return false; // "this network", loopback, multicast, class E, broadcast
  if (d >= 224) return false; // multicast, class E, limited broadcast
  if ((((pkt[6] & 0x1f) << 8) | pkt[7]) !== 0) return false; // non-first fragment
  if (pkt[9] === PROTO_ICMP4) return ihl < len && !isIcmp4Error(pkt[ihl]);
  return true;
}

/**
 * Writes an ICMPv6 error (RFC 4443 section 2.1 layout: type, code, checksum,
 * 32-bit `word`, then the invoking packet) about pkt[0..len) into `out`, in an
 * IPv6 header from `src` (16 bytes) to the invoking packet's source, hop limit
 * 64. Quotes as much of the packet as keeps the message within 1280 bytes
 * (section 2.4(c)). Returns the message length. Throws RangeError when `out`
 * cannot hold it or the packet is not IPv6; checks no policy (icmpErrorAllowed).
 */
export function buildIcmp6Error(out: Uint8Array, type: number, code: number, word: number, src: Uint8Array, pkt: Uint8Array, len: number): number {
  if (len < 40 || pkt[0] >> 4 !== 6) throw new RangeError(`icmp6: expected an IPv6 packet of >= 40 bytes, got ${len} bytes, version ${len ? pkt[0] >> 4 : '-'}`);
  if (src.length !== 16) throw new RangeError(`icmp6: expected a 16-byte source address, got ${src.length}`);
  const quote = Math.min(len, ICMP6_ERROR_MAX - 48);
  const total = 48 + quote;
  if (out.length < total) throw new RangeError(`icmp6: expected an output buffer of >= ${total} bytes, got ${out.length}`);
  const plen = total - 40;
  out[0] = 0x60; // version 6, traffic class 0, flow label 0
  out[1] = out[2] = out[3] = 0;
  out[4] = plen >> 8;
  out[5] = plen & 0xff;
  out[6] = PROTO_ICMP6;
  out[7] = ERROR_HOP_LIMIT;
  out.set(src, 8);
  out.set(pkt.subarray(8, 24), 24); // to the invoking packet's source
  out[40] = type;
  out[41] = code;
  out[42] = out[43] = 0;
  writeWord(out, 44, word);
  out.set(pkt.subarray(0, quote), 48);
  const c = ipv6UpperChecksum(out, PROTO_ICMP6, plen);
  out[42] = c >> 8;
  out[43] = c & 0xff;
  return total;
}

/**
 * Writes an ICMPv4 error (RFC 792 layout: type, code, checksum, 32-bit `word`,
 * then the invoking datagram's header and data) about pkt[0..len) into `out`,
 * in a 20-byte IPv4 header from `src` (4 bytes) to the datagram's source, TTL
 * 64, TOS 0xc0, identification `id`. Quotes as much of the datagram as keeps
 * the message within 576 bytes (RFC 1812 section 4.3.2.3). Returns the
 * message length. Throws RangeError when `out` cannot hold it or the packet
 * is not IPv4; checks no policy (icmpErrorAllowed).
 */
export function buildIcmp4Error(out: Uint8Array, type: number, code: number, word: number, src: Uint8Array, pkt: Uint8Array, len: number, id = 0): number {
  if (len < 20 || pkt[0] >> 4 !== 4) throw new RangeError(`icmp4: expected an IPv4 packet of >= 20 bytes, got ${len} bytes, version ${len ? pkt[0] >> 4 : '-'}`);
  if (src.length !== 4) throw new RangeError(`icmp4: expected a 4-byte source address, got ${src.length}`);
  const quote = Math.min(len, ICMP4_ERROR_MAX - 28);
  const total = 28 + quote;
  if (out.length < total) throw new RangeError(`icmp4: expected an output buffer of >= ${total} bytes, got ${out.length}`);
  out[0] = 0x45;
  out[1] = ERROR_TOS4;
  out[2] = total >> 8;
  out[3] = total & 0xff;
  out[4] = (id >> 8) & 0xff;
  out[5] = id & 0xff;
  out[6] = out[7] = 0; // flags, fragment offset
  out[8] = ERROR_HOP_LIMIT;
  out[9] = PROTO_ICMP4;
  out[10] = out[11] = 0;
  out.set(src, 12);
  out.set(pkt.subarray(12, 16), 16); // to the invoking datagram's source
  const hc = foldChecksum(onesSum(out, 0, 20));
  out[10] = hc >> 8;
  out[11] = hc & 0xff;
  out[20] = type;
  out[21] = code;
  out[22] = out[23] = 0;
  writeWord(out, 24, word);
  out.set(pkt.subarray(0, quote), 28);
  const c = foldChecksum(onesSum(out, 20, total - 20));
  out[22] = c >> 8;
  out[23] = c & 0xff;
  return total;
}

function writeWord(out: Uint8Array, off: number, v: number): void {
  out[off] = (v >>> 24) & 0xff;
  out[off + 1] = (v >>> 16) & 0xff;
  out[off + 2] = (v >>> 8) & 0xff;
  out[off + 3] = v & 0xff;
}

/**
 * A token bucket (RFC 4443 section 2.4(f), "token bucket" example): holds at
 * most `burst` tokens, refilled at `ratePerSecond`; `take()` spends one.
 * `now` is in milliseconds; a clock that steps back refills nothing.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly ratePerSecond: number, private readonly burst: number, private readonly now: () => number) {
    if (!(ratePerSecond > 0) || !(burst >= 1)) throw new RangeError(`token bucket: expected rate > 0 and burst >= 1, got ${ratePerSecond}, ${burst}`);
    this.tokens = burst;
    this.last = now();
  }

  /** Spends a token: true when one was there. */
  take(): boolean {
    const t = this.now();
    if (t > this.last) this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.ratePerSecond) / 1000);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** The counters the ICMP errors keep (in the device's `drops`, as sub-counts of the ttl / noRoute / oversized drops). */
export interface IcmpCounters {
  /** ICMP errors sent about dropped packets. */
  icmpSent: number;
  /** Errors not sent: over the rate limit. */
  icmpRateLimited: number;
  /** IPv4 errors not sent: no IPv4 `address` configured to send from. */
  icmpNoSource: number;
}

/** Default rate limit: 10 errors per second, burst 20. */
export const ICMP_RATE = 10;
export const ICMP_BURST = 20;

/**
 * One device's ICMP errors: policy (icmpErrorAllowed), source addresses, the
 * rate limit and the scratch buffer the message is built in. The receive path
 * sends `buf[0..n)` back the way a packet to the invoking source would go.
 */
export class IcmpErrors {
  /** IPv4 source of the errors: the node's first IPv4 `address` (Device.setLocal); null = no IPv4 errors. */
  source4: Uint8Array | null = null;
  /** The message being sent (valid until the next `build`). */
  readonly buf = new Uint8Array(ICMP6_ERROR_MAX);
  private readonly bucket: TokenBucket;
  private id = 0;

  /** `source6`: the node's overlay address (address.ts); `mtu`: the device MTU, reported in Packet Too Big / fragmentation needed. */
  constructor(private readonly source6: Uint8Array, private readonly mtu: number, private readonly counters: IcmpCounters, now: () => number, rate = ICMP_RATE, burst = ICMP_BURST) {
    this.bucket = new TokenBucket(rate, burst, now);
  }

  /**
   * Builds the error answering `kind` for the packet pkt[0..len) into `buf`;
   * returns its length, or 0 when none may be sent: not allowed
   * (icmpErrorAllowed; an IPv4 datagram too big without DF, which a router
   * would fragment), no IPv4 source (counted icmpNoSource) or over the rate
   * limit (counted icmpRateLimited). IPv4 no-route has no caller (forward()
   * hands unrouted IPv4 to the kernel) and uses code 1, host unreachable
   * (RFC 1812 section 5.2.7.1). Never throws.
   */
  build(kind: IcmpKind, pkt: Uint8Array, len: number): number {
    if (!icmpErrorAllowed(pkt, len, kind === ICMP_TOO_BIG)) return 0;
    const v4 = pkt[0] >> 4 === 4;
    if (v4 && kind === ICMP_TOO_BIG && !(pkt[6] & 0x40)) return 0; // DF clear: fragmentation would be the answer (not done)
    if (v4 && !this.source4) {
      this.counters.icmpNoSource++;
      return 0;
    }
    if (!this.bucket.take()) {
      this.counters.icmpRateLimited++;
      return 0;
    }
    if (v4) {
      this.id = (this.id + 1) & 0xffff;
      if (kind === ICMP_TIME_EXCEEDED) return buildIcmp4Error(this.buf, ICMP4_TIME_EXCEEDED, 0, 0, this.source4!, pkt, len, this.id);
      if (kind === ICMP_TOO_BIG) return buildIcmp4Error(this.buf, ICMP4_DEST_UNREACH, ICMP4_FRAG_NEEDED, this.mtu & 0xffff, this.source4!, pkt, len, this.id);
      return buildIcmp4Error(this.buf, ICMP4_DEST_UNREACH, 1, 0, this.source4!, pkt, len, this.id);
    }
    if (kind === ICMP_TIME_EXCEEDED) return buildIcmp6Error(this.buf, ICMP6_TIME_EXCEEDED, 0, 0, this.source6, pkt, len);
    if (kind === ICMP_TOO_BIG) return buildIcmp6Error(this.buf, ICMP6_PACKET_TOO_BIG, 0, this.mtu, this.source6, pkt, len);
    return buildIcmp6Error(this.buf, ICMP6_DEST_UNREACH, 0, 0, this.source6, pkt, len);
  }
}
