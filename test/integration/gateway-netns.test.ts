/**
 * The generated nftables ruleset loaded into a real kernel: a "router"
 * namespace with a WAN veth (eth0), a LAN bridge (br-lan) with a client
 * behind it and an "overlay" veth named as the TUN (tfw0) with a far node
 * behind it. Checks NAT44 (the WAN server sees the router's WAN address),
 * the default-deny WAN input (ping answers, TCP does not), lan -> overlay
 * allowed, and overlay -> lan new connections dropped except the allow list.
 * Needs root, ip(8) and nft(8); every connection attempt is bounded in time.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot } from '../helpers.js';
import { have, sh, spawnIn, waitFor, ROOT, type Proc } from './overlay-netns.js';
import { validateGatewayConfig } from '../../runtime/gateway/config.js';
import { nftRuleset } from '../../runtime/gateway/nftables.js';

const ok = isRoot && have('ip') && have('nft') && have('ping');
const id = `${process.pid % 10000}`;
const ns = { r: `tfwgw-r${id}`, w: `tfwgw-w${id}`, l: `tfwgw-l${id}`, o: `tfwgw-o${id}` };
const peer = join(ROOT, 'test/integration/gateway-peer.mjs');
const procs: Proc[] = [];
const run = (n: string, cmd: string) => sh(['ip', 'netns', 'exec', n, 'sh', '-c', cmd]);

/** Connects from namespace `from` to host:port; the server's view of our address, or "refused ...". */
function connect(from: string, host: string, port: number, ms = 1000): string {
  const r = spawnSync('ip', ['netns', 'exec', from, process.execPath, peer, 'connect', host, String(port), String(ms)], { encoding: 'utf8', timeout: ms + 5000 });
  return r.stdout.trim();
}

function setup() {
  for (const n of Object.values(ns)) {
    sh(['ip', 'netns', 'add', n]);
    // No duplicate address detection: addresses usable at once, so no connection waits on DAD.
    sh(['ip', 'netns', 'exec', n, 'sysctl', '-qw', 'net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.all.accept_dad=0']);
  }
  const link = (a: string, ifA: string, b: string, ifB: string) => {
    sh(['ip', 'link', 'add', 'tmpa' + id, 'netns', a, 'type', 'veth', 'peer', 'name', 'tmpb' + id, 'netns', b]);
    run(a, `ip link set tmpa${id} name ${ifA} && ip link set ${ifA} up && ip link set lo up`);
    run(b, `ip link set tmpb${id} name ${ifB} && ip link set ${ifB} up && ip link set lo up`);
  };
  link(ns.r, 'eth0', ns.w, 'isp0');
  link(ns.r, 'lan0', ns.l, 'eth0');
  link(ns.r, 'tfw0', ns.o, 'ovl0');
  run(ns.r, [
    'ip link add br-lan type bridge && ip link set lan0 master br-lan && ip link set br-lan up',
    'ip addr add 10.77.0.1/24 dev eth0',
    'ip addr add 192.168.1.1/24 dev br-lan && ip -6 addr add 4ab:cd::1/64 dev br-lan nodad',
    'ip -6 addr add 5ff::1/64 dev tfw0 nodad',
    'sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1',
  ].join(' && '));
  // The ISP routes the LAN's private range to the router, as a hostile upstream could: still not forwarded.
  run(ns.w, 'ip addr add 10.77.0.2/24 dev isp0 && ip route add 192.168.1.0/24 via 10.77.0.1');
  run(ns.l, 'ip addr add 192.168.1.100/24 dev eth0 && ip route add default via 192.168.1.1 && ip -6 addr add 4ab:cd::10/64 dev eth0 nodad && ip -6 route add default via 4ab:cd::1');
  run(ns.o, 'ip -6 addr add 5ff::2/64 dev ovl0 nodad && ip -6 route add 4ab:cd::/64 via 5ff::1');
  const gw = validateGatewayConfig({ lan: {}, firewall: { allowOverlayToLan: ['4ab:cd::10 22'] } });
  const dir = mkdtempSync(join(tmpdir(), 'tfw-gw-netns-'));
  const file = join(dir, 'rules.nft');
  writeFileSync(file, nftRuleset({ lan: 'br-lan', wan: 'eth0', overlay: { iface: 'tfw0', port: 51820, myceliumPort: 9651 }, apiPort: 80, firewall: gw.firewall }));
  sh(['ip', 'netns', 'exec', ns.r, 'nft', '-f', file]);
  // Loading twice replaces the table (the file deletes its own table first).
  sh(['ip', 'netns', 'exec', ns.r, 'nft', '-f', file]);
}

