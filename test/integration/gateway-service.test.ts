/**
 * The gateway service (runtime/gateway/service.ts) run for real inside a
 * "router" namespace: a WAN veth to an "isp" namespace (a web server and an
 * upstream DNS server, Debian's dnsmasq), a LAN port bridged by the service
 * with a client namespace behind it, and a veth standing in for the overlay
 * TUN (tfw0, with the node's /64 as the overlay puts it). The client gets a
 * DHCPv4 lease (busybox udhcpc) naming the router as gateway and DNS,
 * resolves a name the ISP's DNS serves, fetches a page over NAT (the server
 * sees the router's WAN address), takes a SLAAC address inside the router's
 * overlay /64 and is pinged from the overlay side. Failsafe mode gives the
 * LAN 192.168.1.1/24 and loads no ruleset. Root only; every wait is bounded.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot } from '../helpers.js';
import { have, sh, spawnIn, waitFor, ROOT, type Proc } from './overlay-netns.js';
import { validateGatewayConfig } from '../../runtime/gateway/config.js';
import { applyStaticWan, startGateway, type Gateway, type GatewayOptions } from '../../runtime/gateway/service.js';

const ok = isRoot && have('ip') && have('nft') && have('dnsmasq') && have('busybox') && have('ping');
const id = `${process.pid % 10000}`;
const ns = { r: `tfwgs-r${id}`, w: `tfwgs-w${id}`, l: `tfwgs-l${id}`, o: `tfwgs-o${id}` };
const peer = join(ROOT, 'test/integration/gateway-peer.mjs');
const dir = mkdtempSync(join(tmpdir(), 'tfw-gw-service-'));
const procs: Proc[] = [];
const logs: string[] = [];
let gw: Gateway | undefined;
/** The LAN client's SLAAC address in the overlay /64 (set by the SLAAC test). */
let slaac = '';
const inNs = (n: string, cmd: string) => sh(['ip', 'netns', 'exec', n, 'sh', '-c', cmd]);
const OVERLAY = '4ab:cd:0:1::1';

function setup() {
  for (const n of Object.values(ns)) {
    sh(['ip', 'netns', 'add', n]);
    sh(['ip', 'netns', 'exec', n, 'sysctl', '-qw', 'net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.all.accept_dad=0']);
  }
  const link = (a: string, ifA: string, b: string, ifB: string) => {
    sh(['ip', 'link', 'add', `gsa${id}`, 'netns', a, 'type', 'veth', 'peer', 'name', `gsb${id}`, 'netns', b]);
    inNs(a, `ip link set gsa${id} name ${ifA} && ip link set ${ifA} up && ip link set lo up`);
    inNs(b, `ip link set gsb${id} name ${ifB} && ip link set ${ifB} up && ip link set lo up`);
  };
  link(ns.r, 'eth0', ns.w, 'isp0');
  link(ns.r, 'eth1', ns.l, 'eth0');
  link(ns.r, 'tfw0', ns.o, 'ovl0');
  inNs(ns.r, `ip addr add 10.77.0.1/24 dev eth0 && ip route add default via 10.77.0.2 && ip -6 addr add ${OVERLAY}/64 dev tfw0 && ip -6 addr add 5ff::1/64 dev tfw0`);
  inNs(ns.w, 'ip addr add 10.77.0.2/24 dev isp0');
  inNs(ns.o, 'ip -6 addr add 5ff::2/64 dev ovl0 && ip -6 route add 4ab:cd:0:1::/64 via 5ff::1');
}

