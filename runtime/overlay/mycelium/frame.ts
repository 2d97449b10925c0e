/**
 * Mycelium's stream framing on a peer link (TCP): every packet starts with
 *
 *   Version (1, = 1) | Type (1: 0 data, 1 control) | Reserved (2, 0)
 *
 * followed by a data packet (data-packet.ts: its own Length field) or a
 * Babel control packet (tlv.ts: its Body length field). The frame itself has
 * no length, so a bad version or type loses sync: the link is closed, as
 * Mycelium's codec does (it returns an error). Source: threefoldtech/mycelium
 * mycelium/src/packet.rs and docs/packet.md.
 *
 * FrameDecoder holds at most one incomplete frame between reads (at most
 * 4 + 36 + 65535 bytes), so a peer cannot grow it without bound; frames it
 * hands out are views into memory nobody else reuses, so a relay may send a
 * data frame on as it is (after decrementing its hop limit in place).
 */
import type { Counters } from './counters.js';
import { DATA_HEADER_BYTES } from './data-packet.js';
import { BABEL_HEADER_BYTES, BABEL_MAGIC, BABEL_VERSION, decodeBabelBody, encodeBabelPacket, type Tlv } from './tlv.js';

export const PROTOCOL_VERSION = 1;
export const FRAME_HEADER_BYTES = 4;
export const TYPE_DATA = 0;
export const TYPE_CONTROL = 1;
/** The longest frame: outer header, data header, 16-bit body. */
export const MAX_FRAME_BYTES = FRAME_HEADER_BYTES + DATA_HEADER_BYTES + 0xffff;

/** A data frame as received: views into the read buffer. */
export interface DataFrame {
  /** The whole frame (outer header included), for sending on unchanged. */
  frame: Uint8Array;
  hopLimit: number;
  src: Uint8Array;
  dst: Uint8Array;
  body: Uint8Array;
}

export interface FrameSink {
  data(f: DataFrame): void;
  control(t: Tlv): void;
}

/** One control frame: outer header + a Babel packet with one TLV. */
export function encodeControlFrame(t: Tlv): Uint8Array {
  const babel = encodeBabelPacket(t);
  const out = new Uint8Array(FRAME_HEADER_BYTES + babel.length);
  out[0] = PROTOCOL_VERSION;
  out[1] = TYPE_CONTROL;
  out.set(babel, FRAME_HEADER_BYTES);
  return out;
}

/** Writes the outer header of a data frame at `off` of `out`. */
export function writeDataFrameHeader(out: Uint8Array, off = 0): void {
  out[off] = PROTOCOL_VERSION;
  out[off + 1] = TYPE_DATA;
  out[off + 2] = 0;
  out[off + 3] = 0;
}

/** Splits a link's byte stream into frames; see the file comment. */
export class FrameDecoder {
  private pending: Uint8Array = new Uint8Array(0);
  private dead = false;
  private readonly tlvs: Tlv[] = [];

  constructor(
    private readonly sink: FrameSink,
    private readonly counters: Counters,
  ) {}

  /** Bytes held back waiting for the rest of a frame. */
  get buffered(): number {
    return this.pending.length;
  }

  /**
   * Feeds bytes read from the link. Returns false once the stream is out of
   * sync (bad version or type, counted): the caller closes the link. Never
   * throws for any input.
   */
  push(chunk: Uint8Array): boolean {
    if (this.dead) return false;
    let buf: Uint8Array;
    if (this.pending.length === 0) buf = chunk;
    else {
      buf = new Uint8Array(this.pending.length + chunk.length);
      buf.set(this.pending);
      buf.set(chunk, this.pending.length);
    }
    let off = 0;
    for (;;) {
      const n = this.next(buf, off);
      if (n < 0) {
        this.dead = true;
        this.pending = new Uint8Array(0);
        return false;
      }
      if (n === 0) break;
      off += n;
    }
    // Keep only the incomplete tail, copied so a large read is not retained.
    this.pending = off === buf.length ? new Uint8Array(0) : buf.slice(off);
    return true;
  }

  /** Consumes one frame at `off`: its length, 0 when incomplete, -1 when out of sync. */
  private next(buf: Uint8Array, off: number): number {
    const avail = buf.length - off;
    if (avail < FRAME_HEADER_BYTES) return 0;
    if (buf[off] !== PROTOCOL_VERSION) {
      this.counters.drop('bad-version');
      return -1;
    }
    const type = buf[off + 1];
    const p = off + FRAME_HEADER_BYTES;
    if (type === TYPE_DATA) {
      if (avail < FRAME_HEADER_BYTES + DATA_HEADER_BYTES) return 0;
      const len = (buf[p + 1] << 8) | buf[p + 2];
      const total = FRAME_HEADER_BYTES + DATA_HEADER_BYTES + len;
      if (avail < total) return 0;
      this.sink.data({
        frame: buf.subarray(off, off + total),
        hopLimit: buf[p + 3],
        src: buf.subarray(p + 4, p + 20),
        dst: buf.subarray(p + 20, p + 36),
        body: buf.subarray(p + DATA_HEADER_BYTES, off + total),
      });
      return total;
    }
    if (type === TYPE_CONTROL) {
      if (avail < FRAME_HEADER_BYTES + BABEL_HEADER_BYTES) return 0;
      const len = (buf[p + 2] << 8) | buf[p + 3];
      const total = FRAME_HEADER_BYTES + BABEL_HEADER_BYTES + len;
      if (avail < total) return 0;
      if (buf[p] !== BABEL_MAGIC || buf[p + 1] !== BABEL_VERSION) {
        this.counters.drop('babel-header');
        return total;
      }
      this.tlvs.length = 0;
      decodeBabelBody(buf.subarray(p + BABEL_HEADER_BYTES, off + total), this.counters, this.tlvs);
      for (const t of this.tlvs) {
        this.counters.tlvs++;
        this.sink.control(t);
      }
      return total;
    }
    this.counters.drop('bad-type');
    return -1;
  }
}