test.before(async () => {
  if (!ok) return;
  setup();
  for (const [n, ports] of [[ns.w, ['8080']], [ns.l, ['22', '2222']], [ns.o, ['8081']], [ns.r, ['80', '8082', '9651']]] as const) {
    const p = spawnIn(n, [process.execPath, peer, 'serve', ...ports]);
    procs.push(p);
    assert.ok(await waitFor(() => p.out().split('listening').length > ports.length, 10_000), p.out());
  }
});

test.after(() => {
  for (const p of procs) p.child.kill();
  for (const n of Object.values(ns)) spawnSync('ip', ['netns', 'del', n]);
});

test('one table, inet tfw, with its eight chains', () => {
  if (!ok) return console.log('  skip: needs root, ip, nft and ping');
  const list = sh(['ip', 'netns', 'exec', ns.r, 'nft', 'list', 'tables']);
  assert.is(list.trim(), 'table inet tfw');
  const chains = sh(['ip', 'netns', 'exec', ns.r, 'nft', 'list', 'table', 'inet', 'tfw']).match(/chain \w+/g);
  assert.equal(chains, ['chain input', 'chain input_lan', 'chain input_wan', 'chain input_overlay', 'chain forward', 'chain forward_overlay_lan', 'chain mangle_forward', 'chain srcnat']);
});

test('lan -> wan is masqueraded: the WAN server sees the router\'s WAN address', () => {
  if (!ok) return;
  assert.is(connect(ns.l, '10.77.0.2', 8080), '10.77.0.1');
});

test('lan -> overlay allowed, with the LAN address kept (no NAT towards the overlay)', () => {
  if (!ok) return;
  assert.is(connect(ns.l, '5ff::2', 8081), '4ab:cd::10');
});

test('overlay -> lan: new connections dropped unless in allowOverlayToLan; echo answered', () => {
  if (!ok) return;
  assert.is(connect(ns.o, '4ab:cd::10', 2222), 'refused timeout', 'not in the allow list: dropped');
  assert.is(connect(ns.o, '4ab:cd::10', 22), '5ff::2', '"4ab:cd::10 22" is allowed');
  assert.is(spawnSync('ip', ['netns', 'exec', ns.o, 'ping', '-6', '-c', '1', '-W', '2', '4ab:cd::10']).status, 0);
});

test('wan input: ping answers, TCP to the router does not; the LAN reaches the router', () => {
  if (!ok) return;
  assert.is(spawnSync('ip', ['netns', 'exec', ns.w, 'ping', '-c', '1', '-W', '2', '10.77.0.1']).status, 0);
  assert.is(connect(ns.w, '10.77.0.1', 80), 'refused timeout', 'API port from the WAN');
  assert.is(connect(ns.w, '10.77.0.1', 8082), 'refused timeout');
  assert.is(connect(ns.w, '192.168.1.100', 22), 'refused timeout', 'wan -> lan not forwarded');
  assert.is(connect(ns.l, '192.168.1.1', 8082), '192.168.1.100', 'lan input accepted');
  assert.is(connect(ns.o, '5ff::1', 80), '5ff::2', 'device API open to the overlay');
  assert.is(connect(ns.o, '5ff::1', 8082), 'refused timeout', 'other router ports closed to the overlay');
  assert.is(connect(ns.o, '5ff::1', 9651), '5ff::2', 'Mycelium links over WireGuard: open to the overlay');
  assert.is(connect(ns.w, '10.77.0.1', 9651), 'refused timeout', 'and not to the WAN');
});

test.run();
