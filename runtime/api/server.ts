/**
 * The device API: HTTP/1.1 with JSON bodies, on `api:` of the config
 * ("ADDR:PORT"; images default to 0.0.0.0:80). Paths live under /v1/:
 *
 * - `GET /v1/status`: identity, release, slot and slot entries, uptime and the
 *   overlay's status (peers, routes, drops).
 * - `POST /v1/upgrade`: the body is the bundle (`X.tfwup`, application/octet-stream,
 *   with Content-Length); the header `Tfw-Signature` carries the `.minisig`
 *   file in base64; `?allowDowngrade=1` permits an older version. The upload is
 *   staged on /data, verified and written to the other slot (device/upgrade.ts);
 *   200 `{ slot, version, generation, rebooting: true }` and the device reboots
 *   into it; 400 `{ error, code }` with the reason otherwise (also logged as
 *   `tfw: upgrade: refused <reason>`), 409 while another upgrade runs.
 *
 * Errors are JSON `{ error, code }`. Issue 15 grows this API (auth, config,
 * peers, logs, metrics).
 */
import { once } from 'node:events';
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { parseEndpoint } from '../config/ip.js';
import type { DeviceState } from '../device/device.js';
import { UpgradeRefused } from '../device/upgrade.js';
import type { Metrics } from './metrics.js';

/** Largest bundle accepted (bytes). */
export const MAX_BUNDLE = 512 * 1048576;

export interface ApiOptions {
  /** "ADDR:PORT" (IPv6 as [ADDR]:PORT). */
  listen: string;
  device: DeviceState;
  /** Extra status (identity, overlay) merged into GET /v1/status. */
  status: () => Record<string, unknown>;
  /** Called after a successful upgrade was answered. */
  reboot: () => void;
  log: (component: string, message: string) => void;
  /** Serves GET /metrics (Prometheus text, metrics.ts) when set. */
  metrics?: Metrics;
}

const send = (res: ServerResponse, code: number, body: unknown) => {
  const b = Buffer.from(`${JSON.stringify(body)}\n`);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': b.length });
  res.end(b);
};

/**
 * Starts the API server; resolves once it listens.
 * @throws ConfigError (field `api`) for a bad address, or when it cannot listen
 */
export async function startApi(o: ApiOptions): Promise<{ server: Server; address: string; close(): Promise<void> }> {
  const ep = parseEndpoint(o.listen);
  if (!ep) throw new ConfigError('api', `expected ADDR:PORT like 0.0.0.0:80, got ${JSON.stringify(o.listen)}`);
  const started = Date.now();
  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) send(res, 500, { error: err.message, code: 'ERR_TFW_INTERNAL' });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://device');
    if (url.pathname === '/v1/status' && req.method === 'GET') {
      const d = o.device;
      return send(res, 200, {
        board: d.board,
        role: d.role,
        arch: d.arch,
        version: d.version,
        slot: d.slot ?? null,
        slots: d.slots(),
        data: d.dataDir ? 'persistent' : 'ram',
        uptime: Math.round((Date.now() - started) / 1000),
        ...o.status(),
      });
    }
    if (url.pathname === '/metrics' && req.method === 'GET' && o.metrics) {
      const body = await o.metrics.text();
      res.writeHead(200, { 'content-type': o.metrics.contentType, 'content-length': Buffer.byteLength(body) });
      return void res.end(body);
    }
    if (url.pathname === '/v1/upgrade') {
      if (req.method !== 'POST') return send(res, 405, { error: 'POST the bundle', code: 'ERR_TFW_METHOD' });
      return upgrade(req, res, url);
    }
    return send(res, 404, { error: `no such path ${url.pathname}`, code: 'ERR_TFW_NOT_FOUND' });
  }

  async function upgrade(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const refuse = (code: number, why: string) => {
      o.log('upgrade', `refused ${why}`);
      send(res, code, { error: why, code: code === 409 ? 'ERR_TFW_BUSY' : 'ERR_TFW_UPGRADE_REFUSED' });
      if (!req.complete) req.resume();
    };
    const sigHeader = req.headers['tfw-signature'];
    const signature = typeof sigHeader === 'string' ? Buffer.from(sigHeader, 'base64').toString('utf8') : '';
    if (!signature.startsWith('untrusted comment:')) return refuse(400, 'Tfw-Signature: expected the .minisig file in base64');
    const length = Number(req.headers['content-length']);
    if (!Number.isSafeInteger(length) || length <= 0) return refuse(400, 'Content-Length: expected the bundle size in bytes');
    if (length > MAX_BUNDLE) return refuse(413, `bundle of ${length} bytes is larger than ${MAX_BUNDLE}`);
    const dir = o.device.stagingDir();
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `incoming-${process.pid}-${Date.now()}.tfwup`);
    try {
      let got = 0;
      const out = createWriteStream(file, { mode: 0o600 });
      let aborted = false;
      req.on('aborted', () => (aborted = true));
      req.on('close', () => {
        if (!req.complete) aborted = true;
      });
      for await (const chunk of req) {
        got += (chunk as Buffer).length;
        if (got > length) break;
        if (!out.write(chunk)) await once(out, 'drain');
      }
      out.end();
      await once(out, 'close');
      if (aborted || got !== length) {
        o.log('upgrade', `refused upload truncated: ${got} of ${length} bytes`);
        if (!res.destroyed && !aborted) send(res, 400, { error: `upload truncated: ${got} of ${length} bytes`, code: 'ERR_TFW_UPGRADE_REFUSED' });
        return;
      }
      o.log('upgrade', `received ${got} bytes, verifying`);
      let last = 0;
      const r = await o.device.upgrade(file, signature, url.searchParams.get('allowDowngrade') === '1', (done, total) => {
        const pct = Math.floor((done / total) * 10);
        if (pct > last) o.log('upgrade', `writing slot: ${pct * 10}%`);
        last = pct;
      });
      o.log('upgrade', `slot ${r.slot} holds ${r.version} (generation ${r.generation}), next boot tries it; rebooting`);
      send(res, 200, { slot: r.slot, version: r.version, generation: r.generation, rebooting: true });
      res.on('finish', () => setTimeout(o.reboot, 500));
    } catch (err) {
      if (err instanceof UpgradeRefused) return refuse(err.message === 'another upgrade is in progress' ? 409 : 400, err.message);
      throw err;
    } finally {
      rmSync(file, { force: true });
    }
  }

  server.listen(ep.port, ep.host);
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([e]) => {
      throw new ConfigError('api', `cannot listen on ${o.listen}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }),
  ]);
  return {
    server,
    address: o.listen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
