/**
 * `tfw bench --quick` inside both reference guests (TCG): each guest returns a
 * well-formed result for every backend it has (wasm-simd, wasm-scalar, native)
 * and its peers, for every kernel, with every round kept; the report renders
 * with one SVG per chart, opens in headless Chromium (Debian's chromium) with
 * no console error and no request, and a screenshot goes to
 * build/test/bench-report.png. Needs root (image builds, QEMU); skipped otherwise.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { QUICK } from '../../bench/kernels/measure.js';
import type { BenchRun } from '../../bench/kernels/result.js';
import { CHROMIUM, screenshotReport } from '../../bench/report/screenshot.js';
import { builtImage } from './images.js';
import { repoRoot } from '../../images/builder/paths.js';
import { isRoot, runTfw } from '../helpers.js';

const out = join(repoRoot, 'build/test/bench');
const skip = !isRoot;
if (skip) console.log('  tfw: test: bench guest tests need root (image builds, QEMU): skipped');

const PEERS: Record<string, string[]> = {
  aead: ['node:crypto', 'JS baseline (@noble/ciphers)'],
  erasure: ['JS baseline (product table)'],
  forward: ['JS binary trie'],
};

test('tfw bench --quick in the x86_64 and arm64 guests: every backend and peer, every kernel, and a report', async () => {
  if (skip) return;
  for (const board of ['qemu-x86_64', 'qemu-arm64']) builtImage(board, '3router');
  const r = await runTfw(['bench', '--board', 'qemu-x86_64', '--board', 'qemu-arm64', '--quick', '--out', out, '--timeout', '150']);
  assert.is(r.code, 0, r.stderr.slice(-3000));
  assert.match(r.stderr, /tfw: bench: qemu-arm64 \(tcg\): aead 1420 B: tfw wasm-simd \(warm-up\)/, 'progress while it runs');
  const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as BenchRun;
  assert.equal(run.targets.map((t) => t.label), ['qemu-x86_64 (tcg)', 'qemu-arm64 (tcg)']);
  for (const t of run.targets) {
    assert.equal(t.errors, [], t.label);
    assert.is(t.machine!.arch, t.board === 'qemu-arm64' ? 'arm64' : 'x64');
    assert.equal(t.machine!.backends, ['wasm-simd', 'wasm-scalar', 'native'], `${t.label}: the image carries the native addon`);
    if (t.board === 'qemu-arm64') assert.is(t.machine!.native.aead, 'neon');
    assert.ok(t.seconds > 0, `${t.label}: run time recorded`);
    console.log(`  ${t.label}: quick run in ${t.seconds.toFixed(1)} s, boot included`);
    for (const kernel of ['aead', 'erasure', 'forward']) {
      const rs = t.results.filter((x) => x.kernel === kernel);
      assert.is(new Set(rs.map((x) => x.case)).size, 1, `${t.label} ${kernel}: one small case`);
      for (const b of t.machine!.backends) assert.ok(rs.some((x) => x.backend === b), `${t.label} ${kernel}: ${b} missing`);
      for (const p of PEERS[kernel]) assert.ok(rs.some((x) => x.impl === p && x.backend === null), `${t.label} ${kernel}: peer ${p} missing`);
      for (const x of rs) {
        assert.is(x.samples.length, QUICK.rounds, `${t.label} ${x.impl}`);
        assert.ok(x.samples.every((s) => s > 0 && Number.isFinite(s)) && x.best === Math.max(...x.samples), `${t.label} ${x.impl}: ${x.samples}`);
      }
    }
  }
  const html = join(out, 'report.html');
  const text = readFileSync(html, 'utf8');
  const figures = (text.match(/<figure class="chart"/g) ?? []).length;
  assert.ok(figures >= 8, `${figures} charts`);
  assert.is((text.match(/<svg[\s>]/g) ?? []).length, figures, 'one SVG per chart');
  assert.ok(existsSync(join(out, 'report.md')));

  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: make sysdeps installs chromium (mk/bench.mk)`);
  const png = join(repoRoot, 'build/test/bench-report.png');
  const shot = await screenshotReport(html, png);
  assert.equal(shot.problems, [], 'no console error, no request');
  assert.is(shot.svgs, figures);
  assert.ok(statSync(png).size > 20_000, 'a real screenshot');
  assert.equal([...readFileSync(png).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
});

test.run();
