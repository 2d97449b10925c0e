/** Pad1 and PadN TLVs (RFC 8966 §4.6.1, §4.6.2): padding, ignored on receipt. */
import { TlvType } from './constants.js';
import { Writer } from './wire.js';

/** §4.6.1: a single zero octet, no Length field. */
export interface Pad1 {
  type: 'pad1';
}

/** §4.6.2: Type 1, Length N, N octets of MBZ padding. */
export interface PadN {
  type: 'padN';
  /** Padding octets (0..255). */
  length: number;
}

export function encodePad1(w: Writer): void {
  w.u8(TlvType.Pad1);
}

export function encodePadN(w: Writer, tlv: PadN): void {
  w.u8(TlvType.PadN).u8(tlv.length).bytes(new Uint8Array(tlv.length));
}

/** The body's padding octets MUST be zero when sent and are ignored on receipt (§4.6.2). */
export function decodePadN(body: Uint8Array): { tlv: PadN; length: number } {
  return { tlv: { type: 'padN', length: body.length }, length: body.length };
}
