/**
 * The WireGuard device's side of the Mycelium node that shares its TUN
 * (overlay/index.ts `joinMycelium`; docs/overlay.md "Mycelium over WireGuard
 * links"), as `Device.mycelium`: the hand-off of this node's own 400::/7
 * packets (send.ts), the end-to-end choice for Babel-routed ones and its
 * counts, the receive hook for datagram frames (receive.ts) and the sends of
 * frames as WireGuard transport packets (mycelium/wg-datagram.ts). Kept apart
 * from device.ts, which is the WireGuard device itself.
 */
import type { Receiver } from './receive.js';
import type { EndToEndCounts, Sender } from './send.js';
import type { Peer } from './wireguard/peer.js';

export class MyceliumHooks {
  /**
   * `sender` / `receiver`: the device's paths (the hooks are their fields);
   * `mtu`: the device MTU (largest frame, bytes); `flush`: sends what the
   * device queued.
   */
  constructor(
    private readonly sender: Sender,
    private readonly receiver: Receiver,
    private readonly mtu: number,
    private readonly flush: () => void,
  ) {}

  /**
   * Takes this node's own IPv6 packets (read from the TUN) for 400::/7
   * destinations no route of this device covers, instead of dropping them
   * as noRoute: the Mycelium node sharing the TUN (index.ts `joinMycelium`).
   * The packet is a view valid only during the call.
   */
  get handOff(): ((packet: Uint8Array) => void) | null {
    return this.sender.handOff;
  }
  set handOff(fn: ((packet: Uint8Array) => void) | null) {
    this.sender.handOff = fn;
  }

  /** Multi-hop 400::/7 packets handed to Mycelium / sent hop by hop while `endToEnd` is set (send.ts `endToEndCounts`). */
  get endToEndCounts(): Readonly<EndToEndCounts> {
    return this.sender.endToEndCounts;
  }

  /**
   * Whether `handOff` takes a packet for a 400::/7 destination that a
   * Babel-learned (multi-hop, hop-by-hop) route covers; see send.ts `endToEnd`.
   */
  get endToEnd(): ((dst: Uint8Array) => boolean) | null {
    return this.sender.endToEnd;
  }
  set endToEnd(fn: ((dst: Uint8Array) => boolean) | null) {
    this.sender.endToEnd = fn;
  }

  /**
   * Takes Mycelium datagram frames (mycelium/wg-datagram.ts) from peers: the
   * Mycelium node joined over WireGuard (index.ts `joinMycelium`). Called with
   * the peer, the plaintext view of receive slot `slot` and its length; the
   * view is valid during the call. Null: such plaintexts count as malformed.
   */
  get onMyceliumFrame(): ((peer: Peer, pkt: Uint8Array, len: number, slot: number) => void) | null {
    return this.receiver.onMyceliumFrame;
  }
  set onMyceliumFrame(fn: ((peer: Peer, pkt: Uint8Array, len: number, slot: number) => void) | null) {
    this.receiver.onMyceliumFrame = fn;
  }

  /**
   * Sends frame[0..len) (a Mycelium datagram frame, at most `mtu` bytes) to
   * `peer` as one transport packet: copied into a send slot (or staged while
   * no session is up), sent with the batch being built (a TUN read's, a
   * receive's) or, outside one, on the next tick. Throws RangeError when
   * `len` is over the MTU.
   */
  sendDatagramFrame(peer: Peer, frame: Uint8Array, len: number): void {
    this.checkFrame(len);
    this.sender.sendToPeer(peer, frame, len);
    this.flushSoon();
  }

  /**
   * A send slot for a Mycelium datagram frame to `peer`, written by the
   * caller at TRANSPORT_HEADER_SIZE of the returned slot (at most `mtu`
   * bytes), then `commitDatagramSlot(len)` at once: the frame is sealed where
   * it was written (send.ts claimFor). Null when no session with `peer` is up:
   * use sendDatagramFrame, which stages a copy.
   */
  claimDatagramSlot(peer: Peer): Uint8Array | null {
    return this.sender.claimFor(peer);
  }

  /** Queues the frame of `len` bytes written into the slot claimDatagramSlot returned (0: nothing written, a keepalive goes). */
  commitDatagramSlot(len: number): void {
    this.checkFrame(len);
    this.sender.commitClaimed(len);
    this.flushSoon();
  }

  /**
   * Relays the Mycelium datagram frame in receive slot `slot` (`frame` is
   * that slot's plaintext view, as `onMyceliumFrame` got it) to `peer`,
   * sealed in the slot and sent with the receive batch (send.ts
   * relayToPeer): no copy. Only during `onMyceliumFrame`.
   */
  relayDatagramFrame(peer: Peer, frame: Uint8Array, len: number, slot: number): void {
    this.sender.relayToPeer(peer, frame, len, slot);
  }

  /** Throws RangeError for a frame over the device MTU (bytes). */
  private checkFrame(len: number): void {
    if (len > this.mtu) throw new RangeError(`frame: expected at most ${this.mtu} bytes, got ${len}`);
  }

  private flushQueued = false;
  private readonly tickFlush = (): void => {
    this.flushQueued = false;
    this.flush();
  };

  /** Flushes what the datagram sends queued once the current tick ends (one flush however many were queued). */
  private flushSoon(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    process.nextTick(this.tickFlush);
  }
}
