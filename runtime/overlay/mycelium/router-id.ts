/**
 * Mycelium router ids: 40 bytes, the node's X25519 public key (32), a zone
 * (2, zero) and 6 random bytes chosen at start, so a restarted node is a new
 * Babel source and its old seqnos do not hold back its new routes.
 * Source: threefoldtech/mycelium mycelium/src/router_id.rs.
 */
import { randomBytes } from 'node:crypto';

export const ROUTER_ID_BYTES = 40;

/** A new router id for `publicKey` (random tail unless given, for tests). */
export function newRouterId(publicKey: Uint8Array, rnd: Uint8Array = new Uint8Array(randomBytes(6))): Uint8Array {
  const id = new Uint8Array(ROUTER_ID_BYTES);
  id.set(publicKey.subarray(0, 32));
  id.set(rnd.subarray(0, 6), 34);
  return id;
}

/** The public key inside a router id (a view, not a copy). */
export const routerIdKey = (id: Uint8Array): Uint8Array => id.subarray(0, 32);

/** Text form as Mycelium prints it: `<key hex>-<zone hex>-<rnd hex>`. */
export function formatRouterId(id: Uint8Array): string {
  const h = Buffer.from(id).toString('hex');
  return `${h.slice(0, 64)}-${h.slice(64, 68)}-${h.slice(68)}`;
}
