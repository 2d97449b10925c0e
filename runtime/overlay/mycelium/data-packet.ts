/**
 * Mycelium's data packet: what travels between nodes for one overlay packet.
 *
 *   header (4): Reserved (1, 0) | Length (2, of the body) | Hop limit (1)
 *   Source IP (16) | Destination IP (16) | Body (Length bytes)
 *
 * The body is the source's AES-256-GCM box for the destination (seal.ts);
 * relays read only the header and addresses, decrement the hop limit and
 * pass the body on untouched. Source: threefoldtech/mycelium docs/data_packet.md
 * and the data packet codec (a u32 header: `len << 8 | hop_limit`).
 */
export const DATA_HEADER_BYTES = 4 + 16 + 16;
/** The Length field is 16 bits. */
export const MAX_DATA_BODY = 0xffff;

export interface DataPacket {
  hopLimit: number;
  src: Uint8Array;
  dst: Uint8Array;
  body: Uint8Array;
}

/**
 * Writes a data packet's header (36 bytes) into `out` at `off`.
 * Throws RangeError when the body is longer than 65535 bytes.
 */
export function writeDataHeader(out: Uint8Array, off: number, bodyLen: number, hopLimit: number, src: Uint8Array, dst: Uint8Array): void {
  if (bodyLen > MAX_DATA_BODY) throw new RangeError(`body: expected at most ${MAX_DATA_BODY} bytes, got ${bodyLen}`);
  out[off] = 0;
  out[off + 1] = bodyLen >> 8;
  out[off + 2] = bodyLen & 0xff;
  out[off + 3] = hopLimit & 0xff;
  out.set(src.subarray(0, 16), off + 4);
  out.set(dst.subarray(0, 16), off + 20);
}

/** A whole data packet (header + body), without the outer frame header. */
export function encodeDataPacket(p: DataPacket): Uint8Array {
  const out = new Uint8Array(DATA_HEADER_BYTES + p.body.length);
  writeDataHeader(out, 0, p.body.length, p.hopLimit, p.src, p.dst);
  out.set(p.body, DATA_HEADER_BYTES);
  return out;
}
