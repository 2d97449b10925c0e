/**
 * The generated dnsmasq config and nftables ruleset: the text says what the
 * zones and the LAN need, and the real tools accept it (`nft -c -f`, Debian's
 * nftables; `dnsmasq --test`), while a broken file is refused by the same check.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateGatewayConfig } from '../../../runtime/gateway/config.js';
import { dnsmasqConfig, netmask } from '../../../runtime/gateway/dnsmasq.js';
import { nftRuleset, type RulesetContext } from '../../../runtime/gateway/nftables.js';
import { isRoot } from '../../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'tfw-gateway-'));
const have = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' }).status === 0;
const hasNft = isRoot && have('nft', ['--version']);
const hasDnsmasq = have('dnsmasq', ['--version']);

/** Runs `cmd` on `text` written to a file; returns the exit status and output. */
function check(name: string, text: string, cmd: string, args: (file: string) => string[]) {
  const f = join(dir, name);
  writeFileSync(f, text);
  const r = spawnSync(cmd, args(f), { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}
const nftCheck = (text: string) => check('rules.nft', text, 'nft', (f) => ['-c', '-f', f]);
const dnsmasqTest = (text: string) => check('dnsmasq.conf', text, 'dnsmasq', (f) => ['--test', '-C', f]);

const gw = validateGatewayConfig({
  lan: { address: '10.7.0.1/23', dhcp: { start: 20, end: '10.7.1.200', leaseTime: '1h' }, dns: { upstream: ['9.9.9.9', '2620:fe::fe'] } },
  firewall: { allowOverlayToLan: ['4ab:cd::/64', '4ab:cd::10 22', '10.7.0.5 80'] },
});
const ctx: RulesetContext = { lan: 'br-lan', wan: 'eth0', overlay: { iface: 'tfw0', port: 51000 }, apiPort: 80, firewall: gw.firewall };

test('netmask of a prefix length', () => {
  assert.equal([0, 8, 23, 24, 30, 32].map(netmask), ['0.0.0.0', '255.0.0.0', '255.255.254.0', '255.255.255.0', '255.255.255.252', '255.255.255.255']);
});

test('dnsmasq: DHCP pool, router and DNS on the bridge, upstreams, SLAAC RAs in the bridge /64', () => {
  const text = dnsmasqConfig(gw.lan!, { runDir: '/run/tfw', slaac: true, user: 'root' });
  const lines = text.split('\n');
  for (const l of [
    'interface=br-lan',
    'bind-dynamic',
    'no-resolv',
    'server=9.9.9.9',
    'server=2620:fe::fe',
    'dhcp-range=set:lan,10.7.0.20,10.7.1.200,255.255.254.0,1h',
    'dhcp-option=tag:lan,option:router,10.7.0.1',
    'dhcp-option=tag:lan,option:dns-server,10.7.0.1',
    'dhcp-leasefile=/run/tfw/dnsmasq.leases',
    'enable-ra',
    'dhcp-range=::,constructor:br-lan,ra-only,64,1h',
    'user=root',
  ]) assert.ok(lines.includes(l), `missing line ${l}\n${text}`);
  const plain = dnsmasqConfig(validateGatewayConfig({ lan: { dhcp: { enabled: false } } }).lan!, { runDir: '/tmp', slaac: false, resolvFile: '/run/resolv.wan' });
  assert.ok(plain.includes('resolv-file=/run/resolv.wan\n'));
  assert.not.match(plain, /dhcp-range|enable-ra|no-resolv/);
});

test('dnsmasq --test accepts the generated config and refuses a broken one', () => {
  if (!hasDnsmasq) return console.log('  skip: needs dnsmasq (dnsmasq-base, make sysdeps)');
  for (const slaac of [true, false]) {
    const r = dnsmasqTest(dnsmasqConfig(gw.lan!, { runDir: dir, slaac }));
    assert.is(r.status, 0, r.out);
    assert.match(r.out, /syntax check OK/);
  }
  const bad = dnsmasqTest(dnsmasqConfig(gw.lan!, { runDir: dir, slaac: true }).replace('ra-only', 'ra-onyl'));
  assert.is.not(bad.status, 0, 'a broken dhcp-range is refused');
});

test('nftables: zones, NAT44 on the WAN only, MSS clamping on the overlay, the allow list', () => {
  const t = nftRuleset(ctx);
  assert.match(t, /^table inet tfw\ndelete table inet tfw\n/m, 'replaces only its own table, atomically');
  assert.match(t, /chain input \{\n\t\ttype filter hook input priority filter; policy drop;/);
  assert.match(t, /chain forward \{\n\t\ttype filter hook forward priority filter; policy drop;/);
  assert.match(t, /ct state vmap \{ established : accept, related : accept, invalid : drop \}/);
  assert.match(t, /iifname "br-lan" oifname \{ "eth0", "tfw0" \} accept/);
  assert.match(t, /iifname "tfw0" oifname "br-lan" jump forward_overlay_lan/);
  assert.match(t, /chain input_wan \{\n\t\tudp dport 51000 accept/);
  assert.match(t, /udp sport 67 udp dport 68 accept/);
  assert.match(t, /icmp type echo-request accept comment "ping"/);
  assert.match(t, /oifname "eth0" meta nfproto ipv4 masquerade/);
  assert.is(t.match(/masquerade/g)!.length, 1, 'NAT only on the WAN');
  assert.is(t.match(/tcp option maxseg size set rt mtu/g)!.length, 2);
  assert.match(t, /ip6 daddr 4ab:cd::\/64 accept/);
  assert.match(t, /ip6 daddr 4ab:cd::10 meta l4proto \{ tcp, udp \} th dport 22 accept/);
  assert.match(t, /ip daddr 10.7.0.5 meta l4proto \{ tcp, udp \} th dport 80 accept/);
  assert.match(t, /chain input_overlay \{[^}]*\}[^}]*tcp dport 80 accept comment "device API"/);
  // Nothing but what is listed enters from the WAN: no accept-all, no jump out of input_wan.
  const wanChain = /chain input_wan \{([\s\S]*?)\n\t\}/.exec(t)![1];
  assert.not.match(wanChain, /^\s*accept\s*$/m);
  assert.is(wanChain.split('\n').filter((l) => l.includes('accept')).length, 6);
  const none = nftRuleset({ ...ctx, apiPort: undefined, firewall: { allowOverlayToLan: [] } });
  assert.not.match(none, /daddr|device API/);
  assert.not.match(t, /9651/, 'no Mycelium port unless a node links over WireGuard');
});

test('nftables: the Mycelium port over WireGuard is opened to the overlay zone only', () => {
  const t = nftRuleset({ ...ctx, overlay: { ...ctx.overlay, myceliumPort: 9651 } });
  const chain = (name: string) => new RegExp(`chain ${name} \\{([\\s\\S]*?)\\n\\t\\}`).exec(t)![1];
  assert.match(chain('input_overlay'), /tcp dport 9651 accept comment "Mycelium links over WireGuard"/);
  assert.not.match(chain('input_wan'), /9651/);
  assert.is(t.match(/9651/g)!.length, 1);
});

test('nft -c -f accepts the generated ruleset and refuses a broken one', () => {
  if (!hasNft) return console.log('  skip: needs root and nft (nftables, make sysdeps)');
  for (const c of [ctx, { ...ctx, apiPort: undefined, firewall: { allowOverlayToLan: [] } }, { ...ctx, overlay: { ...ctx.overlay, myceliumPort: 9651 } }]) {
    const r = nftCheck(nftRuleset(c));
    assert.is(r.status, 0, r.out);
  }
  const bad = nftCheck(nftRuleset(ctx).replace('masquerade', 'masqurade'));
  assert.is.not(bad.status, 0);
  assert.match(bad.out, /masqurade/);
});

test.run();
