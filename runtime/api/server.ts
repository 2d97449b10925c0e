/**
 * The device API: HTTP/1.1 with JSON bodies, on `api:` of the config
 * ("ADDR:PORT"; images default to 0.0.0.0:80; port 0 picks a free port, as
 * tests do, and `server.address()` tells it). Paths live under /v1/:
 *
 * | method and path | what | who |
 * | --- | --- | --- |
 * | `GET /v1/status` | release, slot and slot entries, uptime, identity, overlay status | open from the LAN, else a session |
 * | `POST /v1/password` `{ password, current? }` | sets the admin password (first use), or changes it | first use: the LAN; then a session and `current` |
 * | `POST /v1/login` `{ password }` | a session: `{ token, expires }` and the `tfw_session` cookie | anyone; 5 failures a minute per address, then 429 |
 * | `POST /v1/logout` | ends the session | |
 * | `GET`, `PUT /v1/config` | the running config without secrets; replace it (checked, applied live, kept on /data) | session |
 * | `GET`, `POST /v1/peers`; `PUT`, `DELETE /v1/peers/<publicKey>` | peers, the same way | session |
 * | `GET /v1/logs?since=SEQ` | the recent log lines with levels and times | session |
 * | `POST /v1/reboot` | reboots the device | session |
 * | `POST /v1/upgrade` | a signed bundle (upgrade-handler.ts) | session |
 * | `/v1/slices...` | the AIBox's GPU slices (slices-routes.ts), with `slices` | session |
 * | `GET /metrics` | Prometheus text (metrics.ts), with `metrics` | open from the LAN, else a session |
 * | `GET /`, `GET /assets/<name>` | the web console (console-files.ts), when `consoleDir` is given | anyone |
 *
 * "Session" means `Authorization: Bearer <token>` or the cookie, or, while no
 * password is set (set-up mode, like a fresh OpenWrt), any request from the
 * LAN (auth.ts). Errors are JSON `{ error, code, field? }` with 400 (a bad
 * field: nothing changed), 401, 403, 404, 405, 409, 413 or 429.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ConfigError } from '../errors.js';
import { parseListenAddress } from '../config/ip.js';
import type { DeviceState } from '../device/device.js';
import { AdminAuth, AuthError, isLanAddress } from './auth.js';
import type { ConfigStore } from './config-store.js';
import { sendConsoleFile } from './console-files.js';
import { HttpError, readJson, send, sessionToken } from './http.js';
import type { LogRing } from './logs.js';
import { handleUpgrade } from './upgrade-handler.js';
import { sliceRoutes } from './slices-routes.js';
import type { SliceManager } from '../slices/index.js';
import type { Metrics } from './metrics.js';

export { MAX_BUNDLE } from './upgrade-handler.js';

export interface ApiOptions {
  /** "ADDR:PORT" (IPv6 as [ADDR]:PORT). */
  listen: string;
  device: DeviceState;
  /** Extra status (identity, overlay) merged into GET /v1/status. */
  status: () => Record<string, unknown>;
  /** Called after a successful upgrade was answered, and for POST /v1/reboot. */
  reboot: () => void;
  log: (component: string, message: string) => void;
  /** Sign-in (default: an AdminAuth keeping its hash on the device's data partition). */
  auth?: AdminAuth;
  /** The running config (config and peers endpoints answer 404 without it). */
  config?: ConfigStore;
  /** Recent log lines (the logs endpoint answers 404 without it). */
  logs?: LogRing;
  /** The AIBox's slice manager: adds /v1/slices (slices-routes.ts). */
  slices?: SliceManager;
  /** Serves GET /metrics (Prometheus text, metrics.ts) when set. */
  metrics?: Metrics;
  /** The web console's folder (index.html, assets/): served at / when given. */
  consoleDir?: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, param: string) => Promise<void> | void;
interface Route {
  method: string;
  path: RegExp;
  /** open: anyone; lan: from the LAN without a session; session: a session (or the LAN in set-up mode). */
  access: 'open' | 'lan' | 'session';
  handler: Handler;
}

