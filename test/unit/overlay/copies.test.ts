/**
 * Issue 14's "no per-packet copy" target, held by a test: the overlay bench's
 * copy counter (bench/overlay.bench.ts copiesPerPacket: every TypedArray set,
 * slice and copyWithin while 64 packets of 1,420 bytes go A -> B -> C in
 * process, B relaying) reads 0 packet bytes on send, receive and relay, and
 * does see the copy when A's packets come from the caller's own buffers.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copiesPerPacket } from '../../../bench/overlay.bench.js';

test('send, receive and relay copy no packet bytes; only the 20-byte endpoint record of each datagram sent', () => {
  const c = copiesPerPacket();
  assert.equal({ send: c.send, receive: c.receive, relay: c.relay }, { send: 0, receive: 0, relay: 0 });
  assert.equal(c.endpoint, { send: 20, receive: 0, relay: 20 });
});

test('the counter sees a copy: packets from the caller\'s own buffers are copied into a send slot', () => {
  const c = copiesPerPacket('own');
  assert.is(c.send, 1420);
  assert.is(c.relay, 0);
});

test.run();
