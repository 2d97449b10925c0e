/**
 * Byte cursors for the Babel wire format: big-endian (network order) fields, a
 * growable writer, and the sub-TLV scan shared by every TLV (RFC 8966 §4.4).
 */
import { SUBTLV_MANDATORY, SUBTLV_PAD1 } from './constants.js';

/** Appends big-endian fields to a growable buffer. */
export class Writer {
  private buf = new Uint8Array(256);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  u8(v: number): this {
    this.room(1);
    this.buf[this.length++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.room(2);
    this.buf[this.length++] = (v >> 8) & 0xff;
    this.buf[this.length++] = v & 0xff;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  /** Overwrites a 16-bit field written earlier (the packet body length). */
  patchU16(at: number, v: number): void {
    this.buf[at] = (v >> 8) & 0xff;
    this.buf[at + 1] = v & 0xff;
  }

  /** A copy of the bytes written so far. */
  toBytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Reads a big-endian 16-bit field; the caller has checked the length. */
export function u16(b: Uint8Array, at: number): number {
  return (b[at] << 8) | b[at + 1];
}

/** Writes a TLV header and body: Type (1), Length (1), Body. The body must be <= 255 octets. */
export function writeTlv(w: Writer, type: number, body: Uint8Array): void {
  w.u8(type).u8(body.length).bytes(body);
}

/** Outcome of scanning the sub-TLVs that follow a TLV's fixed fields. */
export type SubTlvScan = 'ok' | 'mandatory' | 'malformed';

/**
 * Scans the sub-TLVs in `b` (§4.4): Pad1 is one octet, every other sub-TLV is
 * Type, Length, Body. Returns 'mandatory' when an unknown sub-TLV has the mandatory
 * bit (0x80) set (the enclosing TLV must then be ignored), 'malformed' when a
 * sub-TLV runs past the end. RFC 8966 defines only Pad1 and PadN, so every other
 * type is unknown.
 */
export function scanSubTlvs(b: Uint8Array): SubTlvScan {
  let i = 0;
  let mandatory = false;
  while (i < b.length) {
    const type = b[i];
    if (type === SUBTLV_PAD1) {
      i += 1;
      continue;
    }
    if (i + 2 > b.length) return 'malformed';
    const len = b[i + 1];
    if (i + 2 + len > b.length) return 'malformed';
    if (type !== 1 && (type & SUBTLV_MANDATORY) !== 0) mandatory = true;
    i += 2 + len;
  }
  return mandatory ? 'mandatory' : 'ok';
}
