/**
 * The CLI's failure contract, with spawned `tfw` processes as a user or a
 * script sees them: every failure is exactly one line `tfw: <command>: <cause>`
 * on stderr; exit 2 for usage errors (commander's unknown option, missing
 * argument and option value, unknown command, excess arguments, a bad option
 * value), 1 for failures, 130 after SIGINT (with and without a command's own
 * clean-up handler). Most cases run main() in this process; a few spawn the
 * CLI (in parallel: each pays tsx start-up).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runMain, runTfw, tfwBin } from '../helpers.js';

const work = mkdtempSync(join(tmpdir(), 'tfw-clierr-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

const ONE_LINE = /^tfw: [a-z][a-z -]*: [^\n]+\n$/;

test('commander usage errors and failures are one line each, exit 2 and 1 (main() in process)', async () => {
  const cases: Array<[string[], number, RegExp]> = [
    [['flash', '--bord', 'x', '-o', 'y.img'], 2, /^tfw: flash: unknown option '--bord' \(Did you mean --board\?\); tfw flash --help shows the usage\n$/],
    [['build', '--board'], 2, /^tfw: build: option '-b, --board <board>' argument missing; tfw build --help shows the usage\n$/],
    [['frobnicate'], 2, /^tfw: frobnicate: unknown command; tfw --help shows the usage\n$/],
    [['store', 'put'], 2, /^tfw: store: missing required argument 'file'; tfw store put --help shows the usage\n$/],
    [['keygen', 'extra'], 2, /^tfw: keygen: too many arguments for 'keygen'\. Expected 0 arguments but got 1; tfw keygen --help shows the usage\n$/],
    [[], 2, /^tfw: usage: expected a command; tfw --help lists them\n$/],
    [['flash', '--format', 'iso', '-o', join(work, 'x.img')], 2, /^tfw: flash: --format: expected disk or tar, got "iso"\n$/],
    [['flash', '--board', 'nosuch', '-o', join(work, 'x.img')], 1, /^tfw: flash: [^\n]*nosuch[^\n]*\n$/],
  ];
  for (const [args, code, line] of cases) {
    const r = await runMain(args);
    assert.match(r.stderr, ONE_LINE, `tfw ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, line, `tfw ${args.join(' ')}`);
    assert.is(r.code, code, `tfw ${args.join(' ')}: ${r.stderr}`);
    assert.is(r.stdout, '', `tfw ${args.join(' ')}`);
  }
});

test('a spawned CLI: usage error exit 2, failure exit 1, one line each', async () => {
  const [usage, failure] = await Promise.all([runTfw(['flash', '--bord', 'x']), runTfw(['flash', '--board', 'nosuch', '-o', join(work, 'x.img')])]);
  assert.is(usage.code, 2, usage.stderr);
  assert.is(usage.stderr, "tfw: flash: required option '-o, --output <file|device>' not specified; tfw flash --help shows the usage\n");
  assert.is(failure.code, 1, failure.stderr);
  assert.match(failure.stderr, ONE_LINE);
});

/**
 * Spawns `tfw args` with TFW_DEBUG=1 (main() then says it started, so its SIGINT
 * handler is in place), waits for that and for `ready` on stdout, sends SIGINT;
 * resolves with the exit code and output (stderr without the debug line).
 */
function interrupt(args: string[], ready: RegExp): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [tfwBin, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TFW_DEBUG: '1' } });
    let stdout = '';
    let stderr = '';
    let sent = false;
    const send = () => {
      if (!sent) (sent = true), c.kill('SIGINT');
    };
    c.stdout.on('data', (d: Buffer) => (stdout += d));
    c.stderr.on('data', (d: Buffer) => (stderr += d));
    // Bounded: 600 polls of 100 ms, then SIGKILL.
    let polls = 0;
    const poll = setInterval(() => {
      if (++polls > 600) c.kill('SIGKILL');
      else if (/^tfw: cli: .*: started, pid \d+\n/m.test(stderr) && ready.test(stdout)) send();
    }, 100);
    c.on('exit', (code, signal) => (clearInterval(poll), resolve({ code, signal, stdout, stderr: stderr.replace(/^tfw: cli: .*: started, pid \d+\n/m, '') })));
  });
}

test('Ctrl-C exits 130 with one line: a command with its own clean-up (pxe) and one waiting on stdin (keygen --public)', async () => {
  writeFileSync(join(work, 'boot.ipxe'), '#!ipxe\n');
  const [pxe, keygen] = await Promise.all([
    interrupt(['pxe', '--dir', work, '--listen', '127.0.0.1:0'], /^http:\/\/127\.0\.0\.1:\d+\/boot\.ipxe\n/),
    // keygen --public blocks reading stdin (kept open), with no SIGINT handler of its own.
    interrupt(['keygen', '--public'], /^/),
  ]);
  assert.is(pxe.code, 130, pxe.stderr);
  assert.match(pxe.stderr, /tfw: pxe: interrupted\n$/);
  assert.is(keygen.code, 130, keygen.stderr);
  assert.is(keygen.stderr, 'tfw: keygen: interrupted\n');
});

test.run();
