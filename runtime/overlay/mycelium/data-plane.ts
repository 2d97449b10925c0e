/**
 * The data plane of a Mycelium-dialect node: overlay packets from the local
 * TUN (or an in-memory port) are sealed for their destination node and sent
 * to the next hop; data frames from links are opened when they are for this
 * node, else relayed with the sealed body untouched (only the hop limit byte
 * changes), so a relay never needs, and never has, a key that opens them.
 * Source: threefoldtech/mycelium mycelium/src/data.rs (inject_l3_packet_loop,
 * extract_packet_loop) and router.rs (route_packet).
 *
 * A frame whose next hop is a link through a WireGuard peer's tunnel goes to
 * that peer as one WireGuard packet (wg-datagram.ts) instead of on the TCP
 * link: sealed straight into a WireGuard send slot at the source, and
 * relayed from the receive slot it was opened in, without a copy. Frames
 * that do not fit one WireGuard packet stay on the TCP link when relayed; a
 * packet of this node that does not fit is dropped ('too-big') and answered
 * with an ICMPv6 Packet Too Big (the 400::/7 route MTU keeps the kernel from
 * sending one).
 */
import type { KeyObject } from 'node:crypto';
import type { Counters } from './counters.js';
import { DATA_HEADER_BYTES, MAX_DATA_BODY, writeDataHeader } from './data-packet.js';
import { FRAME_HEADER_BYTES, MAX_FRAME_BYTES, writeDataFrameHeader, type DataFrame } from './frame.js';
import type { PeerLink } from './link.js';
import { routerIdKey } from './router-id.js';
import type { RouteTable } from './routes.js';
import {
  BOX_OVERHEAD, openBoxInPlace, pairKey, sealL3Into, sharedKey, USER_DATA_L3, USER_DATA_VERSION, USER_HEADER_BYTES, type PairKey,
} from './seal.js';
import { subnet64Key } from './subnet.js';
import { buildIcmp6Error, ICMP6_PACKET_TOO_BIG } from '../routing/icmp.js';
import {
  DATAGRAM_DST, DATAGRAM_HEADER_BYTES, DATAGRAM_HOP_LIMIT, DATAGRAM_OVERHEAD, DATAGRAM_SRC, datagramLength, type DatagramPath,
} from './wg-datagram.js';

const IPV6_HEADER_BYTES = 40;
/** Bound on cached pair keys (one per remote node). */
const MAX_KEYS = 4096;
/** Packet Too Big messages sent back to the local TUN per second, at most. */
const PTB_PER_SECOND = 10;

export interface DataPlaneHost {
  readonly table: RouteTable;
  readonly counters: Counters;
  /** 16-byte address of this node. */
  readonly address: Uint8Array;
  readonly privateKey: Uint8Array | KeyObject;
  /**
   * Hands an opened IPv6 packet to the local TUN or sink: with the native seal engine, a view of
   * the frame it was opened in (receive slot: valid until the device's next receive batch).
   */
  deliver(packet: Uint8Array): void;
  /** Called when a packet had no route: the node may send a route request. */
  missingRoute(dst: Uint8Array): void;
}

/**
 * Writes the data frame that carries `packet` (an IPv6 packet of this node)
 * at out[off..): frame header, data header (hop limit and addresses from the
 * packet), and the box sealed for `key` with a body of `bodyLen` bytes
 * (user header + packet + tag + nonce). The same bytes go on a TCP link and
 * in a datagram (wg-datagram.ts). Returns the frame length. Throws RangeError
 * when `out` is too short (seal.ts sealL3Into).
 */
function sealedFrame(out: Uint8Array, off: number, key: PairKey, packet: Uint8Array, bodyLen: number): number {
  writeDataFrameHeader(out, off);
  writeDataHeader(out, off + FRAME_HEADER_BYTES, bodyLen, packet[7], packet.subarray(8, 24), packet.subarray(24, 40));
  sealL3Into(key, packet, out, off + FRAME_HEADER_BYTES + DATA_HEADER_BYTES);
  return FRAME_HEADER_BYTES + DATA_HEADER_BYTES + bodyLen;
}

export class DataPlane {
  private readonly keys = new Map<string, PairKey | null>();
  /** The WireGuard device data frames to links over WireGuard peers go through, or null (all on TCP). */
  path: DatagramPath | null = null;
  /** The frame a datagram is sealed into at the source while no session is up (`path.send` stages a copy). */
  private scratch: Uint8Array | null = null;
  private ptbSecond = 0;
  private ptbCount = 0;

  constructor(private readonly host: DataPlaneHost) {}

  private inOwnSubnet(a: Uint8Array, off = 0): boolean {
    const own = this.host.address;
    for (let i = 0; i < 8; i++) if (a[off + i] !== own[i]) return false;
    return true;
  }

