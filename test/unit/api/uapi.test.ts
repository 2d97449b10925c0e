/**
 * The WireGuard UAPI (runtime/api/uapi.ts) without root: set lines applied to
 * a config (wireguard-go device/uapi.go semantics, refused sets change
 * nothing), the socket protocol against a real Device behind a Unix socket in
 * a temp dir, and `tfw show`'s wg-style formatting.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { keygen } from '../../../host-tools/commands/keygen.js';
import { formatShow, prettyBytes, prettyTime } from '../../../host-tools/commands/show.js';
import { applySetLines, startUapi, uapiGet, UapiError } from '../../../runtime/api/uapi.js';
import { validateOverlayConfig, type OverlayConfig } from '../../../runtime/config/index.js';
import { Device } from '../../../runtime/overlay/device.js';
import { fromBase64 } from '../../../runtime/overlay/wireguard/keys.js';
import type { Overlay } from '../../../runtime/overlay/index.js';
import { deviceStatus } from '../../../runtime/overlay/status.js';

const A = keygen(), B = keygen(), C = keygen();
const hex = (b64: string) => Buffer.from(b64, 'base64').toString('hex');
const base: OverlayConfig = validateOverlayConfig({
  name: 'tfw9', privateKey: A.privateKey, listenPort: 51820,
  peers: [{ publicKey: B.publicKey, endpoint: '10.0.0.2:51820', allowedIPs: ['10.100.0.2/32'], persistentKeepalive: 25 }],
});

const errnoOf = (fn: () => unknown): number => {
  try {
    fn();
  } catch (err) {
    assert.instance(err, UapiError);
    return (err as UapiError).errno;
  }
  throw new Error('expected a UapiError');
};

test('set: add a peer with every field, update one, remove one, own key ignored', () => {
  const psk = keygen().privateKey;
  const next = applySetLines(base, [
    `public_key=${hex(C.publicKey)}`, `preshared_key=${hex(psk)}`, 'endpoint=[fd00::3]:51000', 'persistent_keepalive_interval=10',
    'replace_allowed_ips=true', 'allowed_ip=10.100.0.3/32', 'allowed_ip=fd00:3::/64', 'protocol_version=1',
    `public_key=${hex(B.publicKey)}`, 'endpoint=10.0.0.22:51820', 'allowed_ip=10.100.2.0/24',
    `public_key=${hex(A.publicKey)}`, 'allowed_ip=10.9.9.9/32',
  ]);
  assert.equal(next.peers, [
    { publicKey: B.publicKey, endpoint: '10.0.0.22:51820', allowedIPs: ['10.100.0.2/32', '10.100.2.0/24'], persistentKeepalive: 25 },
    { publicKey: C.publicKey, presharedKey: psk, endpoint: '[fd00::3]:51000', persistentKeepalive: 10, allowedIPs: ['10.100.0.3/32', 'fd00:3::/64'] },
  ]);
  assert.equal(applySetLines(next, [`public_key=${hex(C.publicKey)}`, 'remove=true']).peers.map((p) => p.publicKey), [B.publicKey]);
  // The input config is never modified.
  assert.equal(base.peers[0].allowedIPs, ['10.100.0.2/32']);
});

test('set: replace_peers, update_only, a zero preshared key clears it, the running key and port are accepted', () => {
  assert.equal(applySetLines(base, ['replace_peers=true']).peers, []);
  assert.equal(applySetLines(base, [`private_key=${hex(A.privateKey)}`, 'listen_port=51820', 'fwmark=0', 'replace_peers=true', `public_key=${hex(C.publicKey)}`]).peers.map((p) => p.publicKey), [C.publicKey]);
  assert.equal(applySetLines(base, [`public_key=${hex(C.publicKey)}`, 'update_only=true', 'allowed_ip=10.1.0.0/16']).peers.length, 1);
  const withPsk = applySetLines(base, [`public_key=${hex(B.publicKey)}`, `preshared_key=${hex(C.publicKey)}`]);
  assert.is(withPsk.peers[0].presharedKey, C.publicKey);
  assert.is(applySetLines(withPsk, [`public_key=${hex(B.publicKey)}`, `preshared_key=${'0'.repeat(64)}`]).peers[0].presharedKey, undefined);
});

test('set: refused lines throw EINVAL / EPROTO naming the key and value', () => {
  assert.is(errnoOf(() => applySetLines(base, [`private_key=${hex(C.privateKey)}`])), 22);
  assert.is(errnoOf(() => applySetLines(base, ['listen_port=4000'])), 22);
  assert.is(errnoOf(() => applySetLines(base, ['fwmark=7'])), 22);
  assert.is(errnoOf(() => applySetLines(base, ['bogus=1'])), 22);
  assert.is(errnoOf(() => applySetLines(base, ['no equals sign'])), 71);
  assert.is(errnoOf(() => applySetLines(base, ['public_key=abc'])), 22);
  assert.is(errnoOf(() => applySetLines(base, [`public_key=${hex(C.publicKey)}`, 'allowed_ip=10.0.0.300/32'])), 22);
  assert.is(errnoOf(() => applySetLines(base, [`public_key=${hex(C.publicKey)}`, 'endpoint=nowhere'])), 22);
  assert.is(errnoOf(() => applySetLines(base, [`public_key=${hex(C.publicKey)}`, 'persistent_keepalive_interval=70000'])), 22);
  try {
    applySetLines(base, [`public_key=${hex(C.publicKey)}`, 'endpoint=nowhere']);
  } catch (err) {
    assert.match((err as Error).message, 'peers.1.endpoint');
  }
});

/** A stand-in for a running overlay: a real Device (no I/O) and a config applied with setPeers. */
function fakeOverlay(cfg: OverlayConfig): { overlay: Overlay; device: Device } {
  const device = new Device({ privateKey: fromBase64(cfg.privateKey), io: { transmit() {}, deliver() {} } });
  device.setPeers(cfg.peers);
  const overlay = { name: cfg.name, device, status: () => deviceStatus(device, cfg.listenPort) } as unknown as Overlay;
  return { overlay, device };
}

