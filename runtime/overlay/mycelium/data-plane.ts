/**
 * The data plane of a Mycelium-dialect node: overlay packets from the local
 * TUN (or an in-memory port) are sealed for their destination node and sent
 * to the next hop; data frames from links are opened when they are for this
 * node, else relayed with the sealed body untouched (only the hop limit byte
 * changes), so a relay never needs, and never has, a key that opens them.
 * Source: threefoldtech/mycelium mycelium/src/data.rs (inject_l3_packet_loop,
 * extract_packet_loop) and router.rs (route_packet).
 */
import type { KeyObject } from 'node:crypto';
import type { Counters } from './counters.js';
import { DATA_HEADER_BYTES, MAX_DATA_BODY, writeDataHeader } from './data-packet.js';
import { FRAME_HEADER_BYTES, writeDataFrameHeader, type DataFrame } from './frame.js';
import type { PeerLink } from './link.js';
import { routerIdKey } from './router-id.js';
import type { RouteTable } from './routes.js';
import { BOX_OVERHEAD, l3Plaintext, openBox, sealBox, sharedKey, USER_DATA_L3, USER_DATA_VERSION, USER_HEADER_BYTES } from './seal.js';
import { subnetKey, subnet64 } from './subnet.js';

const IPV6_HEADER_BYTES = 40;
/** Bound on cached pair keys (one per remote node). */
const MAX_KEYS = 4096;

export interface DataPlaneHost {
  readonly table: RouteTable;
  readonly counters: Counters;
  /** 16-byte address of this node. */
  readonly address: Uint8Array;
  readonly privateKey: Uint8Array | KeyObject;
  /** Hands an opened IPv6 packet to the local TUN or sink. */
  deliver(packet: Uint8Array): void;
  /** Called when a packet had no route: the node may send a route request. */
  missingRoute(dst: Uint8Array): void;
}

export class DataPlane {
  private readonly keys = new Map<string, Uint8Array | null>();

  constructor(private readonly host: DataPlaneHost) {}

  private inOwnSubnet(a: Uint8Array): boolean {
    const own = this.host.address;
    for (let i = 0; i < 8; i++) if (a[i] !== own[i]) return false;
    return true;
  }

  /** The pair key for the node whose router id is `rid` (cached; null when the DH fails). */
  private keyFor(rid: Uint8Array): Uint8Array | null {
    const pk = routerIdKey(rid);
    const k = Buffer.from(pk).toString('hex');
    let key = this.keys.get(k);
    if (key === undefined) {
      key = sharedKey(this.host.privateKey, pk);
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
    const route = h.table.selectedFor(subnetKey(subnet64(dst)));
    if (!route) {
      h.counters.drop('no-route');
      h.missingRoute(dst);
      return;
    }
    const key = this.keyFor(route.routerId);
    if (!key) return h.counters.drop('no-key');
    const bodyLen = USER_HEADER_BYTES + packet.length + BOX_OVERHEAD;
    if (bodyLen > MAX_DATA_BODY) return h.counters.drop('not-ipv6');
    const box = sealBox(key, l3Plaintext(packet));
    const frame = new Uint8Array(FRAME_HEADER_BYTES + DATA_HEADER_BYTES + box.length);
    writeDataFrameHeader(frame);
    writeDataHeader(frame, FRAME_HEADER_BYTES, box.length, packet[7], src, dst);
    frame.set(box, FRAME_HEADER_BYTES + DATA_HEADER_BYTES);
    if ((route.neighbour as PeerLink).sendFrame(frame)) h.counters.sent++;
  }

  /** Handles a data frame read from `from`: open it here or relay it. */
  receive(f: DataFrame, from: PeerLink): void {
    const h = this.host;
    if (this.inOwnSubnet(f.dst)) {
      const route = h.table.selectedFor(subnetKey(subnet64(f.src)));
      if (!route) {
        // The sender's key comes from its route: ask for it (Mycelium queues the packet meanwhile).
        h.counters.drop('no-key');
        h.missingRoute(f.src);
        return;
      }
      const key = this.keyFor(route.routerId);
      const plain = key && openBox(key, f.body);
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
    const route = h.table.selectedFor(subnetKey(subnet64(f.dst)));
    if (!route) {
      h.counters.drop('no-route');
      h.missingRoute(f.dst);
      return;
    }
    f.frame[FRAME_HEADER_BYTES + 3] = f.hopLimit - 1;
    void from;
    if ((route.neighbour as PeerLink).sendFrame(f.frame)) h.counters.relayed++;
  }
}
