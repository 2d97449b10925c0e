/**
 * AeadPacketPool: batch seal/open over packets in kernel memory equals the
 * single-call results, reports failures per packet, and never grows memory.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCipheriv } from 'node:crypto';
import {
  AEAD_STATUS_AUTH, AEAD_STATUS_INVALID, AEAD_STATUS_OK, AeadPacketPool, chacha20poly1305Open, chacha20poly1305Seal,
} from '../../runtime/kernels/aead.js';
import { hex, prng, rand } from '../helpers.js';
import { aeadBackends, counterNonce } from '../vectors/aead-fixtures.js';

const LENGTHS = [0, 1, 15, 16, 17, 63, 64, 65, 127, 191, 192, 193, 255, 256, 257, 1000, 1420, 1500, 2000];

for (const backend of aeadBackends) {
  const o = { backend };

  test(`${backend}: batch seal equals single calls (mixed keys, lengths, offsets, AAD, counters)`, () => {
    const pool = new AeadPacketPool({ slots: 48, slotBytes: 2048 + 32, keys: 8, backend });
    const keys = Array.from({ length: 8 }, () => rand(32));
    keys.forEach((k, i) => pool.setKey(i, k));
    const r = prng(21);
    const n = 40;
    const expect: Uint8Array[] = [];
    const plain: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const len = LENGTHS[i % LENGTHS.length];
      const slot = n - 1 - i; // entries need not follow slot order
      const k = r.int(8);
      const counter = BigInt(r.int(1 << 30)) * 4096n + BigInt(i);
      const offset = i % 3 === 0 ? 16 : 0; // WireGuard leaves room for its 16-byte header
      const pt = rand(len);
      plain.push(pt);
      pool.slot(slot).set(pt, offset);
      pool.setPacket(i, slot, len, k, i % 4 === 0 ? counter : Number(counter), offset);
      let aad: Uint8Array = new Uint8Array(0);
      if (i % 5 === 1) {
        aad = rand(r.int(40) + 1);
        pool.slot(slot).set(aad, 2040 - aad.length);
        pool.setAad(i, 2040 - aad.length, aad.length);
      }
      let nonce = counterNonce(counter);
      if (i % 7 === 3) {
        nonce = rand(12);
        pool.setNonce(i, nonce);
      }
      expect.push(chacha20poly1305Seal(keys[k], nonce, pt, aad, o));
    }
    const status = pool.seal(n);
    assert.is(pool.failures, 0);
    for (let i = 0; i < n; i++) {
      assert.is(status[i], AEAD_STATUS_OK, `status ${i}`);
      assert.is(pool.lengths[i], plain[i].length + 16);
      assert.is(hex(pool.packet(i)), hex(expect[i]), `packet ${i}`);
    }
    // And back: open restores every plaintext.
    pool.open(n);
    assert.is(pool.failures, 0);
    for (let i = 0; i < n; i++) assert.is(hex(pool.packet(i)), hex(plain[i]), `plaintext ${i}`);
  });

  test(`${backend}: WireGuard transport nonce matches node:crypto (4 zero bytes || le64 counter)`, () => {
    const pool = new AeadPacketPool({ slots: 2, slotBytes: 1600, keys: 1, backend });
    const key = rand(32);
    pool.setKey(0, key);
    const pt = rand(1420);
    const counter = 0xfedcba9876543210n;
    pool.slot(0).set(pt, 16);
    pool.setPacket(0, 0, pt.length, 0, counter, 16);
    pool.seal(1);
    const nonce = Buffer.from('00000000' + '1032547698badcfe', 'hex');
    const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    const theirs = Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
    assert.is(hex(pool.packet(0)), hex(theirs));
  });

  test(`${backend}: batch open rejects a tampered packet alone and reports it`, () => {
    const pool = new AeadPacketPool({ slots: 16, slotBytes: 1536, keys: 3, backend });
    const keys = [rand(32), rand(32), rand(32)];
    keys.forEach((k, i) => pool.setKey(i, k));
    const plain: Uint8Array[] = [];
    for (let i = 0; i < 16; i++) {
      const pt = rand((i * 97) % 1500);
      plain.push(pt);
      const sealed = chacha20poly1305Seal(keys[i % 3], counterNonce(BigInt(i)), pt, undefined, o);
      pool.slot(i).set(sealed);
      pool.setPacket(i, i, sealed.length, i % 3, i);
    }
    pool.slot(7)[3] ^= 0x40; // ciphertext byte of packet 7
    const before7 = hex(pool.slot(7).subarray(0, plain[7].length + 16));
    pool.setPacket(11, 11, plain[11].length + 16, (11 + 1) % 3, 11); // wrong key for packet 11
    const status = pool.open(16);
    assert.is(pool.failures, 2);
    for (let i = 0; i < 16; i++) {
      if (i === 7 || i === 11) {
        assert.is(status[i], AEAD_STATUS_AUTH, `status ${i}`);
      } else {
        assert.is(status[i], AEAD_STATUS_OK, `status ${i}`);
        assert.is(hex(pool.packet(i)), hex(plain[i]), `plaintext ${i}`);
      }
    }
    assert.is(hex(pool.slot(7).subarray(0, plain[7].length + 16)), before7, 'a rejected packet keeps its bytes');
    assert.is(pool.lengths[7], plain[7].length + 16);
  });

  test(`${backend}: out-of-range entries get status 2 and leave the others intact`, () => {
    const pool = new AeadPacketPool({ slots: 4, slotBytes: 256, keys: 2, backend });
    pool.setKey(0, rand(32));
    pool.setPacket(0, 0, 100, 0, 1);
    pool.setPacket(1, 9, 10, 0, 2); // slot out of range
    pool.setPacket(2, 2, 10, 5, 3); // key out of range
    pool.setPacket(3, 3, 241, 0, 4); // 241 + 16 > 256
    const before = hex(pool.slot(3));
    const status = pool.seal(4);
    assert.equal(Array.from(status.subarray(0, 4)), [AEAD_STATUS_OK, AEAD_STATUS_INVALID, AEAD_STATUS_INVALID, AEAD_STATUS_INVALID]);
    assert.is(pool.failures, 3);
    assert.is(hex(pool.slot(3)), before);
    pool.setPacket(0, 0, 15, 0, 1);
    assert.is(pool.open(1)[0], AEAD_STATUS_INVALID, 'open of fewer than 16 bytes is invalid');
    assert.is(pool.seal(0), pool.status, 'the status array is reused');
  });

  test(`${backend}: memory does not grow across repeated batches or single calls`, () => {
    const pool = new AeadPacketPool({ slots: 64, slotBytes: 2048, keys: 4, backend });
    for (let k = 0; k < 4; k++) pool.setKey(k, rand(32));
    const bytes = pool.memoryBytes;
    const view = pool.slot(5);
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 64; i++) pool.setPacket(i, i, (i * 31 + round) % 2000, i & 3, round * 64 + i);
      pool.seal(64);
      pool.open(64);
      assert.is(pool.failures, 0);
      // Single calls on the same backend (their own instance) do not disturb the pool.
      const k = rand(32), nonce = rand(12), m = rand(round * 40);
      assert.is(chacha20poly1305Open(k, nonce, chacha20poly1305Seal(k, nonce, m, undefined, o), undefined, o).length, m.length);
    }
    assert.is(pool.memoryBytes, bytes);
    assert.is(view.byteLength, 2048, 'slot views stay attached');
  });

  test(`${backend}: pool arguments are validated with the field named`, () => {
    const bad = (f: () => unknown, re: RegExp) => assert.throws(f, (e: Error) => e instanceof RangeError && re.test(e.message));
    bad(() => new AeadPacketPool({ slots: 0, slotBytes: 2048, backend }), /^slots: expected an integer in \[1, 65536\], got 0/);
    bad(() => new AeadPacketPool({ slots: 4, slotBytes: 8, backend }), /^slotBytes/);
    bad(() => new AeadPacketPool({ slots: 65536, slotBytes: 1 << 20, backend }), /1 GiB/);
    const pool = new AeadPacketPool({ slots: 2, slotBytes: 64, keys: 1, backend });
    bad(() => pool.setKey(1, rand(32)), /^key index/);
    bad(() => pool.setKey(0, rand(16)), /^key: expected 32 bytes, got 16/);
    bad(() => pool.setPacket(2, 0, 1, 0, 0), /^entry/);
    bad(() => pool.setPacket(0, 0, 1, 0, -1), /^counter/);
    bad(() => pool.setPacket(0, 0, 1, 0, 1n << 64n), /^counter/);
    bad(() => pool.setNonce(0, rand(8)), /^nonce: expected 12 bytes/);
    bad(() => pool.seal(3), /^count/);
    bad(() => pool.slot(2), /^slot/);
  });
}

test.run();
