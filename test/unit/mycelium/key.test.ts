// Mycelium's text form of a node key (runtime/overlay/mycelium/key.ts): the
// WireGuard key's 32 bytes in lower-case hex (crypto.rs `Display for PublicKey`).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { myceliumKeyHex, parseMyceliumKeyHex } from '../../../runtime/overlay/mycelium/key.js';
import { generatePrivateKey, publicKeyFromPrivate, toBase64 } from '../../../runtime/overlay/wireguard/keys.js';

test('one X25519 key: WireGuard base64 and Mycelium hex are the same 32 bytes', () => {
  const pub = publicKeyFromPrivate(generatePrivateKey());
  const h = myceliumKeyHex(pub);
  assert.match(h, /^[0-9a-f]{64}$/);
  assert.is(toBase64(parseMyceliumKeyHex(h)), toBase64(pub));
});

test('bad keys are refused with the field named', () => {
  assert.throws(() => myceliumKeyHex(new Uint8Array(31)), /publicKey: expected 32 bytes, got 31/);
  assert.throws(() => parseMyceliumKeyHex('zz', 'mycelium.key'), /mycelium.key: expected 64 hex digits/);
});

test.run();
