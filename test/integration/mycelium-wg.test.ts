// Mycelium over WireGuard links (docs/overlay.md "Mycelium over WireGuard
// links"; overlay/index.ts joinMycelium `overWireGuard`): every node runs the
// WireGuard overlay and a `mycelium:` section, and its Mycelium node links to
// each WireGuard peer at tcp://[<peer address>]:9651 through the tunnel.
// 1. A -WG- B -WG- C, no Mycelium TCP peers configured and no mesh: A pings C
//    with a marker payload (20 x 1,000 bytes) and gets replies; a capture of
//    B's TUN (where B's Mycelium node reads the TCP link traffic) never holds
//    the marker and stays small (the data frames go as WireGuard datagrams,
//    mycelium/wg-datagram.ts, relayed inside B's device: only control crosses
//    the TCP links), A's TUN holds it (control), and B's Mycelium counters show
//    the packets relayed as datagrams. A's 400::/7 route has MTU 1,348 and
//    1,400-byte echoes (fragmented by A's kernel) all come back. A burst of
//    400 echoes (64 in flight) comes back intact. C uses the node:crypto
//    engine (TFW_MYCELIUM_GCM=node), A the default: the boxes cross engines.
// 2. A -WG- B -TCP- C (C runs Mycelium only): A pings C and C pings A, so B
//    routes between a WireGuard link and a Mycelium TCP link.
// 3. Line 1 with `mesh: true` too: with Babel's hop-by-hop route to C's /64 on
//    A, A's echoes to C still go end to end: B's Mycelium node relays them
//    (its datagram counter), which Babel's hop-by-hop path never reaches.
// 4. Line 1 with `mesh: true` ONLY (no mycelium section, no persistentKeepalive
//    anywhere; the Babel Hellos bring the tunnels up): the mesh default runs
//    Mycelium over the links, listening on each node's overlay address only;
//    once routes converge A's echoes to C carry the marker end to end: never on
//    B's TUN, B relays them as datagrams and opens none. The control, the same
//    line with `mycelium: false`: no Mycelium node, B's WireGuard device opens and
//    re-seals (hop by hop), A's status has no endToEnd counters.
// Real TUNs in network namespaces (NetnsLine), the image runtime in each;
// bounded waits. Root only.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { isRoot } from '../helpers.js';
import { NetnsLine, ROOT, getStatus, have, sleep, spawnIn, waitFor, type Proc } from './overlay-netns.js';
import { generatePrivateKey, publicKeyFromPrivate, toBase64 } from '../../runtime/overlay/wireguard/keys.js';
import { overlayAddress, overlaySubnet } from '../../runtime/overlay/address.js';

const MARKER = 'tfw-wg-e2e-mark7';
const MARKER_HEX = Buffer.from(MARKER).toString('hex'); // 16 bytes: ping -p takes at most 16

const ready = isRoot && have('ip') && have('tcpdump') && have('ping') && existsSync('/dev/net/tun');

type Name = 'A' | 'B' | 'C';

/** Keys, addresses and a runner for a line's three nodes (runtime/main.ts in each namespace). */
function nodes(line: NetnsLine) {
  const keys = { A: generatePrivateKey(), B: generatePrivateKey(), C: generatePrivateKey() };
  const pub = (n: Name) => toBase64(publicKeyFromPrivate(keys[n]));
  const addr = (n: Name) => overlayAddress(publicKeyFromPrivate(keys[n]));
  const ns = { A: line.a, B: line.b, C: line.c };
  const id = `${process.pid % 10000}`;
  const tun = (n: Name) => `ew${id}t${n.toLowerCase()}`;
  const run = (n: Name, cfg: object, args: string[] = [], env: Record<string, string> = {}): Proc =>
    line.track(spawnIn(ns[n], [process.execPath, '--import', 'tsx', join(ROOT, 'runtime/main.ts'), ...args, '--config',
      line.file(`${n}.json`, JSON.stringify({ privateKey: toBase64(keys[n]), ...cfg }))], env));
  const wgPeer = (n: Name, endpoint: string) => ({ publicKey: pub(n), endpoint: `${endpoint}:51820`, allowedIPs: [], persistentKeepalive: 1 });
  // No discovery: the nodes must not find each other on the veths, only through the tunnels.
  const myc = (peers: string[] = [], extra: object = {}) => ({ listen: ['tcp://[::]:9651'], peers, discovery: false, ...extra });
  const ping = (from: Name, to: string) => spawnSync('ip', ['netns', 'exec', ns[from], 'ping', '-6', '-c', '1', '-W', '1', to]).status === 0;
  return { keys, addr, ns, tun, run, wgPeer, myc, ping };
}

