/**
 * Counters of a Mycelium-dialect node: packets sent, delivered and relayed,
 * and every drop by reason, so nothing a peer sends disappears unseen. Read
 * by status and by tests (B's relayed count in the A-B-C test).
 */

/** Why a frame, TLV or packet was dropped. */
export type DropReason =
  | 'bad-version' // outer header version is not 1 (the link is closed, as Mycelium does)
  | 'bad-type' // outer header type is neither data (0) nor control (1); link closed
  | 'babel-header' // Babel magic is not 42 or version not 3: the body is skipped
  | 'tlv-unknown' // TLV type Mycelium does not define
  | 'tlv-malformed' // TLV too short for its fields, bad AE or plen, hop count 0
  | 'hop-limit' // data packet whose hop limit ran out
  | 'no-route' // no selected route to the destination /64
  | 'no-key' // no route (hence no key) for the source, so it cannot be opened
  | 'decrypt' // AES-GCM tag did not verify (or the DH failed)
  | 'not-ipv6' // TUN packet that is not IPv6, or too short
  | 'bad-source' // TUN packet whose source is outside this node's /64
  | 'src-mismatch' // opened packet whose inner source is not the sender's address
  | 'update-key-mismatch' // Update whose 400::/7 prefix is not its router id's /64 (tfw check)
  | 'unfeasible' // Update that fails the feasibility condition (RFC 8966 §3.5.1)
  | 'table-full' // route table at its bound
  | 'queue-full' // a link's send queue at its bound
  | 'link-down' // no link to the chosen next hop
  | 'datagram-malformed' // WireGuard datagram frame (wg-datagram.ts) truncated, not data, or its Length past the packet
  | 'datagram-no-link' // datagram frame from a WireGuard peer the node has no Mycelium link with
  | 'too-big'; // this node's packet whose datagram frame would not fit one WireGuard packet (ICMPv6 Packet Too Big sent back)

export const DROP_REASONS: readonly DropReason[] = [
  'bad-version', 'bad-type', 'babel-header', 'tlv-unknown', 'tlv-malformed', 'hop-limit', 'no-route', 'no-key',
  'decrypt', 'not-ipv6', 'bad-source', 'src-mismatch', 'update-key-mismatch', 'unfeasible', 'table-full', 'queue-full', 'link-down',
  'datagram-malformed', 'datagram-no-link', 'too-big',
];

export class Counters {
  /** Packets this node sealed and sent (from its TUN or sink). */
  sent = 0;
  /** Packets opened here and handed to the TUN or sink. */
  delivered = 0;
  /** Data packets forwarded for others, sealed payload untouched. */
  relayed = 0;
  /** Of those: data frames sent / received / relayed as WireGuard datagrams (wg-datagram.ts), not on a TCP link. */
  datagramsSent = 0;
  datagramsReceived = 0;
  datagramsRelayed = 0;
  /** Control TLVs received. */
  tlvs = 0;
  /** Links closed because the pair of nodes already had one over their WireGuard tunnel (link-pair.ts). */
  linksPaired = 0;
  readonly drops: Record<DropReason, number> = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;

  drop(reason: DropReason, n = 1): void {
    this.drops[reason] += n;
  }

  /** Total drops over every reason. */
  dropped(): number {
    let t = 0;
    for (const r of DROP_REASONS) t += this.drops[r];
    return t;
  }

  toJSON(): object {
    return { sent: this.sent, delivered: this.delivered, relayed: this.relayed,
      datagrams: { sent: this.datagramsSent, received: this.datagramsReceived, relayed: this.datagramsRelayed }, tlvs: this.tlvs, linksPaired: this.linksPaired, drops: { ...this.drops } };
  }
}
