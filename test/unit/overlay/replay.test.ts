/** The sliding replay window (RFC 6479 style), edge cases first. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ReplayFilter, WINDOW_SIZE } from '../../../runtime/overlay/wireguard/replay.js';
import { prng } from '../../helpers.js';

const LIMIT = Number.MAX_SAFE_INTEGER;

test('window covers at least 2,048 packets', () => {
  assert.ok(WINDOW_SIZE >= 2048, String(WINDOW_SIZE));
});

test('in-order counters are accepted once; duplicates refused', () => {
  const f = new ReplayFilter();
  for (let i = 0; i < 10_000; i++) assert.ok(f.validate(i, LIMIT), `first ${i}`);
  for (const i of [9_999, 9_000, 5]) assert.not.ok(f.validate(i, LIMIT), `again ${i}`);
});

test('counter 0 first, then 0 again is a replay', () => {
  const f = new ReplayFilter();
  assert.ok(f.validate(0, LIMIT));
  assert.not.ok(f.validate(0, LIMIT));
});

test('exactly WINDOW_SIZE behind is accepted, one more is refused', () => {
  const f = new ReplayFilter();
  const top = WINDOW_SIZE + 1000;
  assert.ok(f.validate(top, LIMIT));
  assert.ok(f.validate(top - WINDOW_SIZE, LIMIT));
  assert.not.ok(f.validate(top - WINDOW_SIZE - 1, LIMIT));
  assert.not.ok(f.validate(top - WINDOW_SIZE, LIMIT), 'now a duplicate');
});

test('a jump far ahead clears the whole ring: old bits do not alias', () => {
  const f = new ReplayFilter();
  for (let i = 0; i < 200; i++) f.validate(i, LIMIT);
  const far = 200 + 128 * 32 * 10 + 5; // same ring slot as earlier counters
  assert.ok(f.validate(far, LIMIT));
  assert.ok(f.validate(far - 1, LIMIT));
  assert.ok(f.validate(far - 64, LIMIT), 'slot cleared by the jump');
});

test('limit and bad numbers are refused', () => {
  const f = new ReplayFilter();
  assert.not.ok(f.validate(100, 100));
  assert.ok(f.validate(99, 100));
  assert.not.ok(f.validate(-1, LIMIT));
  assert.not.ok(f.validate(Number.NaN, LIMIT));
  assert.not.ok(f.validate(2 ** 60, LIMIT));
});

test('random reordering within the window: each counter accepted exactly once (vs a Set model)', () => {
  const r = prng();
  const f = new ReplayFilter();
  const seen = new Set<number>();
  let top = 0;
  for (let i = 0; i < 50_000; i++) {
    const c = Math.max(0, top + r.int(600) - 500);
    const expect = !seen.has(c) && !(top - c > WINDOW_SIZE);
    const got = f.validate(c, LIMIT);
    assert.is(got, expect, `counter ${c} top ${top}`);
    if (got) {
      seen.add(c);
      top = Math.max(top, c);
    }
  }
});

test('reset forgets', () => {
  const f = new ReplayFilter();
  f.validate(5, LIMIT);
  f.reset();
  assert.ok(f.validate(5, LIMIT));
});

test.run();
