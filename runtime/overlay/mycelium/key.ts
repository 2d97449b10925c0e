/**
 * Mycelium's text form of a node key. The same 32-byte X25519 key is tfw's
 * WireGuard key: base64 for WireGuard, lower-case hex for Mycelium
 * (threefoldtech/mycelium mycelium/src/crypto.rs `Display for PublicKey`).
 * The address the key gives is in ../address.ts (one derivation for both
 * kinds of links).
 */
import { ConfigError } from '../../errors.js';
import { checkPublicKey } from '../address.js';

/** The public key in Mycelium's text form: 64 lower-case hex digits. Throws ConfigError unless 32 bytes. */
export const myceliumKeyHex = (publicKey: Uint8Array): string => {
  checkPublicKey(publicKey);
  return Buffer.from(publicKey).toString('hex');
};

/** Parses Mycelium's hex key form; throws ConfigError naming `field` when it is not 64 hex digits. */
export function parseMyceliumKeyHex(text: string, field = 'publicKey'): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new ConfigError(field, `expected 64 hex digits (a Mycelium public key), got ${JSON.stringify(text.slice(0, 80))}`);
  return new Uint8Array(Buffer.from(text, 'hex'));
}
