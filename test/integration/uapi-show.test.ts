/**
 * The WireGuard UAPI socket, `tfw show` and GET /metrics against two image
 * runtimes (runtime/main.ts) in network namespaces joined by a veth pair,
 * checked with Debian's wireguard-tools: `wg show <if> dump` equals
 * `tfw show --json` field for field, `wg set` adds, changes and removes peers
 * live (kernel routes follow), a refused set changes nothing, and the metrics
 * parse strictly and equal /v1/status. Needs root, the native addon and wg.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { keygen } from '../../host-tools/commands/keygen.js';
import { nativeAvailable } from '../../runtime/kernels/native.js';
import { isRoot } from '../helpers.js';
import { NetnsPair, ROOT, have, ping, sh, spawnIn, tfwRuntime, waitFor, type Proc } from './overlay-netns.js';

const missing = [!isRoot && 'root', !nativeAvailable() && 'native addon (make native)', ...['wg', 'ping'].filter((b) => !have(b))].filter(Boolean);
const skip = missing.length > 0;
if (skip) console.log(`  skip uapi-show: needs ${missing.join(', ')}`);

const API = '127.0.0.1:9597';
const tag = `tfu${process.pid % 10000}`;
const IF_A = `${tag}a`, IF_B = `${tag}b`;

const runtime = (pair: NetnsPair, ns: string, config: string): Proc =>
  pair.track(spawnIn(ns, [process.execPath, '--import', 'tsx', join(ROOT, 'runtime/main.ts'), '--config', config]));

/** Runs argv inside `ns`; returns stdout, throws with stderr on failure. */
const inNs = (ns: string, argv: string[]): string => sh(['ip', 'netns', 'exec', ns, ...argv]);
const tfwIn = (ns: string, args: string[]) => spawnSync('ip', ['netns', 'exec', ns, process.execPath, join(ROOT, 'host-tools/bin/tfw.mjs'), ...args], { encoding: 'utf8' });
/** GET http://API<path> from inside `ns` (the API listens on that namespace's loopback). */
const httpGet = (ns: string, path: string): string =>
  inNs(ns, [process.execPath, '-e', `fetch('http://${API}${path}').then(async r => { if (!r.ok) process.exit(2); process.stdout.write(await r.text()) })`]);

/** `wg show <if> dump` parsed into the field names of `tfw show --json`. */
function wgDump(name: string) {
  const [iface, ...peers] = sh(['wg', 'show', name, 'dump']).trim().split('\n').map((l) => l.split('\t'));
  const none = (v: string) => (v === '(none)' ? null : v);
  return {
    interface: name,
    privateKey: iface[0],
    publicKey: iface[1],
    listenPort: Number(iface[2]),
    fwmark: iface[3] === 'off' ? 0 : Number(iface[3]),
    peers: peers.map((p) => ({
      publicKey: p[0],
      presharedKey: none(p[1]),
      endpoint: none(p[2]),
      allowedIPs: p[3] === '(none)' ? [] : p[3].split(','),
      latestHandshake: Number(p[4]),
      transferRx: Number(p[5]),
      transferTx: Number(p[6]),
      persistentKeepalive: p[7] === 'off' ? 0 : Number(p[7]),
    })),
  };
}

const byKey = <T extends { publicKey: string }>(a: T[]) => [...a].sort((x, y) => x.publicKey.localeCompare(y.publicKey));

