/**
 * The one per-packet header change a router makes when it forwards a packet
 * between two peers (mesh mode, device.ts): IPv4 TTL (RFC 791 section 3.2) or
 * IPv6 hop limit (RFC 8200 section 3) minus one, with the IPv4 header checksum
 * patched incrementally (RFC 1624 section 3, eqn. 3: HC' = ~(~HC + ~m + m')).
 *
 * Applied in place in the receive slot the packet was opened in (receive.ts),
 * which is then sealed for the next hop where it lies: no copy. Relays use it
 * when the forward kernel's classifier is not on the path (relay-classifier.ts:
 * wasm engine, node:crypto pools, a full local set); the classifier does the
 * same rewrite in its batch call otherwise. `restoreHop` undoes either before
 * an ICMP error quotes the packet.
 */

/** `decrementHop` result: the packet may be forwarded. */
export const HOP_OK = 0;
/** `decrementHop` result: TTL / hop limit would reach 0 (RFC 1812 section 5.3.1: drop, ICMP Time Exceeded). */
export const HOP_EXPIRED = 1;
/** `decrementHop` result: not an IPv4/IPv6 header we can patch. */
export const HOP_MALFORMED = 2;

/**
 * Decrements the TTL / hop limit of the IP packet at `pkt[0..len)` in place and
 * patches the IPv4 header checksum. Returns HOP_OK, HOP_EXPIRED (left
 * unchanged) or HOP_MALFORMED. No allocation; never throws.
 */
export function decrementHop(pkt: Uint8Array, len: number): number {
  const version = len > 0 ? pkt[0] >> 4 : 0;
  if (version === 6) {
    if (len < 40) return HOP_MALFORMED;
    if (pkt[7] <= 1) return HOP_EXPIRED;
    pkt[7]--;
    return HOP_OK;
  }
  if (version !== 4 || len < 20 || (pkt[0] & 0x0f) < 5) return HOP_MALFORMED;
  if (pkt[8] <= 1) return HOP_EXPIRED;
  addTtl(pkt, -1);
  return HOP_OK;
}

/**
 * Undoes a hop decrement (decrementHop's, or the forward classifier's FORWARD)
 * on the packet at `pkt[0..)`: IPv6 hop limit + 1; IPv4 TTL + 1 with the
 * checksum patched the same way, so an ICMP error quotes the packet as it
 * arrived. No allocation; never throws.
 */
export function restoreHop(pkt: Uint8Array): void {
  if (pkt[0] >> 4 === 6) pkt[7]++;
  else addTtl(pkt, 1);
}

/**
 * Adds `delta` (+1 or -1) to an IPv4 TTL and patches the header checksum
 * incrementally (RFC 1624 section 3, eqn. 3), where m is the 16-bit word
 * holding TTL and protocol and m' = m + delta * 0x100.
 */
function addTtl(pkt: Uint8Array, delta: 1 | -1): void {
  const ttl = pkt[8];
  const m = (ttl << 8) | pkt[9];
  const m2 = m + delta * 0x100;
  const hc = (pkt[10] << 8) | pkt[11];
  let sum = (~hc & 0xffff) + (~m & 0xffff) + m2;
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  const hc2 = ~sum & 0xffff;
  pkt[8] = ttl + delta;
  pkt[10] = hc2 >> 8;
  pkt[11] = hc2 & 0xff;
}
