/**
 * The device API's sign-in, config, peers, logs and reboot endpoints
 * (runtime/api/server.ts) on loopback: set-up mode answering the LAN, the
 * first password, wrong passwords rate-limited, sessions (bearer and cookie)
 * that expire, config and peer changes checked by the runtime's schema and
 * applied, a bad one changing nothing, secrets never shown, and the config
 * kept on /data for the next boot.
 */
import { mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AdminAuth, isLanAddress } from '../../../runtime/api/auth.js';
import { ConfigStore, CONFIG_FILE, HIDDEN } from '../../../runtime/api/config-store.js';
import { LogRing } from '../../../runtime/api/logs.js';
import { startApi } from '../../../runtime/api/server.js';
import { validateOverlayConfig, type OverlayConfig } from '../../../runtime/config/schema.js';
import { DeviceState } from '../../../runtime/device/device.js';
import { keygen } from '../../../host-tools/commands/keygen.js';

const tmp = mkdtempSync(join(tmpdir(), 'tfw-devapi-'));
const data = join(tmp, 'data');
mkdirSync(data);
const me = keygen();
const A = keygen();
const B = keygen();
let now = 1_000_000;
const applied: OverlayConfig[] = [];
const initial = validateOverlayConfig({ privateKey: me.privateKey, peers: [{ publicKey: A.publicKey, endpoint: '10.0.0.2:51820', allowedIPs: ['10.100.0.2/32'], presharedKey: B.privateKey }] });
const store = new ConfigStore({ config: initial, keyFromConfig: false, dataDir: data, apply: async (c) => void applied.push(c) });
const logs = new LogRing(5);
const reboots: number[] = [];
const device = new DeviceState({ board: 'qemu-x86_64', role: '3router', arch: 'x86_64', version: '0.1.0', dataDir: data });
const auth = new AdminAuth({ dataDir: data, sessionSeconds: 60, now: () => now });
const api = await startApi({ listen: '127.0.0.1:0', device, status: () => ({}), reboot: () => reboots.push(1), log: (c, m) => logs.push('info', c, m), auth, config: store, logs });
const url = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`;

async function call(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; json: Record<string, unknown> & unknown[]; headers: Headers }> {
  const r = await fetch(`${url}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: r.status, json: (await r.json()) as never, headers: r.headers };
}

test('LAN addresses: loopback, RFC 1918, CGNAT, ULA, link-local, mapped IPv4; not public ones', () => {
  for (const a of ['127.0.0.1', '10.0.2.2', '172.16.5.1', '192.168.1.10', '100.64.0.1', '169.254.1.1', '::1', 'fd00::1', 'fe80::1', '::ffff:192.168.1.2']) assert.ok(isLanAddress(a), a);
  for (const a of ['8.8.8.8', '172.32.0.1', '2001:db8::1', '400::1', '::ffff:8.8.8.8', '', undefined]) assert.not.ok(isLanAddress(a), String(a));
});

test('set-up mode: the LAN may use the API before a password exists; a short password is refused', async () => {
  assert.is((await call('GET', '/v1/config')).status, 200);
  const r = await call('POST', '/v1/password', { password: 'short' });
  assert.is(r.status, 400);
  assert.match(r.json.error as string, /password: expected a string of at least 8 characters/);
  assert.is((await call('POST', '/v1/password', { password: 'correct horse' })).status, 200);
  assert.is(statSync(join(data, 'tfw/api/admin.json')).mode & 0o777, 0o600);
  assert.not.match(readFileSync(join(data, 'tfw/api/admin.json'), 'utf8'), /correct horse/);
});

test('with a password: session routes need a session, status stays open on the LAN, logins are rate-limited', async () => {
  assert.is((await call('GET', '/v1/config')).status, 401);
  assert.is((await call('GET', '/v1/status')).status, 200);
  for (let i = 0; i < 5; i++) assert.is((await call('POST', '/v1/login', { password: 'wrong password' })).status, 401);
  const limited = await call('POST', '/v1/login', { password: 'correct horse' });
  assert.is(limited.status, 429);
  assert.match(limited.json.error as string, /too many failed logins from .*; try again in \d+ s/);
  assert.ok(Number(limited.headers.get('retry-after')) > 0);
  now += 61_000;
  const ok = await call('POST', '/v1/login', { password: 'correct horse' });
  assert.is(ok.status, 200);
  assert.match(ok.headers.get('set-cookie') ?? '', /^tfw_session=[A-Za-z0-9_-]+; Path=\/; HttpOnly; SameSite=Strict$/);
  const token = ok.json.token as string;
  assert.is((await call('GET', '/v1/config', undefined, token)).status, 200);
  // The cookie works too.
  const c = await fetch(`${url}/v1/config`, { headers: { cookie: `tfw_session=${token}` } });
  assert.is(c.status, 200);
  // Sessions expire when idle.
  now += 61_000;
  assert.is((await call('GET', '/v1/config', undefined, token)).status, 401);
  // A second password change needs the current one and a session.
  const t2 = (await call('POST', '/v1/login', { password: 'correct horse' })).json.token as string;
  assert.is((await call('POST', '/v1/password', { password: 'new password 1', current: 'nope' }, t2)).status, 401);
  assert.is((await call('POST', '/v1/password', { password: 'new password 1', current: 'correct horse' }, t2)).status, 200);
  assert.is((await call('GET', '/v1/config', undefined, t2)).status, 401, 'a new password ends the sessions');
  session = (await call('POST', '/v1/login', { password: 'new password 1' })).json.token as string;
  await call('POST', '/v1/logout', undefined, session);
  assert.is((await call('GET', '/v1/config', undefined, session)).status, 401);
  session = (await call('POST', '/v1/login', { password: 'new password 1' })).json.token as string;
});
let session = '';

