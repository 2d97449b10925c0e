/**
 * The source table (RFC 8966 §3.2.5): for each source (prefix, router-id) the
 * feasibility distance (seqno, metric) of the routes we advertised, and the
 * feasibility condition of §3.5.1.
 */
import { INFINITY, SOURCE_GC_TIME } from './constants.js';
import { seqnoLess } from './seqno.js';

export interface FeasibilityDistance {
  seqno: number;
  metric: number;
  /** When the entry is garbage-collected (source GC time, Appendix B). */
  gcAt: number;
}

export class SourceTable {
  private entries = new Map<string, FeasibilityDistance>();

  private static key(prefix: string, routerId: string): string {
    return `${prefix}|${routerId}`;
  }

  get(prefix: string, routerId: string): FeasibilityDistance | undefined {
    return this.entries.get(SourceTable.key(prefix, routerId));
  }

  /**
   * §3.5.1: an update (seqno, metric) is feasible when it is a retraction, when
   * there is no source entry, or when it is strictly better than the feasibility
   * distance: a newer seqno, or the same seqno and a smaller metric.
   */
  feasible(prefix: string, routerId: string, seqno: number, metric: number): boolean {
    if (metric >= INFINITY) return true;
    const fd = this.get(prefix, routerId);
    if (!fd) return true;
    return seqnoLess(fd.seqno, seqno) || (seqno === fd.seqno && metric < fd.metric);
  }

  /**
   * §3.7.3: called before sending an update with a finite metric; the feasibility
   * distance becomes the better of the stored one and (seqno, metric).
   */
  advertise(prefix: string, routerId: string, seqno: number, metric: number, now: number): void {
    if (metric >= INFINITY) return;
    const key = SourceTable.key(prefix, routerId);
    const fd = this.entries.get(key);
    if (!fd) {
      this.entries.set(key, { seqno, metric, gcAt: now + SOURCE_GC_TIME });
      return;
    }
    if (seqnoLess(fd.seqno, seqno)) {
      fd.seqno = seqno;
      fd.metric = metric;
    } else if (seqno === fd.seqno && metric < fd.metric) {
      fd.metric = metric;
    }
    fd.gcAt = now + SOURCE_GC_TIME;
  }

  /** Drops entries not advertised for the source GC time (Appendix B). */
  gc(now: number): void {
    for (const [k, fd] of this.entries) if (now >= fd.gcAt) this.entries.delete(k);
  }

  get size(): number {
    return this.entries.size;
  }
}
