/**
 * The HTTP side of `tfw pxe`: serves an image folder's boot files to iPXE
 * (`chain http://ADDR:PORT/boot.ipxe`; boot.ipxe names the kernel and
 * initramfs by relative URIs, which iPXE resolves against the script's URL).
 * Only the image's own files are served (GET and HEAD; anything else 404).
 *
 * Each file is opened once per request and streamed with stream.pipeline, so
 * a client that aborts a download gets its file descriptor closed at once;
 * a file that cannot be read (EACCES, a directory in its place) is answered
 * 500 and logged, never a crash; a single `Range: bytes=` range is honoured
 * with 206 (RFC 9110 section 14), an unsatisfiable one refused with 416, and
 * several ranges are served as the whole file (allowed by section 14.2).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream';
import { TfwError } from '../../runtime/errors.js';

/** The files served, by URL path, with their content type. */
export const PXE_FILES: Record<string, string> = {
  '/boot.ipxe': 'text/plain',
  '/vmlinuz': 'application/octet-stream',
  '/initramfs.cpio.zst': 'application/octet-stream',
  '/cmdline': 'text/plain',
  '/manifest.json': 'application/json',
};

/** Parses ADDR:PORT (IPv4 or [IPv6]); throws naming --listen. */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[0-9.]+|localhost):(\d{1,5})$/.exec(s);
  if (!m || Number(m[2]) > 65535) throw new TfwError('ERR_TFW_CONFIG', `--listen: expected ADDR:PORT like 127.0.0.1:8069, got "${s}"`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/** One answered request: method, path, HTTP status and body bytes sent (0 for HEAD, 404 and 500). */
export interface PxeRequest {
  remote: string;
  method: string;
  path: string;
  status: number;
  bytes: number;
  /** The client went away before the body was sent in full. */
  aborted?: boolean;
}

export interface PxeHttpOptions {
  /** Close the server after answering this many requests. */
  maxRequests?: number;
  /** Called with one line per request and event (default: stderr, `tfw: pxe: ...`); null: silent. */
  log?: ((line: string) => void) | null;
}

export interface PxeServer {
  /** The script's URL as reachable on the listen address, e.g. http://127.0.0.1:8069/boot.ipxe. */
  url: string;
  port: number;
  server: Server;
  /** Every request answered so far, in order. */
  requests: PxeRequest[];
  /** The boot.ipxe served. */
  script: Buffer;
  /** Stops listening and drops open connections. */
  close: () => void;
  /** Resolves once the server has closed (close(), maxRequests). */
  closed: Promise<void>;
}

/**
 * The byte range [start, end] (inclusive) asked for by a `Range` header over a
 * body of `size` bytes: null for the whole body (no header, another unit, or
 * several ranges), 'unsatisfiable' when no byte of it exists (RFC 9110 14.1.2).
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'unsatisfiable' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const n = Number(m[2]); // suffix: the last n bytes
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/**
 * Serves the image folder `dir` on `listen` (ADDR:PORT, port 0 picks a free
 * one) with `script` as its boot.ipxe, and resolves once listening. Throws
 * TfwError ERR_TFW_PXE naming --listen when the port cannot be bound.
 */
export async function serveHttp(dir: string, listen: string, script: Buffer, opts: PxeHttpOptions = {}): Promise<PxeServer> {
  const { host, port } = parseListen(listen);
  const log = opts.log === undefined ? (l: string) => process.stderr.write(`tfw: pxe: ${l}\n`) : opts.log ?? (() => {});
  const requests: PxeRequest[] = [];
  let left = opts.maxRequests ?? Infinity;

  const answer = async (req: IncomingMessage, res: ServerResponse, path: string, record: PxeRequest): Promise<void> => {
    const type = Object.hasOwn(PXE_FILES, path) ? PXE_FILES[path] : undefined;
    if (!type || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404).end();
      return;
    }
    let handle: FileHandle | null = null;
    let body: Buffer | null = null;
    let size: number;
    if (path === '/boot.ipxe') {
      body = script;
      size = script.length;
    } else {
      try {
        handle = await open(join(dir, path), 'r');
        const st = await handle.stat();
        if (!st.isFile()) throw new TfwError('ERR_TFW_PXE', `${join(dir, path)}: expected a regular file, found ${st.isDirectory() ? 'a directory' : 'something else'}`);
        size = st.size;
      } catch (err) {
        await handle?.close().catch(() => {});
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          res.writeHead(404).end();
          return;
        }
        throw err;
      }
    }
    const range = parseRange(req.headers.range, size);
    if (range === 'unsatisfiable') {
      await handle?.close();
      record.status = 416;
      res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      return;
    }
    const start = range ? range.start : 0, end = range ? range.end : size - 1;
    const length = end - start + 1;
    record.status = range ? 206 : 200;
    res.writeHead(record.status, {
      'content-type': type, 'content-length': length, 'accept-ranges': 'bytes',
      ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
    });
    if (req.method === 'HEAD' || length === 0) {
      await handle?.close();
      res.end();
      return;
    }
    record.bytes = length;
    if (body) {
      res.end(body.subarray(start, end + 1));
      return;
    }
    // pipeline destroys both streams on error or abort: the read stream closes the fd (autoClose).
    const stream = handle!.createReadStream({ start, end, autoClose: true });
    await new Promise<void>((resolve) => pipeline(stream, res, (err) => {
      if (err) {
        record.aborted = true;
        if ((err as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') log(`${req.socket.remoteAddress} ${req.method} ${path}: ${err.message}`);
      }
      resolve();
    }));
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const record: PxeRequest = { remote: req.socket.remoteAddress ?? '', method: req.method ?? '', path, status: 404, bytes: 0 };
    res.once('close', () => {
      if (!res.writableFinished) record.aborted = true;
      if (record.aborted) record.bytes = 0;
      requests.push(record);
      log(`${record.remote} ${record.method} ${path} ${record.status} ${record.bytes}${record.aborted ? ' aborted' : ''}`);
      if (--left <= 0) close();
    });
    answer(req, res, path, record).catch((err) => {
      record.status = 500;
      record.bytes = 0;
      const code = (err as NodeJS.ErrnoException).code, msg = (err as Error).message;
      log(`${record.remote} ${record.method} ${path}: ${code && !msg.startsWith(code) ? `${code} ` : ''}${msg}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error: see the tfw pxe log\n');
      else res.destroy();
    });
  });
  const close = () => {
    server.close();
    server.closeAllConnections();
  };
  const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new TfwError('ERR_TFW_PXE', `--listen ${listen}: ${e.message}`)));
    server.listen(port, host, () => resolve());
  });
  server.on('error', (e) => log(`server: ${e.message}`));
  const a = server.address();
  if (typeof a !== 'object' || !a) throw new TfwError('ERR_TFW_PXE', `--listen ${listen}: no address`);
  const url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/boot.ipxe`;
  return { url, port: a.port, server, requests, script, close, closed };
}
