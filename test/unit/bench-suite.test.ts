/**
 * The portable benchmark suite and its report, without QEMU: the kernels'
 * results are well formed for every backend of this host, the JS baselines
 * agree with tfw's kernels, the guest line protocol round-trips, the payload
 * segment lists with GNU cpio, the report holds one SVG per chart and fetches
 * nothing, and --compare matches figures across runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { benchKernelWords, cmdlineArgs, formatEvent, parseEventLine } from '../../bench/guest/protocol.js';
import { resolveAccel } from '../../bench/guest/run-guest.js';
import { runAead } from '../../bench/kernels/aead.js';
import { jsEncode, runErasure } from '../../bench/kernels/erasure.js';
import { runForward } from '../../bench/kernels/forward.js';
import { RUN_SCHEMA, makeResult, ratioToPeer, type BenchResult, type BenchRun, type SuiteEvent } from '../../bench/kernels/result.js';
import { parseKernels } from '../../bench/kernels/suite.js';
import { chartsFor } from '../../bench/report/charts.js';
import { compareRuns, formatChanges, loadRun } from '../../bench/report/compare.js';
import { writeReport } from '../../bench/report/report.js';
import { benchCpio } from '../../images/builder/initrd-bench.js';
import { loadBoard } from '../../images/builder/schema.js';
import { availableBackends } from '../../runtime/kernels/backend.js';
import '../../runtime/kernels/native.js';
import { ReedSolomon } from '../../runtime/kernels/erasure.js';
import { prng } from '../helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'tfw-bench-unit-'));
const TINY = { rounds: 2, roundMs: 2, warmupMs: 1 };

function collect(run: (emit: (e: SuiteEvent) => void) => void): BenchResult[] {
  const out: BenchResult[] = [];
  run((e) => {
    if (e.type === 'result') out.push(e.result);
  });
  return out;
}

function assertWellFormed(results: BenchResult[], kernel: string, peer: string): void {
  const cases = new Set(results.map((r) => r.case));
  for (const c of cases) {
    const rs = results.filter((r) => r.case === c);
    for (const b of availableBackends()) assert.ok(rs.some((r) => r.backend === b), `${kernel} ${c}: no row for backend ${b}`);
    assert.ok(rs.some((r) => r.impl === peer && r.backend === null), `${kernel} ${c}: no peer row`);
    for (const r of rs) {
      assert.is(r.kernel, kernel);
      assert.is(r.peer, peer);
      assert.is(r.samples.length, TINY.rounds, `${r.impl}: one sample per round`);
      assert.ok(r.samples.every((s) => Number.isFinite(s) && s > 0), `${r.impl}: samples ${r.samples}`);
      assert.is(r.best, Math.max(...r.samples));
      assert.ok(ratioToPeer(r, rs)! > 0);
    }
  }
}

test('aead, erasure and forward give a result per backend and peer, every round kept', () => {
  assertWellFormed(collect((e) => runAead([64, 1420], TINY, e)), 'aead', 'node:crypto');
  assertWellFormed(collect((e) => runErasure([{ k: 4, m: 2, size: 4096 }], TINY, e)), 'erasure', 'JS baseline (product table)');
  assertWellFormed(collect((e) => runForward([{ family: 'ipv4', routes: 200 }, { family: 'ipv6', routes: 200 }], TINY, true, e)), 'forward', 'JS binary trie');
});

test('the erasure JS baseline computes the parity tfw verifies, and a flipped byte fails it', () => {
  const r = prng();
  for (const [k, m] of [[4, 2], [10, 4], [3, 5]]) {
    const size = 64 + r.int(500);
    const data = Array.from({ length: k }, () => r.bytes(size));
    const parity = Array.from({ length: m }, () => new Uint8Array(size));
    jsEncode(k, m, data, parity);
    const rs = new ReedSolomon(k, m, { backend: 'wasm-scalar' });
    assert.ok(rs.verify([...data, ...parity]), `(${k},${m}) ${size} B`);
    parity[m - 1][r.int(size)] ^= 1 << r.int(8);
    assert.not.ok(rs.verify([...data, ...parity]));
  }
});

test('guest event lines round-trip; noise and torn lines are told apart', () => {
  const e: SuiteEvent = { type: 'done', results: 3, seconds: 1.5 };
  assert.equal(parseEventLine(formatEvent(e)), e);
  assert.equal(parseEventLine(`[   12.3] random kernel text ${formatEvent(e)}`), e);
  assert.is(parseEventLine('tfw: init: bench: exited with status 0'), null);
  const torn = parseEventLine('tfw: bench: {"type":"resu[  3.1] virtio_net');
  assert.ok(torn && 'error' in torn && /malformed/.test(torn.error));
  assert.equal(cmdlineArgs('console=ttyS0 tfw.bench=1 tfw.bench_args=quick,aead quiet'), ['quick', 'aead']);
  assert.equal(cmdlineArgs('console=ttyS0'), []);
  assert.equal(benchKernelWords(true, ['aead']), ['tfw.bench=1', 'tfw.bench_args=quick,aead']);
  assert.equal(benchKernelWords(false, []), ['tfw.bench=1']);
  assert.equal(parseKernels([]), ['aead', 'erasure', 'forward']);
  assert.throws(() => parseKernels(['aed']), /kernel: unknown aed; expected one of aead, erasure, forward/);
});

test('the payload segment holds guest.mjs where init.sh looks, as GNU cpio lists it', () => {
  const seg = benchCpio(new TextEncoder().encode('console.log(1)\n'));
  assert.is(seg.length % 4, 0);
  const init = readFileSync(new URL('../../runtime/init/init.sh', import.meta.url), 'utf8');
  assert.ok(init.includes('node /usr/lib/tfw/bench/guest.mjs --from-cmdline'));
  assert.ok(init.indexOf('tfw.bench=1') < init.indexOf('# --- runtime supervision'), 'the hook runs before the runtime starts');
  const r = spawnSync('cpio', ['-t', '-v'], { input: seg, encoding: 'utf8' });
  if (r.error) return console.log('  tfw: test: cpio not installed, listing skipped');
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.map((l) => l.split(/\s+/).pop()), ['usr', 'usr/lib', 'usr/lib/tfw', 'usr/lib/tfw/bench', 'usr/lib/tfw/bench/guest.mjs']);
  assert.match(lines[4], /^-rw-r--r--/);
});

test('--accel: tcg always; kvm only with /dev/kvm and the host arch', () => {
  const x86 = loadBoard('qemu-x86_64');
  const arm = loadBoard('qemu-arm64');
  assert.is(resolveAccel('auto', x86, 'x64', true), 'kvm');
  assert.is(resolveAccel('auto', arm, 'x64', true), 'tcg');
  assert.is(resolveAccel('auto', x86, 'x64', false), 'tcg');
  assert.is(resolveAccel('tcg', x86, 'x64', true), 'tcg');
  assert.throws(() => resolveAccel('kvm', x86, 'x64', false), /--accel kvm: \/dev\/kvm does not exist/);
  assert.throws(() => resolveAccel('kvm', arm, 'x64', true), /--accel kvm: board qemu-arm64 is arm64 but this host is x64/);
  assert.throws(() => resolveAccel('hvf', x86, 'x64', true), /--accel: expected tcg, kvm or auto, got "hvf"/);
});

/** A run with two targets whose figures are known. */
function fakeRun(scale: number, commit: string): BenchRun {
  const r = (kernel: 'aead' | 'erasure' | 'forward', impl: string, backend: string | null, peer: string, c: string, params: Record<string, number | string>, v: number) =>
    makeResult({ kernel, impl, backend, peer, case: c, params, unit: kernel === 'forward' ? 'lookups/s' : 'B/s', samples: [v * 0.9, v, v * 0.8] });
  const results = (f: number) => [
    r('aead', 'tfw wasm-simd', 'wasm-simd', 'node:crypto', '1420 B', { size: 1420 }, 300e6 * f),
    r('aead', 'node:crypto', null, 'node:crypto', '1420 B', { size: 1420 }, 100e6),
    r('erasure', 'tfw native', 'native', 'JS', 'encode (10,4) 4 KiB', { op: 'encode', k: 10, m: 4, size: 4096 }, 2e9 * f),
    r('erasure', 'JS', null, 'JS', 'encode (10,4) 4 KiB', { op: 'encode', k: 10, m: 4, size: 4096 }, 1e8),
    r('forward', 'tfw wasm-scalar', 'wasm-scalar', 'trie', 'ipv4 1k', { family: 'ipv4', routes: 1000 }, 5e7 * f),
    r('forward', 'trie', null, 'trie', 'ipv4 1k', { family: 'ipv4', routes: 1000 }, 5e6),
  ];
  const machine = (arch: string) => ({ arch, platform: 'linux', node: 'v18.20.4', v8: '10.2', kernel: '6.1.0', cpus: 1, cpuModel: 'Cortex-A57', memMiB: 978, backends: ['wasm-simd', 'wasm-scalar', 'native'], native: { aead: 'neon', erasure: 'neon' } });
  return {
    schema: RUN_SCHEMA,
    startedAt: '2026-01-01T00:00:00.000Z',
    version: '0.1.0',
    commit,
    quick: true,
    kernels: ['aead', 'erasure', 'forward'],
    host: { arch: 'x64', cpuModel: 'test', cpus: 2, node: 'v20', qemu: 'QEMU emulator version 7.2.22' },
    targets: [
      { label: 'qemu-arm64 (tcg)', kind: 'guest', board: 'qemu-arm64', accel: 'tcg', machine: machine('arm64'), results: results(scale), seconds: 12, errors: [] },
      { label: 'host', kind: 'host', board: null, accel: null, machine: machine('x64'), results: results(1), seconds: 3, errors: [] },
    ],
  };
}

