/** Two in-process WireGuard devices: handshake, data, cryptokey routing, hostile input, roaming, reload, Babel hook. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MESSAGE_COOKIE_REPLY, MESSAGE_INITIATION, MESSAGE_RESPONSE, MESSAGE_TRANSPORT } from '../../../runtime/overlay/wireguard/messages.js';
import { Endpoint } from '../../../runtime/overlay/links/conn.js';
import { createCipheriv } from 'node:crypto';
import { hex, prng } from '../../helpers.js';
import { A_TO_B, B_TO_A, ipv4, makePair } from './pair.js';

const r = prng();

function connected() {
  const p = makePair();
  p.sendA(A_TO_B(r.bytes(100)));
  p.pump();
  p.deliveredB.length = 0;
  return p;
}

test('full handshake, then data both ways arrives byte-exact (padding stripped)', () => {
  const p = makePair();
  const first = A_TO_B(r.bytes(37));
  p.sendA(first);
  assert.is(p.wire.length, 1);
  assert.is(p.wire[0].data[0], MESSAGE_INITIATION);
  assert.is(p.wire[0].data.length, 148);
  p.pump(1);
  assert.is(p.wire[0].data[0], MESSAGE_RESPONSE);
  assert.is(p.wire[0].data.length, 92);
  p.pump();
  assert.equal(p.deliveredB.map(hex), [hex(first)], 'staged packet delivered after the handshake');
  const back = B_TO_A(r.bytes(1000));
  p.sendB(back);
  p.pump();
  assert.equal(p.deliveredA.map(hex), [hex(back)]);
  const peerB = p.a.peers.get(p.pubB)!;
  assert.ok(peerB.lastHandshake > 0);
  assert.ok(peerB.txBytes > 0 && peerB.rxBytes > 0);
  assert.is(p.b.peers.get(p.pubA)!.keypairs.current?.isInitiator, false, 'responder confirmed its keypair');
  assert.equal(Object.values(p.a.drops).reduce((x, y) => x + y), 0);
  assert.equal(Object.values(p.b.drops).reduce((x, y) => x + y), 0);
});

test('transport messages are padded to 16 bytes and carry increasing counters', () => {
  const p = connected();
  for (const n of [1, 15, 16, 17]) p.sendA(A_TO_B(r.bytes(n)));
  const msgs = p.wire.map((d) => d.data);
  for (const m of msgs) {
    assert.is(m[0], MESSAGE_TRANSPORT);
    assert.is((m.length - 32) % 16, 0);
  }
  const counters = msgs.map((m) => new DataView(m.buffer).getUint32(8, true));
  assert.equal(counters, [...counters].sort((x, y) => x - y));
});

test('TUN reads in sendBuffers() are sealed and sent from that very slot; padding zeroed; other buffers copied', () => {
  const p = connected();
  const slots = p.a.sendBuffers();
  assert.is(slots.length, 64);
  assert.ok(slots[0].length >= 1500, 'a slot takes a 1,500-byte read');
  // Stale bytes past the packet (a previous, longer packet) must not leak into the padding.
  slots[1].fill(0xee);
  const pkts = [A_TO_B(r.bytes(1380)), A_TO_B(r.bytes(5)), A_TO_B(r.bytes(700))];
  pkts.forEach((x, i) => slots[i].set(x));
  // Packet 3 comes from the caller's own buffer (copied into a slot of its own).
  const own = A_TO_B(r.bytes(64));
  p.a.send([slots[0], slots[1], slots[2], own], [pkts[0].length, pkts[1].length, pkts[2].length, own.length], 4);
  assert.is(p.wire.length, 4);
  for (let i = 0; i < 3; i++) {
    // The datagram is the slot: header in the 16 bytes before the view, then ciphertext || tag where the packet was read.
    const whole = new Uint8Array(slots[i].buffer, slots[i].byteOffset - 16, p.wire[i].data.length);
    assert.is(hex(p.wire[i].data), hex(whole), `datagram ${i} is send slot ${i}`);
    assert.is.not(hex(slots[i].subarray(0, 20)), hex(pkts[i].subarray(0, 20)), 'sealed in place');
  }
  p.pump();
  assert.equal(p.deliveredB.map(hex), [...pkts, own].map(hex), 'byte-exact at B, padding stripped');
  // The slots are free again: a second batch through the same slots.
  const again = [A_TO_B(r.bytes(200)), A_TO_B(r.bytes(33))];
  again.forEach((x, i) => slots[i].set(x));
  p.deliveredB.length = 0;
  p.a.send(slots, [again[0].length, again[1].length], 2);
  p.pump();
  assert.equal(p.deliveredB.map(hex), again.map(hex));
  assert.equal(Object.values(p.b.drops).reduce((x, y) => x + y), 0);
});

test('matching presharedKey completes; a mismatched one does not', () => {
  const psk = Buffer.from(r.bytes(32)).toString('base64');
  const ok = makePair({ psk });
  ok.sendA(A_TO_B(r.bytes(10)));
  ok.pump();
  assert.is(ok.deliveredB.length, 1);
  const bad = makePair({ psk, pskB: Buffer.from(r.bytes(32)).toString('base64') });
  bad.sendA(A_TO_B(r.bytes(10)));
  bad.pump();
  assert.is(bad.deliveredB.length, 0);
  assert.is(bad.a.drops.handshake, 1, 'initiator cannot open the response');
});

test('a replayed transport message is dropped and counted', () => {
  const p = connected();
  p.sendA(A_TO_B(r.bytes(50)));
  const copy = p.wire[0].data.slice();
  p.pump();
  p.b.receive([copy], [copy.length], [p.epA], 1);
  assert.is(p.deliveredB.length, 1);
  assert.is(p.b.drops.replay, 1);
});

test('tampered transport messages fail authentication and are counted', () => {
  const p = connected();
  for (let i = 0; i < 10; i++) p.sendA(A_TO_B(r.bytes(64)));
  for (const d of p.wire) d.data[16 + r.int(d.data.length - 16)] ^= 1 << r.int(8);
  p.pump();
  assert.is(p.deliveredB.length, 0);
  assert.is(p.b.drops.auth, 10);
});

test('garbage, truncated and oversized datagrams never throw and are counted', () => {
  const p = connected();
  const before = Object.values(p.b.drops).reduce((x, y) => x + y);
  const junk: Uint8Array[] = [new Uint8Array(0), new Uint8Array(3), r.bytes(2000), new Uint8Array(65535)];
  for (const t of [1, 2, 3, 4, 5, 255]) for (const n of [4, 31, 32, 64, 92, 147, 148, 149, 1500]) {
    const d = r.bytes(n);
    d[0] = t; d[1] = d[2] = d[3] = 0;
    junk.push(d);
  }
  for (const d of junk) p.b.receive([d], [d.length], [p.epA], 1);
  const after = Object.values(p.b.drops).reduce((x, y) => x + y);
  assert.is(after - before, junk.length, JSON.stringify(p.b.drops));
  assert.is(p.deliveredB.length, 0);
  // The session still works afterwards.
  p.sendA(A_TO_B(r.bytes(20)));
  p.pump();
  assert.is(p.deliveredB.length, 1);
});

test('cryptokey routing: source outside the peer\'s allowed IPs is dropped; no route is counted', () => {
  const p = connected();
  p.b.setPeers([{ ...p.peerOfB, allowedIPs: ['10.100.0.0/24'] }]);
  // B sends with a spoofed source A does not allow for B.
  p.sendB(ipv4([10, 100, 0, 9], [10, 100, 0, 1], r.bytes(8)));
  p.pump();
  assert.is(p.deliveredA.length, 0);
  assert.is(p.a.drops.allowedIPs, 1);
  p.sendA(ipv4([10, 100, 0, 1], [192, 0, 2, 1], r.bytes(8)));
  assert.is(p.a.drops.noRoute, 1);
  p.sendA(r.bytes(3));
  assert.is(p.a.drops.malformed, 1);
});

test('roaming: an authenticated packet from a new address updates the endpoint; garbage from it does not', () => {
  const p = connected();
  const peerA = p.b.peers.get(p.pubA)!;
  const moved = Endpoint.parse('10.0.0.77:4444');
  p.b.receive([r.bytes(100)], [100], [moved], 1);
  assert.is(peerA.endpoint?.toString(), '10.0.0.1:1000');
  p.sendA(A_TO_B(r.bytes(10)));
  const d = p.wire.splice(0)[0];
  p.b.receive([d.data], [d.data.length], [moved], 1);
  assert.is(peerA.endpoint?.toString(), '10.0.0.77:4444');
  p.sendB(B_TO_A(r.bytes(10)));
  assert.is(p.wire[0].to.toString(), '10.0.0.77:4444');
});

test('cookie reply under load: first initiation answered by a cookie, the retry with mac2 succeeds', () => {
  const p = makePair({ b: { forceUnderLoad: true } });
  p.sendA(A_TO_B(r.bytes(10)));
  p.pump(1);
  assert.is(p.wire.length, 1);
  assert.is(p.wire[0].data[0], MESSAGE_COOKIE_REPLY);
  assert.is(p.wire[0].data.length, 64);
  p.pump(1);
  assert.is(p.deliveredB.length, 0);
  p.advance(5_400);
  p.a.tick();
  assert.is(p.wire[0]?.data[0], MESSAGE_INITIATION, 'retransmitted after REKEY_TIMEOUT');
  p.pump();
  assert.is(p.deliveredB.length, 1);
});

test('bad mac1 is dropped before any DH', () => {
  const p = makePair();
  p.sendA(A_TO_B(r.bytes(10)));
  p.wire[0].data[120] ^= 1;
  p.pump();
  assert.is(p.b.drops.mac, 1);
});

test('a replayed initiation (same timestamp) is refused', () => {
  const p = makePair();
  p.sendA(A_TO_B(r.bytes(10)));
  const init = p.wire[0].data.slice();
  p.pump();
  p.advance(1000);
  p.b.receive([init], [init.length], [p.epA], 1);
  assert.is(p.b.drops.handshake, 1);
});

test('crossed initiations (both ends send at once): the greater key retries within a tick, not after REKEY_TIMEOUT', () => {
  const p = makePair();
  p.sendA(A_TO_B(r.bytes(20)));
  p.sendB(B_TO_A(r.bytes(30)));
  assert.equal(p.wire.map((d) => d.data[0]), [MESSAGE_INITIATION, MESSAGE_INITIATION]);
  p.pump();
  assert.is(p.a.drops.handshake + p.b.drops.handshake, 2, 'each end consumed the other\'s initiation, both responses refused');
  for (let t = 0; t < 2; t++) {
    p.advance(250); // the runtime's timer tick
    p.a.tick();
    p.b.tick();
    p.pump();
  }
  assert.ok(p.a.peers.get(p.pubB)!.keypairs.current && p.b.peers.get(p.pubA)!.keypairs.current, 'a session within 500 ms');
  assert.is(p.deliveredA.length + p.deliveredB.length, 2, 'the staged packets went through');
});

test('timers: retransmit every REKEY_TIMEOUT, give up after REKEY_ATTEMPT_TIME and drop staged packets', () => {
  const p = makePair();
  p.sendA(A_TO_B(r.bytes(10)));
  p.wire.length = 0; // B never answers
  let inits = 1;
  for (let t = 0; t < 120_000; t += 500) {
    p.advance(500);
    p.a.tick();
    inits += p.wire.filter((d) => d.data[0] === MESSAGE_INITIATION).length;
    p.wire.length = 0;
  }
  assert.ok(inits >= 17 && inits <= 20, `initiations: ${inits}`);
  assert.is(p.a.peers.get(p.pubB)!.staged.length, 0);
  assert.is(p.a.drops.staged, 1);
});

test('timers: the initiator rekeys after REKEY_AFTER_TIME when sending', () => {
  const p = connected();
  p.advance(121_000);
  p.sendA(A_TO_B(r.bytes(10)));
  assert.equal(p.wire.map((d) => d.data[0]).sort(), [MESSAGE_INITIATION, MESSAGE_TRANSPORT], 'data still sent on the old key, plus a new initiation');
  p.pump();
  assert.is(p.deliveredB.length, 1);
  const kps = p.a.peers.get(p.pubB)!.keypairs;
  assert.ok(kps.previous && kps.current && kps.current !== kps.previous);
});

test('timers: passive keepalive after KEEPALIVE_TIMEOUT; persistent keepalive', () => {
  const p = connected();
  p.wire.length = 0;
  p.advance(10_001);
  p.b.tick();
  assert.is(p.wire.length, 1);
  assert.is(p.wire[0].data.length, 32, 'empty transport message');
  p.pump();
  const k = makePair({ keepaliveA: 25 });
  k.a.tick();
  assert.is(k.wire[0].data[0], MESSAGE_INITIATION, 'persistent keepalive starts a handshake');
  k.pump();
  k.wire.length = 0;
  k.advance(25_001);
  k.a.tick();
  assert.is(k.wire.length, 1);
  assert.is(k.wire[0].data.length, 32);
});

test('keys older than REJECT_AFTER_TIME are not used; zeroed after 3x', () => {
  const p = connected();
  p.advance(180_001);
  p.sendA(A_TO_B(r.bytes(10)));
  assert.is(p.wire.length, 1);
  assert.is(p.wire[0].data[0], MESSAGE_INITIATION);
  p.wire.length = 0;
  p.advance(540_001);
  p.a.tick();
  const kps = p.a.peers.get(p.pubB)!.keypairs;
  assert.is(kps.current, null);
});

test('reload (setPeers) keeps sessions of kept peers and drops removed ones', () => {
  const p = connected();
  const kp = p.a.peers.get(p.pubB)!.keypairs.current;
  p.a.setPeers([{ ...p.peerOfA, allowedIPs: ['10.100.0.2/32', '10.200.0.0/16'], persistentKeepalive: 5 }]);
  assert.is(p.a.peers.get(p.pubB)!.keypairs.current, kp);
  p.sendA(ipv4([10, 100, 0, 1], [10, 200, 3, 4], r.bytes(10)));
  assert.is(p.wire.at(-1)!.data[0], MESSAGE_TRANSPORT);
  p.a.setPeers([]);
  assert.is(p.a.peers.size, 0);
  p.sendA(A_TO_B(r.bytes(10)));
  assert.is(p.a.drops.noRoute, 1);
});

test('Babel hook: sendBabel frames a payload that arrives on onBabelPacket, not on the TUN', () => {
  const p = connected();
  const got: Uint8Array[] = [];
  p.b.onBabelPacket = (peer, payload) => {
    assert.is(peer.publicKeyB64, p.pubA);
    got.push(payload);
  };
  const msg = r.bytes(33);
  p.a.sendBabel(p.a.peers.get(p.pubB)!, msg);
  p.pump();
  assert.equal(got.map(hex), [hex(msg)]);
  assert.is(p.deliveredB.length, 0);
});

test('Babel routes: a route via a peer sends there and accepts that source', () => {
  const p = connected();
  p.a.setRoute('10.50.0.0/16', p.pubB, 3);
  p.b.setRoute('10.60.0.0/16', p.pubA, 3);
  const pkt = ipv4([10, 60, 0, 1], [10, 50, 0, 1], r.bytes(5));
  p.sendA(pkt);
  p.pump();
  assert.equal(p.deliveredB.map(hex), [hex(pkt)]);
  p.b.deleteRoute('10.60.0.0/16');
  p.sendA(ipv4([10, 60, 0, 1], [10, 50, 0, 1], r.bytes(5)));
  p.pump();
  assert.is(p.b.drops.allowedIPs, 1);
});

test('a whole batch in one receive call: data in order, replays and junk counted, sessions kept', () => {
  const p = connected();
  const pkts = Array.from({ length: 100 }, (_, i) => A_TO_B(r.bytes(20 + i)));
  p.a.send(pkts, pkts.map((x) => x.length), pkts.length);
  const dgrams = p.wire.splice(0).map((d) => d.data);
  assert.is(dgrams.length, 100);
  const batch = [...dgrams, dgrams[5], r.bytes(50), dgrams[99]];
  p.b.receive(batch, batch.map((d) => d.length), batch.map(() => p.epA), batch.length);
  assert.equal(p.deliveredB.map(hex), pkts.map(hex), 'all 100, in order, across two internal batches');
  assert.is(p.b.drops.replay, 2);
  assert.is(p.b.drops.malformed, 1);
});

test('key slots are recycled: hundreds of rekeys with only 8 slots', () => {
  const p = makePair({ a: { maxKeypairs: 8 }, b: { maxKeypairs: 8 } });
  for (let i = 0; i < 200; i++) {
    p.sendA(A_TO_B(r.bytes(10)));
    p.pump();
    assert.is(p.deliveredB.length, i + 1, `round ${i}`);
    p.advance(121_000);
    p.a.tick();
    p.b.tick();
    p.pump();
  }
  assert.is(p.a.drops.handshake + p.b.drops.handshake, 0);
});

for (const aead of ['kernel', 'node'] as const) {
  test(`counters >= 2^53 (${aead} AEAD): garbage counts as auth, an authentic one as replay`, () => {
    if (aead === 'node') process.env.TFW_OVERLAY_AEAD = 'node';
    try {
      const p = connected();
      const kp = [...p.a.peers.values()][0].keypairs.current!;
      const big = (counter: bigint, sealWith: Uint8Array | null) => {
        const m = new Uint8Array(32);
        const dv = new DataView(m.buffer);
        dv.setUint32(0, MESSAGE_TRANSPORT, true);
        dv.setUint32(4, kp.remoteIndex, true);
        dv.setBigUint64(8, counter, true);
        if (sealWith) {
          const nonce = new Uint8Array(12);
          new DataView(nonce.buffer).setBigUint64(4, counter, true);
          const c = createCipheriv('chacha20-poly1305', sealWith, nonce, { authTagLength: 16 });
          c.final();
          m.set(c.getAuthTag(), 16);
        } else m.set(r.bytes(16), 16);
        return m;
      };
      const before = { ...p.b.drops };
      for (const counter of [2n ** 53n, 2n ** 60n, 2n ** 64n - 1n]) {
        const g = big(counter, null);
        p.b.receive([g], [g.length], [p.epA], 1);
      }
      assert.is(p.b.drops.auth - before.auth, 3, 'garbage: auth');
      assert.is(p.b.drops.replay - before.replay, 0);
      const real = big(2n ** 60n, kp.sendKey);
      p.b.receive([real], [real.length], [p.epA], 1);
      assert.is(p.b.drops.replay - before.replay, 1, 'authentic, past the limit: replay');
      assert.is(p.b.drops.auth - before.auth, 3);
    } finally {
      delete process.env.TFW_OVERLAY_AEAD;
    }
  });
}

test.run();
