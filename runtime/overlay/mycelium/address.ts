/**
 * Mycelium node addresses: a node's IPv6 address and /64 come from its X25519
 * public key, so no registry is needed and a packet's source proves nothing
 * until it decrypts (the key is the address).
 *
 *   h = BLAKE3-XOF(publicKey)[0..16]        (32 raw key bytes in, 16 bytes out)
 *   byte0 = 0x04 | (popcount(h[0]) mod 2)   (so always inside 400::/7)
 *   address = h with byte0 replaced; the node's subnet is address/64.
 *
 * Source: threefoldtech/mycelium mycelium/src/crypto.rs `PublicKey::address`.
 * The same 32-byte key is tfw's WireGuard key: base64 for WireGuard, lower-case
 * hex for Mycelium (crypto.rs `Display for PublicKey`).
 */
import { blake3 } from '@noble/hashes/blake3';
import { formatIp } from '../../config/ip.js';
import { ConfigError } from '../../errors.js';

/** Length of an X25519 public key in bytes. */
export const PUBLIC_KEY_BYTES = 32;

function checkKey(publicKey: Uint8Array): void {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) {
    throw new ConfigError('publicKey', `expected ${PUBLIC_KEY_BYTES} bytes, got ${publicKey?.length}`);
  }
}

/**
 * The node's Mycelium address (16 bytes) from its 32-byte X25519 public key.
 * Throws ConfigError (ERR_TFW_CONFIG) when the key is not 32 bytes.
 */
export function myceliumAddressBytes(publicKey: Uint8Array): Uint8Array {
  checkKey(publicKey);
  const a = blake3(publicKey, { dkLen: 16 });
  let ones = 0;
  for (let b = a[0]; b !== 0; b >>= 1) ones += b & 1;
  a[0] = 0x04 | (ones & 1);
  return a;
}

/** The address as text, e.g. `597:d890:a254:dd45:2bc6:9a47:40d5:ed83`. */
export const myceliumAddress = (publicKey: Uint8Array): string => formatIp(myceliumAddressBytes(publicKey));

/** The node's /64 as text, e.g. `597:d890:a254:dd45::/64` (Mycelium routes /64s). */
export function myceliumSubnet(publicKey: Uint8Array): string {
  const a = myceliumAddressBytes(publicKey);
  a.fill(0, 8);
  return `${formatIp(a)}/64`;
}

/** True when a 16-byte address lies in 400::/7 (Mycelium's global range). */
export const inMyceliumRange = (addr: Uint8Array): boolean => addr.length === 16 && (addr[0] & 0xfe) === 0x04;

/** The public key in Mycelium's text form: 64 lower-case hex digits. */
export const myceliumKeyHex = (publicKey: Uint8Array): string => {
  checkKey(publicKey);
  return Buffer.from(publicKey).toString('hex');
};

/** Parses Mycelium's hex key form; throws ConfigError naming `field` when it is not 64 hex digits. */
export function parseMyceliumKeyHex(text: string, field = 'publicKey'): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new ConfigError(field, `expected 64 hex digits (a Mycelium public key), got ${JSON.stringify(text.slice(0, 80))}`);
  return new Uint8Array(Buffer.from(text, 'hex'));
}
