/**
 * RESP, the Redis serialization protocol (redis.io/docs/reference/protocol-spec,
 * RESP2), as 0-db speaks it: requests are arrays of bulk strings (or inline
 * lines, for telnet users); replies are simple strings, errors, integers, bulk
 * strings (nil as `$-1`) and arrays. One incremental reader serves both the
 * server (requests) and the client (replies).
 */
import { Buffer } from 'node:buffer';
import { ProtocolError } from './errors.js';

/** An error reply (`-ERR ...`), as a value: the client turns it into a BackendError. */
export class RespErrorReply {
  constructor(readonly message: string) {}
}

/** A simple-string reply (`+OK`), kept apart from bulk strings. */
export class RespStatus {
  constructor(readonly text: string) {}
}

export type RespValue = RespStatus | RespErrorReply | number | Buffer | null | RespValue[];

/** Largest bulk string accepted: 0-db's 8 MiB value limit plus framing room. */
export const MAX_BULK = 16 * 1024 * 1024;
const MAX_ARRAY = 1024 * 1024;
const MAX_LINE = 64 * 1024;
/** Frames at least this long are joined in the reusable buffer (RespReader `reuse`). */
const REUSE_MIN = 64 * 1024;
const CRLF = Buffer.from('\r\n');

/** Signals "frame incomplete"; `need` is the total byte count that completes it when known. */
class Incomplete {
  constructor(readonly need: number) {}
}

/**
 * Incremental RESP reader: `push` network chunks, then call `next` until it
 * returns undefined. Large bulks are joined once, when all their bytes are in;
 * a bulk reply the caller has a buffer for (`next(into)`) is copied straight
 * into that buffer as its bytes arrive, never joined.
 * @throws ProtocolError on a malformed frame (the connection should close)
 */
export class RespReader {
  private chunks: Buffer[] = [];
  private length = 0;
  private need = 0;
  /** A bulk reply being received into a caller's buffer: `filled` of its `into.length` bytes, then 2 of CRLF. */
  private sink: { into: Uint8Array; filled: number; crlf: number } | undefined;

  /** Where frames spread over several network chunks are joined, when `reuse` is on. */
  private scratch: Buffer | undefined;

  /**
   * @param inline accept inline commands (`PING\r\n`), as a server does
   * @param reuse join frames of REUSE_MIN bytes or more in one buffer that the
   *   next join overwrites: the values `next` returns are then valid only until
   *   the following `next` call (a server that is done with a request once it
   *   is dispatched, and copies what its reply echoes; see detach)
   */
  constructor(private readonly inline = false, private readonly reuse = false) {}

  /** True when `b` is a view of this reader's reusable buffer (to be copied before it outlives the next `next`). */
  aliases(b: Uint8Array): boolean {
    return this.scratch !== undefined && b.buffer === this.scratch.buffer;
  }

  /**
   * `v` with every bulk string that is a view of the reusable buffer copied out
   * (what a reply echoes from a request must outlive the next join).
   */
  detach(v: RespValue): RespValue {
    if (Buffer.isBuffer(v)) return this.aliases(v) ? Buffer.from(v) : v;
    return Array.isArray(v) ? v.map((x) => this.detach(x)) : v;
  }

  /** The buffered chunks as one buffer: a fresh one, or the reusable one for large frames. */
  private join(): Buffer {
    if (this.chunks.length === 1) return this.chunks[0];
    if (!this.reuse || this.length < REUSE_MIN) return Buffer.concat(this.chunks, this.length);
    const first = this.chunks[0];
    let from = 0;
    let at = 0;
    if (this.scratch && this.aliases(first) && this.scratch.length >= this.length) {
      // the rest of the last joined frame: move it to the front (copyWithin handles the overlap)
      const o = first.byteOffset - this.scratch.byteOffset;
      this.scratch.copyWithin(0, o, o + first.length);
      at = first.length;
      from = 1;
    } else if (!this.scratch || this.scratch.length < this.length) {
      this.scratch = Buffer.allocUnsafe(Math.max(this.length, (this.scratch?.length ?? 0) * 2, 1 << 20));
    }
    const dst = this.scratch!;
    for (let i = from; i < this.chunks.length; i++) {
      dst.set(this.chunks[i], at);
      at += this.chunks[i].length;
    }
    return dst.subarray(0, at);
  }

