/**
 * Issue 13's scenario in QEMU (x86_64, TCG): a 3router guest with two NICs on
 * taps, the WAN tap in an "isp" namespace (Debian's dnsmasq serving DHCP and a
 * name, a web server) and the LAN tap in a "lan" namespace (the client). The
 * client gets a DHCPv4 lease naming the router as gateway and DNS, resolves
 * the ISP's name through it, fetches a page over NAT (the server sees the
 * router's WAN lease), and takes a SLAAC address inside the router's overlay
 * /64. A second tfw node (`tfw runtime` in the "isp" namespace) peers with
 * the router over the overlay: it and the LAN client ping each other's
 * overlay addresses, and its new TCP connection to the LAN client is dropped
 * until allowOverlayToLan names it (changed live through the device API's
 * config PUT). From the ISP side the router answers ping and a full TCP port
 * scan (Debian's nmap) finds nothing open. Needs root (taps, namespaces,
 * QEMU), dnsmasq, busybox and nmap; every wait is bounded.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtImage } from './images.js';
import { encodeOverlayConfig, loadOverlayConfig } from '../../images/builder/overlay-config.js';
import { loadBoard } from '../../images/builder/schema.js';
import { keygen } from '../../host-tools/commands/keygen.js';
import { formatIp, parseIp } from '../../runtime/config/ip.js';
import { isRoot } from '../helpers.js';
import { have, sh, spawnIn, tfwRuntime, waitFor, ROOT, type Proc } from '../integration/overlay-netns.js';
import { Guest } from './guest.js';

const ok = isRoot && have('qemu-system-x86_64') && have('dnsmasq') && have('busybox') && have('ping') && have('nmap');
const id = `${process.pid % 10000}`;
const ns = { isp: `tfwq-isp${id}`, lan: `tfwq-lan${id}` };
const tap = { wan: `tfwqw${id}`, lan: `tfwql${id}` };
const tmp = mkdtempSync(join(tmpdir(), 'tfw-gw-image-'));
const peer = join(ROOT, 'test/integration/gateway-peer.mjs');
const procs: Proc[] = [];
let guest: Guest | undefined;
/** The router's and the ISP-side tfw node's keys; the LAN client's SLAAC address (set by the LAN test). */
const routerKey = keygen();
const farKey = keygen();
const farAddr = farKey.myceliumAddress;
let slaacAddr = '';
let far: Proc | undefined;
/** The /64 of an overlay address as `ip` prints addresses in it (`5da:83c1:819a:5372`, no `::`). */
const prefix64 = (addr: string): string => formatIp(parseIp(addr)!.map((b, i) => (i < 8 ? b : 0))).replace(/::$/, '');
const inNs = (n: string, cmd: string) => sh(['ip', 'netns', 'exec', n, 'sh', '-c', cmd]);
/**
 * Runs `argv` in namespace `n` without blocking the event loop (killed after `ms`). Never spawnSync
 * while a guest runs: QEMU's arm64 PL011 console writes block the vCPU until the test drains its
 * stdout, so a blocked test process freezes the arm64 guest (docs/gateway.md, "arm64 and the console").
 */
