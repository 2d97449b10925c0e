/**
 * Chunking a byte stream for the object store: a file stream yields pieces of
 * any size (64 KiB from createReadStream); the store seals and codes fixed
 * `chunkSize` chunks. Whole chunks inside a large piece pass through as views,
 * uncopied; pieces are gathered in one buffer that is reused for every chunk:
 * the consumer must be done with a chunk before asking for the next.
 */
import { Buffer } from 'node:buffer';

/** Cuts a byte stream into pieces of exactly `size` bytes (the last may be shorter). */
export async function* rechunk(source: Uint8Array | AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) {
    for (let o = 0; o < source.length; o += size) yield source.subarray(o, Math.min(source.length, o + size));
    return;
  }
  let buf = Buffer.allocUnsafe(size);
  let fill = 0;
  for await (const piece of source) {
    let p = 0;
    // whole chunks straight from the source, uncopied, when nothing is pending
    while (fill === 0 && piece.length - p >= size) {
      yield piece.subarray(p, p + size);
      p += size;
    }
    while (p < piece.length) {
      const n = Math.min(size - fill, piece.length - p);
      buf.set(piece.subarray(p, p + n), fill);
      fill += n;
      p += n;
      if (fill === size) {
        yield buf; // refilled once the consumer asks for the next chunk (a fresh buffer per chunk costs page faults)
        fill = 0;
      }
    }
  }
  if (fill) yield buf.subarray(0, fill);
}

