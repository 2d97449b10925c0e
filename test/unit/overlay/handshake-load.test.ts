/**
 * Handshakes under load (handshake.ts, handshake-queue.ts, ratelimiter.ts):
 * the queue keeps handshakes behind data, its depth turns cookie replies on,
 * a cookie reply brings the initiator back within COOKIE_RETRY, a valid mac2
 * still passes the per-source limit (20/s, burst 5, as wireguard-go), and
 * every refused message is counted.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Endpoint } from '../../../runtime/overlay/links/conn.js';
import { CookieGenerator } from '../../../runtime/overlay/wireguard/cookie.js';
import { generatePrivateKey } from '../../../runtime/overlay/wireguard/keys.js';
import { MESSAGE_COOKIE_REPLY, MESSAGE_INITIATION, MESSAGE_RESPONSE } from '../../../runtime/overlay/wireguard/messages.js';
import { createInitiation, Handshake, localStatic } from '../../../runtime/overlay/wireguard/noise.js';
import { PACKETS_BURSTABLE, PACKETS_PER_SECOND, RateLimiter } from '../../../runtime/overlay/wireguard/ratelimiter.js';
import { COOKIE_RETRY } from '../../../runtime/overlay/wireguard/constants.js';
import type { DeviceOptions } from '../../../runtime/overlay/device.js';
import { prng } from '../../helpers.js';
import { A_TO_B, makePair } from './pair.js';

const r = prng();

/** `n` initiations to `responderPublic` from fresh (unknown) keys, each with a valid mac1. */
function unknownInitiations(responderPublic: Uint8Array, n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const m = createInitiation(new Handshake(localStatic(generatePrivateKey()), responderPublic), i + 1);
    new CookieGenerator(responderPublic).addMacs(m);
    out.push(m);
  }
  return out;
}

test('rate limiter: burst of 5 per source address, then 20/s; ports share a bucket, addresses do not', () => {
  let t = 1000;
  const rl = new RateLimiter(() => t);
  const a1 = Endpoint.parse('192.0.2.1:1000'), a2 = Endpoint.parse('192.0.2.1:2000'), b = Endpoint.parse('192.0.2.2:1000');
  const allowed = (ep: Endpoint, n: number) => Array.from({ length: n }, () => rl.allow(ep)).filter(Boolean).length;
  assert.is(allowed(a1, 3) + allowed(a2, 10), PACKETS_BURSTABLE);
  assert.is(allowed(b, 10), PACKETS_BURSTABLE);
  t += 1000 / PACKETS_PER_SECOND + 1;
  assert.is(allowed(a1, 10), 1, 'one token per 50 ms');
  t += 10_000;
  assert.is(allowed(a1, 10), PACKETS_BURSTABLE, 'refilled to the burst, no more');
  assert.is(rl.size, 1, 'idle sources are forgotten');
});

/** A pair whose B schedules handshake work by pushing it to `runs` (the runtime passes setImmediate). */
function scheduledPair(runs: (() => void)[], b: Partial<DeviceOptions> = {}) {
  return makePair({ b: { scheduleHandshakes: (run) => void runs.push(run), ...b } });
}

test('handshakes wait behind data: a batch of data and initiations delivers the data before any DH', () => {
  const runs: (() => void)[] = [];
  const p = scheduledPair(runs);
  p.sendA(A_TO_B(r.bytes(10)));
  p.pump();
  while (runs.length) {
    runs.shift()!();
    p.pump();
  }
  p.deliveredB.length = 0;
  const { b } = p;
  const flood = unknownInitiations(b.local.publicKey, 8);
  p.sendA(A_TO_B(r.bytes(50)));
  const data = p.wire.splice(0)[0];
  const bufs = [...flood, data.data];
  b.receive(bufs, bufs.map((x) => x.length), bufs.map(() => p.epA), bufs.length);
  assert.is(p.deliveredB.length, 1, 'data delivered in the same call');
  assert.is(b.drops.handshake, 0, 'no initiation handled yet');
  assert.is(runs.length, 1, 'handshake work scheduled once');
  while (runs.length) runs.shift()!();
  assert.is(b.drops.handshake, flood.length, 'each unknown-key initiation refused, later');
});

