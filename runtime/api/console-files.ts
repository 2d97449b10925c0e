/**
 * The web console's files as the device API serves them (`GET /` and
 * `GET /assets/<name>`, no sign-in: the page itself holds no data), from the
 * folder `startApi` is given: build/console on a host, /usr/lib/tfw/console in
 * images (mk/console.mk builds it; docs/console.md). Only plain names directly
 * in `assets/` are served (no `/`, `\`, `..`, leading dot), so no request
 * reaches outside the folder; the page may load scripts and styles from this
 * origin only (Content-Security-Policy) and may not be framed (clickjacking).
 */
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { HttpError } from './http.js';

/** Content types by extension (RFC 9239 for JavaScript). */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

const HEADERS = {
  'cache-control': 'no-cache',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
};

/** True for a name served from assets/: letters, digits, `_`, `-`, `.`, not starting with a dot. */
export const isAssetName = (name: string): boolean => /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/.test(name) && !name.includes('..');

/**
 * Answers with `index.html` (asset undefined) or `assets/<asset>` of `dir`.
 * @throws HttpError 404 (ERR_TFW_NOT_FOUND) for a name that is not plain, an unknown type, or a missing file
 */
export async function sendConsoleFile(res: ServerResponse, dir: string, asset?: string): Promise<void> {
  let file: string;
  if (asset === undefined) file = join(dir, 'index.html');
  else {
    if (!isAssetName(asset)) throw new HttpError(404, 'ERR_TFW_NOT_FOUND', `no such console file ${JSON.stringify(asset)}`);
    file = join(dir, 'assets', asset);
  }
  const type = CONTENT_TYPES[extname(file)];
  if (!type) throw new HttpError(404, 'ERR_TFW_NOT_FOUND', `no such console file ${JSON.stringify(asset)}`);
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch {
    throw new HttpError(404, 'ERR_TFW_NOT_FOUND', asset === undefined ? 'this runtime has no web console (make console)' : `no such console file ${JSON.stringify(asset)}`);
  }
  res.writeHead(200, { 'content-type': type, 'content-length': body.length, ...HEADERS });
  res.end(body);
}
