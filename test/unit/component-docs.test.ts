// docs/portable.md stays true: its WIT is wit/kernels.wit, and its JavaScript
// example runs as written (from the repository root, against build/components/js)
// and prints what the page says.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { componentDir, repoRoot } from './component-helpers.js';

const doc = readFileSync(new URL('../../docs/portable.md', import.meta.url), 'utf8');
/** The first fenced block of `lang` after `heading`. */
function block(heading: string, lang: string): string {
  const from = doc.indexOf(heading);
  assert.ok(from >= 0, `docs/portable.md has "${heading}"`);
  const m = doc.slice(from).match(new RegExp('```' + lang + '\\n([\\s\\S]*?)\\n```'));
  assert.ok(m, `a ${lang} block after "${heading}"`);
  return m![1];
}

test('the WIT on the page is wit/kernels.wit', () => {
  const wit = readFileSync(new URL('../../wit/kernels.wit', import.meta.url), 'utf8');
  assert.fixture(block('### The interface', 'wit'), wit.replace(/\n+$/, ''));
});

/** Runs the page's example with `node` (argv prefix) from the repository root; returns stdout. */
function runExample(node: string[]): string {
  const js = block('### From JavaScript, through jco', 'js');
  assert.ok(js.split('\n').length <= 12, 'about ten lines');
  assert.ok(existsSync(`${componentDir}/js/tfw-kernels.js`), 'run `make components`');
  const r = spawnSync(node[0], [...node.slice(1), '--input-type=module', '-e', js], { encoding: 'utf8', cwd: repoRoot, timeout: 180_000 });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stderr, '');
  return r.stdout.trimEnd();
}

test('the JavaScript example runs as written and prints what the page shows', () => {
  assert.fixture(runExample([process.execPath]), block('prints', 'text'));
});

// The transpiled component needs nothing newer than Debian bookworm's Node 18.
const sysroot = join(repoRoot, '.cache/arm64-sysroot');
const qemu = spawnSync('sh', ['-c', 'command -v qemu-aarch64-static'], { encoding: 'utf8' }).stdout.trim();
test('the example runs the same on Node 18 (Debian arm64 under qemu-user)', () => {
  if (!qemu || !existsSync(join(sysroot, 'usr/bin/node'))) {
    console.log('  skip: needs qemu-aarch64-static and .cache/arm64-sysroot (make native-arm64-sysroot)');
    return;
  }
  assert.fixture(runExample([qemu, '-L', sysroot, join(sysroot, 'usr/bin/node')]), block('prints', 'text'));
});

test.run();