const counters = (out: string) => {
  const m = /tfw: mycelium: counters (\{.*\})/.exec(out);
  return m ? JSON.parse(m[1]) : null;
};

test('A -WG- B -WG- C with mycelium: A reaches C end to end; B relays ciphertext, the marker never shows on its TUN', async () => {
  if (!ready) {
    console.log('  (needs root, ip, tcpdump, ping and /dev/net/tun: skipped)');
    return;
  }
  const line = new NetnsLine('ew', 71);
  let dumpB: Proc | undefined;
  let dumpA: Proc | undefined;
  try {
    const { addr, ns, tun, run, wgPeer, myc, ping } = nodes(line);
    const B = run('B', { name: tun('B'), listenPort: 51820, peers: [wgPeer('A', line.ipAB), wgPeer('C', line.ipCB)], mycelium: myc() });
    const A = run('A', { name: tun('A'), listenPort: 51820, peers: [wgPeer('B', line.ipBA)], mycelium: myc() });
    // C seals and opens with node:crypto (the fallback engine), A with the default (native when the addon has it):
    // every echo crosses engines both ways.
    const C = run('C', { name: tun('C'), listenPort: 51820, peers: [wgPeer('B', line.ipBC)], mycelium: myc() }, [], { TFW_MYCELIUM_GCM: 'node' });
    const all = () => `A:\n${A.out()}\nB:\n${B.out()}\nC:\n${C.out()}`;
    assert.ok(await waitFor(() => [A, B, C].every((p) => /tfw: ready/.test(p.out()) && /tfw: mycelium: up /.test(p.out())), 60_000), `ready:\n${all()}`);

    // Converged once one ping gets through (links dialled through the tunnels, routes learned).
    assert.ok(await waitFor(() => ping('A', addr('C')), 90_000), `A reaches C (${addr('C')}) through B\n${all()}`);

    // Capture B's TUN (the Mycelium links' TCP segments, in clear inside the tunnels) and A's TUN (control).
    dumpB = spawnIn(ns.B, ['tcpdump', '-i', tun('B'), '-U', '-s', '0', '-w', join(line.dir, 'b.pcap')]);
    dumpA = spawnIn(ns.A, ['tcpdump', '-i', tun('A'), '-U', '-s', '0', '-w', join(line.dir, 'a.pcap')]);
    assert.ok(await waitFor(() => /listening on/.test(dumpA!.out()) && /listening on/.test(dumpB!.out()), 10_000), `tcpdump:\n${dumpA.out()}\n${dumpB.out()}`);
    const r = spawnSync('ip', ['netns', 'exec', ns.A, 'ping', '-6', '-c', '20', '-i', '0.05', '-s', '1000', '-W', '2', '-p', MARKER_HEX, addr('C')], { encoding: 'utf8' });
    const m = /(\d+) received/.exec(r.stdout);
    assert.ok(m && Number(m[1]) >= 18, `ping A -> C: ${r.stdout}${r.stderr}`);
    await sleep(300);
    for (const d of [dumpA, dumpB]) d.child.kill('SIGINT');
    await Promise.all([dumpA.exited, dumpB.exited]);
    dumpA = dumpB = undefined;
    const capA = readFileSync(join(line.dir, 'a.pcap')), capB = readFileSync(join(line.dir, 'b.pcap'));
    assert.ok(capA.includes(Buffer.from(MARKER)), "control: the marker is visible on A's TUN");
    assert.ok(capA.length > 30_000, `A's TUN carried the echoes (${capA.length} bytes captured)`);
    assert.not.ok(capB.includes(Buffer.from(MARKER)), "the marker appears on B's TUN");
    // 40 KB of echoes crossed B; its TUN (the TCP links) saw at most a few Hellos and acks.
    assert.ok(capB.length < 8000, `B's TUN carried ${capB.length} bytes: data went on the TCP links, not as datagrams`);

    // The MTU rule: 400::/7 has route MTU 1,348 (1,420 - 72), so A's kernel fragments a 1,448-byte echo
    // before the TUN and every fragment fits one datagram frame: all three come back, no too-big drop.
    // A burst (64 echoes in flight, several receive batches per wake-up): packets are opened in place in the
    // receive slots, so one written to the TUN after its slot took the next batch would come back garbled.
    const burst = spawnSync('ip', ['netns', 'exec', ns.A, 'ping', '-6', '-c', '400', '-l', '64', '-i', '0', '-s', '1200', '-W', '2', '-p', MARKER_HEX, addr('C')], { encoding: 'utf8' });
    const got = /(\d+) received/.exec(burst.stdout);
    assert.ok(got && Number(got[1]) >= 300, `burst A -> C: ${burst.stdout.slice(-400)}${burst.stderr}`);
    assert.not.match(burst.stdout, /wrong data byte|DUP!/, 'every echo came back as sent');
    const route = spawnSync('ip', ['-n', ns.A, '-6', 'route', 'show', '400::/7'], { encoding: 'utf8' }).stdout;
    assert.match(route, /mtu 1348/, `A's 400::/7 route: ${route}`);
    const big = spawnSync('ip', ['netns', 'exec', ns.A, 'ping', '-6', '-c', '3', '-i', '0.2', '-W', '2', '-s', '1400', addr('C')], { encoding: 'utf8' });
    assert.match(big.stdout, / 3 received/, `ping -s 1400 A -> C: ${big.stdout}${big.stderr}`);

    for (const p of [A, B, C]) p.child.kill('SIGTERM');
    await Promise.all([A, B, C].map((p) => p.exited));
    const b = counters(B.out()), a = counters(A.out());
    assert.is(a.drops['too-big'], 0, 'no packet of A was too big for a datagram frame');
    assert.ok(b && a, `counters at exit:\n${all()}`);
    assert.ok(b.relayed >= 40, `B relayed ${b.relayed} (>= 20 requests + 20 replies)`);
    assert.ok(b.datagrams.relayed >= 40, `B relayed ${b.datagrams.relayed} as WireGuard datagrams`);
    assert.is(b.delivered, 0, 'nothing was opened at B');
    assert.ok(a.sent >= 20 && a.datagrams.sent >= 20, `A's Mycelium node sealed ${a.sent}, ${a.datagrams.sent} as datagrams`);
    assert.is(b.drops['datagram-malformed'] + b.drops['datagram-no-link'], 0, `B's datagram drops: ${JSON.stringify(b.drops)}`);
  } finally {
    dumpA?.child.kill('SIGINT');
    dumpB?.child.kill('SIGINT');
    await line.cleanup();
  }
});

