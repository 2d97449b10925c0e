/**
 * Starting a slice through the device API with an overlay gateway
 * (runtime/api/slices-routes.ts -> SliceManager.start, which admits the VM
 * in the background, as reconcile does for a slice left running): a
 * stand-in QEMU that answers QMP and prints an identity line on its serial
 * file, and a stand-in UAPI socket that records what the manager sends. The
 * API reports the admission (waiting -> admitted, with the key and /64), a
 * refused admission as `failed` with its one-line cause (also logged), a bad
 * `run` as 400 naming the field, and delete removes the VM's peer.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AdminAuth } from '../../../runtime/api/auth.js';
import { startApi } from '../../../runtime/api/server.js';
import { DeviceState } from '../../../runtime/device/device.js';
import { overlaySubnet } from '../../../runtime/overlay/address.js';
import { generatePrivateKey, publicKeyFromPrivate, toBase64 } from '../../../runtime/overlay/wireguard/keys.js';
import { SliceManager } from '../../../runtime/slices/index.js';
import { writeQemuStub } from '../slices/qemu-stub.js';
import { writeSysfs } from '../slices/sysfs-fixture.js';

const VM_KEY = toBase64(publicKeyFromPrivate(generatePrivateKey()));

// Two host CPUs: CPU 0 stays with the host, CPU 1 goes to the slice.
const fx = writeSysfs({ sockets: 1, coresPerSocket: 2, threadsPerCore: 1, memoryPerNodeMiB: 4096, pci: [{ address: '0000:00:03.0', vendor: 0x1af4, device: 0x1000, class: 0x020000, group: 1, driver: 'virtio-pci' }] });
const state = mkdtempSync(join(tmpdir(), 'tfw-api-slice-start-'));
// QEMU stand-in (qemu-stub.ts): QMP on the -qmp socket, the VM's identity line on the -serial file after 300 ms.
writeQemuStub(join(state, 'qemu-stub.cjs'), { identityKey: VM_KEY });
const image = join(state, 'image-dir');
mkdirSync(image);
for (const f of ['vmlinuz', 'initramfs.cpio.zst']) writeFileSync(join(image, f), f);

// The AIBox node's UAPI socket, recording each request; `answer` is what it says.
const uapiSock = join(state, 'tfwa0.sock');
const seen: string[] = [];
let answer = 'errno=0\n\n';
const uapi = createServer((c) => {
  let buf = '';
  c.on('data', (d) => {
    buf += d;
    if (buf.endsWith('\n\n')) (seen.push(buf), c.write(answer));
  });
});
await new Promise<void>((r) => uapi.listen(uapiSock, r));

const logs: string[] = [];
const slices = new SliceManager({
  sysfs: fx.root, stateDir: join(state, 'slices'), image, accel: 'tcg', qemu: join(state, 'qemu-stub.cjs'),
  hostNet: { ensureBridge: () => {} }, log: (l) => logs.push(l),
  gateway: { address: '10.254.0.1/24', publicKey: toBase64(publicKeyFromPrivate(generatePrivateKey())), listenPort: 51820, uapiSocket: uapiSock },
});
const device = new DeviceState({ board: 'pc-x86_64', role: 'aibox', arch: 'x86_64', version: '0.1.0' });
const api = await startApi({ listen: '127.0.0.1:0', device, status: () => ({}), reboot: () => {}, log: () => {}, auth: new AdminAuth({}), slices });
const url = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`;
const call = async (method: string, path: string, body?: unknown) => {
  const r = await fetch(`${url}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, json: (await r.json()) as Record<string, any> };
};
const overlayOf = async (name: string) => (await call('GET', '/v1/slices')).json.slices.find((s: { name: string }) => s.name === name)?.overlay;
async function settled(name: string): Promise<Record<string, any>> {
  for (let i = 0; i < 100; i++) {
    const o = await overlayOf(name);
    if (o && o.state !== 'waiting') return o;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name}: still waiting after 10 s`);
}

test('a bad run is refused naming the field; nothing starts', async () => {
  const c = await call('POST', '/v1/slices', { name: 'vm0', gpus: 0, vcpus: 1, memory: '512M', disk: '64M' });
  assert.is(c.status, 201, JSON.stringify(c.json));
  for (const run of [42, 'relative.tar', join(state, 'missing.tar')]) {
    const r = await call('POST', '/v1/slices/vm0/start', { run });
    assert.equal([r.status, r.json.field], [400, 'run'], JSON.stringify(r.json));
  }
  assert.is((await call('GET', '/v1/slices')).json.slices[0].running, false);
});

test('start answers at once with overlay waiting; the VM is then admitted with its key and /64 over the node\'s UAPI socket', async () => {
  const run = join(state, 'app.tar');
  writeFileSync(run, 'oci');
  const r = await call('POST', '/v1/slices/vm0/start', { run });
  assert.is(r.status, 200, JSON.stringify(r.json));
  assert.equal([r.json.running, r.json.overlay], [true, { state: 'waiting' }]);
  const o = await settled('vm0');
  const subnet = overlaySubnet(new Uint8Array(Buffer.from(VM_KEY, 'base64')));
  assert.equal(o, { state: 'admitted', publicKey: VM_KEY, subnet });
  assert.is(seen.at(-1), `set=1\npublic_key=${Buffer.from(VM_KEY, 'base64').toString('hex')}\nendpoint=10.254.0.2:51820\nreplace_allowed_ips=true\nallowed_ip=${subnet}\n\n`);
});

test('the console route gives the end of the VM\'s serial log as text; 404 for an unknown slice, 400 for a bad kib', async () => {
  const get = (path: string) => fetch(`${url}${path}`).then(async (r) => ({ status: r.status, type: r.headers.get('content-type'), text: await r.text() }));
  const c = await get('/v1/slices/vm0/console');
  assert.equal([c.status, c.type], [200, 'text/plain; charset=utf-8']);
  assert.ok(c.text.includes(`tfw: init: booting\n`) && c.text.includes(`tfw: identity: created ${VM_KEY}`), c.text);
  const unknown = await get('/v1/slices/nope/console');
  assert.is(unknown.status, 404);
  assert.match(JSON.parse(unknown.text).error, /slice "nope" does not exist/);
  assert.equal(JSON.parse((await get('/v1/slices/vm0/console?kib=0')).text).field, 'kib');
  // The cut starts at a line boundary: a 1 KiB tail of a longer log is whole lines.
  writeFileSync(join(state, 'slices', 'vm0', 'console.log'), Array.from({ length: 100 }, (_, i) => `line ${i} ${'x'.repeat(20)}`).join('\n') + '\n', { flag: 'a' });
  const tail = await get('/v1/slices/vm0/console?kib=1');
  assert.ok(tail.text.length <= 1024 && /^line \d+ x+\n/.test(tail.text) && tail.text.endsWith('line 99 xxxxxxxxxxxxxxxxxxxx\n'), tail.text);
});

test('a refused admission is reported by the API and logged in one line; the slice keeps running', async () => {
  answer = 'errno=-22\n\n';
  assert.is((await call('POST', '/v1/slices/vm0/start')).status, 200);
  const o = await settled('vm0');
  assert.is(o.state, 'failed');
  assert.match(o.error, /^.*tfwa0\.sock: adding peer \S+ refused: errno=-22$/);
  assert.ok(logs.some((l) => /^vm0: not on the overlay: .*refused: errno=-22$/.test(l)), logs.join('\n'));
  assert.is((await call('GET', '/v1/slices')).json.slices[0].running, true);
  answer = 'errno=0\n\n';
});

test('a restarted runtime\'s manager reconciles the running VM and admits it again by itself', async () => {
  const again = new SliceManager({
    sysfs: fx.root, stateDir: join(state, 'slices'), image, accel: 'tcg', qemu: join(state, 'qemu-stub.cjs'),
    hostNet: { ensureBridge: () => {} }, log: () => {}, gateway: { address: '10.254.0.1/24', publicKey: VM_KEY, listenPort: 51820, uapiSocket: uapiSock },
  });
  const before = seen.length;
  assert.equal(await again.reconcile(), [{ name: 'vm0', action: 'running' }]);
  for (let i = 0; i < 100 && again.list()[0].overlay?.state !== 'admitted'; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(again.list()[0].overlay?.publicKey, VM_KEY);
  assert.is(seen.length, before + 1);
});

test('stop (with a checked timeout) clears the overlay state; delete removes the VM\'s peer from the node', async () => {
  const bad = await call('POST', '/v1/slices/vm0/stop', { timeout: 'soon' });
  assert.equal([bad.status, bad.json.field], [400, 'timeout']);
  assert.is((await call('POST', '/v1/slices/vm0/stop', { timeout: 5 })).status, 200);
  assert.is(await overlayOf('vm0'), undefined);
  const before = seen.length;
  assert.is((await call('DELETE', '/v1/slices/vm0')).status, 200);
  assert.is(seen.length, before + 1);
  assert.is(seen.at(-1), `set=1\npublic_key=${Buffer.from(VM_KEY, 'base64').toString('hex')}\nremove=true\n\n`);
});

test.after(async () => {
  for (const s of slices.list()) if (s.running && s.pid) process.kill(s.pid, 'SIGKILL');
  await api.close();
  uapi.close();
  fx.cleanup();
  rmSync(state, { recursive: true, force: true });
});
test.run();