function out(n: string, argv: string[], ms = 10_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn('ip', ['netns', 'exec', n, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  const r = { status: null as number | null, stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (r.stdout += d));
  child.stderr.on('data', (d) => (r.stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  return new Promise((resolve) => child.on('close', (code) => (clearTimeout(timer), (r.status = code), resolve(r))));
}

test.before(async () => {
  if (!ok) return console.log('  skip: needs root, qemu-system-x86_64, dnsmasq, busybox, ping and nmap');
  const { outDir } = builtImage('qemu-x86_64', '3router');
  const cfgFile = join(tmp, 'router.yaml');
  writeFileSync(cfgFile, `privateKey: ${routerKey.privateKey}\nmesh: true\npeers:\n  - publicKey: ${farKey.publicKey}\n    endpoint: 10.77.0.2:51820\nlan: {}\nfirewall: { allowOverlayToLan: [] }\n`, { mode: 0o600 });
  for (const n of Object.values(ns)) {
    sh(['ip', 'netns', 'add', n]);
    sh(['ip', 'netns', 'exec', n, 'sysctl', '-qw', 'net.ipv6.conf.default.accept_dad=0']);
  }
  for (const t of Object.values(tap)) sh(['ip', 'tuntap', 'add', t, 'mode', 'tap']);
  guest = new Guest('gateway-x86_64', {
    board: loadBoard('qemu-x86_64'),
    dir: outDir,
    timeout: 300,
    nics: { wan: `tap:${tap.wan}`, lan: `tap:${tap.lan}` },
    config: encodeOverlayConfig(loadOverlayConfig(cfgFile)),
  });
  // QEMU holds both taps once it runs: they move into their namespaces before the guest's DHCP starts.
  await guest.waitFor(/tfw: init: booting 3router/, 120);
  sh(['ip', 'link', 'set', tap.wan, 'netns', ns.isp]);
  sh(['ip', 'link', 'set', tap.lan, 'netns', ns.lan]);
  inNs(ns.isp, `ip link set lo up && ip link set ${tap.wan} up && ip addr add 10.77.0.2/24 dev ${tap.wan}`);
  inNs(ns.lan, `ip link set lo up && ip link set ${tap.lan} up`);
  const dns = spawnIn(ns.isp, ['dnsmasq', '--keep-in-foreground', '--no-resolv', '--no-hosts', `--interface=${tap.wan}`, '--bind-interfaces',
    '--dhcp-range=10.77.0.50,10.77.0.60,255.255.255.0,1h', '--dhcp-option=option:router,10.77.0.2', '--dhcp-option=option:dns-server,10.77.0.2',
    '--address=/web.isp.test/10.77.0.2', `--dhcp-leasefile=${join(tmp, 'isp.leases')}`, `--pid-file=${join(tmp, 'isp.pid')}`, '--log-facility=-']);
  const web = spawnIn(ns.isp, [process.execPath, peer, 'serve', '8080']);
  // The far tfw node: the router's endpoint is its WAN lease (unknown yet), so the router sends first.
  const farFile = join(tmp, 'far.yaml');
  writeFileSync(farFile, `name: tfwf${id}\nprivateKey: ${farKey.privateKey}\nlistenPort: 51820\nmesh: true\npeers:\n  - publicKey: ${routerKey.publicKey}\n`, { mode: 0o600 });
  far = tfwRuntime(ns.isp, farFile);
  procs.push(dns, web, far);
  await guest.waitFor(/tfw: ready 3router x86_64/, 300);
});

test.after(async () => {
  await guest?.kill();
  for (const p of procs) p.child.kill();
  for (const n of Object.values(ns)) spawnSync('ip', ['netns', 'del', n]);
  for (const t of Object.values(tap)) spawnSync('ip', ['link', 'del', t]);
});

test('the router guest: a WAN lease from the ISP, the LAN bridged with dnsmasq and the ruleset', async () => {
  if (!ok) return;
  const lines = guest!.lines.join('\n');
  assert.match(lines, /tfw: init: network: eth0 10\.77\.0\.(5\d|60)\/24 \(dhcp\)/);
  assert.match(lines, /tfw: gateway: lan br-lan 192\.168\.1\.1\/24 on eth1 dhcp 192\.168\.1\.100-192\.168\.1\.250 slaac [0-9a-f:]+\/64 nat on eth0/);
});

/** A DHCPv4 lease for the LAN client on `iface` (busybox udhcpc, bounded): what the server offered. */
async function lease(iface: string): Promise<{ ip: string; router: string; dns: string }> {
  const script = join(tmp, 'udhcpc.sh');
  writeFileSync(script, `#!/bin/sh\n[ "$1" = bound ] && echo "$ip $router $dns" > ${tmp}/lease-$interface\nexit 0\n`);
  chmodSync(script, 0o755);
  const r = await out(ns.lan, ['busybox', 'udhcpc', '-i', iface, '-n', '-q', '-t', '10', '-T', '2', '-s', script], 40_000);
  assert.is(r.status, 0, `${r.stdout}${r.stderr}`);
  const [ip, router, dns] = readFileSync(join(tmp, `lease-${iface}`), 'utf8').trim().split(' ');
  return { ip, router, dns };
}

test('a LAN client: lease, DNS through the router, a page over NAT, SLAAC in the overlay /64', async () => {
  if (!ok) return;
  const { ip, router, dns } = await lease(tap.lan);
  assert.equal([router, dns], ['192.168.1.1', '192.168.1.1']);
  inNs(ns.lan, `ip addr add ${ip}/24 dev ${tap.lan} && ip route add default via 192.168.1.1`);
  const name = await out(ns.lan, [process.execPath, '-e', `const r = new (require('node:dns').promises.Resolver)({ timeout: 3000, tries: 3 }); r.setServers(['192.168.1.1']); r.resolve4('web.isp.test').then((a) => console.log(a.join(',')), (e) => console.log('fail', e.code))`], 30_000);
  assert.is(name.stdout.trim(), '10.77.0.2', name.stdout + name.stderr);
  const wanIp = /eth0 (10\.77\.0\.\d+)\/24/.exec(guest!.lines.join('\n'))![1];
  const page = await out(ns.lan, [process.execPath, peer, 'connect', '10.77.0.2', '8080', '5000'], 15_000);
  assert.is(page.stdout.trim(), wanIp, 'the ISP\'s server sees the router\'s WAN address');
  const slaac = /slaac ([0-9a-f:]+)\/64/.exec(guest!.lines.join('\n'))![1];
  assert.is(slaac, routerKey.myceliumAddress, 'the bridge takes the router\'s overlay address with its /64');
  const prefix = prefix64(slaac);
  let addr = '';
  assert.ok(await waitFor(() => ((addr = new RegExp(`inet6 (${prefix}:[0-9a-f:]+)/64`).exec(inNs(ns.lan, `ip -o -6 addr show dev ${tap.lan}`))?.[1] ?? ''), addr !== ''), 30_000), `no SLAAC address in ${prefix}::/64`);
  assert.is(`${prefix}::/64`, routerKey.address, 'the /64 is the router\'s overlay prefix');
  slaacAddr = addr;
});

test('a far tfw node beyond the WAN, peered over the overlay: overlay pings both ways with the LAN client; its TCP to the client dropped until allowed live', async () => {
  if (!ok || !slaacAddr) return;
  // Babel routes take a few hellos: the first ping to get through is bounded, then it must answer both ways.
  assert.ok(await waitFor(async () => (await out(ns.lan, ['ping', '-c', '1', '-W', '3', farAddr])).status === 0, 90_000), `LAN client -> ${farAddr}\n${far!.out()}`);
  assert.is((await out(ns.isp, ['ping', '-c', '3', '-W', '3', '-i', '0.3', slaacAddr])).status, 0, `far node -> LAN client ${slaacAddr}`);
  const srv = spawnIn(ns.lan, [process.execPath, peer, 'serve', '2222']);
  procs.push(srv);
  assert.ok(await waitFor(() => srv.out().includes('listening'), 10_000), srv.out());
  const connect = async () => (await out(ns.isp, [process.execPath, peer, 'connect', slaacAddr, '2222', '3000'], 15_000)).stdout.trim();
  assert.is(await connect(), 'refused timeout', 'overlay -> lan is closed by default');
  // The admin password is first set from the LAN; the session then PUTs the config with the client's port allowed.
  const api = join(tmp, 'api.mjs');
  writeFileSync(api, `const u = 'http://192.168.1.1';
const j = (r) => r.json().then((b) => { if (!r.ok) throw new Error(r.status + ' ' + JSON.stringify(b)); return b; });
await fetch(u + '/v1/password', { method: 'POST', body: JSON.stringify({ password: 'gw-test-pass' }) }).then(j);
const { token } = await fetch(u + '/v1/login', { method: 'POST', body: JSON.stringify({ password: 'gw-test-pass' }) }).then(j);
const h = { authorization: 'Bearer ' + token };
const cfg = await fetch(u + '/v1/config', { headers: h }).then(j);
const r = await fetch(u + '/v1/config', { method: 'PUT', headers: h, body: JSON.stringify({ ...cfg, firewall: { allowOverlayToLan: [process.argv[2] + ' 2222'] } }) }).then(j);
console.log(JSON.stringify({ before: cfg.firewall, result: r }));
`);
  const put = await out(ns.lan, [process.execPath, api, slaacAddr], 30_000);
  assert.is(put.status, 0, put.stdout + put.stderr);
  const res = JSON.parse(put.stdout);
  assert.equal(res.before, { allowOverlayToLan: [] });
  assert.equal(res.result.restart, [], 'the firewall applies live');
  await guest!.waitFor(/tfw: gateway: firewall reloaded: 1 overlay -> lan allow rule/, 30);
  assert.is(await connect(), farAddr, 'allowed: the LAN client sees the far node\'s overlay address');
});

test('from the ISP side: ping answers, TCP ports do not', async () => {
  if (!ok) return;
  const wanIp = /eth0 (10\.77\.0\.\d+)\/24/.exec(guest!.lines.join('\n'))![1];
  assert.is((await out(ns.isp, ['ping', '-c', '1', '-W', '3', wanIp])).status, 0);
  for (const port of [22, 53, 80, 8080]) assert.is((await out(ns.isp, [process.execPath, peer, 'connect', wanIp, String(port), '1500'])).stdout.trim(), 'refused timeout', `port ${port}`);
});

/** nmap's TCP SYN scan of `ports` on `addr` from namespace `n`, bounded; the open ports it reports. */
async function openPorts(n: string, addr: string, ports: string): Promise<number[]> {
  const r = await out(n, ['nmap', '-n', '-Pn', '-sS', `-p${ports}`, '--max-retries', '1', '--min-rate', '2000', '--host-timeout', '240s', '-oG', '-', addr], 300_000);
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.not.match(r.stdout, /Status: Timeout|host timeout/i, 'the scan completed');
  return [...r.stdout.matchAll(/(\d+)\/open\/tcp/g)].map((m) => Number(m[1]));
}

test('a full TCP scan (nmap, ports 1-65535) from the ISP side finds nothing open; the same scan from the LAN finds DNS and the API', async () => {
  if (!ok) return;
  const wanIp = /eth0 (10\.77\.0\.\d+)\/24/.exec(guest!.lines.join('\n'))![1];
  assert.equal(await openPorts(ns.lan, '192.168.1.1', '1-1024'), [53, 80], 'the scan sees open ports where there are');
  assert.equal(await openPorts(ns.isp, wanIp, '1-65535'), []);
});

test('tfw.failsafe=1: LAN 192.168.1.1/24 whatever the config says, firewall untouched, the device API on the LAN only', async () => {
  if (!ok) return;
  await guest!.kill();
  const lanTap = `tfwqf${id}`;
  sh(['ip', 'tuntap', 'add', lanTap, 'mode', 'tap']);
  const cfgFile = join(tmp, 'other.yaml');
  writeFileSync(cfgFile, 'lan: { address: 10.9.0.1/24 }\n');
  const { outDir } = builtImage('qemu-x86_64', '3router');
  const g = new Guest('gateway-failsafe-x86_64', { board: loadBoard('qemu-x86_64'), dir: outDir, timeout: 300, nics: { wan: 'user', lan: `tap:${lanTap}` }, append: ['tfw.failsafe=1'], config: encodeOverlayConfig(loadOverlayConfig(cfgFile)) });
  try {
    await g.waitFor(/tfw: init: booting 3router/, 120);
    sh(['ip', 'link', 'set', lanTap, 'netns', ns.lan]);
    inNs(ns.lan, `ip link del ${tap.lan}; ip link set ${lanTap} up`);
    await g.waitFor(/tfw: ready 3router x86_64/, 300);
    const lines = g.lines.join('\n');
    assert.match(lines, /tfw: init: failsafe: the image's config, LAN 192\.168\.1\.1\/24, firewall untouched/);
    assert.match(lines, /tfw: gateway: lan br-lan 192\.168\.1\.1\/24 on eth1 dhcp 192\.168\.1\.100-192\.168\.1\.250 \(failsafe: firewall untouched\)/);
    assert.match(lines, /tfw: api: listening on 192\.168\.1\.1:80/);
    inNs(ns.lan, `ip addr add 192.168.1.7/24 dev ${lanTap}`);
    const r = await out(ns.lan, [process.execPath, '-e', `fetch('http://192.168.1.1/v1/status').then((r) => console.log(r.status), (e) => console.log('fail', e.cause?.code ?? e.message))`], 20_000);
    assert.match(r.stdout.trim(), /^\d{3}$/, `the API answers on the LAN: ${r.stdout}${r.stderr}`);
  } finally {
    await g.kill();
    spawnSync('ip', ['netns', 'exec', ns.lan, 'ip', 'link', 'del', lanTap]);
  }
});

test('qemu-arm64: the two-port router boots, starts its LAN services and leases the LAN client an address; SLAAC in its overlay /64', async () => {
  if (!ok || !have('qemu-system-aarch64')) return console.log('  skip: needs qemu-system-aarch64');
  const lanTap = `tfwqa${id}`;
  sh(['ip', 'tuntap', 'add', lanTap, 'mode', 'tap']);
  const cfgFile = join(tmp, 'arm.yaml');
  writeFileSync(cfgFile, 'lan: {}\n');
  const { outDir } = builtImage('qemu-arm64', '3router');
  const g = new Guest('gateway-arm64', { board: loadBoard('qemu-arm64'), dir: outDir, timeout: 300, nics: { wan: 'user', lan: `tap:${lanTap}` }, config: encodeOverlayConfig(loadOverlayConfig(cfgFile)) });
  try {
    await g.waitFor(/tfw: init: booting 3router/, 200);
    sh(['ip', 'link', 'set', lanTap, 'netns', ns.lan]);
    inNs(ns.lan, `ip link set ${lanTap} up`);
    await g.waitFor(/tfw: ready 3router arm64/, 300);
    const lines = g.lines.join('\n');
    assert.match(lines, /tfw: init: network: eth0 10\.0\.2\.15\/24 \(dhcp\)/);
    assert.match(lines, /tfw: gateway: lan br-lan 192\.168\.1\.1\/24 on eth1 dhcp 192\.168\.1\.100-192\.168\.1\.250 slaac [0-9a-f:]+\/64 nat on eth0/);
    await g.waitFor(/tfw: gateway: dnsmasq: .*DHCP, IP range 192\.168\.1\.100 -- 192\.168\.1\.250/, 60);
    const { ip, router, dns } = await lease(lanTap);
    assert.equal([router, dns], ['192.168.1.1', '192.168.1.1']);
    assert.ok(/^192\.168\.1\.(1\d\d|2[0-4]\d|250)$/.test(ip), ip);
    const prefix = prefix64(/slaac ([0-9a-f:]+)\/64/.exec(g.lines.join('\n'))![1]);
    let addr = '';
    assert.ok(await waitFor(() => ((addr = new RegExp(`inet6 (${prefix}:[0-9a-f:]+)/64`).exec(inNs(ns.lan, `ip -o -6 addr show dev ${lanTap}`))?.[1] ?? ''), addr !== ''), 30_000), `no SLAAC address in ${prefix}::/64`);
  } finally {
    await g.kill();
    spawnSync('ip', ['netns', 'exec', ns.lan, 'ip', 'link', 'del', lanTap]);
    spawnSync('ip', ['link', 'del', lanTap]);
  }
});

test.run();
