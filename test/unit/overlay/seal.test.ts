/** The transport AEAD adapter: the kernel pool and the node:crypto fallback agree byte for byte and with RFC 8439. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AeadPacketPool } from '../../../runtime/kernels/aead.js';
import { NodeCryptoPool, createTransportPool, type TransportPool } from '../../../runtime/overlay/wireguard/seal.js';
import { aeadSeal, counterNonce } from '../../../runtime/overlay/wireguard/primitives.js';
import { hex, prng } from '../../helpers.js';

const r = prng();
const pools = (): [string, TransportPool][] => {
  const out: [string, TransportPool][] = [['node:crypto', new NodeCryptoPool(8, 2048, 4)]];
  try {
    out.push(['kernel', new AeadPacketPool({ slots: 8, slotBytes: 2048, keys: 4 }) as TransportPool]);
  } catch (e) {
    console.log(`  (aead kernel not loadable: ${(e as Error).message})`);
  }
  return out;
};

test('seal: WireGuard transport layout (16-byte header kept, nonce = counter) equals RFC 8439 AEAD', () => {
  const key = r.bytes(32);
  const lens = [0, 16, 1424, 1, 2000, 64, 32, 48];
  const counters = [0, 1, 2 ** 32 + 5, 7, 2 ** 53 - 1, 9, 10, 11];
  const results: string[][] = [];
  for (const [name, pool] of pools()) {
    pool.setKey(2, key);
    const plains = lens.map((n) => r.bytes(n));
    plains.forEach((p, i) => {
      pool.slot(i).set(p, 16);
      pool.slot(i).fill(0xee, 0, 16);
      pool.setPacket(i, i, p.length, 2, counters[i], 16);
    });
    pool.seal(8);
    const got = plains.map((p, i) => {
      assert.is(pool.lengths[i], p.length + 16, name);
      assert.is(hex(pool.slot(i).subarray(0, 16)), 'ee'.repeat(16), 'header untouched');
      const sealed = pool.slot(i).slice(16, 16 + p.length + 16);
      assert.is(hex(sealed), hex(aeadSeal(key, counterNonce(counters[i]), p, new Uint8Array(0))), `${name} packet ${i}`);
      return hex(sealed);
    });
    results.push(got);
    // open back, with one tampered packet
    pool.slot(3)[16] ^= 1;
    plains.forEach((p, i) => pool.setPacket(i, i, p.length + 16, 2, counters[i], 16));
    const st = pool.open(8);
    plains.forEach((p, i) => {
      if (i === 3) assert.is(st[i], 1, `${name}: tampered packet fails`);
      else {
        assert.is(st[i], 0, `${name} open ${i}`);
        assert.is(hex(pool.slot(i).subarray(16, 16 + pool.lengths[i])), hex(p));
      }
    });
  }
});

test('a wrong key fails to open; createTransportPool honours TFW_OVERLAY_AEAD=node', () => {
  for (const [name, pool] of pools()) {
    pool.setKey(0, r.bytes(32));
    pool.setKey(1, r.bytes(32));
    pool.slot(0).set(r.bytes(100), 16);
    pool.setPacket(0, 0, 100, 0, 1, 16);
    pool.seal(1);
    pool.setPacket(0, 0, 116, 1, 1, 16);
    assert.is(pool.open(1)[0], 1, name);
  }
  process.env.TFW_OVERLAY_AEAD = 'node';
  try {
    assert.is(createTransportPool(2, 64, 2).backend, 'node:crypto');
  } finally {
    delete process.env.TFW_OVERLAY_AEAD;
  }
});

test.run();