test('A -WG- B -TCP- C: B routes between a WireGuard link and a Mycelium TCP link, both ways', async () => {
  if (!ready) {
    console.log('  (needs root, ip, tcpdump, ping and /dev/net/tun: skipped)');
    return;
  }
  const line = new NetnsLine('ew', 73);
  try {
    const { addr, tun, run, wgPeer, myc, ping } = nodes(line);
    const C = run('C', { mycelium: myc([], { tun: tun('C') }) }, ['--no-overlay']);
    const B = run('B', { name: tun('B'), listenPort: 51820, peers: [wgPeer('A', line.ipAB)], mycelium: myc([`tcp://${line.ipCB}:9651`]) });
    const A = run('A', { name: tun('A'), listenPort: 51820, peers: [wgPeer('B', line.ipBA)], mycelium: myc() });
    const all = () => `A:\n${A.out()}\nB:\n${B.out()}\nC:\n${C.out()}`;
    assert.ok(await waitFor(() => [A, B, C].every((p) => /tfw: ready/.test(p.out()) && /tfw: mycelium: up /.test(p.out())), 60_000), `ready:\n${all()}`);
    assert.ok(await waitFor(() => ping('A', addr('C')), 90_000), `A -> C (WireGuard, then Mycelium TCP)\n${all()}`);
    assert.ok(await waitFor(() => ping('C', addr('A')), 30_000), `C -> A (Mycelium TCP, then WireGuard)\n${all()}`);

    for (const p of [A, B, C]) p.child.kill('SIGTERM');
    await Promise.all([A, B, C].map((p) => p.exited));
    const b = counters(B.out());
    assert.ok(b && b.relayed >= 4, `B relayed ${b?.relayed} between the links\n${B.out()}`);
  } finally {
    await line.cleanup();
  }
});

