/**
 * Image builds and QEMU boots (TCG): both reference boards reach the ready
 * marker and power off cleanly, builds are reproducible, and damaged inputs
 * (corrupted cached .deb, lock mismatch, bad board file) are refused with a
 * message naming what is wrong. Needs root (apt-get download, QEMU); skipped otherwise.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildImage } from '../../images/builder/image.js';
import { builtImage } from './images.js';
import type { PackageLock } from '../../images/builder/lock.js';
import { debCacheDir, lockPath, repoRoot } from '../../images/builder/paths.js';
import { makeProgress } from '../../images/builder/progress.js';
import { bootImage } from '../../images/builder/qemu.js';
import { loadBoard } from '../../images/builder/schema.js';
import { freeUdpPorts, isRoot, runTfw } from '../helpers.js';

const BOOT_TIMEOUT = 240;
const tmp = mkdtempSync(join(tmpdir(), 'tfw-image-'));
const quiet = makeProgress({ quiet: true });
const skip = !isRoot;
if (skip) console.log('  tfw: test: image tests need root (apt-get download, QEMU): skipped');

test('qemu-x86_64 3router builds and boots to ready, then powers off (tfw boot CLI)', async () => {
  if (skip) return;
  const { manifest } = builtImage('qemu-x86_64', '3router');
  assert.ok(manifest.initramfs.compressedSize < 45 * 1048576, `initramfs ${manifest.initramfs.compressedSize} bytes`);
  const r = await runTfw(['boot', '--board', 'qemu-x86_64', '--role', '3router', '--no-build', '--exit-after-ready', '--timeout', String(BOOT_TIMEOUT), '--expect', 'tfw: selftest', '--json']);
  assert.is(r.code, 0, r.stderr.slice(-2000));
  const res = JSON.parse(r.stdout);
  assert.is(res.readyLine, `tfw: ready 3router x86_64 ${manifest.version}`);
  assert.is(res.expect['tfw: selftest'], true);
  assert.match(r.stderr, /tfw: init: network: eth0 10\.0\.2\.15\/24 \(dhcp\)/);
  // A -kernel boot has no tfw-data partition: it says so and keeps its key for this boot only.
  assert.match(r.stderr, /tfw: init: data: no tfw-data partition, running RAM-only/);
  assert.match(r.stderr, /tfw: identity: ephemeral \S+ \(no tfw-data partition: a new key every boot\)/);
  assert.match(r.stderr, /tfw: api: listening on 0\.0\.0\.0:80/);
  console.log(`  x86_64 boot-to-ready ${res.readySeconds.toFixed(1)} s under TCG`);
});

test('qemu-arm64 3router builds and boots to ready, then powers off', async () => {
  if (skip) return;
  const { outDir, manifest } = builtImage('qemu-arm64', '3router');
  assert.is(manifest.arch, 'arm64');
  const r = await bootImage({ board: loadBoard('qemu-arm64'), dir: outDir, timeout: BOOT_TIMEOUT, exitAfterReady: true, expect: ['tfw: selftest'], consoleOut: null });
  assert.ok(r.ok, `${r.cause}\n${r.tail.join('\n')}`);
  assert.is(r.readyLine, `tfw: ready 3router arm64 ${manifest.version}`);
  assert.is(r.qemuExitCode, 0);
  console.log(`  arm64 boot-to-ready ${r.readySeconds!.toFixed(1)} s under TCG`);
});

test('an --expect text that never appears fails the boot with the text named', async () => {
  if (skip) return;
  const r = await runTfw(['boot', '--no-build', '--exit-after-ready', '--timeout', String(BOOT_TIMEOUT), '--expect', 'no such line xyzzy']);
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /tfw: boot: expected "no such line xyzzy" on the console before ready, not seen\n$/);
});

/** Boots two qemu-x86_64 guests on one link; each pings the other before its runtime starts. */
async function pingPair(net: (me: number) => string): Promise<void> {
  const board = loadBoard('qemu-x86_64');
  const dir = join(repoRoot, 'build/images/qemu-x86_64-3router');
  const guest = (me: number, peer: number) =>
    bootImage({
      board, dir, timeout: BOOT_TIMEOUT, exitAfterReady: true, consoleOut: null,
      net: net(me), ip: `10.99.0.${me}/24`,
      append: [`tfw.ping=10.99.0.${peer}`], expect: [`tfw: init: ping 10.99.0.${peer} ok`],
    });
  const [a, b] = await Promise.all([guest(1, 2), guest(2, 1)]);
  assert.ok(a.ok, `guest 1: ${a.cause}\n${a.tail.join('\n')}`);
  assert.ok(b.ok, `guest 2: ${b.cause}\n${b.tail.join('\n')}`);
}

test('two guests on one --net mcast link (loopback multicast) reach each other', async () => {
  if (skip) return;
  const port = await freeUdpPorts(1);
  await pingPair(() => `mcast:${port}`);
});

test('two guests wired with --net dgram reach each other', async () => {
  if (skip) return;
  const p = await freeUdpPorts(2);
  await pingPair((me) => (me === 1 ? `dgram:${p}:${p + 1}` : `dgram:${p + 1}:${p}`));
});

