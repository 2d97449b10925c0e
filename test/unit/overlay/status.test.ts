/** GET /status: the JSON shape of ARCHITECTURE.md, over a Unix socket and TCP. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { request } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deviceStatus, serveStatus } from '../../../runtime/overlay/status.js';
import { ConfigError } from '../../../runtime/errors.js';
import { A_TO_B, makePair } from './pair.js';
import { prng } from '../../helpers.js';

const get = (opts: { socketPath?: string; port?: number; path: string }) =>
  new Promise<{ status: number; body: string }>((res, rej) => {
    const req = request({ ...opts, host: '127.0.0.1' }, (r) => {
      let body = '';
      r.on('data', (d) => (body += d));
      r.on('end', () => res({ status: r.statusCode!, body }));
    });
    req.on('error', rej);
    req.end();
  });

test('status JSON after a handshake: peers, routes, drops', async () => {
  const p = makePair();
  p.sendA(A_TO_B(prng().bytes(10)));
  p.pump();
  const s = deviceStatus(p.a, 51820);
  assert.equal(Object.keys(s), ['publicKey', 'listenPort', 'peers', 'routes', 'drops']);
  assert.is(s.publicKey, p.a.publicKeyB64);
  assert.equal(Object.keys(s.peers[0]), ['publicKey', 'endpoint', 'lastHandshake', 'rxBytes', 'txBytes']);
  assert.is(s.peers[0].endpoint, '10.0.0.2:2000');
  assert.is(s.peers[0].lastHandshake, Math.floor(p.now() / 1000), 'Unix seconds');
  assert.equal(s.routes, [{ prefix: '10.100.0.2/32', via: p.pubB, metric: 0 }]);
  for (const k of ['replay', 'auth', 'malformed', 'noRoute']) assert.is((s.drops as unknown as Record<string, number>)[k], 0);
  assert.is(deviceStatus(p.b, 1).peers[0].lastHandshake > 0, true);
});

test('served on a Unix socket and on 127.0.0.1:port; 404 elsewhere; bad address named', async () => {
  const sock = join(mkdtempSync(join(tmpdir(), 'tfw-status-')), 's.sock');
  const s1 = await serveStatus(sock, () => ({ publicKey: 'k', listenPort: 1, peers: [], routes: [], drops: {} as never }));
  const r = await get({ socketPath: sock, path: '/status' });
  assert.is(r.status, 200);
  assert.is(JSON.parse(r.body).publicKey, 'k');
  assert.is((await get({ socketPath: sock, path: '/x' })).status, 404);
  s1.close();
  const s2 = await serveStatus('127.0.0.1:0', () => ({ publicKey: 't', listenPort: 1, peers: [], routes: [], drops: {} as never }));
  const port = (s2.address() as { port: number }).port;
  assert.is(JSON.parse((await get({ port, path: '/status' })).body).publicKey, 't');
  s2.close();
  try {
    await serveStatus('nonsense:port', () => ({}) as never);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, ConfigError);
    assert.is((e as ConfigError).field, 'status');
  }
});

test.run();
