/**
 * The self-healing mesh (`mesh: true`): three `tfw runtime` nodes, each in its
 * own network namespace, every WireGuard link over its own veth pair. A line
 * A-B-C (B forwards inside the router, and answers hop limit / TTL 1 with ICMP
 * Time Exceeded from its own address), a triangle whose A-C link is cut and
 * restored (Babel reroutes through B and back), a stock wireguard-go peer
 * behind B, and injected garbage / replayed / truncated datagrams. Needs root,
 * the native addon, ping and python3 (packet capture for the replay), and
 * wireguard-go + wg for the stock-peer test; skips with a message otherwise.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { keygen } from '../../host-tools/commands/keygen.js';
import { nativeAvailable } from '../../runtime/kernels/native.js';
import { isRoot } from '../helpers.js';
import { getStatus, have, ping, sh, sleep, spawnIn, tfwRuntime, waitFor, type Proc } from './overlay-netns.js';

const missing = [!isRoot && 'root', !nativeAvailable() && 'native addon (make native)', ...['ping', 'python3'].filter((b) => !have(b))].filter(Boolean);
const skip = missing.length > 0;
if (skip) console.log(`  skip mesh: needs ${missing.join(', ')}`);

const PORT = 51830;
const TAG = `tm${process.pid % 10000}`;
const NAMES = ['a', 'b', 'c'];

type Key = ReturnType<typeof keygen>;

/** Three namespaces; veth links between chosen pairs (10.98.<link>.1 / .2). */
class Mesh3 {
  readonly ns = NAMES.map((n) => `${TAG}${n}`);
  readonly keys: Key[] = NAMES.map(() => keygen());
  readonly dir = mkdtempSync(join(tmpdir(), 'tfw-mesh-'));
  /** links[i][j] = { dev in ns i, ip of ns i on that link }. */
  readonly links: ({ dev: string; ip: string } | undefined)[][] = NAMES.map(() => []);
  readonly procs: Proc[] = [];

  constructor() {
    try {
      for (const ns of this.ns) {
        spawnSync('ip', ['netns', 'del', ns]);
        sh(['ip', 'netns', 'add', ns]);
        sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      }
    } catch (err) {
      for (const ns of this.ns) spawnSync('ip', ['netns', 'del', ns]);
      rmSync(this.dir, { recursive: true, force: true });
      throw err;
    }
  }

  link(i: number, j: number, subnet: number): void {
    const di = `${TAG}${NAMES[i]}${NAMES[j]}`, dj = `${TAG}${NAMES[j]}${NAMES[i]}`;
    sh(['ip', 'link', 'add', di, 'netns', this.ns[i], 'type', 'veth', 'peer', 'name', dj, 'netns', this.ns[j]]);
    this.links[i][j] = { dev: di, ip: `10.98.${subnet}.1` };
    this.links[j][i] = { dev: dj, ip: `10.98.${subnet}.2` };
    for (const [k, l] of [[i, this.links[i][j]!], [j, this.links[j][i]!]] as const) {
      sh(['ip', '-n', this.ns[k], 'addr', 'add', `${l.ip}/24`, 'dev', l.dev]);
      sh(['ip', '-n', this.ns[k], 'link', 'set', l.dev, 'up']);
    }
  }

  setLink(i: number, j: number, up: boolean): void {
    for (const [k, l] of [[i, this.links[i][j]!], [j, this.links[j][i]!]] as const) sh(['ip', '-n', this.ns[k], 'link', 'set', l.dev, up ? 'up' : 'down']);
  }

  /** Overlay node address of node i (its whole /128, overlay/address.ts). */
  addr(i: number): string {
    return this.keys[i].myceliumAddress;
  }

  sock(i: number): string {
    return join(this.dir, `${NAMES[i]}.sock`);
  }

  /** Starts `tfw runtime` on every node, peering along the links; waits for "up". */
  /** Starts `tfw runtime` on every node but `plain` (a stock WireGuard peer with `plainIPs`), peering along the links; waits for "up". */
  async start(plain = -1, plainIPs: string[] = []): Promise<void> {
    for (let i = 0; i < 3; i++) {
      if (i === plain) continue;
      const peers = [0, 1, 2].filter((j) => this.links[i][j]).map((j) => `  - publicKey: ${this.keys[j].publicKey}
    endpoint: ${this.links[j][i]!.ip}:${PORT}
    allowedIPs: [${j === plain ? plainIPs.join(', ') : ''}]
`);
      const cfg = `name: ${TAG}t
privateKey: ${this.keys[i].privateKey}
listenPort: ${PORT}
address: [10.100.0.${i + 1}/32]
mesh: true
# Babel's hop-by-hop forwarding inside B is what these tests exercise: no Mycelium node.
mycelium: false
status: ${this.sock(i)}
peers:
${peers.join('')}`;
      const file = join(this.dir, `${NAMES[i]}.yaml`);
      writeFileSync(file, cfg, { mode: 0o600 });
      this.procs.push(tfwRuntime(this.ns[i], file));
    }
    for (const p of this.procs) {
      const ok = await waitFor(() => p.out().includes('tfw: overlay: up ') || p.child.exitCode !== null, 30_000);
      assert.ok(ok && p.child.exitCode === null, p.out());
    }
  }

