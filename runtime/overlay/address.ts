/**
 * Overlay addresses: a node's IPv6 address and /64 come from its X25519 public
 * key, so no registry is needed (the key is the address). tfw derives them as
 * Mycelium does, so one key gives one address on both kinds of links:
 * WireGuard tunnels (mesh.ts, device.ts) and Mycelium links (mycelium/).
 *
 *   h = BLAKE3-XOF(publicKey)[0..16]        (32 raw key bytes in, 16 bytes out)
 *   byte0 = 0x04 | (popcount(h[0]) mod 2)   (so always inside 400::/7)
 *   node address = h with byte0 replaced (the whole /128);
 *   node /64 = its first 8 bytes (Mycelium routes /64s).
 *
 * Example (test/unit/overlay/address.test.ts, cross-checked with b3sum): the
 * all-zero key gives 5da:83c1:819a:5372:dae1:238f:c1de:d123 in 5da:83c1:819a:5372::/64.
 * Source: threefoldtech/mycelium mycelium/src/crypto.rs `PublicKey::address`.
 * Until overlay v2 the WireGuard side used BLAKE2s(publicKey)[0..8] and prefix::1.
 */
import { blake3 } from '@noble/hashes/blake3';
import { formatIp } from '../config/ip.js';
import { ConfigError } from '../errors.js';

/** Length of an X25519 public key in bytes. */
export const PUBLIC_KEY_BYTES = 32;

/** Throws ConfigError (ERR_TFW_CONFIG, field `publicKey`) unless `publicKey` is 32 bytes. */
export function checkPublicKey(publicKey: Uint8Array): void {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) {
    throw new ConfigError('publicKey', `expected ${PUBLIC_KEY_BYTES} bytes, got ${publicKey?.length}`);
  }
}

/**
 * The node address (16 bytes, a fresh array) from its 32-byte X25519 public key.
 * Throws ConfigError (ERR_TFW_CONFIG) when the key is not 32 bytes.
 */
export function overlayAddressBytes(publicKey: Uint8Array): Uint8Array {
  checkPublicKey(publicKey);
  const a = blake3(publicKey, { dkLen: 16 });
  let ones = 0;
  for (let b = a[0]; b !== 0; b >>= 1) ones += b & 1;
  a[0] = 0x04 | (ones & 1);
  return a;
}

/** The 8 prefix bytes of the node's /64 (the address's first 8 bytes). Throws as overlayAddressBytes. */
export const overlayPrefix = (publicKey: Uint8Array): Uint8Array => overlayAddressBytes(publicKey).slice(0, 8);

/** The node address as text, e.g. `5da:83c1:819a:5372:dae1:238f:c1de:d123`. Throws as overlayAddressBytes. */
export const overlayAddress = (publicKey: Uint8Array): string => formatIp(overlayAddressBytes(publicKey));

/** The node's /64 as text, e.g. `5da:83c1:819a:5372::/64`. Throws as overlayAddressBytes. */
export function overlaySubnet(publicKey: Uint8Array): string {
  const a = overlayAddressBytes(publicKey);
  a.fill(0, 8);
  return `${formatIp(a)}/64`;
}

/** True when a 16-byte address lies in 400::/7 (the overlay's and Mycelium's global range). */
export const inOverlayRange = (addr: Uint8Array): boolean => addr.length === 16 && (addr[0] & 0xfe) === 0x04;
