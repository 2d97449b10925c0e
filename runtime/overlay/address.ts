/**
 * Overlay addresses: every node owns a /64 inside 400::/7, derived from its
 * public key so no registry is needed (the same idea as Yggdrasil's 200::/7 and
 * Mycelium's 400::/7 ranges).
 *
 * Definition (the Babel router and the image runtime rely on it):
 *   h = BLAKE2s-256(publicKey)                      (32 raw key bytes in)
 *   prefix bytes 0..7 = h[0..7], then byte0 = 0x04 | (h[0] & 0x01)
 *   node /64 = prefix::/64, node address = prefix::1
 * so byte0 is 0x04 or 0x05, i.e. always inside 400::/7.
 */
import { blake2s } from '@noble/hashes/blake2s';
import { formatIp } from '../config/ip.js';

/** The 8 prefix bytes of a node's /64, from its 32-byte public key. */
export function overlayPrefix(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== 32) throw new RangeError(`publicKey: expected 32 bytes, got ${publicKey.length}`);
  const h = blake2s(publicKey);
  const p = h.slice(0, 8);
  p[0] = 0x04 | (h[0] & 0x01);
  return p;
}

/** The node address prefix::1 as 16 bytes. */
export function overlayAddressBytes(publicKey: Uint8Array): Uint8Array {
  const a = new Uint8Array(16);
  a.set(overlayPrefix(publicKey));
  a[15] = 1;
  return a;
}

/** The node address as text, e.g. `4a1:2b3c:...::1`. */
export const overlayAddress = (publicKey: Uint8Array): string => formatIp(overlayAddressBytes(publicKey));

/** The node's /64 as text, e.g. `4a1:2b3c:4d5e:6f70::/64`. */
export function overlaySubnet(publicKey: Uint8Array): string {
  const a = new Uint8Array(16);
  a.set(overlayPrefix(publicKey));
  return `${formatIp(a)}/64`;
}