  logs(): string {
    return this.procs.map((p) => `--- ${p.child.spawnargs.slice(3, 4).join(' ')}\n${p.out()}`).join('\n');
  }

  status(i: number): Promise<any> {
    return getStatus(this.sock(i));
  }

  /** Node i's selected route to node j's /64. */
  async routeTo(i: number, j: number): Promise<{ prefix: string; via: string | null; metric: number } | undefined> {
    const st = await this.status(i);
    return st.routes.find((r: { prefix: string }) => r.prefix === this.keys[j].address);
  }

  async cleanup(): Promise<void> {
    for (const p of this.procs) if (p.child.exitCode === null) p.child.kill('SIGTERM');
    await Promise.race([Promise.all(this.procs.map((p) => p.exited)), sleep(3000)]);
    for (const p of this.procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    for (const ns of this.ns) spawnSync('ip', ['netns', 'del', ns]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** `ping -c 1 -t 1` (hop limit / TTL 1) from `ns`; its output. */
const pingTtl1 = (ns: string, addr: string, v6: boolean) =>
  spawnSync('ip', ['netns', 'exec', ns, 'ping', v6 ? '-6' : '-4', '-c', '1', '-W', '2', '-t', '1', addr], { encoding: 'utf8' }).stdout;

const ping1 = (ns: string, addr: string) => spawnSync('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-W', '1', addr], { stdio: 'ignore' }).status === 0;

test('line A-B-C: A reaches C (overlay /64 and a Babel-routed IPv4 /32) through B, which forwards inside the router', async () => {
  if (skip) return;
  const m = new Mesh3();
  try {
    m.link(0, 1, 1);
    m.link(1, 2, 2);
    await m.start();
    const t0 = Date.now();
    assert.ok(await waitFor(() => ping1(m.ns[0], m.addr(2)), 30_000), `ping A -> C ${m.addr(2)}\n${m.logs()}`);
    console.log(`  mesh: line converged (A pings C) ${((Date.now() - t0) / 1000).toFixed(1)} s after all nodes were up`);
    assert.ok(ping(m.ns[2], m.addr(0)), 'ping C -> A');
    // 10.100.0.3/32 is C's address: A learns it from B and routes it to its TUN (ip route).
    assert.ok(await waitFor(() => ping1(m.ns[0], '10.100.0.3'), 15_000), `ping A -> 10.100.0.3\n${sh(['ip', '-n', m.ns[0], 'route'])}`);
    assert.match(sh(['ip', '-n', m.ns[0], 'route', 'show', '10.100.0.3/32']), `dev ${TAG}t`);
    const rA = await m.routeTo(0, 2);
    assert.is(rA?.via, m.keys[1].publicKey, JSON.stringify(rA));
    const stA = await m.status(0);
    assert.ok(stA.routes.some((r: { prefix: string; via: string | null; metric: number }) => r.prefix === m.keys[0].address && r.via === null && r.metric === 0), JSON.stringify(stA.routes));
    assert.is(typeof stA.drops.babelMalformed, 'number');
    // B forwarded: it never delivered A's packets to its own kernel (ip_forward is off in a fresh namespace).
    assert.is(sh(['ip', 'netns', 'exec', m.ns[1], 'sysctl', '-n', 'net.ipv6.conf.all.forwarding']).trim(), '0');
    // Hop limit / TTL 1 from A dies at B, which answers with ICMP Time Exceeded from its overlay address / first IPv4 address.
    const te6 = pingTtl1(m.ns[0], m.addr(2), true);
    assert.match(te6, new RegExp(`From ${m.addr(1)}.*Time exceeded`, 'i'), te6);
    const te4 = pingTtl1(m.ns[0], '10.100.0.3', false);
    assert.match(te4, /From 10\.100\.0\.2.*Time to live exceeded/i, te4);
    const dB = (await m.status(1)).drops;
    assert.ok(dB.icmpSent >= 2 && dB.ttl >= 2, JSON.stringify(dB));
    // SIGHUP on B (same config): sessions and routes stay, forwarding goes on.
    m.procs[1].child.kill('SIGHUP');
    assert.ok(await waitFor(() => m.procs[1].out().includes('reloaded'), 10_000), m.logs());
    assert.ok(ping(m.ns[0], m.addr(2)), 'ping A -> C after SIGHUP on B');
    assert.ok(ping(m.ns[0], '10.100.0.3'), 'ping A -> 10.100.0.3 after SIGHUP on B');
  } finally {
    await m.cleanup();
  }
});

test('triangle: all pairs ping; the A-C link is cut, A reaches C again through B, and the direct route returns', async () => {
  if (skip) return;
  const m = new Mesh3();
  try {
    m.link(0, 1, 1);
    m.link(1, 2, 2);
    m.link(0, 2, 3);
    await m.start();
    for (const [i, j] of [[0, 1], [0, 2], [1, 2], [1, 0], [2, 0], [2, 1]]) {
      assert.ok(await waitFor(() => ping1(m.ns[i], m.addr(j)), 30_000), `ping ${NAMES[i]} -> ${NAMES[j]}\n${m.logs()}`);
    }
    assert.ok(await waitFor(async () => (await m.routeTo(0, 2))?.via === m.keys[2].publicKey, 15_000), 'A routes C directly');
    const direct = (await m.routeTo(0, 2))!;
    m.setLink(0, 2, false);
    const t0 = Date.now();
    const back = await waitFor(() => ping1(m.ns[0], m.addr(2)), 30_000);
    const secs = (Date.now() - t0) / 1000;
    console.log(`  mesh: A -> C rerouted through B after ${secs.toFixed(1)} s`);
    assert.ok(back, `no reroute\n${m.logs()}`);
    assert.ok(secs < 10, `reroute took ${secs} s`);
    const via = (await m.routeTo(0, 2))!;
    assert.is(via.via, m.keys[1].publicKey, JSON.stringify(via));
    assert.ok(via.metric > direct.metric, JSON.stringify({ direct, via }));
    m.setLink(0, 2, true);
    assert.ok(await waitFor(async () => (await m.routeTo(0, 2))?.via === m.keys[2].publicKey, 30_000), `direct route not back\n${JSON.stringify(await m.routeTo(0, 2))}`);
    assert.is((await m.routeTo(0, 2))!.metric, direct.metric);
    assert.ok(ping(m.ns[0], m.addr(2)), 'ping A -> C after restore');
    assert.ok(ping(m.ns[2], m.addr(0)), 'ping C -> A after restore');
  } finally {
    await m.cleanup();
  }
});

test('a stock WireGuard peer (wireguard-go) behind B: B announces its allowed IPs, A reaches it through B', async () => {
  if (skip) return;
  if (!have('wireguard-go') || !have('wg')) {
    console.log('  skip mesh + wireguard-go: needs wireguard-go and wg');
    return;
  }
  const m = new Mesh3();
  try {
    m.link(0, 1, 1);
    m.link(1, 2, 2);
    await m.start(2, ['10.100.9.9/32']);
    // Node C is wireguard-go with 10.100.9.9, peered with B only; it accepts the tfw addresses.
    const dev = `${TAG}w`;
    const wg = spawnIn(m.ns[2], ['wireguard-go', '-f', dev], { WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1' });
    m.procs.push(wg);
    assert.ok(await waitFor(() => spawnSync('ip', ['-n', m.ns[2], 'link', 'show', dev], { stdio: 'ignore' }).status === 0, 10_000), wg.out());
    const keyFile = join(m.dir, 'w.key');
    writeFileSync(keyFile, `${m.keys[2].privateKey}\n`, { mode: 0o600 });
    sh(['ip', 'netns', 'exec', m.ns[2], 'wg', 'set', dev, 'private-key', keyFile, 'listen-port', String(PORT), 'peer', m.keys[1].publicKey, 'endpoint', `${m.links[1][2]!.ip}:${PORT}`, 'allowed-ips', '10.100.0.0/16', 'persistent-keepalive', '1']);
    sh(['ip', '-n', m.ns[2], 'addr', 'add', '10.100.9.9/32', 'dev', dev]);
    sh(['ip', '-n', m.ns[2], 'link', 'set', dev, 'up']);
    sh(['ip', '-n', m.ns[2], 'route', 'add', '10.100.0.0/16', 'dev', dev]);
    assert.ok(await waitFor(() => ping1(m.ns[0], '10.100.9.9'), 30_000), `ping A -> wireguard-go 10.100.9.9\n${m.logs()}\n${sh(['ip', '-n', m.ns[0], 'route'])}`);
    assert.ok(ping(m.ns[2], '10.100.0.1'), 'ping wireguard-go -> A');
    const stB = await m.status(1);
    assert.ok(stB.routes.some((r: { prefix: string; via: string | null; metric: number }) => r.prefix === '10.100.9.9/32' && r.via === m.keys[2].publicKey && r.metric === 0), JSON.stringify(stB.routes));
    const rA = (await m.status(0)).routes.find((r: { prefix: string }) => r.prefix === '10.100.9.9/32');
    assert.is(rA?.via, m.keys[1].publicKey, JSON.stringify(rA));
  } finally {
    await m.cleanup();
  }
});

/** Captures one transport datagram (type 4, >= 64 bytes) sent to `ip:port` on `dev` in `ns`; hex payload. */
const CAPTURE = `
import socket, sys
dev, ip, port = sys.argv[1], socket.inet_aton(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind((dev, 0)); s.settimeout(15)
while True:
    f = s.recv(65535)
    p = f[14:]
    if len(p) < 28 or p[9] != 17 or p[16:20] != ip: continue
    h = (p[0] & 15) * 4
    u = p[h:]
    if int.from_bytes(u[2:4], 'big') != port: continue
    d = u[8:]
    if len(d) >= 64 and d[0] == 4:
        print(d.hex()); break
`;

/** Sends datagrams (hex) from namespace `ns` to ip:port. */
function sendFrom(ns: string, ip: string, port: number, hex: string[]): void {
  const js = `const s=require('dgram').createSocket('udp4');const [ip,port,...d]=process.argv.slice(1);let n=d.length;for(const h of d)s.send(Buffer.from(h,'hex'),+port,ip,()=>{if(--n===0)s.close()});`;
  sh(['ip', 'netns', 'exec', ns, process.execPath, '-e', js, ip, String(port), ...hex]);
}

test('garbage, replayed and truncated datagrams are dropped and counted; the node keeps working', async () => {
  if (skip) return;
  const m = new Mesh3();
  try {
    m.link(0, 1, 1);
    m.link(1, 2, 2);
    await m.start();
    assert.ok(await waitFor(() => ping1(m.ns[0], m.addr(1)), 30_000), `ping A -> B\n${m.logs()}`);
    assert.ok(await waitFor(() => ping1(m.ns[0], m.addr(2)), 30_000), `ping A -> C\n${m.logs()}`);
    // Capture a real B -> A transport datagram on A's veth while pinging.
    const l = m.links[0][1]!;
    const cap = spawnSync('ip', ['netns', 'exec', m.ns[0], 'python3', '-c', CAPTURE, l.dev, l.ip, String(PORT)], { encoding: 'utf8', timeout: 20_000 });
    const pkt = cap.stdout.trim();
    assert.ok(/^04[0-9a-f]{126,}$/.test(pkt), `capture failed: ${cap.stderr}`);
    const before = (await m.status(0)).drops;
    const garbage = [Buffer.alloc(100, 0x99).toString('hex'), '01', '01000000' + Buffer.alloc(144, 0x01).toString('hex')];
    const truncated = [pkt.slice(0, pkt.length - 32), pkt.slice(0, 40)];
    // From B's namespace (a different source port than B's tunnel: no roaming follows).
    sendFrom(m.ns[1], l.ip, PORT, [...garbage, pkt, pkt, ...truncated]);
    assert.ok(await waitFor(async () => {
      const d = (await m.status(0)).drops;
      return d.replay - before.replay >= 2 && d.malformed - before.malformed >= 3 && d.auth - before.auth >= 1;
    }, 10_000), JSON.stringify({ before, after: (await m.status(0)).drops }));
    const after = (await m.status(0)).drops;
    // 100 x 0x99, 1 byte, 20-byte truncated transport: malformed; 148 bytes type 1 with a bad mac1: mac.
    assert.is(after.malformed - before.malformed, 3, JSON.stringify({ before, after }));
    assert.is(after.mac - before.mac, 1, JSON.stringify({ before, after }));
    assert.is(after.replay - before.replay, 2, JSON.stringify({ before, after }));
    assert.is(after.auth - before.auth, 1, JSON.stringify({ before, after }));
    assert.ok(ping(m.ns[0], m.addr(1)), `ping A -> B still passes\n${m.logs()}`);
    assert.ok(ping(m.ns[0], m.addr(2)), `ping A -> C still passes\n${m.logs()}`);
    const peerB = (await m.status(0)).peers.find((p: { publicKey: string }) => p.publicKey === m.keys[1].publicKey);
    assert.is(peerB.endpoint, `${m.links[1][0]!.ip}:${PORT}`, 'no roaming to the injector');
  } finally {
    await m.cleanup();
  }
});

test.run();