/** Options that run every command inside the router namespace. */
const routerOpts = (o: Partial<GatewayOptions>): GatewayOptions => ({
  gateway: validateGatewayConfig({ lan: { dns: { upstream: ['10.77.0.2'] } } }),
  ports: { wan: 'eth0', lan: 'eth1' },
  overlay: { iface: 'tfw0', port: 51820, address: `${OVERLAY}/64` },
  apiPort: 80,
  runDir: join(dir, 'run'),
  log: (m) => logs.push(m),
  run: (cmd, args) => void execFileSync('ip', ['netns', 'exec', ns.r, cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'] }),
  spawnDnsmasq: (args) => spawn('ip', ['netns', 'exec', ns.r, 'dnsmasq', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }),
  ...o,
});

/** A DHCPv4 lease for the client: busybox udhcpc, its script writing what the server offered. */
function lease(n: string): Record<string, string> {
  const script = join(dir, 'udhcpc.sh');
  const out = join(dir, `lease-${n}`);
  writeFileSync(script, `#!/bin/sh\n[ "$1" = bound ] && echo "ip=$ip subnet=$subnet router=$router dns=$dns lease=$lease" > ${out}\nexit 0\n`);
  chmodSync(script, 0o755);
  const r = spawnSync('ip', ['netns', 'exec', n, 'busybox', 'udhcpc', '-i', 'eth0', '-n', '-q', '-t', '8', '-T', '1', '-s', script], { encoding: 'utf8', timeout: 20_000 });
  assert.is(r.status, 0, `udhcpc: ${r.stdout}${r.stderr}\n${logs.join('\n')}`);
  return Object.fromEntries(readFileSync(out, 'utf8').trim().split(' ').map((kv) => kv.split('=') as [string, string]));
}

test.before(async () => {
  if (!ok) return;
  setup();
  // The ISP: a web server and an upstream DNS server with one name.
  const web = spawnIn(ns.w, [process.execPath, peer, 'serve', '8080']);
  const dns = spawnIn(ns.w, ['dnsmasq', '--keep-in-foreground', '--no-resolv', '--no-hosts', '--port=53', '--listen-address=10.77.0.2', '--bind-interfaces', '--address=/web.isp.test/10.77.0.2', `--pid-file=${join(dir, 'isp.pid')}`, '--log-facility=-']);
  procs.push(web, dns);
  assert.ok(await waitFor(() => web.out().includes('listening'), 10_000), web.out());
  gw = await startGateway(routerOpts({}));
});

test.after(async () => {
  await gw?.stop();
  for (const p of procs) p.child.kill();
  for (const n of Object.values(ns)) spawnSync('ip', ['netns', 'del', n]);
});

test('the service bridges the lan port, moves the overlay /64 to the bridge and loads the ruleset', () => {
  if (!ok) return console.log('  skip: needs root, ip, nft, dnsmasq, busybox (udhcpc) and ping');
  const br = inNs(ns.r, 'ip -o addr show dev br-lan');
  assert.match(br, /inet 192\.168\.1\.1\/24/);
  assert.match(br, new RegExp(`inet6 ${OVERLAY}/64`));
  assert.match(inNs(ns.r, 'ip -o addr show dev tfw0'), new RegExp(`inet6 ${OVERLAY}/128`));
  assert.match(inNs(ns.r, 'ip -o link show eth1'), /master br-lan/);
  assert.match(inNs(ns.r, 'nft list tables'), /table inet tfw/);
  assert.is(inNs(ns.r, 'sysctl -n net.ipv4.ip_forward').trim(), '1');
  assert.match(logs.join('\n'), /lan br-lan 192\.168\.1\.1\/24 on eth1 dhcp 192\.168\.1\.100-192\.168\.1\.250 slaac/);
});

test('a LAN client: DHCPv4 lease with the router as gateway and DNS, a name resolved upstream, a page over NAT', () => {
  if (!ok) return;
  const l = lease(ns.l);
  assert.equal([l.router, l.dns, l.subnet, l.lease], ['192.168.1.1', '192.168.1.1', '255.255.255.0', '43200']);
  const n = l.ip.split('.').map(Number)[3];
  assert.ok(l.ip.startsWith('192.168.1.') && n >= 100 && n <= 250, l.ip);
  inNs(ns.l, `ip addr add ${l.ip}/24 dev eth0 && ip route add default via ${l.router}`);
  const name = spawnSync('ip', ['netns', 'exec', ns.l, process.execPath, '-e',
    `const r = new (require('node:dns').promises.Resolver)({ timeout: 2000, tries: 2 }); r.setServers(['${l.dns}']); r.resolve4('web.isp.test').then((a) => console.log(a.join(',')), (e) => console.log('fail', e.code))`], { encoding: 'utf8', timeout: 15_000 });
  assert.is(name.stdout.trim(), '10.77.0.2', `${name.stdout}${name.stderr}`);
  const page = spawnSync('ip', ['netns', 'exec', ns.l, process.execPath, peer, 'connect', '10.77.0.2', '8080', '2000'], { encoding: 'utf8', timeout: 10_000 });
  assert.is(page.stdout.trim(), '10.77.0.1', 'the server sees the router\'s WAN address');
});

test('a LAN client takes a SLAAC address in the router\'s overlay /64, reachable from the overlay side', async () => {
  if (!ok) return;
  let addr = '';
  const found = await waitFor(() => {
    addr = /inet6 (4ab:cd:0:1:[0-9a-f:]+)\/64/.exec(inNs(ns.l, 'ip -o -6 addr show dev eth0'))?.[1] ?? '';
    return addr !== '';
  }, 20_000);
  assert.ok(found, `no SLAAC address: ${inNs(ns.l, 'ip -o -6 addr show dev eth0')}\n${logs.join('\n')}`);
  assert.is(spawnSync('ip', ['netns', 'exec', ns.o, 'ping', '-6', '-c', '1', '-W', '3', addr]).status, 0, `ping ${addr} from the overlay side`);
  slaac = addr;
});

test('setFirewall while running: overlay -> LAN TCP refused, then accepted once allowOverlayToLan names the client\'s port', async () => {
  if (!ok || !slaac) return;
  const srv = spawnIn(ns.l, [process.execPath, peer, 'serve', '2222']);
  procs.push(srv);
  assert.ok(await waitFor(() => srv.out().includes('listening'), 10_000), srv.out());
  const connect = () => spawnSync('ip', ['netns', 'exec', ns.o, process.execPath, peer, 'connect', slaac, '2222', '1500'], { encoding: 'utf8', timeout: 10_000 }).stdout.trim();
  assert.is(connect(), 'refused timeout');
  gw!.setFirewall(validateGatewayConfig({ firewall: { allowOverlayToLan: [`${slaac} 2222`] } }).firewall);
  assert.is(connect(), '5ff::2', 'the LAN client sees the overlay address, not NAT');
  assert.match(logs.join('\n'), /firewall reloaded: 1 overlay -> lan allow rule/);
  gw!.setFirewall(validateGatewayConfig({}).firewall);
  assert.is(connect(), 'refused timeout', 'the allow rule is gone again');
});

test('wan.method static: the WAN port\'s lease replaced by the address and default route; the ISP sees that address', () => {
  if (!ok) return;
  const wan = validateGatewayConfig({ wan: { method: 'static', address: '10.77.0.9/24', gateway: '10.77.0.2' } }).wan;
  const line = applyStaticWan(wan, 'eth0', routerOpts({}).run!);
  assert.is(line, 'wan eth0 10.77.0.9/24 via 10.77.0.2 (static)');
  assert.equal(inNs(ns.r, 'ip -o -4 addr show dev eth0').match(/inet [0-9./]+/g), ['inet 10.77.0.9/24']);
  assert.match(inNs(ns.r, 'ip -4 route show default'), /default via 10\.77\.0\.2 dev eth0/);
  const page = spawnSync('ip', ['netns', 'exec', ns.l, process.execPath, peer, 'connect', '10.77.0.2', '8080', '2000'], { encoding: 'utf8', timeout: 10_000 });
  assert.is(page.stdout.trim(), '10.77.0.9', 'masqueraded to the static address');
});

test('failsafe: LAN 192.168.1.1/24 whatever the config says, no ruleset, no forwarding change', async () => {
  if (!ok) return;
  await gw!.stop();
  gw = undefined;
  inNs(ns.r, 'nft flush ruleset && sysctl -qw net.ipv4.ip_forward=0 && ip -4 addr flush dev br-lan');
  const fs = await startGateway(routerOpts({ failsafe: true, gateway: validateGatewayConfig({ lan: { address: '10.9.0.1/24' }, firewall: { allowOverlayToLan: ['::/0'] } }) }));
  try {
    assert.equal(fs.lan.address, '192.168.1.1/24');
    assert.match(inNs(ns.r, 'ip -o -4 addr show dev br-lan'), /inet 192\.168\.1\.1\/24/);
    assert.is(inNs(ns.r, 'nft list tables').trim(), '');
    assert.is(inNs(ns.r, 'sysctl -n net.ipv4.ip_forward').trim(), '0');
    assert.is(fs.files.nft, undefined);
    assert.not.match(readFileSync(fs.files.dnsmasq, 'utf8'), /enable-ra/);
  } finally {
    await fs.stop();
  }
});

test.run();
