/** Keys, overlay addresses and TAI64N timestamps. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { blake2s } from '@noble/hashes/blake2s';
import { overlayAddress, overlayAddressBytes, overlayPrefix, overlaySubnet } from '../../../runtime/overlay/address.js';
import { dh, fromBase64, generatePrivateKey, publicKeyFromPrivate, toBase64 } from '../../../runtime/overlay/wireguard/keys.js';
import { tai64n, tai64nAfter } from '../../../runtime/overlay/wireguard/timestamp.js';
import { hex, unhex } from '../../helpers.js';

test('X25519 matches the RFC 7748 section 6.1 vector (public keys and shared secret)', () => {
  const a = unhex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
  const b = unhex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
  assert.is(hex(publicKeyFromPrivate(a)), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
  assert.is(hex(publicKeyFromPrivate(b)), 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
  const k = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
  assert.is(hex(dh(a, publicKeyFromPrivate(b))), k);
  assert.is(hex(dh(b, publicKeyFromPrivate(a))), k);
});

test('generated private keys are clamped', () => {
  for (let i = 0; i < 20; i++) {
    const k = generatePrivateKey();
    assert.is(k[0] & 7, 0);
    assert.is(k[31] & 0xc0, 0x40);
  }
});

test('a low-order public key makes DH throw (all-zero shared secret)', () => {
  assert.throws(() => dh(generatePrivateKey(), new Uint8Array(32)));
});

test('public keys agree with `wg pubkey` when wireguard-tools is installed', () => {
  let ok = true;
  for (let i = 0; i < 3 && ok; i++) {
    const priv = toBase64(generatePrivateKey());
    let wg: string;
    try {
      wg = execFileSync('wg', ['pubkey'], { input: `${priv}\n` }).toString().trim();
    } catch {
      console.log('  (skip: wg not installed)');
      ok = false;
      break;
    }
    assert.is(toBase64(publicKeyFromPrivate(fromBase64(priv))), wg);
  }
});

test('overlay address: /64 in 400::/7 from BLAKE2s(publicKey), node address prefix::1', () => {
  for (let i = 0; i < 50; i++) {
    const pub = publicKeyFromPrivate(generatePrivateKey());
    const p = overlayPrefix(pub);
    const h = blake2s(pub);
    assert.ok(p[0] === 4 || p[0] === 5);
    assert.is(p[0], 0x04 | (h[0] & 1));
    assert.is(hex(p.subarray(1)), hex(h.subarray(1, 8)));
    const a = overlayAddressBytes(pub);
    assert.is(hex(a.subarray(8)), '0000000000000001');
    assert.ok(overlayAddress(pub).endsWith('::1'));
    assert.ok(overlaySubnet(pub).endsWith('::/64'));
  }
});

test('overlay address known answer (all-zero key)', () => {
  // BLAKE2s-256(32 zero bytes) = 320b5ea99e653bc2...; 0x32 has low bit 0, so byte0 = 0x04.
  assert.is(hex(blake2s(new Uint8Array(32)).subarray(0, 8)), '320b5ea99e653bc2');
  assert.is(overlayAddress(new Uint8Array(32)), '40b:5ea9:9e65:3bc2::1');
  assert.is(overlaySubnet(new Uint8Array(32).fill(1)), '5a8:bcf5:e934:a097::/64');
});

test('TAI64N: label 2^62+10+secs, ns rounded to 2^24, strictly increasing over time', () => {
  const t = tai64n(1_700_000_000_123);
  const v = new DataView(t.buffer);
  assert.is(v.getBigUint64(0), 0x400000000000000an + 1_700_000_000n);
  assert.is(v.getUint32(8) & 0xffffff, 0);
  assert.ok(v.getUint32(8) <= 123_000_000);
  assert.ok(tai64nAfter(tai64n(1_700_000_001_000), t));
  assert.not.ok(tai64nAfter(t, t));
  assert.not.ok(tai64nAfter(tai64n(1_699_999_999_000), t));
});

test.run();
