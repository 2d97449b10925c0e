/**
 * Byte progress (images/builder/progress.ts `bytes`) as CI logs and --json runs
 * see it (stderr not a terminal): a line at the start, at each quarter and at
 * the end, in bytes and MiB, under the caller's component; nothing when quiet.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeProgress } from '../../images/builder/progress.js';

function capture(fn: () => void): string {
  let out = '';
  const write = process.stderr.write;
  const tty = Object.getOwnPropertyDescriptor(process.stderr, 'isTTY');
  Object.defineProperty(process.stderr, 'isTTY', { value: false, configurable: true });
  process.stderr.write = ((c: string | Uint8Array) => ((out += c.toString()), true)) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stderr.write = write;
    if (tty) Object.defineProperty(process.stderr, 'isTTY', tty);
    else delete (process.stderr as { isTTY?: boolean }).isTTY;
  }
  return out;
}

test('a line at 0, each quarter and the end, bytes and MiB, under the component', () => {
  const total = 8 * 1048576;
  const out = capture(() => {
    const p = makeProgress({ component: 'flash' });
    for (let done = 0; done <= total; done += 1048576) p.bytes('writing /dev/sdx', done, total);
  });
  assert.equal(out.trim().split('\n'), [
    'tfw: flash: writing /dev/sdx 0 of 8388608 bytes (0.0 of 8.0 MiB)',
    'tfw: flash: writing /dev/sdx 2097152 of 8388608 bytes (2.0 of 8.0 MiB)',
    'tfw: flash: writing /dev/sdx 4194304 of 8388608 bytes (4.0 of 8.0 MiB)',
    'tfw: flash: writing /dev/sdx 6291456 of 8388608 bytes (6.0 of 8.0 MiB)',
    'tfw: flash: writing /dev/sdx 8388608 of 8388608 bytes (8.0 of 8.0 MiB)',
  ]);
});

test('a new label starts over; quiet prints nothing; build is the default component', () => {
  const out = capture(() => {
    const p = makeProgress();
    p.bytes('downloading 2 Debian packages', 0, 10);
    p.bytes('downloading 2 Debian packages', 10, 10);
    p.bytes('verifying', 10, 10);
    makeProgress({ quiet: true }).bytes('x', 1, 1);
  });
  assert.equal(out.trim().split('\n'), [
    'tfw: build: downloading 2 Debian packages 0 of 10 bytes (0.0 of 0.0 MiB)',
    'tfw: build: downloading 2 Debian packages 10 of 10 bytes (0.0 of 0.0 MiB)',
    'tfw: build: verifying 10 of 10 bytes (0.0 of 0.0 MiB)',
  ]);
});

test.run();
