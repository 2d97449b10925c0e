/**
 * The line protocol between the portable suite (bench/guest/guest.ts) and the
 * host that reads it off a guest's serial console: each event is one line,
 * `tfw: bench: ` followed by the SuiteEvent as JSON (bench/kernels/result.ts).
 * Options reach the guest as the kernel word `tfw.bench_args=quick,aead,...`.
 */
import type { SuiteEvent } from '../kernels/result.js';

/** Prefix of every event line (also the log prefix of the bench component). */
export const LINE_PREFIX = 'tfw: bench: ';

/** The line for one event. */
export function formatEvent(e: SuiteEvent): string {
  return `${LINE_PREFIX}${JSON.stringify(e)}`;
}

/**
 * The event in a console line, or null for any other line. A line that starts
 * like an event but does not parse (the kernel wrote into the middle of it)
 * returns `{ error }` so the caller can count it.
 */
export function parseEventLine(line: string): SuiteEvent | { error: string } | null {
  const at = line.indexOf(`${LINE_PREFIX}{`);
  if (at < 0) return null;
  try {
    const e = JSON.parse(line.slice(at + LINE_PREFIX.length)) as SuiteEvent;
    if (typeof e !== 'object' || e === null || typeof e.type !== 'string') return { error: `not an event: ${line.slice(0, 120)}` };
    return e;
  } catch {
    return { error: `malformed event line: ${line.slice(0, 120)}` };
  }
}

/** Words of `tfw.bench_args=` in a kernel command line (comma-separated), or []. */
export function cmdlineArgs(cmdline: string): string[] {
  const m = /(?:^|\s)tfw\.bench_args=(\S*)/.exec(cmdline);
  return m ? m[1].split(',').filter(Boolean) : [];
}

/** Kernel words that make the guest init run the suite with these options. */
export function benchKernelWords(quick: boolean, kernels: string[]): string[] {
  const args = [...(quick ? ['quick'] : []), ...kernels];
  return ['tfw.bench=1', ...(args.length ? [`tfw.bench_args=${args.join(',')}`] : [])];
}
