/**
 * The Internet checksum (RFC 1071) the overlay writes into the packets it
 * originates: Babel's UDP frames (babel/tunnel-frame.ts) and ICMP errors (icmp.ts).
 */

/**
 * RFC 1071 one's-complement sum of the 16-bit big-endian words of
 * buf[off..off+len) (an odd last byte is padded with zero), added to `sum`;
 * unfolded (fold with `foldChecksum`).
 */
export function onesSum(buf: Uint8Array, off: number, len: number, sum = 0): number {
  const end = off + len;
  let i = off;
  for (; i + 1 < end; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (i < end) sum += buf[i] << 8;
  return sum;
}

/** The checksum field for an unfolded one's-complement sum: ~(folded sum) & 0xffff. */
export function foldChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/**
 * The checksum field of the upper-layer message at pkt[40..40+len) of an IPv6
 * packet (UDP, ICMPv6), over the RFC 8200 section 8.1 pseudo-header: source
 * and destination (pkt[8..40)), upper-layer length `len` (bytes) and next
 * header `next`. The message's own checksum field must be zero; UDP stores a
 * result of 0 as 0xffff (RFC 768), which is the caller's.
 */
export function ipv6UpperChecksum(pkt: Uint8Array, next: number, len: number): number {
  return foldChecksum(onesSum(pkt, 40, len, onesSum(pkt, 8, 32, len + next)));
}
