/**
 * Interleaved timing for the portable kernel suite: every implementation of a
 * case is timed once per round, round after round, so a burst of load from
 * other work (another guest, another engineer's job on this 2-core machine, the
 * TCG translator) hits every implementation alike. Wall clock only: a guest's
 * CPU-time accounting under TCG runs on the host's clock anyway.
 */

/** One implementation of one case: `fn` does `units` bytes (or lookups) of work per call. */
export interface Cell {
  impl: string;
  backend: string | null;
  fn: () => void;
  units: number;
}

export interface MeasureOptions {
  /** Timed rounds per cell (every one kept as a sample). */
  rounds: number;
  /** Minimum wall-clock milliseconds per timed round (at least one call). */
  roundMs: number;
  /** Untimed warm-up per cell before the first round (lets V8 tier the code up). */
  warmupMs: number;
}

/** Quick runs (`--quick`, the tests): one small size per kernel, short rounds. */
export const QUICK: MeasureOptions = { rounds: 3, roundMs: 40, warmupMs: 80 };
/** Full runs (the report). */
export const FULL: MeasureOptions = { rounds: 5, roundMs: 150, warmupMs: 100 };

/** Calls `fn` for at least `ms` (and at least once); returns calls per second. */
export function callsPerSecond(fn: () => void, ms: number): number {
  const limit = BigInt(Math.round(ms * 1e6));
  const start = process.hrtime.bigint();
  let calls = 0;
  let elapsed = 0n;
  do {
    fn();
    calls++;
    elapsed = process.hrtime.bigint() - start;
  } while (elapsed < limit);
  return calls / (Number(elapsed) / 1e9);
}

/**
 * Times every cell `o.rounds` times, interleaved; returns, per cell in order,
 * its samples in units per second. `onCell` is called before each cell's
 * warm-up (progress).
 */
export function measureInterleaved(cells: Cell[], o: MeasureOptions, onCell?: (c: Cell, step: string) => void): number[][] {
  for (const c of cells) {
    onCell?.(c, 'warm-up');
    callsPerSecond(c.fn, o.warmupMs);
  }
  const samples = cells.map(() => [] as number[]);
  for (let r = 0; r < o.rounds; r++) {
    cells.forEach((c, i) => {
      if (r === 0) onCell?.(c, `${o.rounds} rounds`);
      samples[i].push(callsPerSecond(c.fn, o.roundMs) * c.units);
    });
  }
  return samples;
}
