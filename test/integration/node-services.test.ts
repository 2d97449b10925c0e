/**
 * A 3Node's services over the overlay, in two network namespaces: node A runs
 * the image runtime (runtime/main.ts) as role 3node with a data folder holding
 * its identity, so it serves 0-db-compatible shards on its overlay address
 * (port 9900) and lists the backend in its device API status; node B, a
 * plain overlay peer, reaches that backend across the encrypted link with
 * Debian's redis-cli. Needs root (namespaces, TUN) and redis-tools.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { overlayAddress, overlaySubnet } from '../../runtime/overlay/address.js';
import { IDENTITY_FILE } from '../../runtime/device/identity.js';
import { keygen } from '../../host-tools/commands/keygen.js';
import { isRoot } from '../helpers.js';
import { have, NetnsPair, ROOT, spawnIn, tfwRuntime, waitFor } from './overlay-netns.js';

const skip = !isRoot || !have('redis-cli');
if (skip) console.log('  tfw: test: node services need root and redis-cli (redis-tools): skipped');

test('a 3node serves shards on its overlay address; a peer reaches them with redis-cli; the API lists the backend', async () => {
  if (skip) return;
  const net = new NetnsPair('tns', 61);
  try {
    const a = keygen();
    const b = keygen();
    const data = join(net.dir, 'data');
    mkdirSync(join(data, 'tfw/identity'), { recursive: true });
    writeFileSync(join(data, IDENTITY_FILE), `${a.privateKey}\n`, { mode: 0o600 });
    const pubA = new Uint8Array(Buffer.from(a.publicKey, 'base64'));
    const pubB = new Uint8Array(Buffer.from(b.publicKey, 'base64'));
    const cfgA = net.file('a.json', JSON.stringify({ listenPort: 51861, api: '127.0.0.1:18061', peers: [{ publicKey: b.publicKey, endpoint: `${net.ipB}:51862`, allowedIPs: [overlaySubnet(pubB)], persistentKeepalive: 1 }] }));
    const cfgB = net.file('b.json', JSON.stringify({ privateKey: b.privateKey, listenPort: 51862, peers: [{ publicKey: a.publicKey, endpoint: `${net.ipA}:51861`, allowedIPs: [overlaySubnet(pubA)], persistentKeepalive: 1 }] }));
    const pa = net.track(spawnIn(net.a, [process.execPath, '--import', 'tsx', join(ROOT, 'runtime/main.ts'), '--config', cfgA, '--role', '3node', '--data', data]));
    const pb = net.track(tfwRuntime(net.b, cfgB));
    assert.ok(await waitFor(() => /tfw: ready 3node /.test(pa.out()), 60_000), pa.out());
    assert.match(pa.out(), new RegExp(`tfw: identity: loaded ${a.publicKey.replace(/[+/]/g, '\\$&')}`));
    assert.ok(await waitFor(() => /overlay: up/.test(pb.out()), 30_000), pb.out());
    const addr = overlayAddress(pubA);
    const cli = (...args: string[]) => spawnSync('ip', ['netns', 'exec', net.b, 'redis-cli', '-h', addr, '-p', '9900', ...args], { encoding: 'utf8', timeout: 10_000 });
    assert.ok(await waitFor(() => cli('PING').stdout.trim() === 'PONG', 30_000), `no PONG from ${addr}:9900 over the overlay: ${cli('PING').stderr}\n${pa.out()}`);
    assert.is(cli('SET', 'shard-1', 'hello over the overlay').stdout.trim(), 'shard-1');
    assert.is(cli('GET', 'shard-1').stdout.trim(), 'hello over the overlay');
    const status = JSON.parse(execFileSync('ip', ['netns', 'exec', net.a, 'curl', '-s', 'http://127.0.0.1:18061/v1/status'], { encoding: 'utf8' }));
    assert.is(status.storage.backend, `[${addr}]:9900`);
    assert.is(status.role, '3node');
  } finally {
    await net.cleanup();
  }
});

test.run();