  /** The pair key for the node whose router id is `rid`, as the seal engine's key (cached; null when the DH fails). */
  private keyFor(rid: Uint8Array): PairKey | null {
    // Routes keep their router id's bytes: per packet, one lookup by identity.
    const hit = this.keyByRid.get(rid);
    if (hit !== undefined) return hit;
    const key = this.keyForKey(rid);
    this.keyByRid.set(rid, key);
    return key;
  }

  private readonly keyByRid = new WeakMap<Uint8Array, PairKey | null>();

  private keyForKey(rid: Uint8Array): PairKey | null {
    const pk = routerIdKey(rid);
    const k = Buffer.from(pk).toString('hex');
    let key = this.keys.get(k);
    if (key === undefined) {
      const raw = sharedKey(this.host.privateKey, pk);
      key = raw && pairKey(raw);
      if (this.keys.size >= MAX_KEYS) this.keys.clear();
      this.keys.set(k, key);
    }
    return key;
  }

  /**
   * Sends one IPv6 packet from this node. Drops (counted) a packet that is
   * not IPv6, whose source is outside this node's /64, or that has no route.
   * A packet for this node's own /64 is handed straight back to `deliver`.
   */
  send(packet: Uint8Array): void {
    const h = this.host;
    if (packet.length < IPV6_HEADER_BYTES || packet[0] >> 4 !== 6) return h.counters.drop('not-ipv6');
    const src = packet.subarray(8, 24);
    const dst = packet.subarray(24, 40);
    if (!this.inOwnSubnet(src)) return h.counters.drop('bad-source');
    if (this.inOwnSubnet(dst)) {
      h.deliver(packet);
      return;
    }
    if (packet[7] < 2) return h.counters.drop('hop-limit');
    const route = h.table.selectedFor(subnet64Key(dst));
    if (!route) {
      h.counters.drop('no-route');
      h.missingRoute(dst);
      return;
    }
    const key = this.keyFor(route.routerId);
    if (!key) return h.counters.drop('no-key');
    const bodyLen = USER_HEADER_BYTES + packet.length + BOX_OVERHEAD;
    if (bodyLen > MAX_DATA_BODY) return h.counters.drop('not-ipv6');
    const link = route.neighbour as PeerLink;
    const path = this.path;
    if (path && link.datagramPeer && !link.isClosed) {
      const total = DATAGRAM_OVERHEAD + packet.length;
      if (total > path.mtu) {
        h.counters.drop('too-big');
        this.packetTooBig(packet, path.mtu - DATAGRAM_OVERHEAD);
        return;
      }
      const slot = path.claim(link.datagramPeer);
      if (slot) {
        // Sealed straight into the WireGuard send slot.
        const o = path.claimOffset;
        let n = 0;
        try {
          n = sealedFrame(slot, o, key, packet, bodyLen);
        } finally {
          path.commit(n);
        }
        h.counters.sent++;
        h.counters.datagramsSent++;
        return;
      }
      // No session with the peer yet: a frame of its own, which the device stages (a copy) while it shakes hands.
      const f = (this.scratch ??= new Uint8Array(MAX_FRAME_BYTES));
      sealedFrame(f, 0, key, packet, bodyLen);
      if (path.send(link.datagramPeer, f, total)) {
        h.counters.sent++;
        h.counters.datagramsSent++;
        return;
      }
    }
    // On the TCP link: a frame of its own (the socket keeps it until written), the box sealed into it.
    const frame = new Uint8Array(FRAME_HEADER_BYTES + DATA_HEADER_BYTES + bodyLen);
    sealedFrame(frame, 0, key, packet, bodyLen);
    if (link.sendFrame(frame)) h.counters.sent++;
  }

  /**
   * Answers a packet of this node too big for a datagram frame with an ICMPv6
   * Packet Too Big naming `mtu`, written to the local TUN (rate-limited), as a
   * router on the path would: the sender's kernel lowers its path MTU.
   */
  private packetTooBig(packet: Uint8Array, mtu: number): void {
    const sec = Math.floor(performance.now() / 1000);
    if (sec !== this.ptbSecond) {
      this.ptbSecond = sec;
      this.ptbCount = 0;
    }
    if (this.ptbCount++ >= PTB_PER_SECOND) return;
    const out = new Uint8Array(1280);
    try {
      const n = buildIcmp6Error(out, ICMP6_PACKET_TOO_BIG, 0, mtu, this.host.address, packet, packet.length);
      this.host.deliver(out.subarray(0, n));
    } catch {
      // Not an answerable packet (icmp.ts checks): the drop is counted already.
    }
  }

