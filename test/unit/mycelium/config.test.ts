// The `mycelium:` config section (runtime/config/mycelium.ts): defaults and
// one-line errors naming the field, the value and what was expected.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateMyceliumConfig } from '../../../runtime/config/mycelium.js';
import { validateOverlayConfig } from '../../../runtime/config/schema.js';
import { generatePrivateKey, toBase64 } from '../../../runtime/overlay/wireguard/keys.js';
import { throwsField } from '../../helpers.js';

test('defaults: listen tcp://[::]:9651, no peers, discovery on, TUN "mycelium", over WireGuard links', () => {
  assert.equal(validateMyceliumConfig({}), { listen: [{ host: '::', port: 9651 }], peers: [], discovery: true, tun: 'mycelium', overWireGuard: true });
  assert.is(validateMyceliumConfig({ overWireGuard: false })!.overWireGuard, false);
  assert.is(validateMyceliumConfig(undefined), null);
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
