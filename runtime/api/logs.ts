/**
 * The runtime's recent log lines for `GET /v1/logs`: a ring of the last
 * `capacity` entries (default 1,000), each with a sequence number, a Unix
 * time in ms, a level and the component, so a client polls with `?since=SEQ`
 * and gets only what is new. Memory stays bounded whatever is logged.
 */

export type LogLevel = 'error' | 'warn' | 'info';

export interface LogEntry {
  seq: number;
  /** Unix time, ms. */
  time: number;
  level: LogLevel;
  component: string;
  message: string;
}

export class LogRing {
  private readonly entries: LogEntry[] = [];
  private next = 1;

  constructor(readonly capacity = 1000) {}

  /** Adds one line; returns its entry. */
  push(level: LogLevel, component: string, message: string): LogEntry {
    const e = { seq: this.next++, time: Date.now(), level, component, message };
    this.entries.push(e);
    if (this.entries.length > this.capacity) this.entries.shift();
    return e;
  }

  /** Entries with seq > `since` (all kept ones for 0), oldest first. */
  since(since = 0): LogEntry[] {
    return this.entries.filter((e) => e.seq > since);
  }
}

/** A level for a log line from its wording: refusals and failures are warnings, fatal ones errors. */
export function levelOf(message: string): LogLevel {
  if (/\b(cannot|failed|error)\b/i.test(message) && !/^refused/.test(message)) return 'error';
  if (/^(refused|not healthy)|\b(refused|dropped|rate-limited|ephemeral)\b/.test(message)) return 'warn';
  return 'info';
}