test('the report: one SVG per chart, nothing fetched, the TCG caveat, machines and commit', async () => {
  const run = fakeRun(1, 'abc123');
  const dir = join(tmp, 'report');
  const files = await writeReport(run, dir);
  const html = readFileSync(files.html, 'utf8');
  const charts = chartsFor(run).map((c) => c.name);
  assert.equal(files.charts.map((c) => c.name), charts);
  assert.ok(charts.includes('forward-fib-size') && charts.includes('erasure-shapes') && charts.includes('ratio-aead'));
  assert.is((html.match(/<svg[\s>]/g) ?? []).length, charts.length, 'one inline SVG per chart');
  assert.is((html.match(/<figure class="chart"/g) ?? []).length, charts.length);
  assert.not.match(html, /<script|<link|src=|@import|url\(/, 'self-contained');
  assert.match(html, /only ratios inside one guest/i);
  assert.match(html, /commit abc123/);
  assert.match(html, /Cortex-A57/);
  assert.match(html, /300 MB\/s \(3\.00x\)/, 'figure and ratio to the peer');
  const md = readFileSync(files.md, 'utf8');
  for (const c of charts) {
    assert.ok(md.includes(`(charts/${c}.svg)`), `${c} linked from report.md`);
    assert.ok(existsSync(join(dir, 'charts', `${c}.svg`)));
  }
});

test('--compare: every common figure with its change and both ratios; bad files are named', () => {
  const old = fakeRun(1, 'old');
  const next = fakeRun(1.5, 'new');
  const changes = compareRuns(old, next);
  assert.is(changes.length, 12);
  const simd = changes.find((c) => c.target === 'qemu-arm64 (tcg)' && c.impl === 'tfw wasm-simd')!;
  assert.ok(Math.abs(simd.change - 0.5) < 1e-9, String(simd.change));
  assert.ok(Math.abs(simd.oldRatio! - 3) < 1e-9 && Math.abs(simd.newRatio! - 4.5) < 1e-9);
  assert.match(formatChanges(changes, old, next), /qemu-arm64 \(tcg\)\s+aead\s+1420 B\s+tfw wasm-simd\s+\+50\.0 %\s+3\.00x -> 4\.50x/);
  const bad = join(tmp, 'bad.json');
  writeFileSync(bad, JSON.stringify({ schema: 'other' }));
  assert.throws(() => loadRun(bad), (e: Error) => e.message === `${bad}: schema "other", expected "${RUN_SCHEMA}"`);
  assert.throws(() => loadRun(join(tmp, 'none.json')), /none\.json: cannot read it \(ENOENT\)/);
  const good = join(tmp, 'run.json');
  writeFileSync(good, JSON.stringify(old));
  assert.equal(loadRun(good), old);
});

test.run();