  /**
   * Handles a datagram frame (wg-datagram.ts) a WireGuard peer sent, from the
   * link `from` through that peer's tunnel: pkt[0..len) is the plaintext in
   * receive slot `slot` of the device (valid during the call). Opened here
   * when it is for this node, else relayed: to a link over WireGuard from
   * the same slot (path.relay, no copy), to a TCP link as a copy (the slot is
   * reused; also when the frame is over the next WireGuard packet's MTU). Malformed frames count as 'datagram-malformed'. Never throws for
   * frame contents.
   */
  receiveDatagram(pkt: Uint8Array, len: number, slot: number, from: PeerLink): void {
    const h = this.host;
    const total = datagramLength(pkt, len);
    if (total < 0) return h.counters.drop('datagram-malformed');
    h.counters.datagramsReceived++;
    if (this.inOwnSubnet(pkt, DATAGRAM_DST)) {
      this.receive({
        frame: pkt.subarray(0, total),
        hopLimit: pkt[DATAGRAM_HOP_LIMIT],
        src: pkt.subarray(DATAGRAM_SRC, DATAGRAM_SRC + 16),
        dst: pkt.subarray(DATAGRAM_DST, DATAGRAM_DST + 16),
        body: pkt.subarray(DATAGRAM_HEADER_BYTES, total),
      }, from);
      return;
    }
    const hop = pkt[DATAGRAM_HOP_LIMIT];
    if (hop <= 1) return h.counters.drop('hop-limit');
    const dst = pkt.subarray(DATAGRAM_DST, DATAGRAM_DST + 16);
    const route = h.table.selectedFor(subnet64Key(dst));
    if (!route) {
      h.counters.drop('no-route');
      h.missingRoute(dst);
      return;
    }
    pkt[DATAGRAM_HOP_LIMIT] = hop - 1;
    const next = route.neighbour as PeerLink;
    const path = this.path;
    // A frame too big for the next WireGuard packet (a peer with a larger MTU) goes on the TCP link.
    if (path && next.datagramPeer && !next.isClosed && total <= path.mtu) {
      if (path.relay(next.datagramPeer, pkt, total, slot)) {
        h.counters.relayed++;
        h.counters.datagramsRelayed++;
        return;
      }
    }
    if (next.sendFrame(pkt.slice(0, total))) h.counters.relayed++;
  }

  /** Handles a data frame read from `from`: open it here or relay it. */
  receive(f: DataFrame, from: PeerLink): void {
    const h = this.host;
    if (this.inOwnSubnet(f.dst)) {
      const route = h.table.selectedFor(subnet64Key(f.src));
      if (!route) {
        // The sender's key comes from its route: ask for it (Mycelium queues the packet meanwhile).
        h.counters.drop('no-key');
        h.missingRoute(f.src);
        return;
      }
      const key = this.keyFor(route.routerId);
      // Opened where the frame lies (receive slot or TCP read buffer) with the native engine: a failed
      // open leaves zeros there, never unverified plaintext, and the frame is dropped here.
      const plain = key && openBoxInPlace(key, f.body);
      if (!plain) return h.counters.drop('decrypt');
      if (plain[0] !== USER_DATA_VERSION || plain[1] !== USER_DATA_L3) return h.counters.drop('tlv-unknown');
      const pkt = plain.subarray(USER_HEADER_BYTES);
      if (pkt.length < IPV6_HEADER_BYTES || pkt[0] >> 4 !== 6) return h.counters.drop('not-ipv6');
      // The inner header must name the same nodes as the outer one: the box
      // proves who sealed it, so a relay cannot re-label someone else's packet.
      if (Buffer.compare(pkt.subarray(8, 24), f.src) !== 0 || Buffer.compare(pkt.subarray(24, 40), f.dst) !== 0) return h.counters.drop('src-mismatch');
      h.counters.delivered++;
      h.deliver(pkt);
      return;
    }
    if (f.hopLimit <= 1) return h.counters.drop('hop-limit');
    const route = h.table.selectedFor(subnet64Key(f.dst));
    if (!route) {
      h.counters.drop('no-route');
      h.missingRoute(f.dst);
      return;
    }
    f.frame[FRAME_HEADER_BYTES + 3] = f.hopLimit - 1;
    void from;
    const next = route.neighbour as PeerLink;
    const path = this.path;
    // From a TCP link to a link over WireGuard: one WireGuard packet (copied into a send slot) when
    // it fits; a larger one (a stock Mycelium node's TUN MTU is 1,400) stays on the TCP link.
    if (path && next.datagramPeer && !next.isClosed && f.frame.length <= path.mtu) {
      if (path.send(next.datagramPeer, f.frame, f.frame.length)) {
        h.counters.relayed++;
        h.counters.datagramsRelayed++;
        return;
      }
    }
    if (next.sendFrame(f.frame)) h.counters.relayed++;
  }
}
