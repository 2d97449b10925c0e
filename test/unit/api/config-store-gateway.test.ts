/**
 * The device API's config store with a 3router's gateway sections: GET shows
 * lan/wan/firewall, a PUT's firewall is checked and handed to the gateway's
 * live ruleset reload, lan/wan changes wait for a restart, a bad section
 * changes nothing, and the stored file keeps what was put.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigStore, CONFIG_FILE } from '../../../runtime/api/config-store.js';
import { validateOverlayConfig, type OverlayConfig } from '../../../runtime/config/schema.js';
import { ConfigError } from '../../../runtime/errors.js';
import type { FirewallConfig } from '../../../runtime/gateway/config.js';
import { keygen } from '../../../host-tools/commands/keygen.js';

const me = keygen();
const data = mkdtempSync(join(tmpdir(), 'tfw-cs-gw-'));
const applied: OverlayConfig[] = [];
const firewalls: FirewallConfig[] = [];
const store = new ConfigStore({
  config: validateOverlayConfig({ privateKey: me.privateKey }),
  keyFromConfig: false,
  dataDir: data,
  apply: async (c) => void applied.push(c),
  gateway: { lan: { address: '192.168.7.1/24' }, firewall: { allowOverlayToLan: [] } },
  applyGateway: async (sections, changed) => {
    if (changed.includes('firewall')) firewalls.push(sections.firewall as FirewallConfig);
    return changed.filter((k) => k !== 'firewall');
  },
});
const stored = () => JSON.parse(readFileSync(join(data, CONFIG_FILE), 'utf8'));

test('GET shows the gateway sections beside the overlay fields', () => {
  const g = store.get();
  assert.equal(g.lan, { address: '192.168.7.1/24' });
  assert.equal(g.firewall, { allowOverlayToLan: [] });
  assert.not.ok('wan' in g);
});

test('a PUT with a new firewall is checked and applied live; the file keeps it', async () => {
  const r = await store.put({ ...store.get(), firewall: { allowOverlayToLan: ['4ab:cd::10 22'] } });
  assert.equal(firewalls, [{ allowOverlayToLan: ['4ab:cd::10 22'] }]);
  assert.equal(r.restart, []);
  assert.equal(stored().firewall, { allowOverlayToLan: ['4ab:cd::10 22'] });
  assert.equal(stored().lan, { address: '192.168.7.1/24' });
});

test('a PUT without the sections (an older client) leaves them as they are and reloads nothing', async () => {
  const { lan: _l, firewall: _f, ...overlayOnly } = store.get();
  await store.put(overlayOnly);
  assert.is(firewalls.length, 1);
  assert.equal(store.get().firewall, { allowOverlayToLan: ['4ab:cd::10 22'] });
});

test('lan and wan changes are kept for the next start (restart), not applied', async () => {
  const r = await store.put({ ...store.get(), lan: { address: '192.168.8.1/24' }, wan: { method: 'static', address: '203.0.113.2/24', gateway: '203.0.113.1' } });
  assert.equal(r.restart, ['lan', 'wan']);
  assert.is(firewalls.length, 1);
  assert.equal(stored().wan, { method: 'static', address: '203.0.113.2/24', gateway: '203.0.113.1' });
});

test('a bad gateway field is refused by name and changes nothing', async () => {
  const before = applied.length;
  try {
    await store.put({ ...store.get(), firewall: { allowOverlayToLan: ['not-a-prefix'] } });
    assert.unreachable('accepted a bad allow rule');
  } catch (err) {
    assert.instance(err, ConfigError);
    assert.match((err as Error).message, /firewall\.allowOverlayToLan\.0/);
  }
  assert.is(applied.length, before, 'the overlay was not reloaded');
  assert.is(firewalls.length, 1);
  assert.equal(store.get().firewall, { allowOverlayToLan: ['4ab:cd::10 22'] });
});

test('without applyGateway (no gateway running) a firewall change waits for a restart', async () => {
  const s = new ConfigStore({ config: validateOverlayConfig({ privateKey: me.privateKey }), keyFromConfig: false, apply: async () => {}, gateway: {} });
  const r = await s.put({ ...s.get(), firewall: { allowOverlayToLan: ['4ab:cd::/64'] } });
  assert.equal(r.restart, ['firewall']);
});

test('another role (no keep) neither shows nor keeps gateway sections; a bad one is still refused by name', async () => {
  const s = new ConfigStore({ config: validateOverlayConfig({ privateKey: me.privateKey }), keyFromConfig: false, apply: async () => {} });
  const r = await s.put({ ...s.get(), lan: {} });
  assert.equal(r.restart, []);
  assert.not.ok('lan' in s.get());
  try {
    await s.put({ ...s.get(), lan: { address: 'x' } });
    assert.unreachable('took a bad lan section');
  } catch (err) {
    assert.instance(err, ConfigError);
    assert.match((err as Error).message, /lan\.address/);
  }
});

test.run();
