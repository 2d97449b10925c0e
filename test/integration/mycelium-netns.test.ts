// End-to-end packets through a Mycelium-dialect relay, with real TUNs: three
// network namespaces in a line A - B - C (veth pairs), each running
// the runtime (runtime/main.ts --no-overlay: no WireGuard device) with only a
// `mycelium:` section, B in the middle
// linked to A (configured peer) and C (found by discovery beacons) by Mycelium TCP links (plain TCP, as in Mycelium). A pings
// C's Mycelium address with a marker payload; the test asserts the replies, a
// tcpdump capture of everything B's interfaces carry (both TCP links and B's
// TUN) never contains the marker, and B's counters (logged at exit) show the
// packets relayed. Root only (namespaces, TUNs); bounded waits throughout.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { isRoot } from '../helpers.js';
import { ROOT, have, sh, sleep, spawnIn, waitFor, type Proc, vethLink } from './overlay-netns.js';
import { generatePrivateKey, publicKeyFromPrivate, toBase64 } from '../../runtime/overlay/wireguard/keys.js';
import { overlayAddress } from '../../runtime/overlay/address.js';

const MARKER = 'tfw-e2e-marker42';
const MARKER_HEX = Buffer.from(MARKER).toString('hex'); // 16 bytes: ping -p takes at most 16

const ready = isRoot && have('ip') && have('tcpdump') && have('ping') && existsSync('/dev/net/tun');

test('A - B - C over Mycelium TCP links: ping replies, no marker on B, B counts the relays', async () => {
  if (!ready) {
    console.log('  (needs root, ip, tcpdump, ping and /dev/net/tun: skipped)');
    return;
  }
  const id = `${process.pid % 10000}`;
  const ns = { A: `mycA${id}`, B: `mycB${id}`, C: `mycC${id}` };
  const dir = mkdtempSync(join(tmpdir(), 'tfw-myc-'));
  const procs: Proc[] = [];
  let dump: Proc | undefined;
  let dumpA: Proc | undefined;
  try {
    for (const n of Object.values(ns)) {
      sh(['ip', 'netns', 'add', n]);
      sh(['ip', '-n', n, 'link', 'set', 'lo', 'up']);
    }
    const veth = (a: string, b: string, ia: string, ib: string, net: string) => vethLink(a, b, ia, ib, `${net}.1`, `${net}.2`);
    veth(ns.A, ns.B, 'mab0', 'mab1', '10.97.1');
    veth(ns.B, ns.C, 'mbc0', 'mbc1', '10.97.2');

    const keys = { A: generatePrivateKey(), B: generatePrivateKey(), C: generatePrivateKey() };
    const addr = (k: Uint8Array) => overlayAddress(publicKeyFromPrivate(k));
    const cfg = (name: keyof typeof ns, peers: string[], discovery: boolean) => {
      const f = join(dir, `${name}.json`);
      writeFileSync(f, JSON.stringify({ privateKey: toBase64(keys[name]), mycelium: { listen: ['tcp://[::]:9651'], peers, discovery, tun: 'myc0' } }));
      return f;
    };
    const run = (name: keyof typeof ns, peers: string[], discovery = false) => {
      const p = spawnIn(ns[name], [process.execPath, '--import', 'tsx', join(ROOT, 'runtime/main.ts'), '--no-overlay', '--config', cfg(name, peers, discovery)]);
      procs.push(p);
      return p;
    };

    // Capture everything on B: both veths (the TCP links) and its TUN.
    const pcap = join(dir, 'b.pcap');
    dump = spawnIn(ns.B, ['tcpdump', '-i', 'any', '-U', '-s', '0', '-w', pcap]);
    // A links to B by address; B finds C by C's link-local discovery beacon
    // ([ff02::cafe]:9650, sent when C starts) and links to it.
    const B = run('B', [], true);
    assert.ok(await waitFor(() => /tfw: ready/.test(B.out()), 40_000), `B ready:\n${B.out()}`);
    const A = run('A', ['tcp://10.97.1.2:9651']);
    const C = run('C', [], true);
    assert.ok(await waitFor(() => /tfw: ready/.test(A.out()) && /tfw: ready/.test(C.out()), 40_000), `A, C ready:\n${A.out()}\n${C.out()}`);

    // Converged once one ping gets through (routes learned, TUN addresses past DAD).
    const cAddr = addr(keys.C);
    const once = () => spawnSync('ip', ['netns', 'exec', ns.A, 'ping', '-6', '-c', '1', '-W', '1', cAddr]).status === 0;
    assert.ok(await waitFor(() => /tfw: mycelium: discovered tcp:\/\/\[fe80:/.test(B.out()), 20_000), `B discovers C:\n${B.out()}\n${C.out()}`);
    assert.ok(await waitFor(once, 30_000), `A reaches C (${cAddr})\nA:\n${A.out()}\nB:\n${B.out()}\nC:\n${C.out()}`);

    // Control: on A's own TUN the packets are in clear, so the same search must find the marker there.
    const pcapA = join(dir, 'a.pcap');
    dumpA = spawnIn(ns.A, ['tcpdump', '-i', 'myc0', '-U', '-s', '0', '-w', pcapA]);
    await waitFor(() => /listening on/.test(dumpA!.out()), 5000);
    const r = spawnSync('ip', ['netns', 'exec', ns.A, 'ping', '-6', '-c', '5', '-i', '0.2', '-W', '2', '-p', MARKER_HEX, cAddr], { encoding: 'utf8' });
    const m = /(\d+) received/.exec(r.stdout);
    assert.ok(m && Number(m[1]) >= 4, `ping A -> C: ${r.stdout}${r.stderr}`);

    await sleep(300);
    dump.child.kill('SIGINT');
    await dump.exited;
    dump = undefined;
    dumpA.child.kill('SIGINT');
    await dumpA.exited;
    dumpA = undefined;
    assert.ok(readFileSync(pcapA).includes(Buffer.from(MARKER)), "control: the marker is visible on A's TUN");
    const captured = readFileSync(pcap);
    assert.ok(captured.length > 2000, `capture holds B's link traffic (${captured.length} bytes)`);
    assert.not.ok(captured.includes(Buffer.from(MARKER)), "the marker appears in B's capture");

    for (const p of procs) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exited));
    const line = /tfw: mycelium: counters (\{.*\})/.exec(B.out());
    assert.ok(line, `B logs its counters at exit:\n${B.out()}`);
    const counters = JSON.parse(line![1]);
    assert.ok(counters.relayed >= 10, `B relayed ${counters.relayed} (>= 5 requests + 5 replies)`);
    assert.is(counters.delivered, 0);
  } finally {
    dump?.child.kill('SIGINT');
    dumpA?.child.kill('SIGINT');
    for (const p of procs) p.child.kill('SIGKILL');
    for (const n of Object.values(ns)) spawnSync('ip', ['netns', 'del', n]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
