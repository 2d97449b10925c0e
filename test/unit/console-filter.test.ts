/**
 * images/builder/console-filter.ts: what tfw boot shows of the guest console.
 * SeaBIOS's real start-up bytes (reset, clear, cursor home) are removed even
 * when QEMU splits them across chunks; interactive use keeps line editing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { consoleFilter } from '../../images/builder/console-filter.js';

// What SeaBIOS 1.16 prints on the serial console before "SeaBIOS (version ...)".
const SEABIOS = '\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16.2-debian-1.16.2-1)\r\n';

/** Feeds `text` to a fresh filter in chunks of `n` characters. */
function feed(text: string, n: number, interactive = false): string {
  const f = consoleFilter({ interactive });
  let out = '';
  for (let i = 0; i < text.length; i += n) out += f(text.slice(i, i + n));
  return out;
}

test('every control sequence is removed, whole or split at any byte', () => {
  const text = `${SEABIOS}\x1b]0;guest title\x07tfw: ready 3router x86_64 0.1.0\n\x1b[1;31mred\x1b[0m\x07\x00\n`;
  const want = 'SeaBIOS (version 1.16.2-debian-1.16.2-1)\r\ntfw: ready 3router x86_64 0.1.0\nred\n';
  for (const n of [1, 2, 3, 5, 7, text.length]) assert.is(feed(text, n), want, `chunks of ${n}`);
});

test('interactive: reset, clear and alternate screen go; colours and line edits stay', () => {
  const text = `${SEABIOS}\x1b[?1049h~ # ls\b\b\x1b[K\x1b[1;34mbin\x1b[0m\r\n`;
  const want = '\x1b[?7l\x1b[0mSeaBIOS (version 1.16.2-debian-1.16.2-1)\r\n~ # ls\b\b\x1b[K\x1b[1;34mbin\x1b[0m\r\n';
  for (const n of [1, 4, text.length]) assert.is(feed(text, n, true), want, `chunks of ${n}`);
});

test('an unfinished sequence is held, not lost and not shown', () => {
  const f = consoleFilter();
  assert.is(f('abc\x1b['), 'abc');
  assert.is(f('2'), '');
  assert.is(f('Jdef'), 'def');
});

test.run();