test('A -WG- B -WG- C with mesh: true and mycelium: the end-to-end route wins over the Babel one', async () => {
  if (!ready) {
    console.log('  (needs root, ip, tcpdump, ping and /dev/net/tun: skipped)');
    return;
  }
  const line = new NetnsLine('ew', 75);
  try {
    const { keys, addr, ns, tun, run, wgPeer, myc, ping } = nodes(line);
    const mesh = { listenPort: 51820, mesh: true };
    const B = run('B', { name: tun('B'), ...mesh, peers: [wgPeer('A', line.ipAB), wgPeer('C', line.ipCB)], mycelium: myc() });
    const statusA = join(line.dir, 'a.sock');
    const A = run('A', { name: tun('A'), ...mesh, status: statusA, peers: [wgPeer('B', line.ipBA)], mycelium: myc() });
    const C = run('C', { name: tun('C'), ...mesh, peers: [wgPeer('B', line.ipBC)], mycelium: myc() });
    const all = () => `A:\n${A.out()}\nB:\n${B.out()}\nC:\n${C.out()}`;
    assert.ok(await waitFor(() => [A, B, C].every((p) => /tfw: ready/.test(p.out()) && /tfw: mycelium: up /.test(p.out())), 60_000), `ready:\n${all()}`);
    assert.ok(await waitFor(() => ping('A', addr('C')), 90_000), `A reaches C\n${all()}`);
    // Babel has its hop-by-hop route to C's /64 through B on A's device (metric > 0) ...
    const subnetC = overlaySubnet(publicKeyFromPrivate(keys.C));
    const babelRoute = async () => ((await getStatus(statusA).catch(() => ({ routes: [] }))).routes as { prefix: string; via: string | null; metric: number }[])
      .some((r) => r.prefix === subnetC && r.metric > 0);
    assert.ok(await waitFor(babelRoute, 60_000), `A's Babel routes ${subnetC} via B:\n${JSON.stringify((await getStatus(statusA)).routes)}`);
    // ... yet A's echoes to C go end to end: B's Mycelium node relays them (as WireGuard datagrams),
    // where Babel's hop-by-hop path is forwarded inside B's WireGuard device and never reaches it.
    const r = spawnSync('ip', ['netns', 'exec', ns.A, 'ping', '-6', '-c', '20', '-i', '0.05', '-W', '2', '-s', '1200', addr('C')], { encoding: 'utf8' });
    const m = /(\d+) received/.exec(r.stdout);
    assert.ok(m && Number(m[1]) >= 18, `ping A -> C: ${r.stdout}${r.stderr}`);
    for (const p of [A, B, C]) p.child.kill('SIGTERM');
    await Promise.all([A, B, C].map((p) => p.exited));
    const b = counters(B.out());
    // The convergence pings above are a few; 20 echoes and 20 replies relayed by Mycelium are the end-to-end path.
    assert.ok(b && b.datagrams.relayed >= 40, `B's Mycelium node relayed ${b?.datagrams.relayed} datagrams (the echoes went hop by hop?)\n${all()}`);
  } finally {
    await line.cleanup();
  }
});

/** The TCP sockets listening on port 9651 in a namespace (ss -ltnH), as "addr:port" lines. */
const listening9651 = (ns: string) =>
  spawnSync('ip', ['netns', 'exec', ns, 'ss', '-ltnH', 'sport', '= :9651'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/)[3]);