test('queue depth >= 128 puts the device under load: every initiation is answered with a counted cookie, no DH', () => {
  const runs: (() => void)[] = [];
  const p = scheduledPair(runs);
  const flood = unknownInitiations(p.b.local.publicKey, 8);
  const many = Array.from({ length: 300 }, (_, i) => flood[i % flood.length]);
  for (let i = 0; i < many.length; i += 50) {
    const part = many.slice(i, i + 50);
    p.b.receive(part, part.map((x) => x.length), part.map(() => p.epA), part.length);
  }
  assert.is(runs.length, 1);
  runs.shift()!();
  while (runs.length) runs.shift()!();
  assert.is(p.b.drops.cookieReplies, 300);
  assert.is(p.b.drops.handshake, 0);
  assert.ok(p.wire.every((d) => d.data[0] === MESSAGE_COOKIE_REPLY));
});

test('time spent on handshakes puts the device under load: past the budget, initiations get cookies', () => {
  const p = makePair({ b: { handshakeBusyMs: 0 } });
  const flood = unknownInitiations(p.b.local.publicKey, 4);
  p.b.receive(flood, flood.map((x) => x.length), flood.map(() => p.epA), flood.length);
  assert.is(p.b.drops.handshake, 1, 'the first one was worked on');
  assert.is(p.b.drops.cookieReplies, 3, 'then the budget was spent');
});

test('a full handshake queue drops new messages and counts them', () => {
  const runs: (() => void)[] = [];
  const p = scheduledPair(runs, { handshakeQueueSize: 16 });
  const flood = unknownInitiations(p.b.local.publicKey, 8);
  const many = Array.from({ length: 20 }, (_, i) => flood[i % flood.length]);
  p.b.receive(many, many.map((x) => x.length), many.map(() => p.epA), many.length);
  assert.is(p.b.drops.handshakeQueueFull, 4);
});

test('under load, a legitimate peer is answered by a cookie and completes COOKIE_RETRY later with mac2', () => {
  const p = makePair({ b: { forceUnderLoad: true } });
  p.sendA(A_TO_B(r.bytes(10)));
  p.pump(1);
  assert.equal(p.wire.map((d) => d.data[0]), [MESSAGE_COOKIE_REPLY]);
  p.pump(1);
  assert.is(p.b.drops.cookieReplies, 1);
  p.advance(COOKIE_RETRY);
  p.a.tick();
  assert.equal(p.wire.map((d) => d.data[0]), [MESSAGE_INITIATION], 'retried at once, not after REKEY_TIMEOUT');
  p.pump();
  assert.is(p.deliveredB.length, 1, 'the staged packet arrived');
  assert.is(p.b.drops.cookieReplies, 1);
});

test('under load, an attacker holding a cookie gets 5 initiations through, then 20/s (rateLimited counted)', () => {
  const p = makePair({ b: { forceUnderLoad: true } });
  p.sendA(A_TO_B(r.bytes(10)));
  p.pump(2); // initiation -> cookie reply -> A stores the cookie
  const peerA = [...p.a.peers.values()][0];
  const msgs: Uint8Array[] = [];
  for (let i = 0; i < 12; i++) {
    const m = createInitiation(peerA.handshake, 100 + i, p.now() + i);
    peerA.cookieGenerator.addMacs(m);
    msgs.push(m);
  }
  p.wire.length = 0;
  p.b.receive(msgs, msgs.map((x) => x.length), msgs.map(() => p.epA), msgs.length);
  assert.is(p.b.drops.rateLimited, 12 - 5);
  assert.is(p.b.drops.cookieReplies, 1, 'valid mac2: no further cookie');
  assert.is(p.wire.filter((d) => d.data[0] === MESSAGE_RESPONSE).length, 1, 'one answered; the rest of the burst hit the 50/s per-peer limit');
});

test.run();
