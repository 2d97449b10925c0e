/**
 * The shard backend's TCP server: RESP over TCP (0-db's port is 9900), one
 * session per connection, requests answered in order (pipelining works), the
 * data in a NamespaceSet under `dataDir`. `startShardServer` is what the 3node
 * image runtime and `tfw store serve` call.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { ConfigError } from '../errors.js';
import { dispatch, type ServerState, type Session } from './commands.js';
import { NamespaceSet } from './namespace.js';
import type { SyncPolicy } from './record-log.js';
import { encodeReply, MAX_BULK, RespErrorReply, RespReader } from './resp.js';

export interface ShardServerOptions {
  /** `HOST:PORT` (IPv6 in brackets: `[::1]:9900`); port 0 picks a free one. */
  listen: string;
  /** Directory holding one folder per namespace (created when missing). */
  dataDir: string;
  /** One line per event, without the `tfw: storage:` prefix (default: stderr). */
  log?: (msg: string) => void;
  /** Admin password for NSNEW/NSDEL/NSSET (0-db's --admin); absent: every client is admin. */
  adminPassword?: string;
  /** When appended records reach the disk (record-log.ts SyncPolicy); default `interval`. */
  sync?: SyncPolicy;
  /**
   * Compact a namespace when its garbage (overwritten and deleted records) is at
   * least this share of its log (0..1; default 0.5; 0 turns automatic compaction off)...
   */
  compactRatio?: number;
  /** ...and at least this many bytes (default 64 MiB). Checked every 10 s. */
  compactMinBytes?: number;
}

export interface ShardServer {
  /** The bound `HOST:PORT` (the real port when 0 was asked). */
  address: string;
  /** Stops listening, closes client connections, flushes and closes the logs. */
  close(): Promise<void>;
}

/**
 * Splits `HOST:PORT` / `[V6]:PORT`.
 * @throws ConfigError naming `field` when the form or port is wrong
 */
export function parseHostPort(value: string, field: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(value) ?? /^([^:[\]]+):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) > 65535) throw new ConfigError(field, `expected HOST:PORT or [IPv6]:PORT with a port 0..65535, got ${JSON.stringify(value)}`);
  return { host: m[1], port: Number(m[2]) };
}

/**
 * Starts a 0-db-compatible backend.
 * @returns once listening: `{ address, close }`
 * @throws ConfigError for a bad `listen`; the listen error (EADDRINUSE, EACCES) as is
 */
export async function startShardServer(opts: ShardServerOptions): Promise<ShardServer> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`tfw: storage: ${m}\n`));
  const { host, port } = parseHostPort(opts.listen, 'listen');
  const state: ServerState = {
    namespaces: new NamespaceSet(opts.dataDir, opts.sync ?? 'interval', log),
    adminHash: opts.adminPassword === undefined ? undefined : createHash('sha256').update(opts.adminPassword).digest(),
    started: Date.now(),
  };
  const sockets = new Set<Socket>();
  const replies = new ReplyBuffers();
  const server = createServer((sock) => serve(sock, state, log, replies));
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address();
  const address = a && typeof a === 'object' ? (a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`) : opts.listen;
  log(`listening on ${address}, data ${opts.dataDir}, namespaces ${state.namespaces.names().length}, sync ${opts.sync ?? 'interval'}`);
  const ratio = opts.compactRatio ?? 0.5;
  const compactTimer = ratio > 0 ? setInterval(() => state.namespaces.compactWhereGarbage(ratio, opts.compactMinBytes ?? 64 * 1024 * 1024), 10_000) : undefined;
  compactTimer?.unref();
  let closed: Promise<void> | undefined;
  return {
    address,
    close() {
      clearInterval(compactTimer);
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }).then(() => state.namespaces.close());
      return closed;
    },
  };
}

/** Bytes of idle GET reply buffers a server keeps for reuse (ReplyBuffers)... */
const REPLY_POOL_BYTES = 16 * 1024 * 1024;
/** ...in at most this many buffers... */
const REPLY_POOL_BUFFERS = 64;
/** ...each for a record of at least this many bytes (smaller ones come from Node's own pool). */
const REPLY_POOL_MIN = 64 * 1024;

/**
 * Buffers GET reads records into, lent for one batch of replies and taken back
 * once the socket took every byte of the batch: a fresh shard-sized buffer per
 * GET costs page faults and, by the external memory it adds, V8 major GCs (the
 * backends' largest cost after SHA-256 in BENCH=storage). A buffer whose bytes
 * may still be queued in the socket (a partial write) is never reused: it is
 * dropped, and the pool allocates another. Shared by all connections of one
 * server (one thread); at most REPLY_POOL_BYTES in REPLY_POOL_BUFFERS are kept idle.
 */
class ReplyBuffers {
  private free: Buffer[] = [];
  private freeBytes = 0;
  private lent: Buffer[] = [];

  /** A buffer of at least `n` bytes, lent until `settle`. */
  take = (n: number): Buffer => {
    if (n < REPLY_POOL_MIN) return Buffer.allocUnsafe(n);
    const i = this.free.findIndex((b) => b.length >= n);
    let b: Buffer;
    if (i >= 0) {
      b = this.free[i];
      this.free.splice(i, 1);
      this.freeBytes -= b.length;
    } else {
      b = Buffer.allocUnsafeSlow(n);
    }
    this.lent.push(b);
    return b;
  };

  /** Ends a batch: `written` (every byte of its replies is in the socket's kernel buffer) gives the lent buffers back. */
  settle(written: boolean): void {
    if (written) {
      for (const b of this.lent) {
        if (this.freeBytes + b.length > REPLY_POOL_BYTES || this.free.length >= REPLY_POOL_BUFFERS) break;
        this.free.push(b);
        this.freeBytes += b.length;
      }
    }
    this.lent = [];
  }
}

function serve(sock: Socket, state: ServerState, log: (m: string) => void, replies: ReplyBuffers): void {
  const reader = new RespReader(true, true); // large requests are joined in one reused buffer: replies must not alias it
  const session: Session = { ns: state.namespaces.get('default')!, writable: true, admin: state.adminHash === undefined, quit: false, alloc: replies.take };
  sock.setNoDelay(true);
  sock.on('error', () => sock.destroy());
  sock.on('data', (chunk: Buffer) => {
    reader.push(chunk);
    if (reader.buffered > MAX_BULK + 1024 * 1024) {
      sock.end(Buffer.concat(encodeReply(new RespErrorReply('ERR request too large'))));
      return;
    }
    const out: Buffer[] = [];
    try {
      for (let req = reader.next(); req !== undefined; req = reader.next()) {
        // a namespace dropped under this session falls back to default
        if (!state.namespaces.get(session.ns.name)) session.ns = state.namespaces.get('default')!;
        encodeReply(reader.detach(dispatch(session, req, state)), out);
        if (session.quit) break;
      }
    } catch (err) {
      encodeReply(new RespErrorReply(`ERR ${(err as Error).message}`), out);
      log(`closing ${sock.remoteAddress}:${sock.remotePort}: ${(err as Error).message}`);
      sock.end(Buffer.concat(out));
      replies.settle(false);
      return;
    }
    if (out.length) {
      sock.cork();
      for (const b of out) sock.write(b);
      sock.uncork();
    }
    // a write the kernel took whole completes synchronously (writableLength drops to 0 in uncork);
    // anything left queued still points into the lent buffers
    replies.settle(!sock.destroyed && sock.writableLength === 0);
    if (session.quit) sock.end();
  });
}
