/**
 * The `tfw pxe` HTTP server under faults (host-tools/pxe/http.ts): aborted
 * downloads leave no file descriptor open (counted in /proc/self/fd), a file
 * that cannot be read is answered 500 and logged while the server goes on,
 * and Range requests are honoured (206, 416) byte-exact.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { get, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRange, servePxe, type PxeServer } from '../../host-tools/commands/pxe.js';
import { isRoot } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'tfw-pxe-srv-'));
const kernel = randomBytes(300_000);
const initramfs = randomBytes(4_000_000);
writeFileSync(join(dir, 'boot.ipxe'), '#!ipxe\nkernel vmlinuz\ninitrd initramfs.cpio.zst\nboot\n');
writeFileSync(join(dir, 'vmlinuz'), kernel);
writeFileSync(join(dir, 'initramfs.cpio.zst'), initramfs);
test.after(() => rmSync(dir, { recursive: true, force: true }));

const openFds = () => readdirSync('/proc/self/fd').length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fetch(s: PxeServer, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, s.url), { method, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('parseRange: first-last, open end, suffix, clamped end, unsatisfiable, several ranges served whole', () => {
  assert.equal(parseRange('bytes=0-99', 1000), { start: 0, end: 99 });
  assert.equal(parseRange('bytes=900-', 1000), { start: 900, end: 999 });
  assert.equal(parseRange('bytes=-100', 1000), { start: 900, end: 999 });
  assert.equal(parseRange('bytes=-5000', 1000), { start: 0, end: 999 });
  assert.equal(parseRange('bytes=990-2000', 1000), { start: 990, end: 999 });
  assert.is(parseRange('bytes=1000-', 1000), 'unsatisfiable');
  assert.is(parseRange('bytes=5-4', 1000), 'unsatisfiable');
  assert.is(parseRange('bytes=0-1,5-9', 1000), null);
  assert.is(parseRange('items=0-1', 1000), null);
  assert.is(parseRange(undefined, 1000), null);
});

test('Range requests: 206 with the exact bytes and Content-Range, 416 past the end, HEAD and plain GET still whole', async () => {
  const s = await servePxe(dir, '127.0.0.1:0', { log: null });
  try {
    const r = await fetch(s, '/initramfs.cpio.zst', { range: 'bytes=1000000-1999999' });
    assert.is(r.status, 206);
    assert.is(r.headers['content-range'], `bytes 1000000-1999999/${initramfs.length}`);
    assert.ok(r.body.equals(initramfs.subarray(1_000_000, 2_000_000)));
    const tail = await fetch(s, '/vmlinuz', { range: 'bytes=-10' });
    assert.is(tail.status, 206);
    assert.ok(tail.body.equals(kernel.subarray(kernel.length - 10)));
    const bad = await fetch(s, '/vmlinuz', { range: `bytes=${kernel.length}-` });
    assert.is(bad.status, 416);
    assert.is(bad.headers['content-range'], `bytes */${kernel.length}`);
    const whole = await fetch(s, '/vmlinuz');
    assert.is(whole.status, 200);
    assert.is(whole.headers['accept-ranges'], 'bytes');
    assert.ok(whole.body.equals(kernel));
    const head = await fetch(s, '/vmlinuz', { range: 'bytes=0-9' }, 'HEAD');
    assert.is(head.status, 206);
    assert.is(Number(head.headers['content-length']), 10);
  } finally {
    s.close();
    await s.closed;
  }
});

test('200 downloads aborted mid-body leave no file descriptor open, and each is logged as aborted', async () => {
  const lines: string[] = [];
  const s = await servePxe(dir, '127.0.0.1:0', { log: (l) => lines.push(l) });
  try {
    await fetch(s, '/vmlinuz'); // warm-up: lazily opened fds (e.g. the event loop's) come first
    const before = openFds();
    const N = 200;
    for (let i = 0; i < N; i += 20) {
      await Promise.all(Array.from({ length: 20 }, () => new Promise<void>((resolve) => {
        const req = get(new URL('/initramfs.cpio.zst', s.url), { agent: false }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', () => resolve());
      })));
    }
    for (let t = 0; t < 100 && (s.requests.length < N + 1 || openFds() > before); t++) await sleep(50);
    assert.is(s.requests.filter((r) => r.aborted).length, N);
    assert.ok(openFds() <= before, `fds: ${before} before, ${openFds()} after ${N} aborted downloads`);
    assert.is(lines.filter((l) => / GET \/initramfs\.cpio\.zst 200 0 aborted$/.test(l)).length, N);
  } finally {
    s.close();
    await s.closed;
  }
});

test('a served file replaced by a directory is answered 500 and logged; the server goes on serving', async () => {
  const d2 = mkdtempSync(join(dir, 'img-'));
  writeFileSync(join(d2, 'boot.ipxe'), '#!ipxe\n');
  mkdirSync(join(d2, 'vmlinuz'));
  writeFileSync(join(d2, 'cmdline'), 'console=ttyS0\n');
  const lines: string[] = [];
  const s = await servePxe(d2, '127.0.0.1:0', { log: (l) => lines.push(l) });
  try {
    const before = openFds();
    const r = await fetch(s, '/vmlinuz');
    assert.is(r.status, 500);
    assert.ok(lines.some((l) => l.includes('/vmlinuz') && l.includes('expected a regular file, found a directory')), lines.join('\n'));
    assert.ok(lines.some((l) => / GET \/vmlinuz 500 0$/.test(l)), lines.join('\n'));
    assert.is((await fetch(s, '/cmdline')).status, 200, 'still serving');
    unlinkSync(join(d2, 'cmdline'));
    assert.is((await fetch(s, '/cmdline')).status, 404, 'a file gone is 404');
    for (let t = 0; t < 40 && openFds() > before; t++) await sleep(50);
    assert.ok(openFds() <= before, `the directory handle was closed: ${before} fds before, ${openFds()} after`);
  } finally {
    s.close();
    await s.closed;
  }
});

/**
 * Makes `path` a file whose open fails with EACCES: a mode-000 file, or as
 * root (who reads any file) a link to a write-only procfs entry. False when
 * this system gives no such file.
 */
function unreadable(path: string): boolean {
  if (isRoot) symlinkSync('/proc/sys/vm/compact_memory', path);
  else {
    writeFileSync(path, 'x');
    chmodSync(path, 0);
  }
  try {
    closeSync(openSync(path, 'r'));
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EACCES';
  }
}

test('a served file that cannot be read (EACCES) is answered 500 and logged, not a crash', async () => {
  const d3 = mkdtempSync(join(dir, 'img-'));
  writeFileSync(join(d3, 'boot.ipxe'), '#!ipxe\n');
  writeFileSync(join(d3, 'vmlinuz'), kernel);
  if (!unreadable(join(d3, 'initramfs.cpio.zst'))) {
    console.log('  skip EACCES case: no unreadable file can be made here');
    return;
  }
  const lines: string[] = [];
  const s = await servePxe(d3, '127.0.0.1:0', { log: (l) => lines.push(l) });
  try {
    for (let i = 0; i < 3; i++) assert.is((await fetch(s, '/initramfs.cpio.zst')).status, 500);
    assert.is(lines.filter((l) => /GET \/initramfs\.cpio\.zst: EACCES: permission denied/.test(l)).length, 3, lines.join('\n'));
    assert.ok((await fetch(s, '/vmlinuz')).body.equals(kernel), 'still serving');
  } finally {
    s.close();
    await s.closed;
  }
});

test.run();
