// The `mycelium:` config section (runtime/config/mycelium.ts): defaults and
// one-line errors naming the field, the value and what was expected.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { myceliumFor, validateMyceliumConfig } from '../../../runtime/config/mycelium.js';
import { validateOverlayConfig } from '../../../runtime/config/schema.js';
import { generatePrivateKey, toBase64 } from '../../../runtime/overlay/wireguard/keys.js';
import { throwsField } from '../../helpers.js';

test('defaults: listen tcp://[::]:9651, no peers, discovery on, TUN "mycelium", over WireGuard links', () => {
  assert.equal(validateMyceliumConfig({}), { listen: [{ host: '::', port: 9651 }], peers: [], discovery: true, tun: 'mycelium', overWireGuard: true });
  assert.is(validateMyceliumConfig({ overWireGuard: false })!.overWireGuard, false);
  assert.is(validateMyceliumConfig(undefined), null);
});

test('mesh: true without a section runs the mesh default on the overlay address only; mycelium: false opts out; a section keeps its meaning', () => {
  const address = '4a1:2b3c:4d5e:6f70:8192:a3b4:c5d6:e7f8';
  assert.equal(myceliumFor(undefined, { mesh: true, address }), { listen: [{ host: address, port: 9651 }], peers: [], discovery: false, tun: 'mycelium', overWireGuard: true });
  assert.is(myceliumFor(undefined, { mesh: false, address }), null, 'no mesh, no section: no node');
  assert.is(myceliumFor(false, { mesh: true, address }), null, 'the opt-out');
  assert.is(validateMyceliumConfig(false), null);
  assert.equal(myceliumFor({}, { mesh: true, address }), validateMyceliumConfig({}), 'a section is taken as it is, also with mesh');
  for (const bad of [true, 'off', 0, 1]) throwsField(() => myceliumFor(bad, { mesh: true, address }), 'mycelium', /expected a mapping with listen, peers, discovery, or false/);
  const privateKey = toBase64(generatePrivateKey());
  assert.ok(validateOverlayConfig({ privateKey, mesh: true, mycelium: false }).mesh);
  throwsField(() => validateOverlayConfig({ privateKey, mesh: true, mycelium: true }), 'mycelium', /or false, got true/);
});

test('the issue example parses', () => {
  const c = validateMyceliumConfig({ listen: ['tcp://0.0.0.0:9651'], peers: ['tcp://192.0.2.7:9651', 'tcp://[2001:db8::1]:9651'], discovery: true })!;
  assert.equal(c.peers, [{ host: '192.0.2.7', port: 9651 }, { host: '2001:db8::1', port: 9651 }]);
});

test('bad fields are named', () => {
  throwsField(() => validateMyceliumConfig({ peers: ['quic://1.2.3.4:9651'] }), 'mycelium.peers.0', /quic:\/\/ links are not supported/);
  throwsField(() => validateMyceliumConfig({ peers: ['1.2.3.4:9651'] }), 'mycelium.peers.0', /expected "tcp:\/\/HOST:PORT"/);
  throwsField(() => validateMyceliumConfig({ listen: ['tcp://0.0.0.0:99999'] }), 'mycelium.listen.0', /port must be 1..65535/);
  throwsField(() => validateMyceliumConfig({ discovery: 'yes' }), 'mycelium.discovery', /expected true or false/);
  throwsField(() => validateMyceliumConfig({ overWireGuard: 'on' }), 'mycelium.overWireGuard', /expected true or false, got "on"/);
  throwsField(() => validateMyceliumConfig({ peer: [] }), 'mycelium.peer', /unknown field/);
  throwsField(() => validateMyceliumConfig(['tcp://a:1']), 'mycelium', /expected a mapping/);
});

test('a whole config with only mycelium: (no WireGuard peers) is accepted; a bad section is refused by the overlay check too', () => {
  const privateKey = toBase64(generatePrivateKey());
  assert.is(validateOverlayConfig({ privateKey, mycelium: { peers: ['tcp://10.0.0.2:9651'] } }).peers.length, 0);
  throwsField(() => validateOverlayConfig({ privateKey, mycelium: { peers: 'udp://x:1' } }), 'mycelium.peers.0', /not supported/);
});

test.run();
