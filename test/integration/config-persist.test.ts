/**
 * Peer changes survive a restart of the image runtime (runtime/main.ts with a
 * temporary data dir, in its own network namespace): a peer added through the
 * device API, one added and one removed with the stock `wg set` (Debian's
 * wireguard-tools, over the UAPI socket) are all kept in
 * `<data>/tfw/config.json`; the runtime started again on that file, as the
 * guest init does (runtime/init/init.sh prefers it), runs exactly those peers,
 * as `wg show dump` shows. Needs root, the native addon (TUN) and wg.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { keygen } from '../../host-tools/commands/keygen.js';
import { nativeAvailable } from '../../runtime/kernels/native.js';
import { isRoot } from '../helpers.js';
import { ROOT, have, sh, sleep, spawnIn, waitFor, type Proc } from './overlay-netns.js';

const missing = [!isRoot && 'root', !nativeAvailable() && 'native addon (make native)', !have('wg') && 'wg (wireguard-tools)'].filter(Boolean);
const skip = missing.length > 0;
if (skip) console.log(`  skip config-persist: needs ${missing.join(', ')}`);

const TAG = `tcp${process.pid % 10000}`;
const NS = TAG;
const IF = `${TAG}t`;
const API = '127.0.0.1:9598';

const runtime = (config: string, data: string): Proc => spawnIn(NS, [process.execPath, '--import', 'tsx', join(ROOT, 'runtime/main.ts'), '--config', config, '--data', data]);

/** A JSON request to the device API from inside the namespace (set-up mode: loopback needs no session). */
function call(method: string, path: string, body: unknown): { status: number; json: Record<string, unknown> } {
  const js = `fetch('http://${API}${path}', { method: '${method}', headers: { 'content-type': 'application/json' }, body: process.argv[1] })
    .then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, json: await r.json() })))`;
  return JSON.parse(sh(['ip', 'netns', 'exec', NS, process.execPath, '-e', js, JSON.stringify(body)]));
}

const wgPeers = (): string[][] =>
  sh(['ip', 'netns', 'exec', NS, 'wg', 'show', IF, 'dump']).trim().split('\n').slice(1).map((l) => l.split('\t'));

async function stop(p: Proc): Promise<void> {
  if (p.child.exitCode === null) p.child.kill('SIGTERM');
  await Promise.race([p.exited, sleep(5000)]);
  if (p.child.exitCode === null) p.child.kill('SIGKILL');
}

test('peers added through the API and with wg set, and one removed with wg set, are what the restarted runtime runs', async () => {
  if (skip) return;
  const dir = mkdtempSync(join(tmpdir(), 'tfw-persist-'));
  const data = join(dir, 'data');
  mkdirSync(data);
  spawnSync('ip', ['netns', 'del', NS]);
  sh(['ip', 'netns', 'add', NS]);
  sh(['ip', '-n', NS, 'link', 'set', 'lo', 'up']);
  const procs: Proc[] = [];
  try {
    const [me, first, viaApi, viaWg] = [keygen(), keygen(), keygen(), keygen()];
    const cfg = join(dir, 'a.yaml');
    writeFileSync(cfg, `name: ${IF}
privateKey: ${me.privateKey}
listenPort: 51820
address: [10.100.0.1/32]
api: ${API}
peers:
  - publicKey: ${first.publicKey}
    endpoint: 10.0.0.2:51820
    allowedIPs: [10.100.0.2/32]
`, { mode: 0o600 });
    const r1 = runtime(cfg, data);
    procs.push(r1);
    assert.ok(await waitFor(() => r1.out().includes('tfw: ready ') || r1.child.exitCode !== null, 60_000), r1.out());
    assert.ok(r1.out().includes(`tfw: uapi: listening on /var/run/wireguard/${IF}.sock`), r1.out());

    const added = call('POST', '/v1/peers', { publicKey: viaApi.publicKey, endpoint: '10.0.0.3:51820', allowedIPs: ['10.100.0.3/32'] });
    assert.equal(added, { status: 201, json: { persisted: true, restart: [] } });
    sh(['ip', 'netns', 'exec', NS, 'wg', 'set', IF, 'peer', viaWg.publicKey, 'endpoint', '10.0.0.9:51820', 'allowed-ips', '10.100.0.9/32', 'persistent-keepalive', '25']);
    sh(['ip', 'netns', 'exec', NS, 'wg', 'set', IF, 'peer', first.publicKey, 'remove']);
    // A refused set (another listen port) changes nothing, on /data either.
    const refused = spawnSync('ip', ['netns', 'exec', NS, 'wg', 'set', IF, 'listen-port', '4000', 'peer', viaApi.publicKey, 'remove']);
    assert.is.not(refused.status, 0);

    const stored = join(data, 'tfw/config.json');
    const kept = JSON.parse(readFileSync(stored, 'utf8'));
    assert.equal(kept.peers.map((p: { publicKey: string }) => p.publicKey), [viaApi.publicKey, viaWg.publicKey]);
    assert.is(kept.peers[1].persistentKeepalive, 25);
    await stop(r1);
    assert.is(r1.child.exitCode, 0, r1.out());

    // Started again on the stored file, as the init does.
    const r2 = runtime(stored, data);
    procs.push(r2);
    assert.ok(await waitFor(() => r2.out().includes('tfw: ready ') || r2.child.exitCode !== null, 60_000), r2.out());
    assert.ok(await waitFor(() => spawnSync('ip', ['netns', 'exec', NS, 'wg', 'show', IF]).status === 0, 10_000), r2.out());
    const peers = wgPeers();
    assert.equal(peers.map((p) => [p[0], p[2], p[3], p[7]]).sort(), [
      [viaApi.publicKey, '10.0.0.3:51820', '10.100.0.3/32', 'off'],
      [viaWg.publicKey, '10.0.0.9:51820', '10.100.0.9/32', '25'],
    ].sort());
    assert.is(sh(['ip', 'netns', 'exec', NS, 'wg', 'show', IF, 'public-key']).trim(), me.publicKey, 'the same node key');
  } finally {
    for (const p of procs) await stop(p);
    spawnSync('ip', ['netns', 'del', NS]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
