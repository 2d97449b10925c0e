/**
 * The time source of a Mycelium-dialect node and its links: `now()` in
 * milliseconds, one-shot and repeating timers. Real time by default
 * (performance.now, setTimeout, setInterval); `manualClock` adapts Babel's
 * ManualClock (../babel/clock.ts) so the real MyceliumNode runs in a
 * simulation (bench/mycelium-sim.ts) where time moves only in `advance`.
 */
import type { ManualClock } from '../babel/clock.js';

export interface MyceliumClock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  /** Runs `fn` once after `ms` ms; the handle goes to clearTimeout. */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Runs `fn` every `ms` ms (first after `ms`); the handle goes to clearInterval. */
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

/** Real time: the Node.js timers, as the node used before the seam. */
export const realClock: MyceliumClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

/**
 * A MyceliumClock on a ManualClock: timers run inside `clock.advance`, in
 * (time, insertion) order. An interval re-arms itself after each run, so its
 * period does not drift. Throws RangeError for an interval period below 1 ms
 * (it would never let `advance` return).
 */
export function manualClock(clock: ManualClock): MyceliumClock {
  interface Repeat {
    cancel(): void;
  }
  return {
    now: () => clock.now(),
    setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
    clearTimeout: (h) => (h as Repeat | null)?.cancel(),
    setInterval(fn, ms) {
      if (!(ms >= 1)) throw new RangeError(`interval: expected at least 1 ms, got ${ms}`);
      let cancelled = false;
      let at = clock.now();
      let next = { cancel: () => {} };
      const arm = (): void => {
        at += ms;
        next = clock.setTimeout(() => {
          if (cancelled) return;
          arm();
          fn();
        }, at - clock.now());
      };
      arm();
      return {
        cancel: () => {
          cancelled = true;
          next.cancel();
        },
      } satisfies Repeat;
    },
    clearInterval: (h) => (h as Repeat | null)?.cancel(),
  };
}
