/**
 * The device's packet batches (the wireguard-go "elements" and queues, done
 * the batch way): data packets live in the slots of two AEAD pools (seal.ts),
 * so a batch is sealed or opened in one call and handed to the socket or the
 * TUN without copies.
 *
 * Send pool: 2 x `size` slots of header room (16 bytes) || plaintext || tag
 * room. Slots 0..size-1 are the TUN read slots (`sendSlots`, views that start
 * after the header room): the TUN reads a packet there, the header is written
 * in front of it and it is sealed and sent from the same slot. Slots
 * size..2*size-1 hold what does not come from a TUN read (keepalives, Babel
 * frames, staged packets, ICMP errors, callers' own buffers), copied in.
 *
 * Receive pool: slot i holds datagram i, opened in place. It holds each
 * keypair's receive key at key slot k and its send key at k + maxKeypairs, so
 * a packet forwarded to another peer (mesh relay, receive.ts) is sealed for
 * the next hop in the slot it arrived in and sent from there (`queueRelay`,
 * `flushRelay`). Handshake messages and cookie replies use a small separate
 * queue, never sealed. Each keypair holds one key index; released indexes are
 * reused only after the batch that could still name them has been flushed.
 */
import { EndpointBatch, type Endpoint } from './conn.js';
import type { Keypair } from '../wireguard/keypair.js';
import { INITIATION_SIZE, TRANSPORT_HEADER_SIZE, TRANSPORT_MIN_SIZE } from '../wireguard/messages.js';
import type { Peer } from '../wireguard/peer.js';
import { createTransportPool, type TransportPool } from '../wireguard/seal.js';

/** Where batches go (conn.ts UdpBind.sendBatch / tun.ts TunDevice.writeBatch shapes); must consume the buffers before returning. */
export interface DeviceIO {
  /** Sends datagrams bufs[i][0..sizes[i]) to eps.items[i], i < count. */
  transmit(bufs: Uint8Array[], sizes: Int32Array, eps: EndpointBatch, count: number): void;
  /** Writes decrypted IP packets bufs[i][0..sizes[i]) to the TUN. */
  deliver(bufs: Uint8Array[], sizes: Int32Array, count: number): void;
}

/** Receive slot size: any UDP datagram fits. */
const RX_SLOT = 65536;
const CONTROL_QUEUE = 8;

export class PacketBatches {
  readonly size: number;
  private readonly maxKeypairs: number;
  // send: entry j (claimTx) names slot txSlot[j]; txOut[j] is that whole slot, as the socket sends it
  readonly txPool: TransportPool;
  /** The TUN read slots: views of send slots 0..size-1 after the 16-byte header room (room for the tag left at the end). */
  readonly sendSlots: Uint8Array[] = [];
  private readonly txSlotViews: Uint8Array[] = [];
  private readonly txOut: Uint8Array[] = [];
  private readonly txSlot: Int32Array;
  readonly txSizes: Int32Array;
  readonly txEps: EndpointBatch;
  private readonly txPeers: (Peer | null)[] = [];
  txCount = 0;
  // relay: receive slots sealed again for the next hop (entries reuse the receive pool's, after its open)
  private readonly relayOut: Uint8Array[] = [];
  private readonly relaySizes: Int32Array;
  private readonly relayEps: EndpointBatch;
  private readonly relayPeers: (Peer | null)[] = [];
  relayCount = 0;
  // receive: slot i = datagram i; entries = transport messages queued for open
  readonly rxPool: TransportPool;
  readonly rxBufs: Uint8Array[] = [];
  /** Views of the receive slots after the 16-byte header: the plaintext after open. */
  readonly rxPayloads: Uint8Array[] = [];
  readonly rxEntrySlot: Int32Array;
  readonly rxEntryKeypair: (Keypair | null)[] = [];
  readonly rxEntryPeer: (Peer | null)[] = [];
  readonly rxEntryCounter: Float64Array;
  rxEntries = 0;
  readonly deliverBufs: Uint8Array[] = [];
  readonly deliverSizes: Int32Array;
  // control messages
  private readonly ctrlBufs: Uint8Array[] = [];
  private readonly ctrlSizes = new Int32Array(CONTROL_QUEUE);
  private readonly ctrlEps = new EndpointBatch(CONTROL_QUEUE);
  private ctrlCount = 0;
  private readonly freeKeys: number[] = [];
  private readonly releasedKeys: number[] = [];