/** Sends raw protocol text and resolves with the whole answer once `answers` errno lines came back. */
function raw(path: string, text: string, answers = 1): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const s = createConnection(path, () => s.write(text));
    const timer = setTimeout(() => s.destroy(new Error(`no answer: ${JSON.stringify(out)}`)), 3000);
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      out += d;
      if ((out.match(/errno=-?\d+\n\n/g) ?? []).length >= answers) s.end();
    });
    s.on('close', () => (clearTimeout(timer), resolve(out)));
    s.on('error', reject);
  });
}

test('socket: get answers the device state in hex; set applies; a bad set answers errno=-22 and changes nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tfw-uapi-'));
  let running = base;
  const { overlay, device } = fakeOverlay(base);
  const logs: string[] = [];
  const srv = await startUapi({
    overlay, path: join(dir, 'tfw9.sock'),
    update: async (change) => {
      const next = change(running);
      device.setPeers(next.peers);
      return (running = next);
    },
    log: (c, m) => logs.push(`${c}: ${m}`),
  });
  try {
    assert.is(statSync(srv.path).mode & 0o777, 0o600, 'owner only: a client can rekey the router');
    const peer = device.peers.get(B.publicKey)!;
    peer.rxBytes = 1234;
    peer.txBytes = 99;
    peer.lastHandshake = 1_700_000_000_250;
    const got = await raw(srv.path, 'get=1\n\n');
    assert.is(got, [
      `private_key=${hex(A.privateKey)}`, 'listen_port=51820',
      `public_key=${hex(B.publicKey)}`, `preshared_key=${'0'.repeat(64)}`, 'protocol_version=1', 'endpoint=10.0.0.2:51820',
      'last_handshake_time_sec=1700000000', 'last_handshake_time_nsec=250000000', 'tx_bytes=99', 'rx_bytes=1234',
      'persistent_keepalive_interval=25', 'allowed_ip=10.100.0.2/32', 'errno=0', '', '',
    ].join('\n'));
    const shown = await uapiGet('tfw9', srv.path);
    assert.equal(shown, {
      interface: 'tfw9', privateKey: A.privateKey, publicKey: A.publicKey, listenPort: 51820, fwmark: 0,
      peers: [{ publicKey: B.publicKey, presharedKey: null, endpoint: '10.0.0.2:51820', allowedIPs: ['10.100.0.2/32'], latestHandshake: 1700000000, transferRx: 1234, transferTx: 99, persistentKeepalive: 25 }],
    });
    // Two operations on one connection: a set adding C, then a get seeing it.
    const two = await raw(srv.path, `set=1\npublic_key=${hex(C.publicKey)}\nendpoint=[fd00::3]:51000\nallowed_ip=fd00:3::1/64\n\nget=1\n\n`, 2);
    assert.ok(two.startsWith('errno=0\n\n'), two);
    assert.match(two, `public_key=${hex(C.publicKey)}\npreshared_key=${'0'.repeat(64)}\nprotocol_version=1\nendpoint=[fd00::3]:51000\n`);
    assert.match(two, '\nallowed_ip=fd00:3::/64\n', 'masked, as wireguard-go prints allowed IPs');
    assert.is(device.peers.size, 2);
    // A refused set: the peer removal in the same request is not applied either.
    assert.is(await raw(srv.path, `set=1\npublic_key=${hex(C.publicKey)}\nremove=true\nlisten_port=1\n\n`), 'errno=-22\n\n');
    assert.is(device.peers.size, 2);
    assert.ok(logs.some((l) => l.startsWith('uapi: set=1 refused: ')), logs.join('\n'));
    assert.is(await raw(srv.path, 'get=1\nx\n\n'), 'errno=-22\n\n');
  } finally {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
  // Closing removes the socket: a client now fails with EIO and the path named.
  const err = await uapiGet('tfw9', join(dir, 'tfw9.sock')).catch((e: UapiError) => e);
  assert.instance(err, UapiError);
  assert.match((err as Error).message, 'tfw9.sock');
});

