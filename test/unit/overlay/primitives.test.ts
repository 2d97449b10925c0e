/** The whitepaper's HASH/MAC/HMAC/KDF/AEAD/XAEAD, cross-checked against independent implementations. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { blake2s } from '@noble/hashes/blake2s';
import { hkdf } from '@noble/hashes/hkdf';
import { hmac } from '@noble/hashes/hmac';
import { hchacha, xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import {
  AuthenticationError, HASH, HMAC, KDF1, KDF2, KDF3, MAC, aeadOpen, aeadSeal, counterNonce, hchacha20, xaeadOpen, xaeadSeal,
} from '../../../runtime/overlay/wireguard/primitives.js';
import { CONSTRUCTION, IDENTIFIER, INITIAL_CHAIN_KEY, INITIAL_HASH } from '../../../runtime/overlay/wireguard/noise.js';
import { hex, prng, unhex } from '../../helpers.js';

const r = prng();

test('HMAC-BLAKE2s equals @noble/hashes hmac(blake2s) for keys and inputs of many lengths', () => {
  for (const kl of [0, 1, 16, 32, 63, 64, 65, 100]) {
    for (const il of [0, 1, 33, 64, 200]) {
      const k = r.bytes(kl), m = r.bytes(il);
      assert.is(hex(HMAC(k, m)), hex(hmac(blake2s, k, m)), `key ${kl} input ${il}`);
    }
  }
});

test('KDF1..3 equal the HKDF-BLAKE2s (RFC 5869, empty info) output blocks', () => {
  for (let i = 0; i < 20; i++) {
    const key = r.bytes(32), input = r.bytes(i * 5);
    const okm = hkdf(blake2s, input, key, new Uint8Array(0), 96);
    const blocks = [hex(okm.subarray(0, 32)), hex(okm.subarray(32, 64)), hex(okm.subarray(64, 96))];
    assert.equal([hex(KDF1(key, input))], blocks.slice(0, 1));
    assert.equal(KDF2(key, input).map(hex), blocks.slice(0, 2));
    assert.equal(KDF3(key, input).map(hex), blocks);
  }
});

test('HASH is BLAKE2s-256 over the concatenation; MAC is keyed BLAKE2s-128', () => {
  const a = r.bytes(10), b = r.bytes(70);
  assert.is(hex(HASH(a, b)), hex(blake2s(new Uint8Array([...a, ...b]))));
  const k = r.bytes(32);
  assert.is(hex(MAC(k, a)), hex(blake2s(a, { key: k, dkLen: 16 })));
  assert.is(MAC(k, a).length, 16);
});

test('the Noise construction and identifier strings and the initial chaining key', () => {
  assert.is(new TextDecoder().decode(CONSTRUCTION), 'Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s');
  assert.is(new TextDecoder().decode(IDENTIFIER), 'WireGuard v1 zx2c4 Jason@zx2c4.com');
  // Known value: wireguard-go's InitialChainKey / InitialHash (device/noise-protocol.go init()).
  assert.is(hex(INITIAL_CHAIN_KEY), hex(blake2s(CONSTRUCTION)));
  assert.is(hex(INITIAL_CHAIN_KEY), '60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36');
  assert.is(hex(INITIAL_HASH), '2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3');
});

test('counter nonce is 4 zero bytes then the little-endian 64-bit counter', () => {
  assert.is(hex(counterNonce(0)), '000000000000000000000000');
  assert.is(hex(counterNonce(1)), '000000000100000000000000');
  assert.is(hex(counterNonce(0x0102030405)), '000000000504030201000000');
  assert.is(hex(counterNonce(2 ** 53 - 1)), '00000000ffffffffffff1f00');
});

test('AEAD round trip; a flipped bit anywhere fails with AuthenticationError', () => {
  const key = r.bytes(32), nonce = counterNonce(7), aad = r.bytes(32), pt = r.bytes(100);
  const ct = aeadSeal(key, nonce, pt, aad);
  assert.is(hex(aeadOpen(key, nonce, ct, aad)), hex(pt));
  for (const i of [0, 50, ct.length - 1]) {
    const bad = ct.slice();
    bad[i] ^= 1;
    assert.throws(() => aeadOpen(key, nonce, bad, aad), (e: unknown) => e instanceof AuthenticationError);
  }
  assert.throws(() => aeadOpen(key, nonce, ct, r.bytes(32)), (e: unknown) => e instanceof AuthenticationError);
});

test('HChaCha20 matches the draft-irtf-cfrg-xchacha section 2.2.1 vector and @noble/ciphers', () => {
  const key = unhex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
  const nonce = unhex('000000090000004a0000000031415927');
  assert.is(hex(hchacha20(key, nonce)), '82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc');
  for (let i = 0; i < 5; i++) {
    const k = r.bytes(32), n = r.bytes(16);
    const out = new Uint32Array(8);
    const sigma = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
    hchacha(sigma, new Uint32Array(k.slice().buffer), new Uint32Array(n.slice().buffer), out);
    assert.is(hex(hchacha20(k, n)), hex(new Uint8Array(out.buffer)));
  }
});

test('XAEAD equals @noble/ciphers xchacha20poly1305 and opens its output', () => {
  for (const len of [0, 16, 33]) {
    const key = r.bytes(32), nonce = r.bytes(24), aad = r.bytes(16), pt = r.bytes(len);
    const ours = xaeadSeal(key, nonce, pt, aad);
    assert.is(hex(ours), hex(xchacha20poly1305(key, nonce, aad).encrypt(pt)));
    assert.is(hex(xaeadOpen(key, nonce, ours, aad)), hex(pt));
  }
});

test.run();
