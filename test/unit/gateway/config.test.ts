/** The gateway sections of the config (lan, wan, firewall): OpenWrt's defaults, the DHCP pool resolved, bad values naming the field. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FAILSAFE_LAN, parseAllowRule, validateGatewayConfig } from '../../../runtime/gateway/config.js';
import { validateOverlayConfig } from '../../../runtime/config/index.js';
import { keygen } from '../../../host-tools/commands/keygen.js';
import { throwsField } from '../../helpers.js';


test('defaults are OpenWrt\'s: 192.168.1.1/24, pool .100-.250, 12h, WAN by DHCP, nothing allowed overlay -> LAN', () => {
  const g = validateGatewayConfig({ lan: {} });
  assert.equal(g.lan, { address: '192.168.1.1/24', bridge: 'br-lan', dhcp: { enabled: true, start: '192.168.1.100', end: '192.168.1.250', leaseTime: '12h' }, dns: { upstream: [] } });
  assert.equal(g.wan, { method: 'dhcp' });
  assert.equal(g.firewall, { allowOverlayToLan: [] });
  assert.equal(FAILSAFE_LAN, g.lan);
  assert.is(validateGatewayConfig({}).lan, undefined, 'no lan section: no LAN');
});

test('pool bounds as host numbers follow the LAN subnet; addresses are kept', () => {
  const g = validateGatewayConfig({ lan: { address: '10.1.0.1/16', dhcp: { start: 256, end: '10.1.2.0', leaseTime: 3600 } } });
  assert.equal(g.lan!.dhcp, { enabled: true, start: '10.1.1.0', end: '10.1.2.0', leaseTime: '3600' });
  const s = validateGatewayConfig({ wan: { method: 'static', address: '203.0.113.2/24', gateway: '203.0.113.1' }, lan: { dns: { upstream: ['9.9.9.9', '2620:fe::fe'] } } });
  assert.equal(s.wan, { method: 'static', address: '203.0.113.2/24', gateway: '203.0.113.1' });
  assert.equal(s.lan!.dns.upstream, ['9.9.9.9', '2620:fe::fe']);
});

test('bad values name the field, the value and what was expected', () => {
  throwsField(() => validateGatewayConfig({ lan: { address: '192.168.1.1' } }), 'lan.address', /prefix length.*got "192.168.1.1"/);
  throwsField(() => validateGatewayConfig({ lan: { address: '192.168.1.0/24' } }), 'lan.address', /network address/);
  throwsField(() => validateGatewayConfig({ lan: { address: 'fd00::1/64' } }), 'lan.address', /IPv4/);
  throwsField(() => validateGatewayConfig({ lan: { dhcp: { start: 300 } } }), 'lan.dhcp.start', /outside the LAN subnet 192.168.1.0\/24.*300/);
  throwsField(() => validateGatewayConfig({ lan: { dhcp: { end: '10.0.0.5' } } }), 'lan.dhcp.end', /outside the LAN subnet/);
  throwsField(() => validateGatewayConfig({ lan: { dhcp: { start: 200, end: 150 } } }), 'lan.dhcp.end', /below lan.dhcp.start/);
  throwsField(() => validateGatewayConfig({ lan: { dhcp: { leaseTime: '12 hours' } } }), 'lan.dhcp.leaseTime', /12h.*got "12 hours"/);
  throwsField(() => validateGatewayConfig({ lan: { dhcp: { leaseTime: 60 } } }), 'lan.dhcp.leaseTime', /at least 120/);
  throwsField(() => validateGatewayConfig({ lan: { dns: { upstream: ['dns.example'] } } }), 'lan.dns.upstream.0', /IPv4 or IPv6 address/);
  throwsField(() => validateGatewayConfig({ lan: { bridge: 'a-very-long-bridge-name' } }), 'lan.bridge', /1-15 characters/);
  throwsField(() => validateGatewayConfig({ lan: { adress: '10.0.0.1/24' } }), 'lan.adress', /unknown field; did you mean address\?/);
  throwsField(() => validateGatewayConfig({ wan: { method: 'pppoe' } }), 'wan.method', /dhcp.*static|Invalid enum/);
  throwsField(() => validateGatewayConfig({ wan: { method: 'static', address: '203.0.113.2/24' } }), 'wan.gateway', /required when wan.method is static/);
  throwsField(() => validateGatewayConfig({ wan: { address: '203.0.113.2/24' } }), 'wan.address', /only used with wan.method static/);
  throwsField(() => validateGatewayConfig({ firewall: { allowOverlayToLan: ['4ab::/64', 'host 22'] } }), 'firewall.allowOverlayToLan.1', /"prefix".*"addr port".*got "host 22"/);
  throwsField(() => validateGatewayConfig({ firewall: { allowOverlayToLan: ['4ab::10 70000'] } }), 'firewall.allowOverlayToLan.0', /addr port/);
});

test('allow rules: "prefix" or "addr port", normalised', () => {
  assert.equal(parseAllowRule('4ab:00cd::/64'), { family: 6, daddr: '4ab:cd::/64' });
  assert.equal(parseAllowRule(' 4ab:cd::10   22 '), { family: 6, daddr: '4ab:cd::10', port: 22 });
  assert.equal(parseAllowRule('192.168.1.20 80'), { family: 4, daddr: '192.168.1.20', port: 80 });
  for (const bad of ['', '4ab::/129', '4ab::1 0', '4ab::1 22 tcp', 'x 1']) assert.is(parseAllowRule(bad), null, bad);
});

test('the overlay reader accepts the gateway sections and refuses their bad values', () => {
  const k = keygen();
  const c = validateOverlayConfig({ privateKey: k.privateKey, lan: {}, wan: { method: 'dhcp' }, firewall: { allowOverlayToLan: [] } });
  assert.is(c.name, 'tfw0');
  assert.not.ok('lan' in c, 'the overlay config keeps overlay fields only');
  throwsField(() => validateOverlayConfig({ privateKey: k.privateKey, lan: { dhcp: { start: 0 } } }), 'lan.dhcp.start', /host number/);
  throwsField(() => validateOverlayConfig({ privateKey: k.privateKey, lna: {} }), 'lna', /did you mean lan\?/);
});

test.run();
