/**
 * The device API serving the web console (runtime/api/console-files.ts):
 * `/` and `/assets/<name>` from `consoleDir` with their content types and
 * without sign-in, while /v1 stays behind the session; raw request paths that
 * try to leave the folder (dot segments, encoded slashes and dots, hidden
 * files, backslashes) get 404 and never the file outside; a bad percent
 * encoding is a 400; without `consoleDir` there is no `/`. When
 * build/console exists (make console), its real files are served too.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AdminAuth } from '../../../runtime/api/auth.js';
import { isAssetName } from '../../../runtime/api/console-files.js';
import { startApi } from '../../../runtime/api/server.js';
import { DeviceState } from '../../../runtime/device/device.js';

const tmp = mkdtempSync(join(tmpdir(), 'tfw-console-'));
const dir = join(tmp, 'console');
mkdirSync(join(dir, 'assets'), { recursive: true });
writeFileSync(join(dir, 'index.html'), '<!doctype html><title>tfw</title>');
writeFileSync(join(dir, 'assets', 'console.js'), 'console.log(1)');
writeFileSync(join(dir, 'assets', 'console.css'), 'body{}');
writeFileSync(join(dir, 'assets', '.hidden.js'), 'HIDDEN-CONTENT');
writeFileSync(join(dir, 'assets', 'notes.txt'), 'UNTYPED-CONTENT');
writeFileSync(join(tmp, 'secret.js'), 'SECRET');
writeFileSync(join(dir, 'secret.js'), 'SECRET');

const device = new DeviceState({ board: 'host', role: 'host', arch: 'x86_64', version: '0.1.0' });
const auth = new AdminAuth({});
auth.setPassword('correct horse');
const common = { listen: '127.0.0.1:0', device, status: () => ({}), reboot: () => {}, log: () => {}, auth };
const api = await startApi({ ...common, consoleDir: dir });
const bare = await startApi(common);
const portOf = (a: typeof api) => (a.server.address() as { port: number }).port;

/** GET with the path sent as is (fetch would normalise dot segments away). */
function get(port: number, path: string): Promise<{ status: number; type: string; body: string; headers: Record<string, unknown> }> {
  return new Promise((res, rej) => {
    const r = request({ host: '127.0.0.1', port, path, method: 'GET' }, (m) => {
      let body = '';
      m.on('data', (d) => (body += d));
      m.on('end', () => res({ status: m.statusCode!, type: String(m.headers['content-type']), body, headers: m.headers }));
    });
    r.on('error', rej);
    r.end();
  });
}

test('/ is index.html and assets carry their content types, without a session; /v1 still asks for one', async () => {
  const index = await get(portOf(api), '/');
  assert.is(index.status, 200);
  assert.is(index.type, 'text/html; charset=utf-8');
  assert.is(index.body, '<!doctype html><title>tfw</title>');
  assert.match(String(index.headers['content-security-policy']), /default-src 'self'/);
  assert.is(index.headers['x-frame-options'], 'DENY');
  const js = await get(portOf(api), '/assets/console.js');
  assert.is([js.status, js.type, js.body].join(' '), '200 text/javascript; charset=utf-8 console.log(1)');
  const css = await get(portOf(api), '/assets/console.css');
  assert.is([css.status, css.type].join(' '), '200 text/css; charset=utf-8');
  assert.is((await get(portOf(api), '/v1/peers')).status, 401);
});

test('paths that try to leave the folder, hidden or untyped files, and missing files are 404', async () => {
  for (const p of ['/assets/../secret.js', '/assets/..%2Fsecret.js', '/assets/%2e%2e%2fsecret.js', '/assets/..%2F..%2Fsecret.js', '/assets/..%5Csecret.js', '/assets/.hidden.js', '/assets/notes.txt', '/assets/missing.js', '/secret.js', '/assets/', '/assets/sub/console.js', '/index.html/']) {
    const r = await get(portOf(api), p);
    assert.ok(r.status === 404, `${p}: ${r.status}`);
    assert.not.match(r.body, /SECRET|HIDDEN-CONTENT|UNTYPED-CONTENT/, p);
  }
  // WHATWG URL parsing takes %2E%2E as a dot segment: /assets/%2E%2E is / (the index), still inside.
  assert.is((await get(portOf(api), '/assets/%2E%2E')).body, '<!doctype html><title>tfw</title>');
  const bad = await get(portOf(api), '/assets/%E0%A4%A');
  assert.is(bad.status, 400);
  assert.match(bad.body, /ERR_TFW_PATH/);
  assert.not.ok(isAssetName('..'));
  assert.not.ok(isAssetName('a/b.js'));
  assert.ok(isAssetName('console.js'));
});

test('POST / is not allowed; without consoleDir there is no console', async () => {
  const r = await fetch(`http://127.0.0.1:${portOf(api)}/`, { method: 'POST' });
  assert.is(r.status, 405);
  assert.is((await get(portOf(bare), '/')).status, 404);
  assert.is((await get(portOf(bare), '/assets/console.js')).status, 404);
});

const built = resolve(new URL('../../../build/console', import.meta.url).pathname);
test('the built console (make console) is served as esbuild wrote it', async () => {
  if (!existsSync(join(built, 'index.html'))) return console.log('  skip: no build/console (make console)');
  const real = await startApi({ ...common, consoleDir: built });
  try {
    const index = await get(portOf(real), '/');
    for (const m of index.body.matchAll(/(?:src|href)="\/assets\/([^"]+)"/g)) {
      const a = await get(portOf(real), `/assets/${m[1]}`);
      assert.is(a.status, 200, m[1]);
      assert.is(a.body, readFileSync(join(built, 'assets', m[1]), 'utf8'));
    }
    assert.match(index.body, /\/assets\/console\.js/);
  } finally {
    await real.close();
  }
});

test.after(async () => {
  await api.close();
  await bare.close();
});

test.run();
