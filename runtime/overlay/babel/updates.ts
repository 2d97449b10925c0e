/**
 * Building the Update TLVs the router sends (RFC 8966 §3.7): our own prefixes
 * (metric 0, our seqno), selected routes (their source's router-id and seqno, our
 * metric) and retractions (metric 0xFFFF). Router-Id TLVs and prefix compression
 * are added by the packet encoder.
 */
import { INFINITY } from './constants.js';
import { aeOf, Prefix } from './prefix.js';
import type { Update } from './update.js';

/** An Update for `prefix` from source `routerId` with `seqno` and `metric`; `intervalMs` is our update interval. */
export function makeUpdate(prefix: Prefix, routerId: Uint8Array, seqno: number, metric: number, intervalMs: number): Update {
  return {
    type: 'update',
    ae: aeOf(prefix),
    flags: 0,
    plen: prefix.plen,
    omitted: 0,
    interval: Math.max(1, Math.round(intervalMs / 10)),
    seqno,
    metric,
    prefix: prefix.bytes,
    routerId,
  };
}

/** A retraction (§3.5.4, §3.7.2): metric infinity; router-id and seqno are informative only. */
export function makeRetraction(prefix: Prefix, routerId: Uint8Array, seqno: number, intervalMs: number): Update {
  return makeUpdate(prefix, routerId, seqno, INFINITY, intervalMs);
}
