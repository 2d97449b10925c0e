/**
 * Outstanding seqno requests (RFC 8966 §3.8.2 sending, §3.8.1.2 forwarding):
 * one per source, resent after the request timeout (doubling, at most
 * REQUEST_RESENDS times, Appendix B) until an update with a large enough seqno
 * arrives. Identical requests are not sent twice to the same neighbour while one
 * is outstanding (§3.8.1.2: avoid redundant forwarding).
 */
import { REQUEST_RESENDS, REQUEST_TIMEOUT } from './constants.js';
import { Prefix } from './prefix.js';
import { seqnoLess } from './seqno.js';

export interface PendingRequest {
  prefixKey: string;
  prefix: Prefix;
  routerId: Uint8Array;
  rid: string;
  seqno: number;
  hopCount: number;
  /** Neighbours the request went to and that have not answered yet. */
  sentTo: Set<string>;
  /** Neighbours we forwarded this request for (they get the answering update). */
  requesters: Set<string>;
  resends: number;
  timeout: number;
  nextAt: number;
}

export class RequestTable {
  private pending = new Map<string, PendingRequest>();

  private static key(prefixKey: string, rid: string): string {
    return `${prefixKey}|${rid}`;
  }

  get(prefixKey: string, rid: string): PendingRequest | undefined {
    return this.pending.get(RequestTable.key(prefixKey, rid));
  }

  /** Returns the outstanding request for the source, replaced by a new one when `seqno` is newer. */
  open(prefixKey: string, prefix: Prefix, routerId: Uint8Array, rid: string, seqno: number, hopCount: number, now: number): PendingRequest {
    const key = RequestTable.key(prefixKey, rid);
    const old = this.pending.get(key);
    if (old && !seqnoLess(old.seqno, seqno)) return old;
    const p: PendingRequest = {
      prefixKey,
      prefix,
      routerId,
      rid,
      seqno,
      hopCount,
      sentTo: new Set(),
      requesters: old ? old.requesters : new Set(),
      resends: 0,
      timeout: REQUEST_TIMEOUT,
      nextAt: now + REQUEST_TIMEOUT,
    };
    this.pending.set(key, p);
    return p;
  }

  /** Removes requests answered by (prefix, rid, seqno) and returns them (§3.8.1.2: reply forwarding). */
  satisfy(prefixKey: string, rid: string, seqno: number): PendingRequest | undefined {
    const key = RequestTable.key(prefixKey, rid);
    const p = this.pending.get(key);
    if (!p || seqnoLess(seqno, p.seqno)) return undefined;
    this.pending.delete(key);
    return p;
  }

  /** Requests whose timeout passed: returned for resending, or dropped after the last resend. */
  due(now: number): PendingRequest[] {
    const out: PendingRequest[] = [];
    for (const [k, p] of this.pending) {
      if (now < p.nextAt) continue;
      if (p.resends >= REQUEST_RESENDS) {
        this.pending.delete(k);
        continue;
      }
      p.resends++;
      p.timeout *= 2;
      p.nextAt = now + p.timeout;
      out.push(p);
    }
    return out;
  }

  /** Forgets a neighbour that went away. */
  dropNeighbour(id: string): void {
    for (const p of this.pending.values()) {
      p.sentTo.delete(id);
      p.requesters.delete(id);
    }
  }

  get size(): number {
    return this.pending.size;
  }
}
