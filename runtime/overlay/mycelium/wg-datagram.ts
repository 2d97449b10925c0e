/**
 * How Mycelium data frames travel between tfw nodes that are WireGuard peers
 * (docs/overlay.md "Mycelium over WireGuard links"): one frame per WireGuard
 * transport packet, the frame as it is on a Mycelium TCP link (frame.ts),
 *
 *   Version (1, = 1) | Type (1, = 0 data) | Reserved (2) | data packet (data-packet.ts)
 *
 * with nothing around it. The WireGuard plaintext is normally an IP packet,
 * whose first nibble is 4 or 6; this one starts with 0x01 (nibble 0), so it
 * can never be taken for IP, and the receiver tells it apart by its first
 * byte before any IP parsing. No IPv6/UDP wrap as Babel's frames have
 * (babel/tunnel-frame.ts): that would cost 48 bytes of every packet's room
 * and a checksum over it, and buy nothing (the frame is for the tunnel's far
 * end, never for its IP stack). The frame's own Length field gives its size:
 * WireGuard pads the plaintext to 16 bytes, and the padding is ignored.
 * This is the one place that defines the framing.
 *
 * A frame goes only to a peer the Mycelium node has a live link with through
 * that peer's tunnel (node.ts `setDatagrams`): a stock WireGuard peer never
 * gets one (it would drop it as a malformed packet if it did).
 */
import { DATA_HEADER_BYTES } from './data-packet.js';
import { FRAME_HEADER_BYTES, PROTOCOL_VERSION, TYPE_DATA } from './frame.js';
import { BOX_OVERHEAD, USER_HEADER_BYTES } from './seal.js';

/** The first byte of a datagram frame (the Mycelium frame version). */
export const DATAGRAM_FIRST_BYTE = PROTOCOL_VERSION;
/** Bytes from the start of a datagram frame to its body (the sealed box). */
export const DATAGRAM_HEADER_BYTES = FRAME_HEADER_BYTES + DATA_HEADER_BYTES;
/** Bytes a datagram frame adds to the IPv6 packet it carries: headers 4 + 36, user header 4, tag 16, nonce 12. */
export const DATAGRAM_OVERHEAD = DATAGRAM_HEADER_BYTES + USER_HEADER_BYTES + BOX_OVERHEAD;
/** The smallest frame that can hold a box (header + user header + tag + nonce). */
export const MIN_DATAGRAM_BYTES = DATAGRAM_OVERHEAD;
/** Offset of the hop limit byte in a datagram frame. */
export const DATAGRAM_HOP_LIMIT = FRAME_HEADER_BYTES + 3;
/** Offset of the source and destination addresses (16 bytes each). */
export const DATAGRAM_SRC = FRAME_HEADER_BYTES + 4;
export const DATAGRAM_DST = FRAME_HEADER_BYTES + 20;

/** True when a WireGuard plaintext of `len` bytes starts as a datagram frame does (first byte 0x01: not IP). */
export const isDatagramFrame = (pkt: Uint8Array, len: number): boolean => len > 0 && pkt[0] === DATAGRAM_FIRST_BYTE;

/**
 * The length of the datagram frame in pkt[0..len) (WireGuard padding after it
 * is allowed), or -1 when it is not one: shorter than its headers, a type
 * other than data, a body shorter than a box, or a Length field past `len`.
 * Never throws.
 */
export function datagramLength(pkt: Uint8Array, len: number): number {
  if (len < DATAGRAM_HEADER_BYTES || len > pkt.length || pkt[0] !== DATAGRAM_FIRST_BYTE || pkt[1] !== TYPE_DATA) return -1;
  const body = (pkt[FRAME_HEADER_BYTES + 1] << 8) | pkt[FRAME_HEADER_BYTES + 2];
  const total = DATAGRAM_HEADER_BYTES + body;
  if (body < USER_HEADER_BYTES + BOX_OVERHEAD || total > len) return -1;
  return total;
}

/**
 * The largest IPv6 packet a datagram frame carries inside a WireGuard device
 * whose MTU (largest plaintext) is `wgMtu`: the route MTU of 400::/7 on the
 * TUN while Mycelium runs over WireGuard (1,420 -> 1,348). At least 1,280
 * (IPv6's minimum link MTU) is needed for every IPv6 packet to cross.
 */
export const datagramPacketMtu = (wgMtu: number): number => wgMtu - DATAGRAM_OVERHEAD;

/**
 * Where datagram frames go: the WireGuard device of the overlay the Mycelium
 * node joined (overlay/index.ts joinMycelium). `peer` values are the
 * device's peers, opaque here.
 */
export interface DatagramPath {
  /** The WireGuard peer whose node address is `addr` (16 bytes), or null. */
  peerAt(addr: Uint8Array): object | null;
  /** Largest frame one WireGuard packet carries (the device MTU). */
  readonly mtu: number;
  /**
   * Sends frame[0..len) to `peer` as one WireGuard packet (copied into a send
   * slot; sent with the device's batch, or on the next tick). False when the
   * peer is gone (the caller uses the TCP link).
   */
  send(peer: object, frame: Uint8Array, len: number): boolean;
  /**
   * A send slot to write one frame for `peer` into, at `claimOffset`, then
   * `commit(len)` at once: no copy on the way out. Null when no session with
   * the peer is up, or it is gone: use `send`.
   */
  claim(peer: object): Uint8Array | null;
  readonly claimOffset: number;
  /** Sends the frame of `len` bytes written into the claimed slot (0: nothing was written; an empty keepalive goes). */
  commit(len: number): void;
  /**
   * Relays the frame opened in receive slot `slot` (`frame` is that slot's
   * plaintext view, hop limit already decremented) to `peer`, sealed in the
   * same slot: no copy. False when the peer is gone.
   */
  relay(peer: object, frame: Uint8Array, len: number, slot: number): boolean;
}
