/**
 * A RESP client for one 0-db (or tfw shard backend) namespace: one TCP
 * connection, requests pipelined and answered in order, SELECT (with the
 * namespace password) sent on every (re)connect, a deadline per request.
 * Error replies and network failures reject with BackendError.
 */
import { Buffer } from 'node:buffer';
import { connect, type Socket } from 'node:net';
import { BackendError } from './errors.js';
import { encodeCommand, RespErrorReply, RespReader, type RespValue } from './resp.js';
import { parseHostPort } from './server.js';

export interface ZdbClientOptions {
  /** `HOST:PORT` or `[V6]:PORT`. */
  address: string;
  /** Namespace to SELECT (default: 0-db's `default`). */
  namespace?: string;
  password?: string;
  /** Per-request deadline in milliseconds (default 20000). */
  timeoutMs?: number;
  /** Connect deadline in milliseconds (default 3000). */
  connectTimeoutMs?: number;
}

/** `v` with every bulk string that is a view of `area` (the read buffer) copied out. */
function own(v: RespValue, area: ArrayBufferLike): RespValue {
  if (Buffer.isBuffer(v)) return v.buffer === area ? Buffer.from(v) : v;
  return Array.isArray(v) ? v.map((x) => own(x, area)) : v;
}

/**
 * Bytes of the per-connection read buffer. A GET with `into` reads its payload
 * straight into `into` once the reply's header is in (RespReader.sinkSpace), so
 * only what arrives with the header passes through this buffer and is copied:
 * a small buffer keeps that copy small (0.08 CPU s/GiB of a get with 256 KiB).
 */
const READ_BUFFER = 64 * 1024;

interface Pending {
  resolve: (v: RespValue) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  /** Where a bulk reply of exactly this length goes (RespReader.next). */
  into?: Uint8Array;
}

export class ZdbClient {
  /** `address/namespace`: how errors and reports name this backend. */
  readonly label: string;
  private sock: Socket | undefined;
  private ready: Promise<void> | undefined;
  private readonly pending: Pending[] = [];
  private reader = new RespReader();
  private closed = false;

  constructor(readonly opts: ZdbClientOptions) {
    this.label = `${opts.address}/${opts.namespace ?? 'default'}`;
  }

  /**
   * Sends one command; resolves with the reply (bulk strings as Buffer, nil as null).
   * @throws BackendError on an error reply, a closed connection or the deadline
   */
  async call(...args: Array<string | Uint8Array>): Promise<RespValue> {
    await this.connect();
    return this.send(args);
  }

  /**
   * GET: the value or null.
   * @param into when given and the value is exactly `into.length` bytes long, it
   *   is received straight into `into` (no copy in between) and returned as a
   *   Buffer view of it; a value of another length comes back in its own buffer.
   *   `into`'s bytes are undefined when the call fails.
   */
  async get(key: Uint8Array, into?: Uint8Array): Promise<Buffer | null> {
    await this.connect();
    const v = await this.send(['GET', key], into);
    if (v !== null && !Buffer.isBuffer(v)) throw new BackendError(this.label, 'GET: expected a bulk string reply');
    return v;
  }

  async set(key: Uint8Array, value: Uint8Array): Promise<void> {
    await this.call('SET', key, value);
  }

  /** DEL; false when the key was not there. */
  async del(key: Uint8Array): Promise<boolean> {
    try {
      await this.call('DEL', key);
      return true;
    } catch (err) {
      if (err instanceof BackendError && /Key not found/.test(err.message)) return false;
      throw err;
    }
  }

  /** Every key of the namespace (with value size and Unix-seconds timestamp), via SCAN until "No more data". */
  async keys(): Promise<Array<{ key: Buffer; size: number; timestamp: number }>> {
    const out: Array<{ key: Buffer; size: number; timestamp: number }> = [];
    let cursor: Buffer | undefined;
    for (;;) {
      let r: RespValue;
      try {
        r = cursor ? await this.call('SCAN', cursor) : await this.call('SCAN');
      } catch (err) {
        if (err instanceof BackendError && /No more data/.test(err.message)) return out;
        throw err;
      }
      if (!Array.isArray(r) || r.length !== 2 || !Buffer.isBuffer(r[0]) || !Array.isArray(r[1])) throw new BackendError(this.label, 'SCAN: expected [cursor, entries]');
      for (const e of r[1]) {
        if (Array.isArray(e) && Buffer.isBuffer(e[0])) out.push({ key: e[0], size: typeof e[1] === 'number' ? e[1] : 0, timestamp: typeof e[2] === 'number' ? e[2] : 0 });
      }
      cursor = r[0];
    }
  }

