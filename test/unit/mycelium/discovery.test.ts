// Mycelium's link-local discovery beacon (runtime/overlay/mycelium/discovery.ts),
// layout from peer_manager.rs: "mycelium" | port (BE) | 40-byte router id.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BEACON_BYTES, decodeBeacon, encodeBeacon } from '../../../runtime/overlay/mycelium/discovery.js';
import { hex, prng } from '../../helpers.js';

test('beacon: 50 bytes, magic, port big endian, router id', () => {
  const rid = new Uint8Array(40).fill(7);
  const b = encodeBeacon(9651, rid);
  assert.is(b.length, BEACON_BYTES);
  assert.is(hex(b.subarray(0, 10)), Buffer.from('mycelium').toString('hex') + '25b3');
  assert.equal(decodeBeacon(b), { port: 9651, routerId: rid });
});

test('anything else is ignored, never thrown', () => {
  const r = prng();
  const b = encodeBeacon(1, new Uint8Array(40));
  assert.is(decodeBeacon(b.subarray(0, 49)), null);
  assert.is(decodeBeacon(new Uint8Array([...b, 0])), null);
  const bad = b.slice();
  bad[0] = 0x4e;
  assert.is(decodeBeacon(bad), null);
  for (let i = 0; i < 500; i++) decodeBeacon(r.bytes(r.int(80)));
});

test.run();
