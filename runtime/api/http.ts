/** Small HTTP helpers of the device API: JSON answers and bounded JSON bodies. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TfwError } from '../errors.js';

/** Answers `code` with `body` as JSON (and extra headers). */
export function send(res: ServerResponse, code: number, body: unknown, headers: Record<string, string | number> = {}): void {
  const b = Buffer.from(`${JSON.stringify(body)}\n`);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': b.length, 'cache-control': 'no-store', ...headers });
  res.end(b);
}

/** A request the API refuses, with its HTTP status and, for config errors, the field. */
export class HttpError extends TfwError {
  constructor(readonly status: number, code: string, message: string, readonly field?: string) {
    super(code, message);
  }
}

/**
 * Reads a JSON body of at most `limit` bytes (default 1 MiB).
 * @throws HttpError 413 when larger, 400 when not JSON
 */
export async function readJson(req: IncomingMessage, limit = 1 << 20): Promise<unknown> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > limit) throw new HttpError(413, 'ERR_TFW_TOO_LARGE', `body: larger than ${limit} bytes`);
    parts.push(c as Buffer);
  }
  const text = Buffer.concat(parts).toString('utf8');
  try {
    return text.trim() ? JSON.parse(text) : {};
  } catch (err) {
    throw new HttpError(400, 'ERR_TFW_JSON', `body: expected JSON (${(err as Error).message})`);
  }
}

/** The session token of a request: `Authorization: Bearer T` or the `tfw_session` cookie. */
export function sessionToken(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (h?.startsWith('Bearer ')) return h.slice(7).trim();
  const m = /(?:^|;\s*)tfw_session=([A-Za-z0-9_-]+)/.exec(req.headers.cookie ?? '');
  return m?.[1];
}
