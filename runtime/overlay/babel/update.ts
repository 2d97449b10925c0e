/**
 * Update TLV (RFC 8966 §4.6.9): advertises (or, with metric 0xFFFF, retracts) a
 * route. The prefix may be compressed against the packet's default prefix for its
 * AE (Omitted field, flag 0x80); flag 0x40 takes the router-id from the prefix.
 */
import { AE, INFINITY, TlvType } from './constants.js';
import { expandPrefix, prefixWireLength } from './prefix.js';
import { u16, Writer } from './wire.js';

/**
 * §4.6.9: AE (1), Flags (1), Plen (1), Omitted (1), Interval (2, centiseconds),
 * Seqno (2), Metric (2), Prefix (ceil(Plen/8) - Omitted octets).
 */
export interface Update {
  type: 'update';
  ae: number;
  flags: number;
  plen: number;
  /** Leading octets taken from the default prefix instead of the wire. */
  omitted: number;
  /** Centiseconds until the next periodic update for this prefix; MUST NOT be 0. */
  interval: number;
  seqno: number;
  metric: number;
  /** The full prefix: 4 octets for AE 1, 16 for AE 2 and 3 (fe80::/64 implied), none for AE 0. */
  prefix: Uint8Array;
  /** The router-id in force for this Update (§4.5 parser state), filled in by the packet parser. */
  routerId?: Uint8Array | null;
  /** The next hop in force for this Update's address family, if a Next Hop TLV set one. */
  nextHop?: Uint8Array | null;
}

/**
 * Writes an Update with the given flags and Omitted count; the caller owns the
 * compression state (the packet encoder in packet.ts computes Omitted).
 */
export function encodeUpdate(w: Writer, tlv: Update): void {
  const wireLen = prefixWireLength(tlv.ae, tlv.plen);
  const start = tlv.ae === AE.LinkLocalIPv6 ? 8 : tlv.omitted;
  const end = tlv.ae === AE.LinkLocalIPv6 ? 8 + wireLen : wireLen;
  const prefix = tlv.prefix.subarray(start, end);
  w.u8(TlvType.Update).u8(10 + prefix.length);
  w.u8(tlv.ae).u8(tlv.flags).u8(tlv.plen).u8(tlv.omitted);
  w.u16(tlv.interval).u16(tlv.seqno).u16(tlv.metric).bytes(prefix);
}

/**
 * Decodes an Update body. `defaultPrefix(ae)` returns the packet's current default
 * prefix for that AE. Returns null when malformed (short body, plen out of range for
 * the AE, Omitted larger than the prefix or without a default prefix, interval 0, a
 * wildcard Update that is not a retraction) and 'unknownAe' for an unknown AE.
 */
export function decodeUpdate(
  body: Uint8Array,
  defaultPrefix: (ae: number) => Uint8Array | undefined,
): { tlv: Update; length: number } | null | 'unknownAe' {
  if (body.length < 10) return null;
  const ae = body[0];
  const flags = body[1];
  const plen = body[2];
  const omitted = body[3];
  if (ae > AE.LinkLocalIPv6) return 'unknownAe';
  const wireLen = prefixWireLength(ae, plen);
  if (wireLen < 0 || omitted > wireLen) return null;
  const onWire = wireLen - omitted;
  if (body.length < 10 + onWire) return null;
  const interval = u16(body, 4);
  const seqno = u16(body, 6);
  const metric = u16(body, 8);
  if (interval === 0) return null;
  if (ae === AE.Wildcard && metric !== INFINITY) return null;
  const prefix = expandPrefix(ae, plen, omitted, body.subarray(10, 10 + onWire), defaultPrefix(ae));
  if (!prefix) return null;
  return { tlv: { type: 'update', ae, flags, plen, omitted, interval, seqno, metric, prefix }, length: 10 + onWire };
}
