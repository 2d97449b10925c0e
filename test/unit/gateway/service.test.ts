/** The gateway service's steps with the commands recorded (no root needed): order, failsafe, role gating, the errors. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateGatewayConfig } from '../../../runtime/gateway/config.js';
import { gatewaySections, startGateway, wanStaticWords, startGatewayForRole, GatewayError, type GatewayOptions } from '../../../runtime/gateway/service.js';
import { ConfigError } from '../../../runtime/errors.js';

const runDir = mkdtempSync(join(tmpdir(), 'tfw-gw-unit-'));
function opts(o: Partial<GatewayOptions> = {}): { o: GatewayOptions; cmds: string[] } {
  const cmds: string[] = [];
  return {
    cmds,
    o: {
      gateway: validateGatewayConfig({ lan: {} }),
      ports: { wan: 'eth0', lan: 'eth1' },
      overlay: { iface: 'tfw0', port: 51820, address: '4ab:cd:0:1::1/64' },
      runDir,
      log: () => {},
      run: (cmd, args) => {
        if (cmd === 'ip' && args[3] === 'type') throw new Error('busybox ip: no bridge type');
        cmds.push([cmd, ...args].join(' '));
      },
      spawnDnsmasq: null,
      ...o,
    },
  };
}

test('steps in order: bridge (brctl fallback), overlay /64 to the bridge, dnsmasq config, ruleset, forwarding', async () => {
  const { o, cmds } = opts();
  const g = await startGateway(o);
  assert.equal(cmds, [
    'brctl addbr br-lan',
    'ip link set eth1 master br-lan',
    'ip link set eth1 up',
    'ip link set br-lan up',
    'ip -4 addr replace 192.168.1.1/24 dev br-lan',
    'ip -6 addr del 4ab:cd:0:1::1/64 dev tfw0',
    'ip -6 addr replace 4ab:cd:0:1::1/128 dev tfw0',
    'ip -6 addr replace 4ab:cd:0:1::1/64 dev br-lan',
    `nft -f ${join(runDir, 'gateway.nft')}`,
    'sysctl -qw net.ipv6.conf.eth0.accept_ra=2',
    'sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1',
  ]);
  assert.match(readFileSync(g.files.dnsmasq, 'utf8'), /enable-ra/);
  assert.match(readFileSync(g.files.nft!, 'utf8'), /oifname "eth0" meta nfproto ipv4 masquerade/);
  await g.stop();
});

test('failsafe: OpenWrt\'s LAN whatever the config, no SLAAC, no ruleset, no forwarding', async () => {
  const { o, cmds } = opts({ failsafe: true, gateway: validateGatewayConfig({}) });
  const g = await startGateway(o);
  assert.is(g.lan.address, '192.168.1.1/24');
  assert.ok(cmds.includes('ip -4 addr replace 192.168.1.1/24 dev br-lan'));
  assert.not.ok(cmds.some((c) => c.startsWith('nft') || c.startsWith('sysctl') || c.includes('tfw0')), cmds.join('\n'));
  assert.not.match(readFileSync(g.files.dnsmasq, 'utf8'), /enable-ra/);
});

test('a failing command is one GatewayError naming it; no lan and no failsafe is refused', async () => {
  const { o } = opts({ run: (cmd, args) => { if (cmd === 'nft') throw new GatewayError(`gateway: nft ${args.join(' ')}: Operation not permitted`); } });
  try {
    await startGateway(o);
    assert.unreachable('expected GatewayError');
  } catch (e) {
    assert.instance(e, GatewayError);
    assert.is((e as GatewayError).code, 'ERR_TFW_GATEWAY');
    assert.match((e as Error).message, /^gateway: nft -f .*gateway\.nft: Operation not permitted$/);
  }
  await startGateway(opts({ gateway: validateGatewayConfig({}) }).o).then(
    () => assert.unreachable('expected GatewayError'),
    (e) => assert.match((e as Error).message, /no lan section/),
  );
});

test('the runtime starts it for a 3router with lan: or failsafe only; bad sections name the field', async () => {
  const log = () => {};
  assert.is(await startGatewayForRole({ role: '3node', raw: { lan: {} }, env: {}, log }), undefined);
  assert.is(await startGatewayForRole({ role: '3router', raw: {}, env: {}, log }), undefined);
  await startGatewayForRole({ role: '3router', raw: { lan: { dhcp: { start: 999 } } }, env: {}, log }).then(
    () => assert.unreachable('expected ConfigError'),
    (e) => assert.is((e as ConfigError).field, 'lan.dhcp.start'),
  );
  assert.equal(gatewaySections({ name: 'tfw0', lan: { address: '10.0.0.1/24' }, firewall: {} }), { lan: { address: '10.0.0.1/24' }, firewall: {} });
  assert.equal(gatewaySections(null), {});
});

test('wan.method static: the WAN lease flushed, the address and default route set, before the bridge; not in failsafe', async () => {
  const gateway = validateGatewayConfig({ lan: {}, wan: { method: 'static', address: '203.0.113.2/24', gateway: '203.0.113.1' } });
  const lines: string[] = [];
  const { o, cmds } = opts({ gateway, log: (m) => lines.push(m) });
  await startGateway(o);
  assert.equal(cmds.slice(0, 4), ['ip -4 addr flush dev eth0', 'ip -4 addr add 203.0.113.2/24 dev eth0', 'ip -4 route replace default via 203.0.113.1 dev eth0', 'brctl addbr br-lan']);
  assert.ok(lines.includes('wan eth0 203.0.113.2/24 via 203.0.113.1 (static)'), lines.join('\n'));
  const fs = opts({ gateway, failsafe: true });
  await startGateway(fs.o);
  assert.not.ok(fs.cmds.some((c) => c.includes('eth0')), fs.cmds.join('\n'));
});

test('wan.method static for the init: NET_* words for a static WAN, nothing for dhcp, no wan or a bad section', () => {
  assert.is(wanStaticWords({ lan: {}, wan: { method: 'static', address: '203.0.113.2/24', gateway: '203.0.113.1' } }), 'NET_ADDRESS=203.0.113.2/24 NET_GATEWAY=203.0.113.1');
  assert.is(wanStaticWords({ lan: {}, wan: { method: 'dhcp' } }), '');
  assert.is(wanStaticWords({ lan: {} }), '');
  assert.is(wanStaticWords(null), '');
  assert.is(wanStaticWords({ wan: { method: 'static', address: '203.0.113.2/24' } }), '', 'no gateway: the runtime names wan.gateway later');
  assert.is(wanStaticWords({ wan: { method: 'static', address: '$(reboot)/24', gateway: '203.0.113.1' } }), '', 'only checked IPv4 forms reach the shell');
});

test('the init runs `tfw-runtime.mjs --config FILE --wan-static` before its DHCP client; the runtime entry prints the words from the image\'s CBOR', async () => {
  const init = readFileSync(new URL('../../../runtime/init/init.sh', import.meta.url), 'utf8');
  const ask = init.indexOf('--wan-static');
  assert.ok(ask > 0 && ask < init.indexOf('udhcpc -i'), 'asked before the DHCP client');
  const { encodeOverlayConfig, loadOverlayConfig } = await import('../../../images/builder/overlay-config.js');
  const dir = mkdtempSync(join(tmpdir(), 'tfw-wan-static-'));
  const yaml = join(dir, 'r.yaml');
  writeFileSync(yaml, 'lan: {}\nwan: { method: static, address: 10.77.0.10/24, gateway: 10.77.0.2 }\n');
  const cbor = join(dir, 'config.cbor');
  writeFileSync(cbor, encodeOverlayConfig(loadOverlayConfig(yaml)));
  const main = fileURLToPath(new URL('../../../runtime/main.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', main, '--config', cbor, '--wan-static'], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, 'NET_ADDRESS=10.77.0.10/24 NET_GATEWAY=10.77.0.2\n');
});

test('setFirewall regenerates the ruleset with the new allow list and loads it; refused in failsafe', async () => {
  const { o, cmds } = opts();
  const g = await startGateway(o);
  assert.not.match(readFileSync(g.files.nft!, 'utf8'), /4ab:cd::10/);
  cmds.length = 0;
  g.setFirewall(validateGatewayConfig({ firewall: { allowOverlayToLan: ['4ab:cd::10 22'] } }).firewall);
  assert.equal(cmds, [`nft -f ${join(runDir, 'gateway.nft')}`]);
  assert.match(readFileSync(g.files.nft!, 'utf8'), /ip6 daddr 4ab:cd::10 .*dport 22/);
  const fs = await startGateway(opts({ failsafe: true }).o);
  assert.throws(() => fs.setFirewall(validateGatewayConfig({}).firewall), (e: Error) => e instanceof GatewayError && /failsafe/.test(e.message));
});

test.run();
