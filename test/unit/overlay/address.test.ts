// Overlay addresses (runtime/overlay/address.ts): one derivation for WireGuard
// and Mycelium links, Mycelium's: BLAKE3 of the X25519 public key, first byte
// forced into 400::/7 by the parity of its bits, the node address the whole
// /128 and its /64 the first 8 bytes. Vectors cross-checked with Debian's b3sum
// (the BLAKE3 team's Rust tool) when it is installed (mk/mycelium.mk), so the
// hash is not checked against itself.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { inOverlayRange, overlayAddress, overlayAddressBytes, overlayPrefix, overlaySubnet } from '../../../runtime/overlay/address.js';
import { Device } from '../../../runtime/overlay/device.js';
import { MyceliumNode } from '../../../runtime/overlay/mycelium/node.js';
import { generatePrivateKey, publicKeyFromPrivate, toBase64 } from '../../../runtime/overlay/wireguard/keys.js';
import { hex, prng, unhex } from '../../helpers.js';

// The public key of mycelium's README `mycelium inspect --json` example. The
// address printed beside it there (5c4:c176:...) does not follow from this key
// under crypto.rs's derivation (b3sum agrees with us), so only the key is used.
const README_KEY = unhex('abd16194646defe7ad2318a0f0a69eb2e3fe939c3b0b51cf0bb88bb8028ecd1d');
const haveB3sum = spawnSync('sh', ['-c', 'command -v b3sum']).status === 0;
const b3sum16 = (k: Uint8Array): Uint8Array => new Uint8Array(spawnSync('b3sum', ['--raw', '-l', '16', '-'], { input: Buffer.from(k) }).stdout);

test('derivation: BLAKE3-XOF(key)[0..16], byte 0 = 0x04 | parity(h[0]) (crypto.rs PublicKey::address)', () => {
  // h = 8a97d890...; popcount(0x8a) = 3 (odd) -> 0x05
  assert.is(hex(overlayAddressBytes(README_KEY)), '0597d890a254dd452bc69a4740d5ed83');
  assert.is(overlayAddress(README_KEY), '597:d890:a254:dd45:2bc6:9a47:40d5:ed83');
  assert.is(overlaySubnet(README_KEY), '597:d890:a254:dd45::/64');
  assert.is(hex(overlayPrefix(README_KEY)), '0597d890a254dd45');
});

test('the documented example (docs/overlay.md, Overlay addresses): the all-zero key', () => {
  // BLAKE3(0^32)[0..16] = 2ada83c1819a5372dae1238fc1ded123; popcount(0x2a) = 3 (odd) -> byte 0 = 0x05.
  if (haveB3sum) assert.is(hex(b3sum16(new Uint8Array(32))), '2ada83c1819a5372dae1238fc1ded123');
  assert.is(overlayAddress(new Uint8Array(32)), '5da:83c1:819a:5372:dae1:238f:c1de:d123');
  assert.is(overlaySubnet(new Uint8Array(32)), '5da:83c1:819a:5372::/64');
});

test('every address is in 400::/7, inside its /64, and not prefix::1 any more', () => {
  const r = prng();
  for (let i = 0; i < 200; i++) {
    const k = r.bytes(32);
    const a = overlayAddressBytes(k);
    assert.ok(inOverlayRange(a), hex(a));
    assert.is(hex(overlayPrefix(k)), hex(a.subarray(0, 8)));
    assert.ok(overlaySubnet(k).endsWith('::/64'));
  }
  assert.not.ok(overlayAddress(README_KEY).endsWith('::1'));
  assert.not.ok(inOverlayRange(unhex('0600 0000 0000 0000 0000 0000 0000 0001')));
});

test('cross-check against b3sum (Debian) for random keys', () => {
  if (!haveB3sum) {
    console.log('  (b3sum not installed: skipped; make sysdeps installs it)');
    return;
  }
  const r = prng(7);
  for (let i = 0; i < 5; i++) {
    const k = r.bytes(32);
    const h = b3sum16(k);
    let ones = 0;
    for (let b = h[0]; b; b >>= 1) ones += b & 1;
    h[0] = 0x04 | (ones & 1);
    assert.is(hex(overlayAddressBytes(k)), hex(h));
  }
});

test('one key, one address: the WireGuard device, its peers and the Mycelium node agree', () => {
  const a = generatePrivateKey(), b = generatePrivateKey();
  const pubA = publicKeyFromPrivate(a), pubB = publicKeyFromPrivate(b);
  const dev = new Device({ privateKey: a, now: () => 0, io: { transmit() {}, deliver() {} } });
  dev.setPeers([{ publicKey: toBase64(pubB), allowedIPs: [] }], true);
  const myc = new MyceliumNode({ privateKey: a, log: () => {} });
  assert.is(hex(dev.nodeAddress), hex(myc.address), 'device = Mycelium node');
  assert.is(hex(dev.nodeAddress), hex(overlayAddressBytes(pubA)));
  assert.is(hex(dev.peers.get(toBase64(pubB))!.nodeAddress), hex(new MyceliumNode({ privateKey: b, log: () => {} }).address), 'peer = its Mycelium node');
});

test('bad keys are refused with the field named', () => {
  assert.throws(() => overlayAddressBytes(new Uint8Array(31)), /publicKey: expected 32 bytes, got 31/);
  assert.throws(() => overlaySubnet(new Uint8Array(33)), /publicKey: expected 32 bytes, got 33/);
});

test.run();
