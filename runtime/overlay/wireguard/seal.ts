/**
 * The transport AEAD behind one adapter: ChaCha20-Poly1305 (RFC 8439) with the
 * WireGuard counter nonce (4 zero bytes || LE64 counter, whitepaper 5.4.6),
 * sealed and opened a batch at a time over a fixed pool of packet slots.
 *
 * The tfw aead kernel's `AeadPacketPool` (runtime/kernels/aead-pool.ts: slots
 * in wasm or native memory, one call per batch, no per-packet allocation) is
 * used when it loads; otherwise `NodeCryptoPool` gives the same interface over
 * node:crypto (one cipher object per packet), so the device has one code path.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { AeadPacketPool } from '../../kernels/aead.js';
import { counterNonce } from './primitives.js';

/** The subset of AeadPacketPool the device uses (see aead-pool.ts for the semantics). */
export interface TransportPool {
  readonly lengths: Uint32Array;
  readonly status: Uint8Array;
  readonly backend: string;
  slot(i: number): Uint8Array;
  setKey(k: number, key: Uint8Array): void;
  clearKey(k: number): void;
  /** `counter`: a number up to 2^53 - 1, or a bigint up to 2^64 - 1. */
  setPacket(i: number, slot: number, length: number, key: number, counter: number | bigint, offset?: number): void;
  seal(count: number): Uint8Array;
  open(count: number): Uint8Array;
}

/** node:crypto implementation of TransportPool (fallback when no kernel backend loads). */
export class NodeCryptoPool implements TransportPool {
  readonly lengths: Uint32Array;
  readonly status: Uint8Array;
  readonly backend = 'node:crypto';
  private readonly slots: Uint8Array[] = [];
  private readonly keys: Uint8Array[] = [];
  private readonly slotOf: Uint32Array;
  private readonly offsets: Uint32Array;
  private readonly keyOf: Uint32Array;
  private readonly counters: Float64Array;
  /** Counters past 2^53 (bigint), else null. */
  private readonly bigCounters: (bigint | null)[];
  private readonly nonce = new Uint8Array(12);

  constructor(slots: number, slotBytes: number, keys: number) {
    for (let i = 0; i < slots; i++) this.slots.push(new Uint8Array(slotBytes));
    for (let i = 0; i < keys; i++) this.keys.push(new Uint8Array(32));
    this.lengths = new Uint32Array(slots);
    this.status = new Uint8Array(slots);
    this.slotOf = new Uint32Array(slots);
    this.offsets = new Uint32Array(slots);
    this.keyOf = new Uint32Array(slots);
    this.counters = new Float64Array(slots);
    this.bigCounters = new Array<bigint | null>(slots).fill(null);
  }

  /** Entry i's nonce: 4 zero bytes || LE64(counter). */
  private nonceOf(i: number): Uint8Array {
    const big = this.bigCounters[i];
    if (big === null) return counterNonce(this.counters[i], this.nonce);
    new DataView(this.nonce.buffer).setBigUint64(4, big, true);
    this.nonce.fill(0, 0, 4);
    return this.nonce;
  }

  slot(i: number): Uint8Array {
    return this.slots[i];
  }
  setKey(k: number, key: Uint8Array): void {
    this.keys[k].set(key);
  }
  clearKey(k: number): void {
    this.keys[k].fill(0);
  }
  setPacket(i: number, slot: number, length: number, key: number, counter: number | bigint, offset = 0): void {
    this.slotOf[i] = slot;
    this.lengths[i] = length;
    this.keyOf[i] = key;
    this.counters[i] = Number(counter);
    this.bigCounters[i] = typeof counter === 'bigint' ? counter : null;
    this.offsets[i] = offset;
  }
  seal(count: number): Uint8Array {
    for (let i = 0; i < count; i++) {
      const buf = this.slots[this.slotOf[i]], off = this.offsets[i], len = this.lengths[i];
      const c = createCipheriv('chacha20-poly1305', this.keys[this.keyOf[i]], this.nonceOf(i), { authTagLength: 16 });
      if (len) c.update(buf.subarray(off, off + len)).copy(buf, off);
      c.final();
      c.getAuthTag().copy(buf, off + len);
      this.lengths[i] = len + 16;
      this.status[i] = 0;
    }
    return this.status;
  }
  open(count: number): Uint8Array {
    for (let i = 0; i < count; i++) {
      const buf = this.slots[this.slotOf[i]], off = this.offsets[i], len = this.lengths[i];
      this.status[i] = 1;
      if (len < 16) continue;
      const n = len - 16;
      try {
        const d = createDecipheriv('chacha20-poly1305', this.keys[this.keyOf[i]], this.nonceOf(i), { authTagLength: 16 });
        d.setAuthTag(buf.subarray(off + n, off + len));
        const body = n ? d.update(buf.subarray(off, off + n)) : null;
        d.final();
        if (body) body.copy(buf, off);
        this.lengths[i] = n;
        this.status[i] = 0;
      } catch {
        /* status stays 1: authentication failed */
      }
    }
    return this.status;
  }
}

/**
 * A pool of `slots` packet buffers of `slotBytes` and `keys` key slots: the aead
 * kernel's pool when a backend loads (TFW_BACKEND / `backend` chooses), else
 * node:crypto. `TFW_OVERLAY_AEAD=node` forces the fallback.
 */
export function createTransportPool(slots: number, slotBytes: number, keys: number): TransportPool {
  if (process.env.TFW_OVERLAY_AEAD !== 'node') {
    try {
      return new AeadPacketPool({ slots, slotBytes, keys }) as TransportPool;
    } catch {
      /* kernel not built or not loadable: fall back */
    }
  }
  return new NodeCryptoPool(slots, slotBytes, keys);
}