  push(chunk: Buffer): void {
    const s = this.sink;
    if (s) {
      const n = Math.min(chunk.length, s.into.length - s.filled);
      if (n > 0) {
        s.into.set(n === chunk.length ? chunk : chunk.subarray(0, n), s.filled);
        s.filled += n;
      }
      chunk = this.takeCrlf(s, n ? chunk.subarray(n) : chunk);
      if (!chunk.length) return;
    }
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /**
   * Where the rest of a bulk being received into a caller's buffer (`next(into)`)
   * goes: a view of that buffer, exactly as long as the payload bytes still
   * missing, so a socket can read straight into it (then `sunk`); undefined
   * when no payload bytes are awaited.
   */
  sinkSpace(): Uint8Array | undefined {
    const s = this.sink;
    return s && s.filled < s.into.length ? s.into.subarray(s.filled) : undefined;
  }

  /**
   * Counts `n` bytes read straight into `sinkSpace()`.
   * @throws ProtocolError when no bulk awaits that many bytes
   */
  sunk(n: number): void {
    const s = this.sink;
    if (!s || n < 0 || s.filled + n > s.into.length) throw new ProtocolError(`bulk string: ${n} bytes read into a buffer that awaits ${s ? s.into.length - s.filled : 0}`);
    s.filled += n;
  }

  /**
   * Copies the buffered bytes that are views of `area` (a socket's read buffer,
   * about to be overwritten by the next read) into memory of their own.
   */
  retain(area: ArrayBufferLike): void {
    for (let i = 0; i < this.chunks.length; i++) if (this.chunks[i].buffer === area) this.chunks[i] = Buffer.from(this.chunks[i]);
  }

  /** Bytes buffered and not yet parsed. */
  get buffered(): number {
    return this.length;
  }

  /**
   * The next complete value, or undefined when more bytes are needed.
   * @param into when the next value is a bulk string of exactly `into.length`
   *   bytes, it is copied into `into` (as it arrives) and returned as a Buffer
   *   view of it; any other value (nil, an error reply, another length) is
   *   returned as usual. Pass the same buffer until a value comes back.
   */
  next(into?: Uint8Array): RespValue | undefined {
    const s = this.sink;
    if (s) {
      if (s.filled < s.into.length || s.crlf < 2) return undefined;
      this.sink = undefined;
      return Buffer.from(s.into.buffer, s.into.byteOffset, s.into.byteLength);
    }
    if (into && this.length > 0 && this.chunks[0][0] === 0x24 && this.startSink(into)) return this.next();
    if (this.length === 0 || this.length < this.need) return undefined;
    const buf = this.join();
    this.chunks = [buf];
    const r = this.inline && buf[0] !== 0x2a ? parseInline(buf) : parse(buf, 0);
    if (r instanceof Incomplete) {
      this.need = r.need;
      return undefined;
    }
    this.need = 0;
    const [value, end] = r;
    const rest = buf.subarray(end);
    this.chunks = rest.length ? [rest] : [];
    this.length = rest.length;
    return value;
  }

  /** Starts receiving a `$N` bulk into `into` when N === into.length; false (nothing consumed) otherwise. */
  private startSink(into: Uint8Array): boolean {
    // the header is short: join only the chunks that hold it
    let head = this.chunks[0];
    let i = head.indexOf(CRLF);
    for (let c = 1; i < 0 && c < this.chunks.length && head.length < 32; c++) {
      head = Buffer.concat([head, this.chunks[c]]);
      i = head.indexOf(CRLF);
    }
    if (i < 0 || i > 21) return false;
    if (head.toString('latin1', 1, i) !== String(into.length)) return false;
    const headBytes = i + 2;
    const rest = (this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.length)).subarray(headBytes);
    this.chunks = [];
    this.length = 0;
    this.need = 0;
    this.sink = { into, filled: 0, crlf: 0 };
    this.push(rest);
    return true;
  }

  /** Consumes the CRLF after a sunk bulk from the front of `chunk`; returns what follows it. */
  private takeCrlf(s: { into: Uint8Array; filled: number; crlf: number }, chunk: Buffer): Buffer {
    let p = 0;
    while (s.filled === s.into.length && s.crlf < 2 && p < chunk.length) {
      if (chunk[p] !== (s.crlf === 0 ? 0x0d : 0x0a)) throw new ProtocolError('bulk string: expected CRLF after the payload');
      s.crlf++;
      p++;
    }
    return p ? chunk.subarray(p) : chunk;
  }
}