test('tfw show formats like wg show (wireguard-tools show.c)', () => {
  assert.is(prettyBytes(1023), '1023 B');
  assert.is(prettyBytes(1536), '1.50 KiB');
  assert.is(prettyBytes(5 * 1048576), '5.00 MiB');
  assert.is(prettyTime(62), '1 minute, 2 seconds');
  assert.is(prettyTime(3600 * 25 + 1), '1 day, 1 hour, 1 second');
  const text = formatShow({
    interface: 'tfw0', privateKey: A.privateKey, publicKey: A.publicKey, listenPort: 51820, fwmark: 0,
    peers: [
      { publicKey: C.publicKey, presharedKey: null, endpoint: null, allowedIPs: [], latestHandshake: 0, transferRx: 0, transferTx: 0, persistentKeepalive: 0 },
      { publicKey: B.publicKey, presharedKey: C.publicKey, endpoint: '10.0.0.2:51820', allowedIPs: ['10.100.0.2/32', 'fd00::/64'], latestHandshake: 1000, transferRx: 2048, transferTx: 10, persistentKeepalive: 25 },
    ],
  }, 1062);
  assert.is(text, `interface: tfw0
  public key: ${A.publicKey}
  private key: (hidden)
  listening port: 51820

peer: ${B.publicKey}
  preshared key: (hidden)
  endpoint: 10.0.0.2:51820
  allowed ips: 10.100.0.2/32, fd00::/64
  latest handshake: 1 minute, 2 seconds ago
  transfer: 2.00 KiB received, 10 B sent
  persistent keepalive: every 25 seconds

peer: ${C.publicKey}
  allowed ips: (none)
`);
});

test.run();
