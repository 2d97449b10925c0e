/**
 * The running config's one owner (runtime/api/config-store.ts): the 3router's
 * gateway sections shown, checked by field and kept on /data; `update` (what
 * a `wg set` and SIGHUP go through) applied and kept; changes from the API
 * and the UAPI run one at a time, so neither undoes the other.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigStore, CONFIG_FILE } from '../../../runtime/api/config-store.js';
import { applySetLines } from '../../../runtime/api/uapi.js';
import { validateOverlayConfig, type OverlayConfig } from '../../../runtime/config/schema.js';
import { ConfigError } from '../../../runtime/errors.js';
import { keygen } from '../../../host-tools/commands/keygen.js';

const me = keygen(), A = keygen(), B = keygen(), C = keygen();
const hex = (b64: string) => Buffer.from(b64, 'base64').toString('hex');
const initial = validateOverlayConfig({ privateKey: me.privateKey, peers: [{ publicKey: A.publicKey, endpoint: '10.0.0.2:51820', allowedIPs: ['10.100.0.2/32'] }] });
const LAN = { address: '192.168.7.1/24', dhcp: { start: 50, end: 90 } };

function setup(o: { applyGateway?: ConstructorParameters<typeof ConfigStore>[0]['applyGateway']; slowApply?: boolean } = {}) {
  const data = mkdtempSync(join(tmpdir(), 'tfw-store-'));
  const applied: OverlayConfig[] = [];
  const store = new ConfigStore({
    config: initial,
    keyFromConfig: false,
    dataDir: data,
    gateway: { lan: LAN, firewall: { allowOverlayToLan: [] } },
    apply: async (c) => {
      if (o.slowApply) await new Promise((r) => setTimeout(r, 30));
      applied.push(c);
    },
    applyGateway: o.applyGateway,
  });
  const kept = () => JSON.parse(readFileSync(join(data, CONFIG_FILE), 'utf8'));
  return { store, applied, kept, done: () => rmSync(data, { recursive: true, force: true }) };
}

test('gateway sections: shown as written, a bad field named and nothing changed, a good change kept and reported for a restart', async () => {
  const { store, applied, kept, done } = setup();
  try {
    const got = store.get();
    assert.equal(got.lan, LAN);
    assert.equal(got.firewall, { allowOverlayToLan: [] });
    assert.not.ok('wan' in got);
    const err = await store.put({ ...got, lan: { ...LAN, dhcp: { start: 50, end: 300 } } }).catch((e: Error) => e);
    assert.instance(err, ConfigError);
    assert.is((err as ConfigError).field, 'lan.dhcp.end');
    assert.match((err as Error).message, /outside the LAN subnet 192\.168\.7\.0\/24/);
    const bad = await store.put({ ...got, firewall: { allowOverlayToLan: ['4ab:cd::10 99999'] } }).catch((e: ConfigError) => e.field);
    assert.is(bad, 'firewall.allowOverlayToLan.0');
    assert.is(applied.length, 0, 'nothing applied');
    assert.equal(store.get().lan, LAN, 'nothing changed');

    const rules = ['4ab:cd::/64', '4ab:cd::10 22'];
    const r = await store.put({ ...got, lan: { ...LAN, address: '192.168.8.1/24' }, wan: { method: 'static', address: '203.0.113.2/24', gateway: '203.0.113.1' }, firewall: { allowOverlayToLan: rules } });
    assert.equal(r, { persisted: true, restart: ['lan', 'wan', 'firewall'] });
    assert.is(store.get().lan && (store.get().lan as typeof LAN).address, '192.168.8.1/24');
    const k = kept();
    assert.equal(k.firewall.allowOverlayToLan, rules);
    assert.is(k.wan.method, 'static');
    assert.equal(k.peers.map((p: { publicKey: string }) => p.publicKey), [A.publicKey], 'the overlay fields are kept beside them');
    // A peer added through the API keeps the gateway sections (its config is the whole one).
    await store.putPeer({ publicKey: B.publicKey, allowedIPs: ['10.100.0.3/32'] }, false);
    assert.equal(kept().firewall.allowOverlayToLan, rules);
    // Leaving a section out of a PUT keeps it; null removes it.
    const { wan: _wan, ...noWan } = store.get();
    assert.equal((await store.put(noWan)).restart, []);
    assert.is(kept().wan.method, 'static');
    assert.equal((await store.put({ ...noWan, wan: null })).restart, ['wan']);
    assert.not.ok('wan' in kept());
  } finally {
    done();
  }
});

test('applyGateway applies what it can live; what it returns waits for a restart', async () => {
  const calls: Array<[Record<string, unknown>, string[]]> = [];
  const { store, done } = setup({ applyGateway: async (s, changed) => (calls.push([s, changed]), changed.filter((k) => k !== 'firewall')) });
  try {
    const r = await store.put({ ...store.get(), firewall: { allowOverlayToLan: ['4ab:cd::/64'] } });
    assert.equal(r.restart, []);
    assert.equal(calls, [[{ lan: LAN, firewall: { allowOverlayToLan: ['4ab:cd::/64'] } }, ['firewall']]]);
    assert.equal((await store.put({ ...store.get(), lan: { ...LAN, bridge: 'br-x' } })).restart, ['lan']);
  } finally {
    done();
  }
});

test('update (wg set, SIGHUP): applied and kept on /data with the gateway sections; not kept when asked; a refused change keeps the running config', async () => {
  const { store, applied, kept, done } = setup();
  try {
    const next = await store.update((running) => applySetLines(running, [`public_key=${hex(C.publicKey)}`, 'endpoint=10.0.0.9:51820', 'allowed_ip=10.100.0.9/32']));
    assert.equal(next.peers.map((p) => p.publicKey), [A.publicKey, C.publicKey]);
    assert.is(applied.length, 1);
    assert.equal(kept().peers.map((p: { publicKey: string }) => p.publicKey), [A.publicKey, C.publicKey]);
    assert.equal(kept().lan, LAN);
    assert.not.ok('privateKey' in kept(), 'the node key stays in the identity file');
    assert.not.ok(await store.update(() => { throw new ConfigError('peers.0.endpoint', 'bad'); }).then(() => true, () => false));
    assert.is(store.running(), next);
    await store.update((running) => ({ ...running, peers: [] }), false);
    assert.is(store.running().peers.length, 0);
    assert.is(kept().peers.length, 2, 'a SIGHUP reload is not written back');
  } finally {
    done();
  }
});

test('API and UAPI changes run one at a time: a wg set during a slow PUT starts from its result', async () => {
  const { store, kept, done } = setup({ slowApply: true });
  try {
    const put = store.putPeer({ publicKey: B.publicKey, allowedIPs: ['10.100.0.3/32'] }, false);
    const set = store.update((running) => applySetLines(running, [`public_key=${hex(C.publicKey)}`, 'allowed_ip=10.100.0.9/32']));
    await Promise.all([put, set]);
    assert.equal(store.running().peers.map((p) => p.publicKey), [A.publicKey, B.publicKey, C.publicKey]);
    assert.equal(kept().peers.map((p: { publicKey: string }) => p.publicKey), [A.publicKey, B.publicKey, C.publicKey]);
  } finally {
    done();
  }
});

test('describe: the status peers get their allowed IPs (masked, as wg show prints them) and keepalive from the running config', async () => {
  const { store, done } = setup();
  try {
    await store.update((running) => applySetLines(running, [`public_key=${hex(C.publicKey)}`, 'allowed_ip=fd00:3::1/64', 'persistent_keepalive_interval=25']));
    const status = { publicKey: me.publicKey, peers: [{ publicKey: A.publicKey, rxBytes: 1 }, { publicKey: C.publicKey, rxBytes: 2 }, { publicKey: B.publicKey, rxBytes: 3 }] };
    assert.equal(store.describe(status).peers, [
      { publicKey: A.publicKey, rxBytes: 1, allowedIPs: ['10.100.0.2/32'], persistentKeepalive: 0 },
      { publicKey: C.publicKey, rxBytes: 2, allowedIPs: ['fd00:3::/64'], persistentKeepalive: 25 },
      { publicKey: B.publicKey, rxBytes: 3, allowedIPs: [], persistentKeepalive: 0 },
    ]);
  } finally {
    done();
  }
});

test('mycelium: the opt-out of the mesh default is shown and kept on /data across API changes; a PUT changes it for the next start', async () => {
  const data = mkdtempSync(join(tmpdir(), 'tfw-store-'));
  try {
    const store = new ConfigStore({ config: { ...initial, mesh: true }, keyFromConfig: false, dataDir: data, mycelium: false, apply: async () => {} });
    const kept = () => JSON.parse(readFileSync(join(data, CONFIG_FILE), 'utf8'));
    assert.is(store.get().mycelium, false);
    await store.putPeer({ publicKey: B.publicKey, allowedIPs: ['10.100.0.3/32'] }, false);
    assert.is(kept().mycelium, false, 'a peer added through the API keeps the opt-out in the stored config');
    const { mycelium: _m, ...rest } = store.get();
    assert.equal((await store.put(rest)).restart, [], 'left out of a PUT: kept');
    assert.is(kept().mycelium, false);
    const bad = await store.put({ ...rest, mycelium: 'off' }).catch((e: ConfigError) => e.field);
    assert.is(bad, 'mycelium');
    assert.is(kept().mycelium, false, 'a refused value changes nothing');
    assert.equal((await store.put({ ...rest, mycelium: { discovery: false } })).restart, ['mycelium'], 'a new value waits for a restart');
    assert.equal(kept().mycelium, { discovery: false });
    await store.put({ ...rest, mycelium: null });
    assert.not.ok('mycelium' in kept(), 'null removes it: the mesh default again');
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
});

test.run();
