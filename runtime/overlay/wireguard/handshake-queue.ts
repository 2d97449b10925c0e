/**
 * The bounded queue between the receive path and the handshake worker
 * (wireguard-go device.queue.handshake, QueueHandshakeSize = 1024): handshake
 * messages (initiations and responses) are copied into preallocated slots
 * as they arrive and handled later, after the data of the same wake-up, so a
 * flood of them cannot hold transport data back. A full queue drops the new
 * message (counted by the caller). Its depth is the "under load" signal.
 */
import { Endpoint } from '../links/conn.js';
import { INITIATION_SIZE } from './messages.js';

/** Queue capacity (wireguard-go QueueHandshakeSize). */
export const QUEUE_HANDSHAKE_SIZE = 1024;

export class HandshakeQueue {
  private readonly bufs: Uint8Array[] = [];
  private readonly sizes: Int32Array;
  private readonly eps: Endpoint[] = [];
  private head = 0;
  private count = 0;

  constructor(readonly capacity = QUEUE_HANDSHAKE_SIZE) {
    this.sizes = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) {
      this.bufs.push(new Uint8Array(INITIATION_SIZE));
      this.eps.push(new Endpoint());
    }
  }

  get length(): number {
    return this.count;
  }

  /** Copies msg[0..len) (len <= 148) and its source in; false when the queue is full. */
  push(msg: Uint8Array, len: number, from: Endpoint): boolean {
    if (this.count === this.capacity) return false;
    const i = (this.head + this.count++) % this.capacity;
    this.bufs[i].set(msg.subarray(0, len));
    this.sizes[i] = len;
    this.eps[i].set(from);
    return true;
  }

  /**
   * Takes the oldest message: calls fn with a view of its bytes and its
   * source (both valid only during the call). False when empty.
   */
  shift(fn: (msg: Uint8Array, from: Endpoint) => void): boolean {
    if (!this.count) return false;
    const i = this.head;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    fn(this.bufs[i].subarray(0, this.sizes[i]), this.eps[i]);
    return true;
  }
}