  constructor(private readonly io: DeviceIO, size: number, mtu: number, maxKeypairs: number) {
    this.size = size;
    this.maxKeypairs = maxKeypairs;
    // header (16) + plaintext up to max(mtu, 1500) + padding to 16 + tag (16)
    const txSlotBytes = Math.max(mtu, 1500) + TRANSPORT_MIN_SIZE + 16;
    this.txPool = createTransportPool(2 * size, txSlotBytes, maxKeypairs);
    this.rxPool = createTransportPool(size, RX_SLOT, 2 * maxKeypairs);
    for (let k = maxKeypairs - 1; k >= 0; k--) this.freeKeys.push(k);
    this.txSizes = new Int32Array(size);
    this.txSlot = new Int32Array(size);
    this.txEps = new EndpointBatch(size);
    this.relaySizes = new Int32Array(size);
    this.relayEps = new EndpointBatch(size);
    for (let s = 0; s < 2 * size; s++) this.txSlotViews.push(this.txPool.slot(s));
    for (let i = 0; i < size; i++) {
      this.sendSlots.push(this.txSlotViews[i].subarray(TRANSPORT_HEADER_SIZE, txSlotBytes - 16));
      this.txOut.push(this.txSlotViews[size + i]);
      this.relayOut.push(this.rxPool.slot(i));
      this.relayPeers.push(null);
    }
    this.rxEntrySlot = new Int32Array(size);
    this.rxEntryCounter = new Float64Array(size);
    this.deliverSizes = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      this.txPeers.push(null);
      this.rxBufs.push(this.rxPool.slot(i));
      this.rxPayloads.push(this.rxPool.slot(i).subarray(TRANSPORT_HEADER_SIZE));
      this.rxEntryKeypair.push(null);
      this.rxEntryPeer.push(null);
      this.deliverBufs.push(this.rxPayloads[i]);
    }
    for (let i = 0; i < CONTROL_QUEUE; i++) this.ctrlBufs.push(new Uint8Array(INITIATION_SIZE));
  }

  /** Queues a handshake message or cookie reply (sent unsealed, before the next data batch). */
  queueControl(msg: Uint8Array, ep: Endpoint): void {
    if (this.ctrlCount === CONTROL_QUEUE) this.flushControl();
    const i = this.ctrlCount++;
    this.ctrlBufs[i].set(msg);
    this.ctrlSizes[i] = msg.length;
    this.ctrlEps.items[i].set(ep);
  }

  private flushControl(): void {
    if (this.ctrlCount) this.io.transmit(this.ctrlBufs, this.ctrlSizes, this.ctrlEps, this.ctrlCount);
    this.ctrlCount = 0;
  }

  /**
   * Claims the next send entry for `peer` (flushing a full batch first) and
   * returns its slot, whole (header at 0, plaintext at 16): TUN read slot
   * `slot` (0..size-1, the packet already in place after the header room), or
   * with `slot` -1 a slot of its own to copy the plaintext into. The caller
   * then describes the packet with `setTx`.
   */
  claimTx(peer: Peer, ep: Endpoint, slot = -1): Uint8Array {
    if (this.txCount === this.size) this.flushTx();
    const j = this.txCount++;
    const s = slot >= 0 ? slot : this.size + j;
    this.txSlot[j] = s;
    this.txEps.items[j].set(ep);
    this.txPeers[j] = peer;
    return (this.txOut[j] = this.txSlotViews[s]);
  }

  /** Describes the entry `claimTx` just claimed: `padded` plaintext bytes after the header, sealed with key index `key` and `counter`. */
  setTx(padded: number, key: number, counter: number): void {
    const j = this.txCount - 1;
    this.txPool.setPacket(j, this.txSlot[j], padded, key, counter, TRANSPORT_HEADER_SIZE);
  }

  /** Seals the queued data batch in one pool call and hands it to the socket (control messages first). */
  flushTx(): void {
    this.flushControl();
    const n = this.txCount;
    if (!n) return;
    this.txPool.seal(n);
    const lengths = this.txPool.lengths;
    for (let j = 0; j < n; j++) {
      const size = TRANSPORT_HEADER_SIZE + lengths[j];
      this.txSizes[j] = size;
      this.txPeers[j]!.txBytes += size;
      this.txPeers[j] = null;
    }
    this.txCount = 0;
    this.io.transmit(this.txOut, this.txSizes, this.txEps, n);
  }

  /**
   * Queues receive slot `slot`, opened (plaintext of `padded` bytes after the
   * header, the header already rewritten for the next hop), to be sealed in
   * place with the send key of key index `key` and `counter` and sent to `ep`.
   * Call only after the receive batch's open results were read: the relay
   * uses the receive pool's entries 0..n-1, and at most one per received
   * datagram (so never more than `size`).
   */
  queueRelay(slot: number, padded: number, key: number, counter: number, peer: Peer, ep: Endpoint): void {
    const r = this.relayCount++;
    this.rxPool.setPacket(r, slot, padded, this.maxKeypairs + key, counter, TRANSPORT_HEADER_SIZE);
    this.relayOut[r] = this.rxBufs[slot];
    this.relayEps.items[r].set(ep);
    this.relayPeers[r] = peer;
  }

  /** Seals the queued relays in the receive pool in one call and hands them to the socket. */
  flushRelay(): void {
    const n = this.relayCount;
    if (!n) return;
    this.rxPool.seal(n);
    const lengths = this.rxPool.lengths;
    for (let r = 0; r < n; r++) {
      const size = TRANSPORT_HEADER_SIZE + lengths[r];
      this.relaySizes[r] = size;
      this.relayPeers[r]!.txBytes += size;
      this.relayPeers[r] = null;
    }
    this.relayCount = 0;
    this.io.transmit(this.relayOut, this.relaySizes, this.relayEps, n);
  }

  /** Flushes sends, then recycles released key slots. */
  flush(): void {
    this.flushTx();
    while (this.releasedKeys.length) {
      const k = this.releasedKeys.pop()!;
      this.txPool.clearKey(k);
      this.rxPool.clearKey(k);
      this.rxPool.clearKey(this.maxKeypairs + k);
      this.freeKeys.push(k);
    }
  }

  /**
   * Queues transport message in receive slot `slot` (sealed part `len` bytes after the header) for the batch open.
   * `counter` past 2^53 comes as a bigint (exact nonce); the replay check then sees it as past the limit.
   */
  queueOpen(slot: number, len: number, kp: Keypair, peer: Peer, counter: number | bigint): void {
    const e = this.rxEntries++;
    this.rxPool.setPacket(e, slot, len, kp.keyIndex, counter, TRANSPORT_HEADER_SIZE);
    this.rxEntrySlot[e] = slot;
    this.rxEntryKeypair[e] = kp;
    this.rxEntryPeer[e] = peer;
    this.rxEntryCounter[e] = Number(counter);
  }

  /** Gives a keypair a key index: its send key in the send pool, its receive and send keys in the receive pool; false when none is free. */
  installKeys(kp: Keypair): boolean {
    const k = this.freeKeys.pop();
    if (k === undefined) return false;
    kp.keyIndex = k;
    this.txPool.setKey(k, kp.sendKey);
    this.rxPool.setKey(k, kp.recvKey);
    this.rxPool.setKey(this.maxKeypairs + k, kp.sendKey);
    return true;
  }

  /** Returns a keypair's key slot (reused after the next flush). */
  releaseKeys(kp: Keypair): void {
    if (kp.keyIndex >= 0) this.releasedKeys.push(kp.keyIndex);
    kp.keyIndex = -1;
  }
}
