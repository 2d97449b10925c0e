/**
 * The device timers (runtime/overlay/wireguard/timers.ts) as wireguard-go's
 * device/timers.go: the only writer of peer timers, and each named event
 * arming or clearing the timer that timers.go's does. The full protocol
 * behaviour (retries, keepalives, rekeys) is in device.test.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeviceTimers, type TimersHost } from '../../../runtime/overlay/wireguard/timers.js';
import { LimitedLog } from '../../../runtime/overlay/log-limit.js';
import { generatePrivateKey, publicKeyFromPrivate, toBase64 } from '../../../runtime/overlay/wireguard/keys.js';
import { localStatic } from '../../../runtime/overlay/wireguard/noise.js';
import { Peer } from '../../../runtime/overlay/wireguard/peer.js';
import { KEEPALIVE_TIMEOUT, REJECT_AFTER_TIME, REKEY_TIMEOUT, REKEY_TIMEOUT_JITTER_MAX } from '../../../runtime/overlay/wireguard/constants.js';

const OVERLAY = fileURLToPath(new URL('../../../runtime/overlay/', import.meta.url));
/** The timer fields of PeerTimers (wireguard/peer.ts). */
const FIELDS = ['retransmitHandshake', 'sendKeepalive', 'newHandshake', 'zeroKeyMaterial', 'persistentKeepalive', 'handshakeAttempts', 'keepaliveAgain', 'sentLastMinuteHandshake'];
/** An assignment (=, op=, ++, --) to a PeerTimers field reached through `.timers.` or a local `tm`. */
const WRITE = new RegExp(`\\b(?:timers|tm)\\.(${FIELDS.join('|')})\\s*(?:[-+*/|&]?=(?!=)|\\+\\+|--)|(?:\\+\\+|--)\\s*(?:\\w+\\.)*(?:timers|tm)\\.(${FIELDS.join('|')})\\b`);

function sources(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : n.endsWith('.ts') ? [p] : [];
  });
}

test('the writer check sees the forms a write takes', () => {
  for (const w of ['peer.timers.sendKeepalive = 0;', 'tm.keepaliveAgain = true', 'peer.timers.handshakeAttempts++', '++peer.timers.handshakeAttempts', 'tm.newHandshake += 5'])
    assert.ok(WRITE.test(w), w);
  for (const r of ['if (!peer.timers.sendKeepalive)', 'tm.newHandshake === 0', 'x = peer.timers.zeroKeyMaterial'])
    assert.not.ok(WRITE.test(r), r);
});

test('wireguard/timers.ts is the only writer of peer timers in runtime/overlay/', () => {
  const writers: string[] = [];
  for (const file of sources(OVERLAY)) {
    const name = relative(OVERLAY, file).split('\\').join('/');
    if (name === 'wireguard/timers.ts') continue;
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      if (WRITE.test(line)) writers.push(`${name}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.equal(writers, []);
});

function fixture(keepalive = 0) {
  let clock = 1_700_000_000_000;
  const states: boolean[] = [];
  const sent: string[] = [];
  const local = localStatic(generatePrivateKey());
  const peer = new Peer(local, { publicKey: toBase64(publicKeyFromPrivate(generatePrivateKey())), allowedIPs: [], persistentKeepalive: keepalive }, () => clock);
  const host: TimersHost = {
    peers: new Map([[peer.publicKeyB64, peer]]),
    drops: { staged: 0 } as TimersHost['drops'],
    indexTable: new Map(),
    now: () => clock,
    peerState: (_p, up) => { states.push(up); },
    sendInitiation: (_p, retry) => { sent.push(retry ? 'retry' : 'initiation'); },
    sendKeepalive: () => { sent.push('keepalive'); },
    releaseKeypair: () => {},
    flush: () => {},
    failures: new LimitedLog(() => {}, () => clock),
  };
  return { timers: new DeviceTimers(host), peer, states, sent, now: () => clock, advance: (ms: number) => { clock += ms; } };
}

test('dataReceived arms the passive keepalive once, a second one asks for another after it', () => {
  const f = fixture();
  f.timers.dataReceived(f.peer);
  assert.is(f.peer.timers.sendKeepalive, f.now() + KEEPALIVE_TIMEOUT);
  assert.is(f.peer.timers.keepaliveAgain, false);
  f.timers.dataReceived(f.peer);
  assert.is(f.peer.timers.keepaliveAgain, true);
  f.advance(KEEPALIVE_TIMEOUT);
  f.timers.tick();
  assert.equal(f.sent, ['keepalive']);
  assert.is(f.peer.timers.sendKeepalive, f.now() + KEEPALIVE_TIMEOUT, 'armed again for the second');
  f.timers.anyAuthenticatedPacketSent(f.peer);
  assert.is(f.peer.timers.sendKeepalive, 0, 'anything sent cancels it');
});

test('dataSent arms newHandshake once (KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter); anything received clears it and marks the peer up', () => {
  const f = fixture();
  f.peer.down = true;
  f.timers.dataSent(f.peer);
  const due = f.peer.timers.newHandshake;
  const base = f.now() + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT;
  assert.ok(due >= base && due < base + REKEY_TIMEOUT_JITTER_MAX, String(due - base));
  f.advance(1);
  f.timers.dataSent(f.peer);
  assert.is(f.peer.timers.newHandshake, due, 'not pushed back by later data');
  f.timers.anyAuthenticatedPacketReceived(f.peer);
  assert.is(f.peer.timers.newHandshake, 0);
  assert.is(f.peer.lastReceived, f.now());
  assert.equal(f.states, [true]);
});

test('handshakeInitiated arms the retry; handshakeComplete clears it and the attempts; sessionDerived arms zeroing', () => {
  const f = fixture();
  f.timers.handshakeInitiated(f.peer);
  const due = f.peer.timers.retransmitHandshake;
  assert.ok(due >= f.now() + REKEY_TIMEOUT && due < f.now() + REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX);
  f.advance(REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX);
  f.timers.tick();
  assert.equal(f.sent, ['retry']);
  assert.is(f.peer.timers.handshakeAttempts, 1);
  f.timers.handshakeComplete(f.peer);
  assert.is(f.peer.timers.retransmitHandshake, 0);
  assert.is(f.peer.timers.handshakeAttempts, 0);
  assert.is(f.peer.lastHandshake, f.now());
  assert.is(f.peer.handshakes, 1);
  f.timers.sessionDerived(f.peer);
  assert.is(f.peer.timers.zeroKeyMaterial, f.now() + REJECT_AFTER_TIME * 3);
});

test('anyAuthenticatedPacketTraversal restarts the persistent keepalive only when one is configured', () => {
  const off = fixture(0);
  off.timers.anyAuthenticatedPacketTraversal(off.peer);
  assert.is(off.peer.timers.persistentKeepalive, 0);
  const on = fixture(25);
  on.timers.persistentKeepaliveEnabled(on.peer);
  assert.is(on.peer.timers.persistentKeepalive, on.now(), 'the first goes out on the next tick');
  on.timers.anyAuthenticatedPacketTraversal(on.peer);
  assert.is(on.peer.timers.persistentKeepalive, on.now() + 25_000);
  on.advance(25_000);
  on.timers.tick();
  assert.equal(on.sent, ['keepalive']);
});

test.run();
