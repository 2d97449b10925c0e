/** Keys and TAI64N timestamps (overlay addresses: address.test.ts). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
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
