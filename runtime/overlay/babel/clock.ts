/**
 * The router's notion of time: `now()` in milliseconds and one-shot timers. The
 * system clock wraps performance.now / setTimeout; ManualClock is a simulated
 * clock for tests, where `advance(ms)` runs due timers in order without waiting.
 */

/** A scheduled callback that can be cancelled. */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

/** Real time. Timers are unref'd so the router alone never keeps the process alive. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};

interface Scheduled {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A simulated clock: time moves only in `advance`, timers run in (time, insertion) order. */
export class ManualClock implements Clock {
  private t = 0;
  private seq = 0;
  private queue: Scheduled[] = [];

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const s: Scheduled = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    // Binary insertion keeps the queue sorted by (at, seq).
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const q = this.queue[mid];
      if (q.at < s.at || (q.at === s.at && q.seq < s.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, s);
    return { cancel: () => void (s.cancelled = true) };
  }

  /** Moves time forward by `ms`, running every timer that falls due (including ones scheduled meanwhile). */
  advance(ms: number): void {
    const end = this.t + ms;
    while (this.queue.length > 0 && this.queue[0].at <= end) {
      const s = this.queue.shift()!;
      if (s.cancelled) continue;
      this.t = s.at;
      s.fn();
    }
    this.t = end;
  }

  /**
   * Advances in `step` ms increments until `done()` holds or `limit` ms have passed;
   * returns the simulated milliseconds it took, or -1 when the limit was reached.
   */
  runUntil(done: () => boolean, limit: number, step = 10): number {
    const start = this.t;
    while (!done()) {
      if (this.t - start >= limit) return -1;
      this.advance(step);
    }
    return this.t - start;
  }
}
