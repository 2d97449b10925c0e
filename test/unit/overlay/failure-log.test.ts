/**
 * Handshake failures are logged once per peer (or source) and interval, not
 * per packet or per retry (runtime/overlay/log-limit.ts, used by
 * handshake.ts and wireguard/timers.ts), with the held-back count in the next report.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FAILURE_LOG_INTERVAL, LimitedLog, MAX_LINES_PER_INTERVAL, MAX_LOG_KEYS } from '../../../runtime/overlay/log-limit.js';
import { REKEY_TIMEOUT } from '../../../runtime/overlay/wireguard/constants.js';
import { prng } from '../../helpers.js';
import { A_TO_B, makePair } from './pair.js';

const r = prng();

test('LimitedLog: one line per key and interval, the held-back count in the next one, bounded keys', () => {
  let t = 0;
  const lines: string[] = [];
  const l = new LimitedLog((m) => lines.push(m), () => t, 1000);
  assert.ok(l.note('a', 'x'));
  assert.not.ok(l.note('a', 'x'));
  assert.not.ok(l.note('a', 'x'));
  assert.ok(l.note('b', 'y'));
  t = 1000;
  assert.ok(l.note('a', 'x'));
  assert.equal(lines, ['x', 'y', 'x (and 2 more since the last report)']);
  const before = lines.length;
  for (let i = 0; i < MAX_LOG_KEYS + 10; i++) l.note(`k${i}`, 'z');
  // Many keys in one interval (spoofed sources): at most MAX_LINES_PER_INTERVAL lines in all.
  assert.is(lines.length - before, MAX_LINES_PER_INTERVAL - 1);
  // 'a' was the oldest and is forgotten: in the next interval it logs again, after the held-back summary.
  t = 2000;
  assert.ok(l.note('a', 'x'));
  assert.equal(lines.slice(-2), [`${MAX_LOG_KEYS + 10 - (MAX_LINES_PER_INTERVAL - 1)} more reports like these were held back in the last 1 s`, 'x']);
});

test('a peer that never answers: one log line per interval, not one per retry', () => {
  const lines: string[] = [];
  const p = makePair({ a: { log: (m) => lines.push(m) } });
  p.sendA(A_TO_B(r.bytes(20)));
  p.wire.length = 0; // B never hears anything
  const retries = Math.floor(FAILURE_LOG_INTERVAL / REKEY_TIMEOUT) - 1;
  for (let i = 0; i < retries; i++) {
    p.advance(REKEY_TIMEOUT + 300);
    p.a.tick();
    p.wire.length = 0;
  }
  const failures = () => lines.filter((l) => l.startsWith(`handshake with peer ${p.pubB} did not complete`));
  assert.is(failures().length, 1, lines.join('\n'));
  p.advance(FAILURE_LOG_INTERVAL);
  p.a.tick();
  assert.is(failures().length, 2);
  assert.match(failures()[1], /\(and \d+ more since the last report\)$/);
});

test('a flood of refused initiations from one source: counted per packet, logged once', () => {
  const lines: string[] = [];
  const p = makePair({ b: { log: (m) => lines.push(m) } });
  p.sendA(A_TO_B(r.bytes(20)));
  const init = p.wire.splice(0)[0];
  // Bad mac1: a corrupted copy, 100 times.
  const bad = init.data.slice();
  bad[120] ^= 1;
  for (let i = 0; i < 100; i++) p.b.receive([bad.slice()], [bad.length], [init.from], 1);
  assert.is(p.b.drops.mac, 100);
  assert.equal(lines.filter((l) => l.includes('refused')), [`handshake from ${init.from} refused: bad mac1 (sent to another public key?)`]);
  // A replayed (valid-mac) initiation from a known peer: logged once under the peer's key.
  p.b.receive([init.data.slice()], [init.data.length], [init.from], 1);
  for (let i = 0; i < 20; i++) p.b.receive([init.data.slice()], [init.data.length], [init.from], 1);
  const replays = lines.filter((l) => l.startsWith(`handshake initiation from peer ${p.pubA}`));
  assert.is(replays.length, 1, lines.join('\n'));
  assert.ok(p.b.drops.handshake >= 20);
});

test.run();