test('wg(8) and tfw show read the runtime through the UAPI socket; wg set changes it live; /metrics matches /v1/status', async () => {
  if (skip) return;
  const pair = new NetnsPair('tfu', 43);
  try {
    const a = keygen(), b = keygen();
    const cfgA = pair.file('a.yaml', `name: ${IF_A}\nprivateKey: ${a.privateKey}\nlistenPort: 51820\naddress: [10.100.0.1/24]\napi: ${API}\npeers:\n  - publicKey: ${b.publicKey}\n    endpoint: ${pair.ipB}:51820\n    allowedIPs: [10.100.0.2/32]\n`);
    const cfgB = pair.file('b.yaml', `name: ${IF_B}\nprivateKey: ${b.privateKey}\nlistenPort: 51820\naddress: [10.100.0.2/24]\npeers:\n  - publicKey: ${a.publicKey}\n    endpoint: ${pair.ipA}:51820\n    allowedIPs: [10.100.0.1/32]\n`);
    // a: the image runtime (runtime/main.ts, with the device API); b: `tfw runtime` on a host.
    const ra = runtime(pair, pair.a, cfgA), rb = pair.track(tfwRuntime(pair.b, cfgB));
    assert.ok(await waitFor(() => ra.out().includes('tfw: ready') || ra.child.exitCode !== null, 60_000), ra.out());
    assert.ok(await waitFor(() => rb.out().includes(`tfw: uapi: listening on /var/run/wireguard/${IF_B}.sock`) || rb.child.exitCode !== null, 60_000), rb.out());
    assert.ok(ra.out().includes(`tfw: uapi: listening on /var/run/wireguard/${IF_A}.sock`), ra.out());
    assert.ok(ping(pair.a, '10.100.0.2'), `ping over the overlay failed:\n${ra.out()}\n${rb.out()}`);

    // wg show dump == tfw show --json, taken between two equal dumps (a keepalive may move the counters).
    let compared = false;
    for (let i = 0; i < 5 && !compared; i++) {
      const before = wgDump(IF_A);
      const r = tfwIn(pair.a, ['show', IF_A, '--json']);
      assert.is(r.status, 0, r.stderr);
      if (JSON.stringify(wgDump(IF_A)) !== JSON.stringify(before)) continue;
      assert.equal(JSON.parse(r.stdout), before);
      compared = true;
    }
    assert.ok(compared, 'the interface never held still for a comparison');
    const dump = wgDump(IF_A);
    assert.is(dump.publicKey, a.publicKey);
    assert.is(dump.privateKey, a.privateKey);
    assert.is(dump.listenPort, 51820);
    assert.is(dump.peers.length, 1);
    assert.ok(dump.peers[0].latestHandshake > 0 && dump.peers[0].transferRx > 0 && dump.peers[0].transferTx > 0, JSON.stringify(dump));
    assert.is(dump.peers[0].endpoint, `${pair.ipB}:51820`);
    // `tfw runtime` serves the socket too: b's view of the same session.
    const dumpB = wgDump(IF_B);
    assert.equal(dumpB.peers.map((p) => [p.publicKey, p.latestHandshake > 0, p.transferRx > 0]), [[a.publicKey, true, true]]);

    // Plain output: wg's layout.
    const plain = tfwIn(pair.a, ['show', IF_A]);
    assert.is(plain.status, 0, plain.stderr);
    assert.match(plain.stdout, new RegExp(`^interface: ${IF_A}\\n  public key: ${a.publicKey.replace(/[+/]/g, '\\$&')}\\n  private key: \\(hidden\\)\\n  listening port: 51820\\n\\npeer: `));
    assert.match(plain.stdout, /\n  allowed ips: 10\.100\.0\.2\/32\n  latest handshake: .*(ago|Now)\n  transfer: .* received, .* sent\n/);
    // Line for line what wg show prints (the handshake age may tick between the two calls).
    const age = (t: string) => t.replace(/latest handshake: .*/, 'latest handshake: (age)');
    let same = false;
    for (let i = 0; i < 3 && !same; i++) same = age(tfwIn(pair.a, ['show', IF_A]).stdout) === age(sh(['wg', 'show', IF_A]));
    assert.ok(same, `tfw show differs from wg show:\n${plain.stdout}\n${sh(['wg', 'show', IF_A])}`);
    // Kept for the README and for eyes: tfw show next to wg show.
    mkdirSync(join(ROOT, 'build/test'), { recursive: true });
    writeFileSync(join(ROOT, 'build/test/tfw-show.txt'), `$ tfw show ${IF_A}\n${plain.stdout}\n$ wg show ${IF_A}\n${sh(['wg', 'show', IF_A])}`);

    // tfw show --device reads /v1/status: same peers and counters as the UAPI view (private key withheld).
    const dev = tfwIn(pair.a, ['show', '--device', `http://${API}`, '--json']);
    assert.is(dev.status, 0, dev.stderr);
    const viaApi = JSON.parse(dev.stdout);
    assert.is(viaApi.publicKey, a.publicKey);
    assert.is(viaApi.privateKey, null);
    assert.equal(viaApi.peers.map((p: any) => [p.publicKey, p.endpoint, p.latestHandshake, p.allowedIPs, p.persistentKeepalive]), dump.peers.map((p) => [p.publicKey, p.endpoint, p.latestHandshake, p.allowedIPs, p.persistentKeepalive]));

    // wg set: a new peer with a preshared key, endpoint and keepalive; the kernel route follows.
    const c = keygen(), psk = keygen().privateKey;
    const pskFile = pair.file('psk', `${psk}\n`);
    sh(['wg', 'set', IF_A, 'peer', c.publicKey, 'allowed-ips', '10.100.0.9/32,10.100.9.0/24', 'endpoint', `${pair.ipB}:51999`, 'persistent-keepalive', '25', 'preshared-key', pskFile]);
    let added = wgDump(IF_A).peers.find((p) => p.publicKey === c.publicKey);
    assert.equal(added && { ...added, latestHandshake: 0, transferRx: 0, transferTx: 0 }, {
      publicKey: c.publicKey, presharedKey: psk, endpoint: `${pair.ipB}:51999`, allowedIPs: ['10.100.0.9/32', '10.100.9.0/24'],
      latestHandshake: 0, transferRx: 0, transferTx: 0, persistentKeepalive: 25,
    });
    assert.match(inNs(pair.a, ['ip', 'route', 'show', 'dev', IF_A]), '10.100.9.0/24');
    // Replace its allowed IPs (wg set ... allowed-ips sends replace_allowed_ips), then remove it.
    sh(['wg', 'set', IF_A, 'peer', c.publicKey, 'allowed-ips', '10.100.0.10/32']);
    added = wgDump(IF_A).peers.find((p) => p.publicKey === c.publicKey);
    assert.equal(added?.allowedIPs, ['10.100.0.10/32']);
    assert.not.match(inNs(pair.a, ['ip', 'route', 'show', 'dev', IF_A]), '10.100.9.0/24');
    sh(['wg', 'set', IF_A, 'peer', c.publicKey, 'remove']);
    assert.equal(wgDump(IF_A).peers.map((p) => p.publicKey), [b.publicKey]);

    // A refused set (another listen port needs a restart) changes nothing, not even the peer in the same request.
    const before = byKey(wgDump(IF_A).peers).map((p) => p.publicKey);
    const bad = spawnSync('wg', ['set', IF_A, 'listen-port', '4000', 'peer', c.publicKey, 'allowed-ips', '10.100.0.11/32'], { encoding: 'utf8' });
    assert.is.not(bad.status, 0);
    assert.equal(byKey(wgDump(IF_A).peers).map((p) => p.publicKey), before);
    assert.ok(await waitFor(() => ra.out().includes('tfw: uapi: set=1 refused: listen_port'), 5000), ra.out());
    // The tunnel to b still works after the edits (b's session was kept).
    assert.ok(ping(pair.a, '10.100.0.2', 1));

    // /metrics: strict exposition lines, values equal to /v1/status taken around the scrape.
    let checked = false;
    for (let i = 0; i < 5 && !checked; i++) {
      const s1 = JSON.parse(httpGet(pair.a, '/v1/status')).overlay;
      const text = httpGet(pair.a, '/metrics');
      const s2 = JSON.parse(httpGet(pair.a, '/v1/status')).overlay;
      if (JSON.stringify(s1.peers) !== JSON.stringify(s2.peers) || JSON.stringify(s1.drops) !== JSON.stringify(s2.drops)) continue;
      const samples = new Map<string, number>();
      for (const line of text.trimEnd().split('\n')) {
        if (line === '') continue; // blank lines separate families (allowed by the format)
        if (line.startsWith('# ')) {
          assert.match(line, /^# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped))$/);
          continue;
        }
        // prom-client writes NaN as `Nan` (an empty event-loop histogram); Prometheus reads values with Go's
        // strconv.ParseFloat, which takes any case.
        const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})?) (-?[0-9.e+-]+|NaN|Nan|[+-]Inf)$/.exec(line);
        assert.ok(m, `not an exposition line: ${JSON.stringify(line)}`);
        samples.set(m![1], Number(m![2]));
      }
      const peer = s1.peers[0];
      assert.is(samples.get(`tfw_peer_receive_bytes_total{public_key="${peer.publicKey}"}`), peer.rxBytes);
      assert.is(samples.get(`tfw_peer_transmit_bytes_total{public_key="${peer.publicKey}"}`), peer.txBytes);
      assert.is(samples.get(`tfw_peer_last_handshake_seconds{public_key="${peer.publicKey}"}`), peer.lastHandshake);
      for (const [reason, n] of Object.entries(s1.drops)) assert.is(samples.get(`tfw_drops_total{reason="${reason}"}`), n, reason);
      assert.is(samples.get('tfw_routes'), s1.routes.length);
      assert.is(samples.get('tfw_peers'), 1);
      assert.ok((samples.get('tfw_handshakes_completed_total') ?? 0) >= 1);
      assert.ok([...samples.keys()].some((k) => /^tfw_kernel_backend_info\{kernel="aead",backend="[a-z-:]+"\}$/.test(k)), 'aead backend');
      assert.ok(samples.has('process_resident_memory_bytes'), 'default process metrics');
      checked = true;
    }
    assert.ok(checked, 'the status never held still for a comparison');
  } finally {
    await pair.cleanup();
  }
  // The runtimes remove their sockets when they stop.
  assert.not.ok(spawnSync('test', ['-e', `/var/run/wireguard/${IF_A}.sock`]).status === 0, 'socket left behind');
});

test.run();
