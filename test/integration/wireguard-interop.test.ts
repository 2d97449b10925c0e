/**
 * Interoperability with stock WireGuard (wireguard-go + wg(8)) and tfw <-> tfw,
 * in two network namespaces joined by a veth pair. Needs root, the native addon
 * (TUN, UDP), wireguard-go, wireguard-tools and ping; skips with a message otherwise.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nativeAvailable } from '../../runtime/kernels/native.js';
import { keygen } from '../../host-tools/commands/keygen.js';
import { isRoot } from '../helpers.js';
import { NetnsPair, getStatus, have, ping, sh, sleep, spawnIn, tfwRuntime, waitFor, type Proc } from './overlay-netns.js';

const missing = [!isRoot && 'root', !nativeAvailable() && 'native addon (make native)', ...['wireguard-go', 'wg', 'ping'].filter((b) => !have(b))].filter(Boolean);
const skip = missing.length > 0;
if (skip) console.log(`  skip wireguard-interop: needs ${missing.join(', ')}`);

const WG_PORT = 51821;
const TFW_PORT = 51820;

const PSK = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7)).toString('base64');

function tfwConfig(pair: NetnsPair, key: string, peerPub: string, peerEp: string | null, extra = ''): string {
  return `name: tfo${process.pid % 10000}t
privateKey: ${key}
listenPort: ${TFW_PORT}
address: [10.100.0.1/24]
status: ${pair.dir}/status.sock
peers:
  - publicKey: ${peerPub}
    presharedKey: ${PSK}
${peerEp ? `    endpoint: ${peerEp}\n` : ''}    allowedIPs: [10.100.0.2/32${extra}]
`;
}

async function startWg(pair: NetnsPair, dev: string, key: string, peerPub: string, peerEp: string | null): Promise<Proc> {
  const p = pair.track(spawnIn(pair.b, ['wireguard-go', '-f', dev], { WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1' }));
  const ok = await waitFor(() => {
    try {
      sh(['ip', '-n', pair.b, 'link', 'show', dev]);
      return true;
    } catch {
      return false;
    }
  }, 10_000);
  assert.ok(ok, `wireguard-go did not create ${dev}: ${p.out()}`);
  const keyFile = pair.file(`${dev}.key`, `${key}\n`);
  const pskFile = pair.file(`${dev}.psk`, `${PSK}\n`);
  sh(['ip', 'netns', 'exec', pair.b, 'wg', 'set', dev, 'private-key', keyFile, 'listen-port', String(WG_PORT), 'peer', peerPub, 'preshared-key', pskFile, ...(peerEp ? ['endpoint', peerEp] : []), 'allowed-ips', '10.100.0.1/32']);
  sh(['ip', '-n', pair.b, 'addr', 'add', '10.100.0.2/24', 'dev', dev]);
  sh(['ip', '-n', pair.b, 'link', 'set', dev, 'up']);
  return p;
}

const waitUp = (p: Proc) => waitFor(() => p.out().includes('tfw: overlay: up ') || p.child.exitCode !== null, 30_000);

test('tfw <-> wireguard-go (with a preshared key): handshakes either way, ping both directions, status, SIGHUP, SIGTERM', async () => {
  if (skip) return;
  const pair = new NetnsPair('tfo', 41);
  try {
    const a = keygen(), b = keygen();
    const cfg = pair.file('a.yaml', tfwConfig(pair, a.privateKey, b.publicKey, `${pair.ipB}:${WG_PORT}`));
    const wgDev = `tfo${process.pid % 10000}w`;
    const wg = await startWg(pair, wgDev, b.privateKey, a.publicKey, `${pair.ipA}:${TFW_PORT}`);
    // 1. tfw initiates.
    let tfw = pair.track(tfwRuntime(pair.a, cfg));
    assert.ok(await waitUp(tfw), tfw.out());
    assert.match(tfw.out(), `tfw: overlay: up tfo${process.pid % 10000}t ${a.publicKey}`);
    assert.ok(ping(pair.a, '10.100.0.2'), `ping tfw -> wireguard-go\n${tfw.out()}\n${wg.out()}`);
    assert.ok(ping(pair.b, '10.100.0.1'), 'ping wireguard-go -> tfw');
    const st = await getStatus(`${pair.dir}/status.sock`);
    assert.is(st.publicKey, a.publicKey);
    assert.is(st.listenPort, TFW_PORT);
    assert.is(st.peers[0].publicKey, b.publicKey);
    assert.is(st.peers[0].endpoint, `${pair.ipB}:${WG_PORT}`);
    assert.ok(st.peers[0].lastHandshake > 1_600_000_000 && st.peers[0].rxBytes > 0 && st.peers[0].txBytes > 0, JSON.stringify(st));
    assert.equal(st.routes, [{ prefix: '10.100.0.2/32', via: b.publicKey, metric: 0 }]);
    const wgShow = sh(['ip', 'netns', 'exec', pair.b, 'wg', 'show', wgDev, 'latest-handshakes']);
    assert.ok(Number(wgShow.trim().split(/\s+/)[1]) > 0, `wg show: ${wgShow}`);
    // SIGHUP: a new allowed IP appears, the session stays.
    pair.file('a.yaml', tfwConfig(pair, a.privateKey, b.publicKey, `${pair.ipB}:${WG_PORT}`, ', 10.101.0.0/16'));
    const hs = st.peers[0].lastHandshake;
    tfw.child.kill('SIGHUP');
    assert.ok(await waitFor(() => tfw.out().includes('reloaded')), tfw.out());
    const st2 = await getStatus(`${pair.dir}/status.sock`);
    assert.is(st2.routes.length, 2);
    assert.is(st2.peers[0].lastHandshake, hs);
    assert.ok(ping(pair.a, '10.100.0.2', 1), 'ping after reload');
    // SIGTERM: exit 0, interface gone.
    tfw.child.kill('SIGTERM');
    assert.is(await tfw.exited, 0, tfw.out());
    assert.throws(() => sh(['ip', '-n', pair.a, 'link', 'show', `tfo${process.pid % 10000}t`]));
    // 2. wireguard-go initiates: fresh wireguard-go, tfw without an endpoint for it (roaming peer sends first).
    sh(['ip', '-n', pair.b, 'link', 'del', wgDev]);
    await wg.exited;
    const cfg2 = pair.file('a2.yaml', tfwConfig(pair, a.privateKey, b.publicKey, null));
    tfw = pair.track(tfwRuntime(pair.a, cfg2));
    assert.ok(await waitUp(tfw), tfw.out());
    await startWg(pair, wgDev, b.privateKey, a.publicKey, `${pair.ipA}:${TFW_PORT}`);
    assert.ok(ping(pair.b, '10.100.0.1'), `ping wireguard-go -> tfw (wg initiates)\n${tfw.out()}`);
    assert.ok(ping(pair.a, '10.100.0.2'), 'ping tfw -> wireguard-go (learned endpoint)');
    const st3 = await getStatus(`${pair.dir}/status.sock`);
    assert.is(st3.peers[0].endpoint, `${pair.ipB}:${WG_PORT}`, 'endpoint learned by roaming');
    assert.is(st3.drops.auth + st3.drops.replay + st3.drops.malformed, 0, JSON.stringify(st3.drops));
  } finally {
    await pair.cleanup();
  }
});

test('tfw <-> tfw with mesh: IPv4 and the 400::/7 node addresses both ways', async () => {
  if (skip) return;
  const pair = new NetnsPair('tfm', 42);
  try {
    const a = keygen(), b = keygen();
    const conf = (k: typeof a, peer: typeof a, addr: string, peerAddr: string, ep: string) => `name: tfm${process.pid % 10000}t
privateKey: ${k.privateKey}
listenPort: ${TFW_PORT}
address: [${addr}/24]
mesh: true
status: ${pair.dir}/${addr}.sock
peers:
  - publicKey: ${peer.publicKey}
    endpoint: ${ep}:${TFW_PORT}
    allowedIPs: [${peerAddr}/32]
`;
    const ta = pair.track(tfwRuntime(pair.a, pair.file('a.yaml', conf(a, b, '10.100.0.1', '10.100.0.2', pair.ipB))));
    const tb = pair.track(tfwRuntime(pair.b, pair.file('b.yaml', conf(b, a, '10.100.0.2', '10.100.0.1', pair.ipA))));
    assert.ok(await waitUp(ta), ta.out());
    assert.ok(await waitUp(tb), tb.out());
    assert.ok(ping(pair.a, '10.100.0.2'), `ping a -> b\n${ta.out()}\n${tb.out()}`);
    assert.ok(ping(pair.b, '10.100.0.1'), 'ping b -> a');
    const addrB = b.myceliumAddress;
    const addrA = a.myceliumAddress;
    assert.ok(ping(pair.a, addrB), `ping a -> ${addrB}`);
    assert.ok(ping(pair.b, addrA), `ping b -> ${addrA}`);
    const st = await getStatus(`${pair.dir}/10.100.0.1.sock`);
    assert.ok(st.routes.some((r: { prefix: string }) => r.prefix === b.address), JSON.stringify(st.routes));
  } finally {
    await pair.cleanup();
  }
});

test('tfw runtime exits non-zero naming the field for a bad config', async () => {
  if (skip) return;
  const pair = new NetnsPair('tfb', 43);
  try {
    const { privateKey } = keygen();
    const p = pair.track(tfwRuntime(pair.a, pair.file('bad.yaml', `privateKey: ${privateKey}\npeers:\n  - publicKey: nope\n`)));
    assert.is(await p.exited, 1);
    assert.match(p.out(), 'peers.0.publicKey: expected base64 of 32 bytes');
  } finally {
    await pair.cleanup();
  }
  await sleep(0);
});

test.run();