test('init restarts a failing runtime with a growing back-off', async () => {
  if (skip) return;
  const r = await bootImage({
    board: loadBoard('qemu-x86_64'), dir: join(repoRoot, 'build/images/qemu-x86_64-3router'), timeout: BOOT_TIMEOUT, consoleOut: null,
    append: ['tfw.config=/nonexistent.cbor'], until: 'restarting in 2s',
  });
  assert.ok(r.ok, `${r.cause}\n${r.tail.join('\n')}`);
  const log = r.tail.join('\n');
  assert.match(log, /tfw: runtime: config: cannot read \/nonexistent\.cbor/);
  assert.match(log, /tfw: init: runtime exited with status 1, restarting in 1s[\s\S]*restarting in 2s/);
  assert.is(r.readyLine, null);
});

test('a corrupt initramfs fails the boot as soon as the kernel says so, not at the timeout', async () => {
  if (skip) return;
  const { outDir } = builtImage('qemu-x86_64', '3router');
  const bad = join(tmp, 'corrupt');
  mkdirSync(bad, { recursive: true });
  for (const f of ['vmlinuz', 'cmdline', 'manifest.json']) copyFileSync(join(outDir, f), join(bad, f));
  const b = readFileSync(join(outDir, 'initramfs.cpio.zst'));
  b.fill(0x5a, 4096, 8192); // inside the first zstd block
  writeFileSync(join(bad, 'initramfs.cpio.zst'), b);
  const t0 = Date.now();
  const r = await bootImage({ board: loadBoard('qemu-x86_64'), dir: bad, timeout: BOOT_TIMEOUT, exitAfterReady: true, consoleOut: null });
  const took = (Date.now() - t0) / 1000;
  assert.not.ok(r.ok);
  assert.match(r.cause ?? '', /^the guest failed: (Initramfs unpacking failed|Kernel panic - not syncing)/, `cause: ${r.cause}\n${r.tail.join('\n')}`);
  assert.ok(took < BOOT_TIMEOUT / 2, `failed after ${took.toFixed(1)} s`);
  console.log(`  corrupt initramfs reported after ${took.toFixed(1)} s: ${r.cause}`);
});

test('two builds into separate folders give identical sha256s', () => {
  if (skip) return;
  // The run's stock 3node build (build/images, shared with the storage scenario) against a fresh one.
  const { outDir, manifest: a } = builtImage('qemu-x86_64', '3node');
  const b = buildImage({ board: 'qemu-x86_64', role: '3node', outDir: join(tmp, 'b'), progress: quiet }).manifest;
  assert.equal(a.outputs, b.outputs);
  assert.is(a.initramfs.uncompressedSha256, b.initramfs.uncompressedSha256);
  assert.ok(readFileSync(join(outDir, 'initramfs.cpio.zst')).equals(readFileSync(join(tmp, 'b/initramfs.cpio.zst'))));
  assert.is(readFileSync(join(outDir, 'manifest.json'), 'utf8'), readFileSync(join(tmp, 'b/manifest.json'), 'utf8'));
  assert.ok(a.modules.load.includes('ext4') || a.modules.builtin.includes('ext4'));
});

test('a corrupted cached .deb is refused naming the package and both hashes', () => {
  if (skip) return;
  // A private cache of links to the real files, with one damaged copy: the real cache is untouched.
  const cache = mkdtempSync(join(tmp, 'cache-'));
  for (const f of readdirSync(debCacheDir())) if (f.endsWith('.deb')) symlinkSync(join(debCacheDir(), f), join(cache, f));
  const lock = JSON.parse(readFileSync(lockPath(), 'utf8')) as PackageLock;
  const bb = lock.packages.amd64.find((p) => p.name === 'busybox-static')!;
  const target = join(cache, bb.filename);
  const bytes = readFileSync(target);
  bytes[bytes.length >> 1] ^= 0xff;
  unlinkSync(target);
  writeFileSync(target, bytes);
  assert.throws(() => buildImage({ board: 'qemu-x86_64', role: '3router', outDir: join(tmp, 'c'), cacheDir: cache, progress: quiet }), (e: Error) =>
    e.message.startsWith(`busybox-static ${bb.version} (amd64): cached `) && e.message.includes(bb.sha256) && /sha256 [0-9a-f]{64} does not match/.test(e.message),
  );
});

test('a lock whose hash differs from the package is refused', () => {
  if (skip) return;
  const lock = JSON.parse(readFileSync(lockPath(), 'utf8')) as PackageLock;
  const p = lock.packages.amd64.find((x) => x.name === 'libuv1')!;
  const real = p.sha256;
  p.sha256 = '0'.repeat(64);
  const lf = join(tmp, 'lock.json');
  writeFileSync(lf, JSON.stringify(lock));
  assert.throws(() => buildImage({ board: 'qemu-x86_64', role: '3router', outDir: join(tmp, 'd'), lockFile: lf, progress: quiet }), (e: Error) =>
    e.message.includes(`libuv1 ${p.version} (amd64)`) && e.message.includes(real) && e.message.includes('0'.repeat(64)),
  );
});

test('a bad board file names the field before anything is fetched', () => {
  if (skip) return;
  const f = join(tmp, 'bad-board.yaml');
  writeFileSync(f, readFileSync(join(repoRoot, 'board-configs/qemu-x86_64.yaml'), 'utf8').replace('memory: 1024M', 'memory: lots'));
  assert.throws(() => buildImage({ board: f, role: '3router', outDir: join(tmp, 'e'), progress: quiet }), /bad-board\.yaml: memory: expected a size like 512M, got "lots"/);
});

test.run();
