/**
 * `tfw boot --demo` and `tfw boot --config`: two 3router guests (qemu-x86_64, then qemu-arm64) on
 * one loopback-backed link complete a WireGuard handshake and ping each other's
 * overlay address (its whole /128 in 400::/7, runtime/overlay/address.ts); a wrong peer key makes the demo fail
 * with the cause named; a config given at boot replaces the image's one (second
 * initramfs segment, checked byte-wise with GNU cpio). Needs root (image build,
 * QEMU); skipped otherwise.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'cbor-x';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { demoConfigs, runDemo } from '../../images/builder/demo.js';
import { builtImage } from './images.js';
import { configCpio, initrdWithConfig } from '../../images/builder/initrd-config.js';
import { repoRoot } from '../../images/builder/paths.js';
import { loadBoard } from '../../images/builder/schema.js';
import { overlayAddress, overlaySubnet } from '../../runtime/overlay/address.js';
import { fromBase64, generatePrivateKey, toBase64 } from '../../runtime/overlay/wireguard/keys.js';
import { isRoot, runTfw } from '../helpers.js';

const TIMEOUT = 300;
const tmp = mkdtempSync(join(tmpdir(), 'tfw-demo-'));
const skip = !isRoot;
if (skip) console.log('  tfw: test: demo tests need root (image build, QEMU): skipped');
const dir = join(repoRoot, 'build/images/qemu-x86_64-3router');

test('demo configs name each other: endpoint, allowed /64, keepalive', () => {
  const [a, b] = demoConfigs();
  const ca = decode(a.cbor) as Record<string, any>;
  const cb = decode(b.cbor) as Record<string, any>;
  assert.is(ca.peers.length, 1);
  assert.is(ca.peers[0].publicKey, b.publicKey);
  assert.is(cb.peers[0].publicKey, a.publicKey);
  assert.is(ca.peers[0].endpoint, '10.99.0.2:51820');
  assert.is(cb.peers[0].endpoint, '10.99.0.1:51820');
  assert.equal(ca.peers[0].allowedIPs, [overlaySubnet(fromBase64(b.publicKey))]);
  assert.is(ca.peers[0].persistentKeepalive, 5);
  assert.is(a.address, overlayAddress(fromBase64(a.publicKey)));
  assert.is.not(ca.privateKey, cb.privateKey);
  const [bad] = demoConfigs(true);
  assert.is.not((decode(bad.cbor) as Record<string, any>).peers[0].publicKey, (decode(demoConfigs()[1].cbor) as Record<string, any>).peers[0].publicKey);
});

test('the config segment is a newc archive GNU cpio reads back, appended 4-aligned', () => {
  if (spawnSync('cpio', ['--version']).status !== 0) return console.log('  tfw: test: no cpio on the host: skipped');
  const cbor = new Uint8Array([0xa1, 0x64, 0x6e, 0x61, 0x6d, 0x65, 0x63, 0x61, 0x62, 0x63]);
  const seg = configCpio(cbor);
  const out = join(tmp, 'x');
  const r = spawnSync('cpio', ['-idm', '--quiet', '-D', out], { input: seg });
  assert.is(r.status, 0, r.stderr.toString());
  assert.equal(new Uint8Array(readFileSync(join(out, 'etc/tfw/config.cbor'))), cbor);
  const base = join(tmp, 'base');
  writeFileSync(base, Buffer.from('abcde'));
  const t = initrdWithConfig(base, cbor);
  const all = readFileSync(t.path);
  t.cleanup();
  assert.is(all.subarray(0, 5).toString(), 'abcde');
  assert.ok(all.subarray(8).equals(seg), 'segment starts at the next 4-byte boundary');
});

test('tfw boot --demo: both guests ping each other over the overlay, then power off', async () => {
  if (skip) return;
  builtImage('qemu-x86_64', '3router');
  const r = await runTfw(['boot', '--demo', '--no-build', '--timeout', String(TIMEOUT), '--json']);
  assert.is(r.code, 0, r.stderr.slice(-3000));
  const d = JSON.parse(r.stdout);
  assert.is(d.ok, true);
  assert.is(d.handshake, true);
  assert.is(d.guests.length, 2);
  for (const [i, g] of d.guests.entries()) {
    const other = d.guests[1 - i];
    assert.is(g.ping.ok, true, `guest ${g.name}`);
    assert.is(g.ping.target, other.overlayAddress);
    assert.match(g.overlayAddress, /^[45][0-9a-f]{2}:/);
    assert.ok(g.lastHandshake > 1600000000, `guest ${g.name} lastHandshake ${g.lastHandshake}`);
    assert.is(g.qemuExitCode, 0);
    assert.match(r.stderr, new RegExp(`\\[${g.name}\\] tfw: demo: ping ${other.overlayAddress.replace(/\./g, '\\.')} ok`));
    assert.match(r.stderr, new RegExp(`\\[${g.name}\\] tfw: init: power off`));
  }
  console.log(`  demo: both pings ok ${d.seconds.toFixed(1)} s after start under TCG`);
});

test('the demo also passes on qemu-arm64 (runDemo)', async () => {
  if (skip) return;
  const { outDir } = builtImage('qemu-arm64', '3router');
  const d = await runDemo({ board: loadBoard('qemu-arm64'), dir: outDir, timeout: TIMEOUT, out: null });
  assert.ok(d.ok, `${d.cause}\n${d.guests.map((g) => g.boot?.tail.join('\n')).join('\n---\n')}`);
  assert.ok(d.guests.every((g) => g.ping?.ok && (g.lastHandshake ?? 0) > 0 && g.boot?.qemuExitCode === 0));
  console.log(`  demo (arm64): both pings ok ${d.seconds!.toFixed(1)} s after start under TCG`);
});

test('a wrong peer key fails the demo with the guest and the address named', async () => {
  if (skip) return;
  const d = await runDemo({ board: loadBoard('qemu-x86_64'), dir, timeout: TIMEOUT, out: null, wrongPeerKey: true });
  assert.is(d.ok, false);
  assert.match(d.cause ?? '', /^guest [ab] could not ping [0-9a-f:]+ \(guest [ab]'s overlay address\) over the overlay$/);
  assert.ok(d.guests.some((g) => g.ping && !g.ping.ok));
});

test('tfw boot --config replaces the image config for one boot', async () => {
  if (skip) return;
  const f = join(tmp, 'node.yaml');
  writeFileSync(f, `name: tfwcfg\nprivateKey: ${toBase64(generatePrivateKey())}\nlistenPort: 51999\n`);
  const r = await runTfw(['boot', '--no-build', '--net', 'none', '--config', f, '--exit-after-ready', '--timeout', String(TIMEOUT), '--expect', 'tfw: runtime: config tfwcfg listenPort 51999 peers 0', '--json']);
  assert.is(r.code, 0, r.stderr.slice(-2000));
  assert.match(r.stderr, /tfw: overlay: up tfwcfg /);
  const bad = join(tmp, 'bad.yaml');
  writeFileSync(bad, 'listenPort: 70000\n');
  const b = await runTfw(['boot', '--no-build', '--config', bad, '--exit-after-ready']);
  assert.is.not(b.code, 0);
  assert.match(b.stderr, /privateKey|listenPort/);
});

test.run();
