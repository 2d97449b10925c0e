/**
 * The AIBox's slices through the device API (runtime/api/slices-routes.ts)
 * over an 8-GPU fixture sysfs tree: create, a refusal that names what is
 * short (409, nothing written), unknown slices 404, delete; a session needed
 * once a password is set.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AdminAuth } from '../../../runtime/api/auth.js';
import { startApi } from '../../../runtime/api/server.js';
import { DeviceState } from '../../../runtime/device/device.js';
import { SliceManager } from '../../../runtime/slices/index.js';
import { eightGpuServer, writeSysfs } from '../slices/sysfs-fixture.js';

const fx = writeSysfs(eightGpuServer());
const state = mkdtempSync(join(tmpdir(), 'tfw-api-slices-'));
const slices = new SliceManager({ sysfs: fx.root, stateDir: state, accel: 'tcg', log: () => {} });
const auth = new AdminAuth({});
const device = new DeviceState({ board: 'pc-x86_64', role: 'aibox', arch: 'x86_64', version: '0.1.0' });
const api = await startApi({ listen: '127.0.0.1:0', device, status: () => ({}), reboot: () => {}, log: () => {}, auth, slices });
const url = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`;
let token = '';
const call = async (method: string, path: string, body?: unknown) => {
  const r = await fetch(`${url}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {}, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
};

test('inventory and an empty list; a slice is created with its GPU and pinned CPUs', async () => {
  const inv = await call('GET', '/v1/slices/inventory');
  assert.is((inv.json.gpus as unknown[]).length, 8);
  assert.equal(((await call('GET', '/v1/slices')).json.slices as unknown[]).length, 0);
  const c = await call('POST', '/v1/slices', { name: 'llm', gpus: 1, vcpus: 4, memory: '16G', disk: '1G' });
  assert.is(c.status, 201, JSON.stringify(c.json));
  assert.equal([(c.json.gpus as string[]).length, (c.json.hostCpus as number[]).length, c.json.memoryMiB], [1, 4, 16384]);
});

test('refusals name what is short (409) and write nothing; bad sizes name the field (400); unknown slices 404', async () => {
  const r = await call('POST', '/v1/slices', { name: 'huge', gpus: 2, vcpus: 4, memory: '100T', disk: '1G' });
  assert.is(r.status, 409);
  assert.match(r.json.error as string, /memory: 100T asked, [0-9.]+[MGT] free/);
  assert.is(((await call('GET', '/v1/slices')).json.slices as unknown[]).length, 1);
  const bad = await call('POST', '/v1/slices', { name: 'x', gpus: 0, vcpus: 1, memory: 'lots' });
  assert.equal([bad.status, bad.json.field], [400, 'memory']);
  // The planner's own checks, named as the API's fields (the CLI says --disk, --vcpus).
  const small = await call('POST', '/v1/slices', { name: 'x', gpus: 0, vcpus: 1, memory: '1G', disk: '1M' });
  assert.equal([small.status, small.json.field, small.json.error], [400, 'disk', 'disk: expected at least 64M, got "1M"']);
  const cpus = await call('POST', '/v1/slices', { name: 'x', gpus: 0, vcpus: 0, memory: '1G' });
  assert.equal([cpus.status, cpus.json.field, cpus.json.error], [400, 'vcpus', 'vcpus: expected a whole number >= 1, got 0']);
  assert.is((await call('DELETE', '/v1/slices/nope')).status, 404);
  assert.is((await call('DELETE', '/v1/slices/llm')).status, 200);
});

test('with a password set, slices need a session', async () => {
  auth.setPassword('aibox password');
  assert.is((await call('GET', '/v1/slices')).status, 401);
  token = (await call('POST', '/v1/login', { password: 'aibox password' })).json.token as string;
  assert.is((await call('GET', '/v1/slices')).status, 200);
});

test.after(async () => {
  await api.close();
  fx.cleanup();
});
test.run();
