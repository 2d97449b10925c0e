/**
 * Sliding-window replay protection for transport counters (RFC 6479, as used
 * by WireGuard, whitepaper 5.4.6): a ring of 32-bit words; moving the window
 * forward clears whole words, so the cost is O(1) per packet. The window
 * accepts any unseen counter within WINDOW_SIZE below the highest seen.
 */
const WORD_BITS = 32;
const RING_WORDS = 128;
/** Counters this far below the highest one seen are still accepted (4,064 packets). */
export const WINDOW_SIZE = (RING_WORDS - 1) * WORD_BITS;

export class ReplayFilter {
  private readonly ring = new Uint32Array(RING_WORDS);
  private last = 0;

  /** Forgets everything (new keypair). */
  reset(): void {
    this.ring.fill(0);
    this.last = 0;
  }

  /**
   * Records `counter` and returns true if it is fresh: below `limit`
   * (REJECT_AFTER_MESSAGES), not older than the window, not seen before.
   * Call only after the packet has been authenticated.
   */
  validate(counter: number, limit: number): boolean {
    if (!(counter >= 0) || counter >= limit || !Number.isSafeInteger(counter)) return false;
    let word = Math.floor(counter / WORD_BITS);
    if (counter > this.last) {
      const current = Math.floor(this.last / WORD_BITS);
      const diff = Math.min(word - current, RING_WORDS);
      for (let i = 1; i <= diff; i++) this.ring[(current + i) % RING_WORDS] = 0;
      this.last = counter;
    } else if (this.last - counter > WINDOW_SIZE) {
      return false;
    }
    word %= RING_WORDS;
    const bit = 1 << (counter % WORD_BITS);
    const old = this.ring[word];
    if (old & bit) return false;
    this.ring[word] = old | bit;
    return true;
  }
}
