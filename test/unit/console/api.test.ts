/**
 * The console's API client helpers (console/api.ts): the form field an API
 * error names, and the figures the pages print (durations, handshake ages,
 * byte counts). The error mapping is checked against a real refusal of the
 * runtime's config schema, so a renamed field path shows up here.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bytes, duration, formField, handshakeAge, shortKey } from '../../../console/api.js';
import { validateOverlayConfig } from '../../../runtime/config/schema.js';
import { ConfigError } from '../../../runtime/errors.js';
import { keygen } from '../../../host-tools/commands/keygen.js';

test('formField: peer paths name the input, plain fields stay', () => {
  assert.is(formField('peers.2.endpoint'), 'endpoint');
  assert.is(formField('peers.0.allowedIPs.1'), 'allowedIPs');
  assert.is(formField('publicKey'), 'publicKey');
  assert.is(formField(undefined), undefined);
});

test('formField of the schema refusal of a bad endpoint and a bad allowed IP', () => {
  const me = keygen(), other = keygen();
  for (const [peer, input] of [[{ publicKey: other.publicKey, endpoint: 'not an endpoint' }, 'endpoint'], [{ publicKey: other.publicKey, allowedIPs: ['10.0.0.0/33'] }, 'allowedIPs'], [{ publicKey: 'nope' }, 'publicKey'], [{ publicKey: other.publicKey, persistentKeepalive: 'x' }, 'persistentKeepalive']] as const) {
    try {
      validateOverlayConfig({ privateKey: me.privateKey, peers: [peer] });
      assert.unreachable(`accepted ${JSON.stringify(peer)}`);
    } catch (err) {
      assert.instance(err, ConfigError);
      assert.is(formField((err as ConfigError).field), input, (err as Error).message);
    }
  }
});

test('durations, handshake ages, bytes, short keys', () => {
  assert.is(duration(59), '59 s');
  assert.is(duration(60), '1 min');
  assert.is(duration(3 * 3600 + 4 * 60 + 5), '3 h 4 min');
  assert.is(duration(2 * 86400 + 3 * 3600), '2 d 3 h');
  assert.is(handshakeAge(0, 1000), 'never');
  assert.is(handshakeAge(990, 1000), '10 s ago');
  assert.is(bytes(1023), '1023 B');
  assert.is(bytes(1536), '1.5 KiB');
  assert.is(bytes(5 * 1048576), '5.0 MiB');
  assert.is(shortKey('abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG='), 'abcdefghij…EFG=');
});

test.run();