test('config: secrets never shown; a bad config names the field and changes nothing; a good one is applied and kept on /data', async () => {
  const g = await call('GET', '/v1/config', undefined, session);
  assert.not.ok('privateKey' in g.json);
  assert.is((g.json.peers as Array<{ presharedKey: string }>)[0].presharedKey, HIDDEN);
  const before = applied.length;
  const bad = await call('PUT', '/v1/config', { ...g.json, peers: [{ publicKey: A.publicKey, endpoint: 'nowhere' }] }, session);
  assert.is(bad.status, 400);
  assert.is(bad.json.field, 'peers.0.endpoint');
  assert.match(bad.json.error as string, /^peers\.0\.endpoint: expected host:port/);
  assert.is(applied.length, before, 'nothing applied');
  assert.is((await call('PUT', '/v1/config', { ...g.json, privateKey: B.privateKey }, session)).json.field, 'privateKey');
  assert.is((await call('PUT', '/v1/config', { ...g.json, peer: [] }, session)).json.field, 'peer');
  const good = await call('PUT', '/v1/config', { ...g.json, listenPort: 51999, address: ['10.100.0.1/24'] }, session);
  assert.is(good.status, 200);
  assert.equal(good.json, { persisted: true, restart: ['listenPort'] });
  const last = applied[applied.length - 1];
  assert.is(last.peers[0].presharedKey, B.privateKey, 'a hidden preshared key is kept');
  assert.is(last.privateKey, me.privateKey);
  const kept = JSON.parse(readFileSync(join(data, CONFIG_FILE), 'utf8'));
  assert.is(kept.listenPort, 51999);
  assert.not.ok('privateKey' in kept, 'the node key stays in the identity file');
  assert.is(statSync(join(data, CONFIG_FILE)).mode & 0o777, 0o600);
});

test('peers: add, refuse a duplicate or a bad one by field, update, delete', async () => {
  const add = await call('POST', '/v1/peers', { publicKey: B.publicKey, allowedIPs: ['10.100.0.3/32'] }, session);
  assert.is(add.status, 201);
  assert.is((await call('POST', '/v1/peers', { publicKey: B.publicKey }, session)).json.field, 'publicKey');
  const bad = await call('POST', '/v1/peers', { publicKey: me.publicKey }, session);
  assert.match(bad.json.error as string, /is this node's own public key/);
  const upd = await call('PUT', `/v1/peers/${encodeURIComponent(B.publicKey)}`, { allowedIPs: ['10.100.0.4/32'], persistentKeepalive: 25 }, session);
  assert.is(upd.status, 200);
  const list = (await call('GET', '/v1/peers', undefined, session)).json as Array<{ publicKey: string; allowedIPs: string[] }>;
  assert.equal(list.map((p) => [p.publicKey, p.allowedIPs]), [[A.publicKey, ['10.100.0.2/32']], [B.publicKey, ['10.100.0.4/32']]]);
  assert.is((await call('DELETE', `/v1/peers/${encodeURIComponent(B.publicKey)}`, undefined, session)).status, 200);
  assert.is((await call('DELETE', `/v1/peers/${encodeURIComponent(B.publicKey)}`, undefined, session)).status, 400);
  assert.equal(applied[applied.length - 1].peers.map((p) => p.publicKey), [A.publicKey]);
});

test('logs come back with levels and sequence numbers, bounded; reboot is answered first', async () => {
  const all = (await call('GET', '/v1/logs', undefined, session)).json as Array<{ seq: number; level: string; component: string; message: string }>;
  assert.ok(all.length <= 5, 'the ring is bounded');
  assert.ok(all.every((e) => e.seq > 0 && typeof e.message === 'string'));
  const newer = (await call('GET', `/v1/logs?since=${all[all.length - 1].seq}`, undefined, session)).json as unknown[];
  assert.is(newer.length, 0);
  const r = await call('POST', '/v1/reboot', undefined, session);
  assert.equal([r.status, r.json.rebooting], [200, true]);
  await new Promise((res) => setTimeout(res, 400));
  assert.is(reboots.length, 1);
  assert.is((await call('PATCH', '/v1/config', {}, session)).status, 405);
});

test.after(() => api.close());
test.run();