  /** Drops the connection and rejects what is in flight; later calls reject instead of reconnecting. */
  close(): void {
    this.closed = true;
    this.fail(new BackendError(this.label, 'connection closed by the client'));
  }

  private connect(): Promise<void> {
    // a call still on its way when the client was closed (a read abandoned midway) must not open a new connection
    if (this.closed) return Promise.reject(new BackendError(this.label, 'client closed'));
    if (this.ready) return this.ready;
    const { host, port } = parseHostPort(this.opts.address, 'backends[].address');
    this.ready = new Promise<void>((resolve, reject) => {
      // replies are read into one buffer per connection (no allocation per read): the reader copies
      // what it keeps; a GET with `into` has the rest of its payload read straight into `into`
      // (Node asks `buffer()` for the next read's buffer after each callback)
      const readBuf = Buffer.allocUnsafe(READ_BUFFER);
      // `let`: Node asks for the first buffer inside connect(), before `sock` is assigned
      let sock: Socket | undefined;
      sock = connect({
        host,
        port,
        onread: {
          buffer: (): Uint8Array => (sock && this.sock === sock ? this.reader.sinkSpace() : undefined) ?? readBuf,
          callback: (n: number, buf: Uint8Array) => {
            if (this.sock !== sock) return true;
            if (buf.buffer === readBuf.buffer) this.onData(Buffer.from(buf.buffer, buf.byteOffset, n));
            else this.onSunk(n);
            return true;
          },
        },
      });
      this.sock = sock;
      this.reader = new RespReader();
      sock.setNoDelay(true);
      const t = setTimeout(() => sock.destroy(new Error(`connect timed out after ${this.opts.connectTimeoutMs ?? 3000} ms`)), this.opts.connectTimeoutMs ?? 3000);
      sock.once('connect', () => {
        clearTimeout(t);
        const ns = this.opts.namespace ?? 'default';
        const sel = this.opts.password === undefined ? this.send(['SELECT', ns]) : this.send(['SELECT', ns, this.opts.password]);
        sel.then(() => resolve(), reject);
      });
      sock.on('error', (e) => {
        clearTimeout(t);
        if (this.sock === sock) this.fail(new BackendError(this.label, e.message));
        reject(new BackendError(this.label, e.message));
      });
      sock.on('close', () => {
        clearTimeout(t);
        if (this.sock === sock) this.fail(new BackendError(this.label, 'connection closed'));
        reject(new BackendError(this.label, 'connection closed'));
      });
    });
    return this.ready;
  }

  private send(args: ReadonlyArray<string | Uint8Array>, into?: Uint8Array): Promise<RespValue> {
    const sock = this.sock;
    if (!sock || sock.destroyed) return Promise.reject(new BackendError(this.label, 'not connected'));
    return new Promise<RespValue>((resolve, reject) => {
      const ms = this.opts.timeoutMs ?? 20000;
      const timer = setTimeout(() => this.fail(new BackendError(this.label, `no reply within ${ms} ms`)), ms);
      this.pending.push({ resolve, reject, timer, into });
      sock.cork();
      for (const p of encodeCommand(args)) sock.write(p);
      sock.uncork();
    });
  }

  private onData(d: Buffer): void {
    try {
      this.reader.push(d);
      for (let v = this.reader.next(this.pending[0]?.into); v !== undefined; v = this.reader.next(this.pending[0]?.into)) {
        const p = this.pending.shift();
        if (!p) throw new Error('a reply nobody asked for');
        clearTimeout(p.timer);
        if (v instanceof RespErrorReply) p.reject(new BackendError(this.label, v.message, 'reply'));
        else p.resolve(own(v, d.buffer));
      }
      this.reader.retain(d.buffer); // `d` is the read buffer: keep what is left of it
    } catch (err) {
      this.fail(new BackendError(this.label, (err as Error).message));
    }
  }

  /** `n` payload bytes were read straight into the pending GET's `into` (RespReader.sinkSpace). */
  private onSunk(n: number): void {
    try {
      this.reader.sunk(n);
    } catch (err) {
      this.fail(new BackendError(this.label, (err as Error).message));
    }
  }

  /** Rejects everything in flight and drops the connection; the next call reconnects. */
  private fail(e: Error): void {
    const sock = this.sock;
    this.sock = undefined;
    this.ready = undefined;
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    sock?.destroy();
  }
}
