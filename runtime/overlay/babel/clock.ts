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

/** (at, seq) order: earlier time first, then insertion order. */
const before = (a: Scheduled, b: Scheduled): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/**
 * A simulated clock: time moves only in `advance`, timers run in (time, insertion) order.
 * Timers sit in a binary min-heap, so scheduling and running one is O(log n): a
 * simulated mesh of thousands of routers keeps ~10^5 timers and packets in flight.
 */
export class ManualClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly heap: Scheduled[] = [];

  now(): number {
    return this.t;
  }

  /** Timers scheduled and not yet run (cancelled ones included until they fall due). */
  get pending(): number {
    return this.heap.length;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const s: Scheduled = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    const h = this.heap;
    let i = h.push(s) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(s, h[p])) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = s;
    return { cancel: () => void (s.cancelled = true) };
  }

  /** Removes and returns the earliest timer (the heap is not empty). */
  private pop(): Scheduled {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const c = l + 1 < h.length && before(h[l + 1], h[l]) ? l + 1 : l;
        if (!before(h[c], last)) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top;
  }

  /** Moves time forward by `ms`, running every timer that falls due (including ones scheduled meanwhile). */
  advance(ms: number): void {
    const end = this.t + ms;
    while (this.heap.length > 0 && this.heap[0].at <= end) {
      const s = this.pop();
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
