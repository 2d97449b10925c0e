/** The overlay config: YAML/JSON/CBOR/wg-quick readers, validation errors naming the field, the CBOR compiler. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'cbor-x';
import { compileConfig, detectFormat, loadConfig, parseConfig, parseWgQuick, toWgQuick, validateOverlayConfig } from '../../runtime/config/index.js';
import { formatIp, parseCidr, parseEndpoint, parseIp, parseListenAddress } from '../../runtime/config/ip.js';
import { suggestKey, TOP_LEVEL_KEYS } from '../../runtime/config/top-level.js';
import { runTfw, throwsField } from '../helpers.js';
import { ConfigError } from '../../runtime/errors.js';
import { keygen } from '../../host-tools/commands/keygen.js';

const A = keygen(), B = keygen(), C = keygen();
const dir = mkdtempSync(join(tmpdir(), 'tfw-config-'));
const file = (name: string, text: string | Uint8Array) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const yaml = `name: tfw1
privateKey: ${A.privateKey}
listenPort: 51000
address: [10.100.0.1/24, fd00::1/64]
mesh: true
status: 127.0.0.1:9595
peers:
  - publicKey: ${B.publicKey}
    endpoint: 10.99.0.2:51820
    allowedIPs: [10.100.0.2/32]
    persistentKeepalive: 25
    presharedKey: ${C.privateKey}
  - publicKey: ${C.publicKey}
    endpoint: "[fd00::2]:51820"
`;


test('YAML with every field, defaults filled', () => {
  const c = loadConfig(file('a.yaml', yaml));
  assert.is(c.name, 'tfw1');
  assert.is(c.listenPort, 51000);
  assert.equal(c.address, ['10.100.0.1/24', 'fd00::1/64']);
  assert.is(c.mesh, true);
  assert.is(c.peers.length, 2);
  assert.is(c.peers[0].persistentKeepalive, 25);
  assert.equal(c.peers[1].allowedIPs, []);
  assert.is(c.peers[1].endpoint, '[fd00::2]:51820');
  const d = validateOverlayConfig({ privateKey: A.privateKey });
  assert.equal([d.name, d.listenPort, d.mesh, d.mtu, d.address, d.peers], ['tfw0', 51820, false, 1420, [], []]);
});

test('JSON and CBOR give the same config; compileConfig round-trips', () => {
  const y = loadConfig(file('b.yaml', yaml));
  const j = loadConfig(file('b.json', JSON.stringify(y)));
  assert.equal(j, y);
  const cbor = compileConfig(y);
  assert.equal(decode(cbor), JSON.parse(JSON.stringify(y)));
  assert.equal(loadConfig(file('config.cbor', cbor)), y);
  assert.is(detectFormat(cbor), 'cbor', 'CBOR detected by content too');
  assert.equal(Buffer.from(compileConfig(y)), Buffer.from(cbor), 'deterministic');
  assert.throws(() => compileConfig({ privateKey: 'x' } as never), (e: unknown) => e instanceof ConfigError);
});

test('wg-quick .conf read as is (case-insensitive keys, comments, lists, ignored wg-quick keys)', () => {
  const text = `# node a
[Interface]
PrivateKey = ${A.privateKey}
ListenPort = 51820
Address = 10.100.0.1/24, fd00::1/64
DNS = 1.1.1.1
PostUp = echo hi

[Peer]
PublicKey = ${B.publicKey}
PresharedKey = ${C.privateKey}
Endpoint = [fd00::2]:51820
AllowedIPs = 10.100.0.2/32, 10.200.0.0/16
allowedips = fd00::2/128
PersistentKeepalive = 25
`;
  const c = loadConfig(file('wg7.conf', text));
  assert.is(c.name, 'wg7', 'named after the file as wg-quick does');
  assert.equal(c.address, ['10.100.0.1/24', 'fd00::1/64']);
  assert.equal(c.peers[0].allowedIPs, ['10.100.0.2/32', '10.200.0.0/16', 'fd00::2/128']);
  assert.is(c.peers[0].persistentKeepalive, 25);
  assert.is(c.peers[0].presharedKey, C.privateKey);
  assert.equal(parseConfig(new TextEncoder().encode(toWgQuick(c)), 'wg-quick'), { ...c, name: 'tfw0' }, 'toWgQuick round trip');
  throwsField(() => parseWgQuick('[Interface]\nPrivateKey = x\nFoo = 1\n'), 'line 3', /unknown key Foo/);
  throwsField(() => parseWgQuick('[Peer]\nPublicKey = x\n'), 'Interface', /missing \[Interface\]/);
  throwsField(() => parseWgQuick('[Interface]\njunk\n'), 'line 2', /expected "Key = Value"/);
  throwsField(() => parseWgQuick('[Interface]\n[Interface]\n'), 'line 2', /second \[Interface\]/);
});

test('validation errors name the field, the value and the expectation', () => {
  const base = { privateKey: A.privateKey };
  throwsField(() => validateOverlayConfig({}), 'privateKey', /expected base64 of 32 bytes.*missing/);
  // A malformed secret is not echoed (it may be a real key with a typo).
  throwsField(() => validateOverlayConfig({ privateKey: 'AAAA' }), 'privateKey', /base64 of 32 bytes.*\(got \(hidden\)\)$/);
  throwsField(() => validateOverlayConfig({ privateKey: Buffer.alloc(31).toString('base64') }), 'privateKey', /32 bytes/);
  throwsField(() => validateOverlayConfig({ ...base, listenPort: 70000 }), 'listenPort', /70000/);
  throwsField(() => validateOverlayConfig({ ...base, listenPort: '51820' }), 'listenPort', /integer/);
  throwsField(() => validateOverlayConfig({ ...base, name: 'a-very-long-interface-name' }), 'name', /1-15 characters/);
  throwsField(() => validateOverlayConfig({ ...base, address: ['10.0.0.1/33'] }), 'address.0', /CIDR.*10.0.0.1\/33/);
  throwsField(() => validateOverlayConfig({ ...base, peers: [{ publicKey: 'x' }] }), 'peers.0.publicKey', /base64 of 32 bytes/);
  throwsField(() => validateOverlayConfig({ ...base, peers: [{ publicKey: B.publicKey, endpoint: 'fd00::1:51820' }] }), 'peers.0.endpoint', /\[ipv6\]:port/);
  throwsField(() => validateOverlayConfig({ ...base, peers: [{ publicKey: B.publicKey, endpoint: '10.0.0.1:0' }] }), 'peers.0.endpoint', /port 1-65535/);
  throwsField(() => validateOverlayConfig({ ...base, peers: [{ publicKey: B.publicKey, endpoint: '10.0.0.1' }] }), 'peers.0.endpoint', /host:port/);
  throwsField(() => validateOverlayConfig({ ...base, peers: [{ publicKey: B.publicKey, allowedIPs: ['10.0.0.0/8', 'nope'] }] }), 'peers.0.allowedIPs.1', /CIDR/);
  throwsField(() => validateOverlayConfig({ ...base, peers: [{ publicKey: B.publicKey, presharedKey: 'short' }] }), 'peers.0.presharedKey', /32 bytes/);
  throwsField(() => validateOverlayConfig({ ...base, peers: [{ publicKey: B.publicKey, allowedIP: [] }] }), 'peers.0.allowedIP', /unknown field; did you mean allowedIPs\?/);
  throwsField(() => validateOverlayConfig({ ...base, peers: [{ publicKey: B.publicKey }, { publicKey: C.publicKey }, { publicKey: B.publicKey }] }), 'peers.2.publicKey', /duplicate peer.*peers\.0/);
  throwsField(() => validateOverlayConfig({ ...base, peers: [{ publicKey: A.publicKey }] }), 'peers.0.publicKey', /own public key/);
  throwsField(() => validateOverlayConfig([]), 'config', /expected an object/);
  throwsField(() => loadConfig(file('bad.yaml', 'a: [1,\n')), 'config', /cannot parse/);
  throwsField(() => loadConfig(join(dir, 'missing.yaml')), 'config', /cannot read.*ENOENT/);
});

test('single strings are accepted for address and allowedIPs; an image config may nest under overlay:', () => {
  const c = validateOverlayConfig({ role: '3router', overlay: { privateKey: A.privateKey, address: '10.0.0.1/24', peers: [{ publicKey: B.publicKey, allowedIPs: '10.0.0.2/32, 10.0.1.0/24' }] } });
  assert.equal(c.address, ['10.0.0.1/24']);
  assert.equal(c.peers[0].allowedIPs, ['10.0.0.2/32', '10.0.1.0/24']);
});

test('IP, CIDR and endpoint parsing', () => {
  assert.equal([...parseIp('10.1.2.3')!], [10, 1, 2, 3]);
  assert.is(formatIp(parseIp('fd00:0:0:0:0:0:0:1')!), 'fd00::1');
  assert.is(formatIp(parseIp('::ffff:1.2.3.4')!), '::ffff:102:304');
  assert.is(formatIp(parseIp('::')!), '::');
  assert.is(formatIp(parseIp('1:0:0:2:0:0:0:3')!), '1:0:0:2::3');
  assert.is(parseIp('1.2.3'), null);
  assert.is(parseCidr('10.0.0.0/8')!.bits, 8);
  assert.is(parseCidr('fd00::/129'), null);
  assert.is(parseCidr('10.0.0.1')!.bits, 32);
  assert.is(parseCidr('10.0.0.1/x'), null);
  assert.equal(parseEndpoint('[fd00::1]:5'), { host: 'fd00::1', port: 5 });
  assert.equal(parseEndpoint('node.example:51820'), { host: 'node.example', port: 51820 });
  assert.is(parseEndpoint('[10.0.0.1]:5'), null);
  assert.is(parseEndpoint('10.0.0.1:65536'), null);
});

test('unknown top-level keys are refused with the closest known key suggested; api (and image keys) are accepted', () => {
  const base = { privateKey: A.privateKey };
  throwsField(() => validateOverlayConfig({ ...base, peer: [{ publicKey: B.publicKey }] }), 'peer', /unknown top-level field; did you mean peers\?/);
  throwsField(() => validateOverlayConfig({ ...base, listenport: 5 }), 'listenport', /did you mean listenPort\?/);
  throwsField(() => validateOverlayConfig({ ...base, adress: [] }), 'adress', /did you mean address\?/);
  throwsField(() => validateOverlayConfig({ ...base, zzzzzzzzz: 1 }), 'zzzzzzzzz', /^zzzzzzzzz: unknown top-level field \(expected one of name, privateKey/);
  throwsField(() => loadConfig(file('peer.yaml', `privateKey: ${A.privateKey}\npeer:\n  - publicKey: ${B.publicKey}\n`)), 'peer', /did you mean peers/);
  const c = validateOverlayConfig({ ...base, api: '0.0.0.0:80', role: '3router' });
  assert.is(c.api, '0.0.0.0:80', 'the device API address is checked and kept with the overlay fields');
  assert.not.ok('role' in c, 'image keys are left to the image builder');
  throwsField(() => validateOverlayConfig({ ...base, api: '0.0.0.0' }), 'api', /expected host:port/);
  for (const k of Object.keys(TOP_LEVEL_KEYS)) assert.is(suggestKey(k), k);
});

test('status: the listen address is checked when the config is (port > 65535 refused)', () => {
  const base = { privateKey: A.privateKey };
  throwsField(() => validateOverlayConfig({ ...base, status: '127.0.0.1:99999' }), 'status', /port 0-65535.*"127\.0\.0\.1:99999"/);
  throwsField(() => validateOverlayConfig({ ...base, status: 'tfw.sock' }), 'status', /Unix socket path/);
  for (const ok of ['127.0.0.1:9595', ':9595', '9595', '[::1]:9595', '/run/tfw.sock', './s.sock']) {
    assert.is(validateOverlayConfig({ ...base, status: ok }).status, ok);
  }
  assert.equal(parseListenAddress('[::1]:80'), { host: '::1', port: 80 });
  assert.equal(parseListenAddress(':80'), { host: '127.0.0.1', port: 80 });
  assert.equal(parseListenAddress('/x'), { path: '/x' });
  assert.is(parseListenAddress('1.2.3.4:65536'), null);
});

test('tfw runtime --check refuses status: 127.0.0.1:99999 and peer: with the field named', async () => {
  const r1 = await runTfw(['runtime', '--check', '--config', file('st.yaml', `privateKey: ${A.privateKey}\nstatus: 127.0.0.1:99999\n`)]);
  assert.is(r1.code, 1, r1.stderr);
  assert.match(r1.stderr, /^tfw: runtime: status: expected host:port/m);
  const r2 = await runTfw(['runtime', '--check', '--config', file('pe.yaml', `privateKey: ${A.privateKey}\npeer: []\n`)]);
  assert.is(r2.code, 1, r2.stderr);
  assert.match(r2.stderr, /peer: unknown top-level field; did you mean peers\?/);
});

test.run();
