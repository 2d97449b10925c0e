/**
 * Rate-limited logging for events that repeat per packet (refused handshake
 * messages, unanswered initiations): the first occurrence per key is logged,
 * the next ones within `intervalMs` are only counted, and the next report
 * after the interval says how many were held back. wireguard-go logs these
 * per packet at verbose level (device/receive.go, device/timers.go); on a
 * device whose console is the only log, one line per peer and minute is what
 * stays readable under a flood.
 */

/** How often one key may log (ms). */
export const FAILURE_LOG_INTERVAL = 60_000;
/**
 * Keys remembered at most; keys can come from the network (a source
 * endpoint), so the table is bounded and forgets the oldest first.
 */
export const MAX_LOG_KEYS = 1024;
/**
 * Lines logged at most per interval over all keys: a flood from many sources
 * (spoofed addresses, random claimed keys) must not turn into a log flood.
 */
export const MAX_LINES_PER_INTERVAL = 32;

export class LimitedLog {
  /** key -> last report (ms) and events held back since; Map order = oldest report first. */
  private readonly last = new Map<string, { at: number; held: number }>();
  private windowStart = -Infinity;
  private windowLines = 0;
  private suppressed = 0;

  constructor(
    private readonly log: (msg: string) => void,
    private readonly now: () => number,
    readonly intervalMs = FAILURE_LOG_INTERVAL,
  ) {}

  /**
   * Logs `message` for `key` unless that key logged less than `intervalMs`
   * ago (then only counts it). Returns true when it logged.
   */
  note(key: string, message: string): boolean {
    const t = this.now();
    const e = this.last.get(key);
    if (e && t - e.at < this.intervalMs) {
      e.held++;
      return false;
    }
    if (t - this.windowStart >= this.intervalMs) {
      if (this.suppressed) this.log(`${this.suppressed} more reports like these were held back in the last ${this.intervalMs / 1000} s`);
      this.windowStart = t;
      this.windowLines = 0;
      this.suppressed = 0;
    }
    if (this.windowLines >= MAX_LINES_PER_INTERVAL) {
      this.suppressed++;
      return false;
    }
    this.windowLines++;
    this.log(e?.held ? `${message} (and ${e.held} more since the last report)` : message);
    this.last.delete(key);
    this.last.set(key, { at: t, held: 0 });
    if (this.last.size > MAX_LOG_KEYS) this.last.delete(this.last.keys().next().value!);
    return true;
  }
}