/** B's established TCP connections to or from port 9651 (its Mycelium links), as "local peer" lines. */
const links9651 = (ns: string) =>
  spawnSync('ip', ['netns', 'exec', ns, 'ss', '-tnH', 'state', 'established', '( sport = :9651 or dport = :9651 )'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);

for (const e2e of [true, false]) {
  test(`A -WG- B -WG- C with mesh: true only${e2e ? '' : ' and mycelium: false (control)'}: ${e2e ? 'end to end by default, B never sees the marker' : 'hop by hop, B opens'}`, async () => {
    if (!ready || !have('ss')) {
      console.log('  (needs root, ip, tcpdump, ss, ping and /dev/net/tun: skipped)');
      return;
    }
    const line = new NetnsLine('ew', e2e ? 77 : 79);
    let dumpB: Proc | undefined;
    try {
      const { keys, addr, ns, tun, run, ping } = nodes(line);
      // No persistentKeepalive on any peer: routers in a mesh need not set it.
      const peer = (n: Name, endpoint: string) => ({ publicKey: toBase64(publicKeyFromPrivate(keys[n])), endpoint: `${endpoint}:51820`, allowedIPs: [] });
      const mesh = { listenPort: 51820, mesh: true, ...(e2e ? {} : { mycelium: false }) };
      const statusA = join(line.dir, 'a.sock');
      const B = run('B', { name: tun('B'), ...mesh, peers: [peer('A', line.ipAB), peer('C', line.ipCB)] });
      const A = run('A', { name: tun('A'), ...mesh, status: statusA, peers: [peer('B', line.ipBA)] });
      const C = run('C', { name: tun('C'), ...mesh, peers: [peer('B', line.ipBC)] });
      const all = () => `A:\n${A.out()}\nB:\n${B.out()}\nC:\n${C.out()}`;
      assert.ok(await waitFor(() => [A, B, C].every((p) => /tfw: ready/.test(p.out())), 60_000), `ready:\n${all()}`);
      if (e2e) {
        // The mesh default listens on the node's overlay address, port 9651, and nowhere else.
        assert.ok(await waitFor(() => listening9651(ns.B).length > 0, 10_000), `B listens on 9651\n${B.out()}`);
        assert.equal(listening9651(ns.B), [`[${addr('B')}]:9651`], 'only on the overlay address');
      } else assert.equal(listening9651(ns.B), [], 'mycelium: false: no listener');
      assert.ok(await waitFor(() => ping('A', addr('C')), 90_000), `A reaches C\n${all()}`);
      const endToEnd = async () => (await getStatus(statusA)).endToEnd as { handedOff: number; hopByHop: number } | undefined;
      if (e2e) {
        // Converged end to end once A's Mycelium node takes a ping to C (before: Babel's fallback, counted).
        assert.ok(await waitFor(async () => {
          const before = (await endToEnd())?.handedOff ?? 0;
          ping('A', addr('C'));
          return ((await endToEnd())?.handedOff ?? 0) > before;
        }, 60_000), `A's pings to C go end to end: ${JSON.stringify(await endToEnd())}\n${all()}`);
        // A and C each dial B and B dials both (Babel neighbours): one link per pair stays (link-pair.ts).
        assert.ok(await waitFor(() => links9651(ns.B).length === 2, 30_000), `B keeps one link per neighbour:\n${links9651(ns.B).join('\n')}`);
      } else assert.is(await endToEnd(), undefined, 'control: no endToEnd counters without a Mycelium node');
      const before = await endToEnd();

      dumpB = spawnIn(ns.B, ['tcpdump', '-i', tun('B'), '-U', '-s', '0', '-w', join(line.dir, 'b.pcap')]);
      assert.ok(await waitFor(() => /listening on/.test(dumpB!.out()), 10_000), `tcpdump:\n${dumpB.out()}`);
      const r = spawnSync('ip', ['netns', 'exec', ns.A, 'ping', '-6', '-c', '20', '-i', '0.05', '-s', '1000', '-W', '2', '-p', MARKER_HEX, addr('C')], { encoding: 'utf8' });
      const m = /(\d+) received/.exec(r.stdout);
      assert.ok(m && Number(m[1]) >= 18, `ping A -> C: ${r.stdout}${r.stderr}`);
      await sleep(300);
      dumpB.child.kill('SIGINT');
      await dumpB.exited;
      dumpB = undefined;
      assert.not.ok(readFileSync(join(line.dir, 'b.pcap')).includes(Buffer.from(MARKER)), "the marker appears on B's TUN");
      const after = await endToEnd();

      for (const p of [A, B, C]) p.child.kill('SIGTERM');
      await Promise.all([A, B, C].map((p) => p.exited));
      const b = counters(B.out());
      if (e2e) {
        assert.ok(after!.handedOff - before!.handedOff >= 20, `A handed ${after!.handedOff - before!.handedOff} echoes to Mycelium`);
        assert.is(after!.hopByHop, before!.hopByHop, 'no hop-by-hop fallback once converged');
        assert.ok(b && b.datagrams.relayed >= 40, `B's Mycelium node relayed ${b?.datagrams.relayed} datagrams\n${all()}`);
        assert.is(b.delivered, 0, 'nothing was opened at B');
      } else {
        // No Mycelium node anywhere: B's WireGuard device opened each echo and sealed it again for C.
        assert.is(b, null, `control: B ran no Mycelium node\n${B.out()}`);
        assert.not.match(A.out(), /tfw: mycelium:/);
      }
    } finally {
      dumpB?.child.kill('SIGINT');
      await line.cleanup();
    }
  });
}

test.run();
