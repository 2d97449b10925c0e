/**
 * Kernel API edges, on every backend (issue 20): the JS wrappers refuse the
 * same inputs the same way with coded errors before any backend runs, and
 * pool entries whose fields a Uint32Array would wrap get status 2.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AEAD_STATUS_INVALID, AEAD_STATUS_OK, AeadPacketPool, chacha20poly1305Open, chacha20poly1305Seal, poly1305 } from '../../runtime/kernels/aead.js';
import { isDetached } from '../../runtime/kernels/args.js';
import { availableBackends } from '../../runtime/kernels/backend.js';
import { Fib } from '../../runtime/kernels/forward-fib.js';
import { ReedSolomon } from '../../runtime/kernels/erasure.js';
import { rand } from '../helpers.js';
import { aeadBackends } from '../vectors/aead-fixtures.js';

/** A Uint8Array whose buffer has been transferred away (detached). */
function detached(n = 16): Uint8Array {
  const ab = new ArrayBuffer(n);
  const v = new Uint8Array(ab);
  structuredClone(ab, { transfer: [ab] });
  return v;
}

const coded = (code: string, cls: ErrorConstructor, re: RegExp) => (e: Error) =>
  (e as Error & { code?: string }).code === code && e instanceof cls && re.test(e.message);

test('isDetached tells a transferred buffer from an empty one', () => {
  assert.ok(isDetached(detached()));
  assert.not.ok(isDetached(new Uint8Array(0)));
  assert.not.ok(isDetached(new Uint8Array(new ArrayBuffer(8), 8)));
  assert.not.ok(isDetached(rand(4)));
});

for (const backend of aeadBackends) {
  const o = { backend };

  test(`${backend}: setPacket fields a Uint32Array would wrap (2^32+1, 2^32, -1, NaN, 1.5) give status 2, the other entries seal`, () => {
    const pool = new AeadPacketPool({ slots: 4, slotBytes: 256, keys: 2, backend });
    pool.setKey(0, rand(32));
    pool.setKey(1, rand(32));
    const bad: [number, number, number, number][] = [ // slot, length, key, offset
      [2 ** 32 + 1, 10, 0, 0], [1, 10, 2 ** 32, 0], [-1, 10, 0, 0], [NaN, 10, 0, 0], [1.5, 10, 0, 0],
      [1, 2 ** 32 + 4, 0, 0], [1, 10, 0, 2 ** 32], [1, -1, 0, 0], [1, 10, 1, -16],
    ];
    pool.setPacket(0, 0, 50, 1, 7);
    bad.forEach(([slot, length, key, offset], i) => {
      const p = new AeadPacketPool({ slots: 4, slotBytes: 256, keys: 2, backend });
      p.setKey(0, rand(32));
      p.setKey(1, rand(32));
      p.setPacket(0, 0, 50, 1, 7);
      p.setPacket(1, slot, length, key, 8, offset);
      assert.equal(Array.from(p.seal(2).subarray(0, 2)), [AEAD_STATUS_OK, AEAD_STATUS_INVALID], `case ${i}: ${[slot, length, key, offset]}`);
      assert.is(p.failures, 1);
    });
    assert.is(pool.seal(1)[0], AEAD_STATUS_OK);
  });

  test(`${backend}: a detached buffer is refused with ERR_TFW_ARG_TYPE (a TypeError), an empty one is sealed`, () => {
    const k = rand(32), n = rand(12);
    const typeErr = coded('ERR_TFW_ARG_TYPE', TypeError, /detached/);
    assert.throws(() => chacha20poly1305Seal(k, n, detached(), undefined, o), typeErr);
    assert.throws(() => chacha20poly1305Seal(k, n, rand(5), detached(), o), typeErr);
    assert.throws(() => chacha20poly1305Seal(detached(32), n, rand(5), undefined, o), typeErr);
    assert.throws(() => chacha20poly1305Open(k, n, detached(32), undefined, o), typeErr);
    assert.throws(() => poly1305(k, detached(), o), typeErr);
    assert.is(chacha20poly1305Seal(k, n, new Uint8Array(0), undefined, o).length, 16);
    const pool = new AeadPacketPool({ slots: 1, slotBytes: 64, keys: 1, backend });
    assert.throws(() => pool.setKey(0, detached(32)), typeErr);
    assert.throws(() => pool.setNonce(0, detached(12)), typeErr);
  });

  test(`${backend}: wrong sizes and types carry ERR_TFW_ARG_RANGE / ERR_TFW_ARG_TYPE`, () => {
    assert.throws(() => chacha20poly1305Seal(rand(31), rand(12), rand(1), undefined, o), coded('ERR_TFW_ARG_RANGE', RangeError, /^key: expected 32 bytes, got 31$/));
    assert.throws(() => chacha20poly1305Seal(rand(32), [1] as never, rand(1), undefined, o), coded('ERR_TFW_ARG_TYPE', TypeError, /^nonce: expected a Uint8Array, got Array$/));
    assert.throws(() => new AeadPacketPool({ slots: 0, slotBytes: 64, backend }), coded('ERR_TFW_ARG_RANGE', RangeError, /^slots/));
  });
}

// Backends with a forward engine (the native addon has none yet).
const forwardBackends = availableBackends().filter((backend) => {
  try {
    new Fib('ipv4', { backend });
    return true;
  } catch {
    return false;
  }
});

for (const backend of forwardBackends) {
  test(`${backend}: Fib.lookupBatch refuses a wrong output type, a short output and detached input the same way`, () => {
    const fib = new Fib('ipv4', { backend });
    fib.insert('10.0.0.0/8', 3);
    const addrs = Uint8Array.of(10, 1, 2, 3, 192, 0, 2, 1);
    const typeErr = (re: RegExp) => coded('ERR_TFW_ARG_TYPE', TypeError, re);
    assert.throws(() => fib.lookupBatch(addrs, new Uint32Array(2) as never), typeErr(/^out: expected an Int32Array, got Uint32Array$/));
    assert.throws(() => fib.lookupBatch(addrs, [0, 0] as never), typeErr(/^out: expected an Int32Array, got Array$/));
    assert.throws(() => fib.lookupBatch(detached(8), new Int32Array(2)), typeErr(/^addresses: .*detached/));
    assert.throws(() => fib.lookupBatch(addrs, new Int32Array(1)), coded('ERR_TFW_ARG_RANGE', RangeError, /^out: expected at least 2 entries, got 1$/));
    assert.throws(() => fib.lookupBatch(addrs.subarray(0, 6), new Int32Array(2)), coded('ERR_TFW_ARG_RANGE', RangeError, /^addresses: expected a multiple of 4 bytes/));
    const out = new Int32Array(2);
    fib.lookupBatch(addrs, out);
    assert.equal(Array.from(out), [3, -1]);
  });
}

for (const backend of availableBackends()) {
  test(`${backend}: ReedSolomon refuses detached data and shards with coded errors`, () => {
    const rs = new ReedSolomon(2, 1, { backend });
    assert.throws(() => rs.split(detached()), coded('ERR_TFW_ARG_TYPE', TypeError, /^data: .*detached/));
    const shards = rs.split(rand(64));
    shards[1] = detached();
    assert.throws(() => rs.encode(shards), (e: Error & { code?: string }) => e.code === 'ERR_TFW_SHARD_SIZE' && /shards\[1\]: its ArrayBuffer is detached/.test(e.message));
    assert.throws(() => new ReedSolomon(0, 1, { backend }), coded('ERR_TFW_ARG_RANGE', RangeError, /^dataShards/));
  });
}

test.run();
