/**
 * The device API's upgrade and status endpoints (runtime/api/server.ts) on
 * loopback, over a folder standing in for the ESP: `tfw upgrade`'s upload
 * code against the server, a truncated upload (the client hangs up mid-body),
 * a missing or garbled signature header, a second upload while one runs, and
 * the reboot called only after a good install.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startApi } from '../../../runtime/api/server.js';
import { DeviceState } from '../../../runtime/device/device.js';
import { formatPublicKey, formatSecretKey, generateSigningKey } from '../../../runtime/device/minisign.js';
import { ENTRIES_DIR, slotEntry } from '../../../runtime/device/slots.js';
import { makeRelease } from '../../../images/builder/release.js';
import { uploadBundle } from '../../../host-tools/commands/upgrade.js';
import { prng, rejection, runTfw } from '../../helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'tfw-api-'));
const rnd = prng(5);
const key = generateSigningKey();
writeFileSync(join(tmp, 'release.key'), formatSecretKey(key));
mkdirSync(join(tmp, 'trusted'));
writeFileSync(join(tmp, 'trusted/k.pub'), formatPublicKey(key));
const img = join(tmp, 'img');
mkdirSync(img);
writeFileSync(join(img, 'vmlinuz'), rnd.bytes(300_000));
writeFileSync(join(img, 'initramfs.cpio.zst'), rnd.bytes(900_000));
writeFileSync(join(img, 'cmdline'), 'console=ttyS0\n');
writeFileSync(join(img, 'manifest.json'), JSON.stringify({ board: 'qemu-x86_64', role: '3router', arch: 'x86_64', version: '0.2.0' }));
const esp = join(tmp, 'esp');
mkdirSync(join(esp, ENTRIES_DIR), { recursive: true });
writeFileSync(join(esp, ENTRIES_DIR, 'tfw-a.conf'), slotEntry({ slot: 'a', generation: 1, title: 't', cmdline: 'x' }));
mkdirSync(join(tmp, 'data'));

const logs: string[] = [];
let reboots = 0;
const device = new DeviceState({ board: 'qemu-x86_64', role: '3router', arch: 'x86_64', version: '0.1.0', dataDir: join(tmp, 'data'), esp, cmdline: 'tfw.slot=a', trustedDir: join(tmp, 'trusted'), remount: () => {} });
const api = await startApi({ listen: '127.0.0.1:0', device, status: () => ({ extra: 1 }), reboot: () => reboots++, log: (c, m) => logs.push(`tfw: ${c}: ${m}`) });
const port = (api.server.address() as { port: number }).port;
const url = `http://127.0.0.1:${port}`;
const bundle = join(tmp, 'x.tfwup');
await makeRelease({ dir: img, keyFile: join(tmp, 'release.key'), output: bundle });
const signature = readFileSync(`${bundle}.minisig`, 'utf8');

const waitFor = async (pred: () => boolean, ms = 5000) => {
  for (const t0 = Date.now(); !pred(); ) {
    if (Date.now() - t0 > ms) throw new Error(`condition not met within ${ms} ms; logs: ${logs.join(' | ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('GET /v1/status gives the release, slot and slot entries; unknown paths are 404 JSON', async () => {
  const s = (await (await fetch(`${url}/v1/status`)).json()) as Record<string, unknown>;
  assert.equal([s.version, s.slot, s.data, s.extra], ['0.1.0', 'a', 'persistent', 1]);
  assert.equal(s.slots, [{ slot: 'a', file: 'tfw-a.conf', state: 'good', generation: 1 }]);
  const r = await fetch(`${url}/v1/nope`);
  assert.is(r.status, 404);
  assert.is(((await r.json()) as { code: string }).code, 'ERR_TFW_NOT_FOUND');
});

test('a truncated upload is refused and logged, nothing staged or written', async () => {
  const data = readFileSync(bundle);
  await new Promise<void>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write(`POST /v1/upgrade HTTP/1.1\r\nHost: d\r\nContent-Length: ${data.length}\r\nTfw-Signature: ${Buffer.from(signature).toString('base64')}\r\n\r\n`);
      s.write(data.subarray(0, 100_000), () => setTimeout(() => (s.destroy(), resolve()), 100));
    });
    s.on('error', reject);
  });
  await waitFor(() => logs.some((l) => /^tfw: upgrade: refused upload truncated: \d+ of \d+ bytes$/.test(l)));
  assert.equal(readdirSync(join(esp, ENTRIES_DIR)), ['tfw-a.conf']);
  assert.equal(readdirSync(join(tmp, 'data/tfw/upgrade')), [], 'the partial upload is removed');
  assert.is(reboots, 0);
});

test('a missing signature header or a garbled body is refused with the reason in JSON and on the log', async () => {
  let r = await fetch(`${url}/v1/upgrade`, { method: 'POST', body: readFileSync(bundle) });
  assert.is(r.status, 400);
  assert.match(((await r.json()) as { error: string }).error, /^Tfw-Signature: expected the \.minisig file in base64$/);
  const msg = await rejection(uploadBundle({ device: url, bundle: join(img, 'vmlinuz'), signature }));
  assert.match(msg, /^refused signature: signature by key [0-9A-F]{16} does not match the file$/);
  assert.ok(logs.includes(`tfw: upgrade: ${msg}`));
  r = await fetch(`${url}/v1/upgrade`);
  assert.is(r.status, 405);
  assert.is(reboots, 0);
});

test('a good upload installs slot b, answers 200 and then asks for the reboot', async () => {
  const sent: number[] = [];
  const r = await uploadBundle({ device: url, bundle, signature, onProgress: (n) => sent.push(n) });
  assert.equal(r, { slot: 'b', version: '0.2.0', generation: 2, rebooting: true });
  assert.is(sent[sent.length - 1], readFileSync(bundle).length);
  assert.equal(readdirSync(join(esp, ENTRIES_DIR)).sort(), ['tfw-a.conf', 'tfw-b+3.conf']);
  await waitFor(() => reboots === 1);
  assert.equal(readdirSync(join(tmp, 'data/tfw/upgrade')), []);
});

test('with an admin password, an upload needs a session: tfw upgrade --password-file signs in first', async () => {
  const r = await fetch(`${url}/v1/password`, { method: 'POST', body: JSON.stringify({ password: 'device password' }) });
  assert.is(r.status, 200);
  assert.match(await rejection(uploadBundle({ device: url, bundle, signature })), /^refused sign in first \(POST \/v1\/login\)$/);
  writeFileSync(join(tmp, 'pw'), 'wrong password\n');
  let c = await runTfw(['upgrade', '--device', url, bundle, '--password-file', join(tmp, 'pw')]);
  assert.is(c.code, 1);
  assert.match(c.stderr, /^tfw: upgrade: sign-in refused: password: wrong password\n$/);
  writeFileSync(join(tmp, 'pw'), 'device password\n');
  c = await runTfw(['upgrade', '--device', url, bundle, '--password-file', join(tmp, 'pw')]);
  assert.is(c.code, 0, c.stderr);
  assert.match(c.stderr, /tfw: upgrade: the device wrote 0\.2\.0 to slot b and is rebooting into it\n$/);
});

test.after(() => api.close());
test.run();