/**
 * Starts the API server; resolves once it listens.
 * @throws ConfigError (field `api`) for a bad address, or when it cannot listen
 */
export async function startApi(o: ApiOptions): Promise<{ server: Server; address: string; close(): Promise<void> }> {
  const ep = parseListenAddress(o.listen);
  if (!ep || !('port' in ep)) throw new ConfigError('api', `expected ADDR:PORT like 0.0.0.0:80, got ${JSON.stringify(o.listen)}`);
  const started = Date.now();
  const auth = o.auth ?? new AdminAuth({ dataDir: o.device.dataDir });
  const needConfig = (): ConfigStore => {
    if (!o.config) throw new HttpError(404, 'ERR_TFW_NOT_FOUND', 'this runtime runs no overlay config');
    return o.config;
  };
  const from = (req: IncomingMessage) => req.socket.remoteAddress ?? '';

  const routes: Route[] = [
    {
      method: 'GET', path: /^\/v1\/status$/, access: 'lan',
      handler: (_req, res) => {
        const d = o.device;
        send(res, 200, {
          board: d.board, role: d.role, arch: d.arch, version: d.version, slot: d.slot ?? null, slots: d.slots(),
          data: d.dataDir ? 'persistent' : 'ram', uptime: Math.round((Date.now() - started) / 1000), passwordSet: auth.isSet, ...o.status(),
        });
      },
    },
    {
      method: 'POST', path: /^\/v1\/login$/, access: 'open',
      handler: async (req, res) => {
        const body = (await readJson(req)) as { password?: unknown };
        const s = auth.login(from(req), body.password);
        send(res, 200, { token: s.token, expires: s.expires }, { 'set-cookie': `tfw_session=${s.token}; Path=/; HttpOnly; SameSite=Strict` });
      },
    },
    {
      method: 'POST', path: /^\/v1\/logout$/, access: 'open',
      handler: (req, res) => {
        auth.logout(sessionToken(req));
        send(res, 200, { ok: true }, { 'set-cookie': 'tfw_session=; Path=/; Max-Age=0' });
      },
    },
    {
      method: 'POST', path: /^\/v1\/password$/, access: 'open',
      handler: async (req, res) => {
        const body = (await readJson(req)) as { password?: unknown; current?: unknown };
        if (!auth.isSet) {
          if (!isLanAddress(from(req))) throw new AuthError(403, 'the first admin password can only be set from the LAN');
        } else if (!auth.session(sessionToken(req)) || !auth.verify(body.current)) {
          throw new AuthError(401, 'current: expected the current admin password, with a session');
        }
        auth.setPassword(body.password);
        o.log('api', 'admin password set');
        send(res, 200, { ok: true });
      },
    },
    { method: 'GET', path: /^\/v1\/config$/, access: 'session', handler: (_req, res) => send(res, 200, needConfig().get()) },
    {
      method: 'PUT', path: /^\/v1\/config$/, access: 'session',
      handler: async (req, res) => {
        const r = await needConfig().put(await readJson(req));
        o.log('api', `config changed${r.restart.length ? `; ${r.restart.join(', ')} apply after a restart` : ''}`);
        send(res, 200, r);
      },
    },
    { method: 'GET', path: /^\/v1\/peers$/, access: 'session', handler: (_req, res) => send(res, 200, needConfig().peers()) },
    {
      method: 'POST', path: /^\/v1\/peers$/, access: 'session',
      handler: async (req, res) => send(res, 201, await needConfig().putPeer(await readJson(req), false)),
    },
    {
      method: 'PUT', path: /^\/v1\/peers\/([^/]+)$/, access: 'session',
      handler: async (req, res, _url, key) => {
        const body = (await readJson(req)) as Record<string, unknown>;
        if (body.publicKey !== undefined && body.publicKey !== key) throw new HttpError(400, 'ERR_TFW_CONFIG', 'publicKey: must match the path (remove the peer and add another instead)', 'publicKey');
        send(res, 200, await needConfig().putPeer({ ...body, publicKey: key }, true));
      },
    },
    { method: 'DELETE', path: /^\/v1\/peers\/([^/]+)$/, access: 'session', handler: async (_req, res, _url, key) => send(res, 200, await needConfig().deletePeer(key)) },
    {
      method: 'GET', path: /^\/v1\/logs$/, access: 'session',
      handler: (_req, res, url) => {
        if (!o.logs) throw new HttpError(404, 'ERR_TFW_NOT_FOUND', 'no log buffer');
        send(res, 200, o.logs.since(Number(url.searchParams.get('since') ?? 0) || 0));
      },
    },
    {
      method: 'POST', path: /^\/v1\/reboot$/, access: 'session',
      handler: (_req, res) => {
        o.log('api', 'reboot requested');
        send(res, 200, { rebooting: true });
        res.on('finish', () => setTimeout(o.reboot, 200));
      },
    },
    { method: 'POST', path: /^\/v1\/upgrade$/, access: 'session', handler: (req, res, url) => handleUpgrade(req, res, url, o) },
    ...(o.slices ? sliceRoutes(o.slices) : []),
    {
      method: 'GET', path: /^\/metrics$/, access: 'lan',
      handler: async (_req, res) => {
        if (!o.metrics) throw new HttpError(404, 'ERR_TFW_NOT_FOUND', 'no metrics in this runtime');
        const body = await o.metrics.text();
        res.writeHead(200, { 'content-type': o.metrics.contentType, 'content-length': Buffer.byteLength(body) });
        res.end(body);
      },
    },
  ];
  if (o.consoleDir) {
    const dir = o.consoleDir;
    routes.push(
      { method: 'GET', path: /^\/$/, access: 'open', handler: (_req, res) => sendConsoleFile(res, dir) },
      { method: 'GET', path: /^\/assets\/([^/]+)$/, access: 'open', handler: (_req, res, _url, name) => sendConsoleFile(res, dir, name) },
    );
  }

  /** Throws unless the request may use a route of `access`. */
  const gate = (req: IncomingMessage, access: Route['access']) => {
    if (access === 'open') return;
    if (auth.session(sessionToken(req))) return;
    const lan = isLanAddress(from(req));
    if (access === 'lan' && lan) return;
    if (!auth.isSet) {
      if (lan) return;
      throw new AuthError(403, 'no admin password is set yet: the device answers the LAN only');
    }
    throw new AuthError(401, 'sign in first (POST /v1/login)');
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://device');
    const matching = routes.filter((r) => r.path.test(url.pathname));
    if (!matching.length) return send(res, 404, { error: `no such path ${url.pathname}`, code: 'ERR_TFW_NOT_FOUND' });
    const route = matching.find((r) => r.method === req.method);
    if (!route) return send(res, 405, { error: `${req.method} is not allowed on ${url.pathname} (${matching.map((r) => r.method).join(', ')})`, code: 'ERR_TFW_METHOD' }, { allow: matching.map((r) => r.method).join(', ') });
    gate(req, route.access);
    let param: string;
    try {
      param = decodeURIComponent(route.path.exec(url.pathname)?.[1] ?? '');
    } catch {
      throw new HttpError(400, 'ERR_TFW_PATH', `path: ${url.pathname} is not valid percent-encoding`);
    }
    await route.handler(req, res, url, param);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (res.headersSent) return void res.destroy();
      if (!req.complete) req.resume();
      if (err instanceof AuthError) return send(res, err.status, { error: err.message, code: err.code }, err.retryAfter ? { 'retry-after': err.retryAfter } : {});
      if (err instanceof HttpError) return send(res, err.status, { error: err.message, code: err.code, ...(err.field ? { field: err.field } : {}) });
      if (err instanceof ConfigError) return send(res, 400, { error: err.message, code: err.code, field: err.field });
      o.log('api', `internal error: ${err.message}`);
      send(res, 500, { error: err.message, code: 'ERR_TFW_INTERNAL' });
    });
  });
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
