// One TUN for both kinds of links (overlay/index.ts `joinMycelium`,
// docs/overlay.md): node A runs the WireGuard overlay (mesh) with B as its
// WireGuard peer and a Mycelium node linked to C by TCP. A opens one TUN,
// not two, carrying its one address; from it A reaches B (WireGuard) and C
// (Mycelium), and B and C both reach A. Three namespaces in a V (B - A - C):
// A runs a host's `tfw runtime --config` (which starts the Mycelium section
// too), B and C the image runtime (runtime/main.ts); bounded waits. Root only.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { isRoot } from '../helpers.js';
import { ROOT, have, sh, spawnIn, tfwRuntime, waitFor, type Proc, vethLink } from './overlay-netns.js';
import { generatePrivateKey, publicKeyFromPrivate, toBase64 } from '../../runtime/overlay/wireguard/keys.js';
import { overlayAddress } from '../../runtime/overlay/address.js';

const ready = isRoot && have('ip') && have('ping') && existsSync('/dev/net/tun');

test('A with mesh and mycelium: one TUN, one address; A <-> B over WireGuard and A <-> C over Mycelium', async () => {
  if (!ready) {
    console.log('  (needs root, ip, ping and /dev/net/tun: skipped)');
    return;
  }
  const id = `${process.pid % 10000}`;
  const ns = { A: `maA${id}`, B: `maB${id}`, C: `maC${id}` };
  const tun = { wgA: `ma${id}ta`, mycA: `ma${id}ma`, wgB: `ma${id}tb`, mycC: `ma${id}mc` };
  const dir = mkdtempSync(join(tmpdir(), 'tfw-ma-'));
  const procs: Proc[] = [];
  try {
    for (const n of Object.values(ns)) {
      sh(['ip', 'netns', 'add', n]);
      sh(['ip', '-n', n, 'link', 'set', 'lo', 'up']);
    }
    const veth = (a: string, b: string, ia: string, ib: string, net: string) => vethLink(a, b, ia, ib, `${net}.1`, `${net}.2`);
    veth(ns.A, ns.B, 'maab0', 'maab1', '10.96.1');
    veth(ns.A, ns.C, 'maac0', 'maac1', '10.96.2');

    const keys = { A: generatePrivateKey(), B: generatePrivateKey(), C: generatePrivateKey() };
    const pub = (k: Uint8Array) => toBase64(publicKeyFromPrivate(k));
    const addr = { A: overlayAddress(publicKeyFromPrivate(keys.A)), B: overlayAddress(publicKeyFromPrivate(keys.B)), C: overlayAddress(publicKeyFromPrivate(keys.C)) };
    const file = (name: string, cfg: object) => {
      const f = join(dir, `${name}.json`);
      writeFileSync(f, JSON.stringify(cfg), { mode: 0o600 });
      return f;
    };
    const run = (n: keyof typeof ns, cfg: object, args: string[] = []) => {
      const p = spawnIn(ns[n], [process.execPath, '--import', 'tsx', join(ROOT, 'runtime/main.ts'), ...args, '--config', file(n, cfg)]);
      procs.push(p);
      return p;
    };
    const C = run('C', { privateKey: toBase64(keys.C), mycelium: { listen: ['tcp://[::]:9651'], peers: [], discovery: false, tun: tun.mycC } }, ['--no-overlay']);
    const B = run('B', { name: tun.wgB, privateKey: toBase64(keys.B), listenPort: 51820, mesh: true, peers: [{ publicKey: pub(keys.A), endpoint: '10.96.1.1:51820', allowedIPs: [], persistentKeepalive: 1 }] });
    // A runs as a host's `tfw runtime --config` (the README's command), B and C as images do.
    const A = tfwRuntime(ns.A, file('A', {
      name: tun.wgA, privateKey: toBase64(keys.A), listenPort: 51820, mesh: true,
      peers: [{ publicKey: pub(keys.B), endpoint: '10.96.1.2:51820', allowedIPs: [], persistentKeepalive: 1 }],
      mycelium: { listen: ['tcp://[::]:9651'], peers: ['tcp://10.96.2.2:9651'], discovery: false, tun: tun.mycA },
    }));
    procs.push(A);
    const all = () => `A:\n${A.out()}\nB:\n${B.out()}\nC:\n${C.out()}`;
    assert.ok(await waitFor(() => [B, C].every((p) => /tfw: ready/.test(p.out())) && /tfw: overlay: up /.test(A.out()) && /tfw: mycelium: up /.test(A.out()), 60_000), `ready:\n${all()}`);

    // One TUN on A, with A's one address; the Mycelium node shares it.
    const links = spawnSync('ip', ['-n', ns.A, '-o', 'link', 'show'], { encoding: 'utf8' }).stdout;
    assert.ok(links.includes(tun.wgA), links);
    assert.not.ok(links.includes(tun.mycA), `no second TUN for Mycelium:\n${links}`);
    assert.match(A.out(), new RegExp(`tfw: mycelium: tun ${tun.wgA} `));
    const addrs = spawnSync('ip', ['-n', ns.A, '-6', '-o', 'addr', 'show'], { encoding: 'utf8' }).stdout;
    assert.is(addrs.split('\n').filter((l) => l.includes(` ${addr.A}/`)).length, 1, addrs);
    assert.match(addrs, new RegExp(`${tun.wgA}\\s+inet6 ${addr.A}/64`));

    const ping = (from: keyof typeof ns, to: string) => spawnSync('ip', ['netns', 'exec', ns[from], 'ping', '-6', '-c', '1', '-W', '1', to]).status === 0;
    assert.ok(await waitFor(() => ping('A', addr.B), 40_000), `A -> B over WireGuard (${addr.B})\n${all()}`);
    assert.ok(await waitFor(() => ping('A', addr.C), 40_000), `A -> C over Mycelium (${addr.C})\n${all()}`);
    assert.ok(await waitFor(() => ping('C', addr.A), 20_000), `C -> A over Mycelium (${addr.A})\n${all()}`);
    assert.ok(await waitFor(() => ping('B', addr.A), 20_000), `B -> A over WireGuard (${addr.A})\n${all()}`);

    for (const p of procs) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exited));
    const line = /tfw: mycelium: counters (\{.*\})/.exec(A.out());
    assert.ok(line, `A logs its Mycelium counters at exit:\n${A.out()}`);
    const counters = JSON.parse(line![1]);
    assert.ok(counters.sent >= 2 && counters.delivered >= 2, `A's Mycelium node sent ${counters.sent}, delivered ${counters.delivered}`);
  } finally {
    for (const p of procs) p.child.kill('SIGKILL');
    for (const n of Object.values(ns)) spawnSync('ip', ['netns', 'del', n]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
