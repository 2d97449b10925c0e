/**
 * The device's packet batches (the wireguard-go "elements" and queues, done
 * the batch way): data packets live in the slots of two AEAD pools (seal.ts),
 * so a batch is sealed or opened in one call and handed to the socket or the
 * TUN without copies. Slot j of the send pool holds header || plaintext,
 * sealed in place; slot i of the receive pool holds datagram i, opened in
 * place. Handshake messages and cookie replies use a small separate queue,
 * never sealed. Each keypair holds one key slot in both pools; released slots
 * are reused only after the batch that could still name them has been flushed.
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
  // send: one entry per slot
  readonly txPool: TransportPool;
  readonly txBufs: Uint8Array[] = [];
  readonly txSizes: Int32Array;
  readonly txEps: EndpointBatch;
  private readonly txPeers: (Peer | null)[] = [];
  txCount = 0;
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
    this.txPool = createTransportPool(size, Math.max(mtu, 1500) + TRANSPORT_MIN_SIZE + 16, maxKeypairs);
    this.rxPool = createTransportPool(size, RX_SLOT, maxKeypairs);
    for (let k = maxKeypairs - 1; k >= 0; k--) this.freeKeys.push(k);
    this.txSizes = new Int32Array(size);
    this.txEps = new EndpointBatch(size);
    this.rxEntrySlot = new Int32Array(size);
    this.rxEntryCounter = new Float64Array(size);
    this.deliverSizes = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      this.txBufs.push(this.txPool.slot(i));
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

  /** Claims the next send slot for `peer` (flushing a full batch first); returns its index. */
  claimTx(peer: Peer, ep: Endpoint): number {
    if (this.txCount === this.size) this.flushTx();
    const j = this.txCount++;
    this.txEps.items[j].set(ep);
    this.txPeers[j] = peer;
    return j;
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
    this.io.transmit(this.txBufs, this.txSizes, this.txEps, n);
  }

  /** Flushes sends, then recycles released key slots. */
  flush(): void {
    this.flushTx();
    while (this.releasedKeys.length) {
      const k = this.releasedKeys.pop()!;
      this.txPool.clearKey(k);
      this.rxPool.clearKey(k);
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

  /** Gives a keypair a key slot in both pools; false when none is free. */
  installKeys(kp: Keypair): boolean {
    const k = this.freeKeys.pop();
    if (k === undefined) return false;
    kp.keyIndex = k;
    this.txPool.setKey(k, kp.sendKey);
    this.rxPool.setKey(k, kp.recvKey);
    return true;
  }

  /** Returns a keypair's key slot (reused after the next flush). */
  releaseKeys(kp: Keypair): void {
    if (kp.keyIndex >= 0) this.releasedKeys.push(kp.keyIndex);
    kp.keyIndex = -1;
  }
}
