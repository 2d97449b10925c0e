/**
 * Acknowledgment Request and Acknowledgment TLVs (RFC 8966 §4.6.3, §4.6.4).
 * tfw links are point-to-point tunnels, so the router answers Ack Requests but
 * never asks for acknowledgments itself (§3.3: acknowledgments are optional).
 */
import { TlvType } from './constants.js';
import { u16, Writer } from './wire.js';

/** §4.6.3: Reserved (2), Opaque (2), Interval (2, centiseconds, MUST NOT be 0). */
export interface AckRequest {
  type: 'ackRequest';
  opaque: number;
  /** Centiseconds within which the Ack must arrive. */
  interval: number;
}

/** §4.6.4: Opaque (2), copied from the Ack Request. */
export interface Ack {
  type: 'ack';
  opaque: number;
}

export function encodeAckRequest(w: Writer, tlv: AckRequest): void {
  w.u8(TlvType.AckRequest).u8(6).u16(0).u16(tlv.opaque).u16(tlv.interval);
}

/** Returns null when the body is shorter than 6 octets or the interval is 0. */
export function decodeAckRequest(body: Uint8Array): { tlv: AckRequest; length: number } | null {
  if (body.length < 6) return null;
  const interval = u16(body, 4);
  if (interval === 0) return null;
  return { tlv: { type: 'ackRequest', opaque: u16(body, 2), interval }, length: 6 };
}

export function encodeAck(w: Writer, tlv: Ack): void {
  w.u8(TlvType.Ack).u8(2).u16(tlv.opaque);
}

/** Returns null when the body is shorter than 2 octets. */
export function decodeAck(body: Uint8Array): { tlv: Ack; length: number } | null {
  if (body.length < 2) return null;
  return { tlv: { type: 'ack', opaque: u16(body, 0) }, length: 2 };
}
