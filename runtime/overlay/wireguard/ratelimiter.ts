/**
 * Per-source rate limit for handshake messages that carry a valid mac2 while
 * the device is under load (wireguard-go ratelimiter/ratelimiter.go): a token
 * bucket per source IP address (not port), 20 messages a second with a burst
 * of 5, entries idle for a second forgotten. A valid mac2 proves the sender
 * receives at that address (it answered our cookie reply), so the table holds
 * only addresses an attacker really owns; it is still bounded (MAX_ENTRIES).
 */
import type { Endpoint } from '../links/conn.js';

/** Messages a second per source (wireguard-go packetsPerSecond). */
export const PACKETS_PER_SECOND = 20;
/** Burst per source (wireguard-go packetsBurstable). */
export const PACKETS_BURSTABLE = 5;
/** Idle entries are forgotten after this long (ms; wireguard-go garbageCollectTime). */
const GARBAGE_COLLECT_TIME = 1000;
const PACKET_COST = 1000 / PACKETS_PER_SECOND;
const MAX_TOKENS = PACKET_COST * PACKETS_BURSTABLE;
/** Sources tracked at most; a new source is refused while the table is full of active ones. */
const MAX_ENTRIES = 65536;

interface Bucket {
  tokens: number;
  lastTime: number;
}

export class RateLimiter {
  private readonly table = new Map<string, Bucket>();
  private lastCollect = 0;

  /** `now`: the device clock (ms). */
  constructor(private readonly now: () => number) {}

  /** True when a message from `from`'s address may be processed now (and takes a token). */
  allow(from: Endpoint): boolean {
    const t = this.now();
    if (t - this.lastCollect > GARBAGE_COLLECT_TIME) this.collect(t);
    const key = Buffer.from(from.raw.buffer, from.raw.byteOffset, from.family === 4 ? 4 : 16).toString('latin1') + from.family;
    const b = this.table.get(key);
    if (!b) {
      if (this.table.size >= MAX_ENTRIES) return false;
      this.table.set(key, { tokens: MAX_TOKENS - PACKET_COST, lastTime: t });
      return true;
    }
    b.tokens = Math.min(MAX_TOKENS, b.tokens + (t - b.lastTime));
    b.lastTime = t;
    if (b.tokens >= PACKET_COST) {
      b.tokens -= PACKET_COST;
      return true;
    }
    return false;
  }

  /** Sources currently tracked. */
  get size(): number {
    return this.table.size;
  }

  private collect(t: number): void {
    this.lastCollect = t;
    for (const [k, b] of this.table) if (t - b.lastTime > GARBAGE_COLLECT_TIME) this.table.delete(k);
  }
}
