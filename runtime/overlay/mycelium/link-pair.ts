/**
 * One Mycelium link per pair of tfw nodes that are WireGuard peers. Each may
 * dial the other through the tunnel (both see the other as a dial target:
 * overlay/index.ts myceliumDialTargets, the mesh default), which would give
 * the pair two links: twice the Hellos, IHUs and 60 s full dumps, and two
 * equal routes. Both nodes keep the same one, the link the node with the
 * lower address (compared as 16 bytes) dialled, and the other stops dialling
 * while it has that link.
 *
 * Only links over a WireGuard peer (PeerLink.datagramPeer, node.ts) take
 * part: their far address is that peer's node address, which WireGuard's
 * allowed IPs vouch for. Over the Internet two nodes behind one NAT share an
 * address, so plain TCP links are never paired up by address.
 */
import type { PeerLink } from './link.js';

/** Compares two 16-byte addresses as unsigned bytes: < 0, 0, > 0. */
const compare = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b);

/**
 * Whether this node (address `own`) dials a WireGuard peer (node address
 * `peer`) it already has a link with: only the lower address dials, so the
 * higher one waits while the lower one's link is up.
 */
export const dialsWhileLinked = (own: Uint8Array, peer: Uint8Array): boolean => compare(own, peer) < 0;

/**
 * Of two live links `a` (the older) and `b` (the newer) over the same
 * WireGuard peer whose node address is `peer`, the one to close: the link
 * not dialled by the lower address. When both were dialled by the same node,
 * the newer one for two of our dials (a second dialer gives way) and the older
 * one for two of theirs (the peer redialled: the old link is stale).
 */
export function redundantLink(own: Uint8Array, peer: Uint8Array, a: PeerLink, b: PeerLink): PeerLink {
  const lowerDialled = (l: PeerLink): boolean => (l.inbound ? compare(peer, own) < 0 : compare(own, peer) < 0);
  const ka = lowerDialled(a), kb = lowerDialled(b);
  if (ka !== kb) return ka ? b : a;
  return a.inbound ? a : b;
}