function lineEnd(buf: Buffer, from: number): number | Incomplete {
  const i = buf.indexOf(CRLF, from);
  if (i < 0) {
    if (buf.length - from > MAX_LINE) throw new ProtocolError(`line: expected CRLF within ${MAX_LINE} bytes`);
    return new Incomplete(0);
  }
  return i;
}

function int(buf: Buffer, from: number, to: number, what: string): number {
  const s = buf.toString('latin1', from, to);
  if (!/^-?\d{1,15}$/.test(s)) throw new ProtocolError(`${what}: expected an integer, got ${JSON.stringify(s.slice(0, 32))}`);
  return Number(s);
}

function parse(buf: Buffer, at: number): [RespValue, number] | Incomplete {
  if (at >= buf.length) return new Incomplete(0);
  const e = lineEnd(buf, at + 1);
  if (e instanceof Incomplete) return e;
  const type = buf[at];
  switch (type) {
    case 0x2b: // '+'
      return [new RespStatus(buf.toString('utf8', at + 1, e)), e + 2];
    case 0x2d: // '-'
      return [new RespErrorReply(buf.toString('utf8', at + 1, e)), e + 2];
    case 0x3a: // ':'
      return [int(buf, at + 1, e, 'integer'), e + 2];
    case 0x24: { // '$'
      const n = int(buf, at + 1, e, 'bulk length');
      if (n === -1) return [null, e + 2];
      if (n < 0 || n > MAX_BULK) throw new ProtocolError(`bulk length: expected 0..${MAX_BULK}, got ${n}`);
      const end = e + 2 + n;
      if (buf.length < end + 2) return new Incomplete(end + 2);
      if (buf[end] !== 0x0d || buf[end + 1] !== 0x0a) throw new ProtocolError('bulk string: expected CRLF after the payload');
      return [buf.subarray(e + 2, end), end + 2];
    }
    case 0x2a: { // '*'
      const n = int(buf, at + 1, e, 'array length');
      if (n === -1) return [null, e + 2];
      if (n < 0 || n > MAX_ARRAY) throw new ProtocolError(`array length: expected 0..${MAX_ARRAY}, got ${n}`);
      const out: RespValue[] = [];
      let p = e + 2;
      for (let i = 0; i < n; i++) {
        const r = parse(buf, p);
        if (r instanceof Incomplete) return r;
        out.push(r[0]);
        p = r[1];
      }
      return [out, p];
    }
    default:
      throw new ProtocolError(`type byte: expected one of + - : $ *, got 0x${(type ?? 0).toString(16)}`);
  }
}

/** An inline command (`PING\r\n`, `SET a b\n`): space-separated words, as Redis accepts them. */
function parseInline(buf: Buffer): [RespValue, number] | Incomplete {
  const i = buf.indexOf(0x0a);
  if (i < 0) {
    if (buf.length > MAX_LINE) throw new ProtocolError(`inline command: expected a newline within ${MAX_LINE} bytes`);
    return new Incomplete(0);
  }
  const line = buf.toString('utf8', 0, i).replace(/\r$/, '');
  const words = line.split(' ').filter(Boolean).map((w) => Buffer.from(w));
  return [words, i + 1];
}

/** Encodes a request: an array of bulk strings. Returns the pieces to write (payloads are not copied). */
export function encodeCommand(args: ReadonlyArray<string | Uint8Array>): Buffer[] {
  const parts: Buffer[] = [];
  let head = `*${args.length}\r\n`;
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    head += `$${b.length}\r\n`;
    if (b.length < 1024) {
      head += b.toString('latin1') + '\r\n';
      continue;
    }
    parts.push(Buffer.from(head, 'latin1'), b);
    head = '\r\n';
  }
  parts.push(Buffer.from(head, 'latin1'));
  return parts;
}

/** Encodes a reply value (server side). Bulk payloads are passed through, not copied. */
export function encodeReply(v: RespValue, out: Buffer[] = []): Buffer[] {
  if (v === null) out.push(Buffer.from('$-1\r\n'));
  else if (typeof v === 'number') out.push(Buffer.from(`:${v}\r\n`));
  else if (v instanceof RespStatus) out.push(Buffer.from(`+${v.text}\r\n`));
  else if (v instanceof RespErrorReply) out.push(Buffer.from(`-${v.message.replace(/[\r\n]/g, ' ')}\r\n`));
  else if (Buffer.isBuffer(v)) out.push(Buffer.from(`$${v.length}\r\n`), v, CRLF);
  else {
    out.push(Buffer.from(`*${v.length}\r\n`));
    for (const x of v) encodeReply(x, out);
  }
  return out;
}
