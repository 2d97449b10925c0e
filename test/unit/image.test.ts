/**
 * Image builder pieces that need no root and no downloads: the cpio writer
 * (checked against GNU cpio), the ELF reader (checked against the host's
 * dynamic loader), lock verification, the overlay config, the runtime entry,
 * the guest init's syntax and QEMU argument building.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dependencyNames, parseStanza, type LockedPackage } from '../../images/builder/apt.js';
import { writeCpio } from '../../images/builder/cpio.js';
import { resolveInIndex, usrMerge, type TreeNode } from '../../images/builder/deb.js';
import { readElf } from '../../images/builder/elf.js';
import { fetchPackages, PackageHashError, sha256File } from '../../images/builder/lock.js';
import { encodeOverlayConfig, loadOverlayConfig } from '../../images/builder/overlay-config.js';
import { makeProgress } from '../../images/builder/progress.js';
import { netdevArgs, plainConsoleLine, qemuCommand } from '../../images/builder/qemu.js';
import { RootFs } from '../../images/builder/rootfs.js';
import { loadBoard } from '../../images/builder/schema.js';
import { readConfigObject, validateOverlayConfig } from '../../runtime/config/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'tfw-image-unit-'));
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const quiet = makeProgress({ quiet: true });

test('cpio newc archives list and extract with GNU cpio, byte-identical on rebuild', () => {
  const fs = new RootFs();
  fs.file('/usr/bin/hello', 'echo hi\n', 0o755);
  fs.file('/etc/tfw/release', 'TFW_ROLE=x\n');
  fs.symlink('/bin', 'usr/bin');
  fs.dir('/tmp', 0o1777);
  const a = fs.toCpio(1700000000);
  assert.ok(a.equals(fs.toCpio(1700000000)), 'same tree, same bytes');
  assert.is(a.subarray(0, 6).toString(), '070701');
  if (!has('cpio')) return console.log('  (cpio not installed: extraction cross-check skipped)');
  const dir = join(tmp, 'x');
  mkdirSync(dir);
  execFileSync('cpio', ['-idm', '--quiet', '--no-absolute-filenames'], { cwd: dir, input: a });
  assert.is(readFileSync(join(dir, 'usr/bin/hello'), 'utf8'), 'echo hi\n');
  assert.is(statSync(join(dir, 'usr/bin/hello')).mode & 0o777, 0o755);
  assert.is(statSync(join(dir, 'usr/bin/hello')).mtimeMs, 1700000000 * 1000);
  assert.is(readlinkSync(join(dir, 'bin')), 'usr/bin');
  const listing = execFileSync('cpio', ['-itv', '--quiet'], { input: a }).toString();
  assert.match(listing, /drwxrwxrwt .* root +root .* tmp/);
  // Sorted: parents first, then children, byte order.
  const names = execFileSync('cpio', ['-it', '--quiet'], { input: a }).toString().trim().split('\n');
  assert.equal(names, [...names].sort());
});

test('cpio rejects absolute paths', () => {
  assert.throws(() => writeCpio([{ path: '/abs', type: 'dir', mode: 0o755 }], 0), /must be relative/);
});

test('ELF reader finds the interpreter and DT_NEEDED entries the host loader also reports', () => {
  const info = readElf(readFileSync(process.execPath), process.execPath);
  assert.ok(info.interp?.includes('ld-linux'), info.interp);
  assert.ok(info.needed.includes('libc.so.6'), info.needed.join(','));
  const ldd = execFileSync(info.interp!, ['--list', process.execPath]).toString();
  for (const n of info.needed) assert.ok(ldd.includes(n), `${n} in ld.so --list`);
  assert.throws(() => readElf(Buffer.from('#!/bin/sh\n'.padEnd(80)), 'script'), /script: not an ELF file/);
});

test('merged-/usr lookups follow symlinks in any path component', () => {
  const idx = new Map<string, TreeNode>([
    ['/usr', { kind: 'dir', pkg: 'a' }],
    ['/usr/lib', { kind: 'dir', pkg: 'a' }],
    ['/usr/lib/x', { kind: 'dir', pkg: 'a' }],
    ['/usr/lib/x/libz.so.1', { kind: 'symlink', target: 'libz.so.1.2', pkg: 'a' }],
    ['/usr/lib/x/libz.so.1.2', { kind: 'file', host: '/dev/null', mode: 0o644, pkg: 'a' }],
    ['/usr/lib/y', { kind: 'symlink', target: '/lib/x', pkg: 'a' }],
  ]);
  assert.is(usrMerge('/lib64/ld.so'), '/usr/lib64/ld.so');
  assert.equal(resolveInIndex(idx, '/lib/y/libz.so.1'), ['/usr/lib/y', '/usr/lib/x/libz.so.1', '/usr/lib/x/libz.so.1.2']);
  assert.is(resolveInIndex(idx, '/usr/lib/x/missing'), undefined);
});

test('apt control stanzas and dependency lists parse', () => {
  const f = parseStanza('Package: libnode108\nDepends: libc6 (>= 2.34), libicu72 | libicu-dev, zlib1g:any\nDescription: x\n more\n\nPackage: other\n');
  assert.is(f.Package, 'libnode108');
  assert.equal(dependencyNames(f.Depends), ['libc6', 'libicu72', 'zlib1g']);
  assert.is(f.Description, 'x\nmore');
});

function fakeCache(): { dir: string; pkg: LockedPackage } {
  const dir = mkdtempSync(join(tmp, 'cache-'));
  writeFileSync(join(dir, 'demo_1.0_amd64.deb'), 'not really a deb');
  const pkg = { name: 'demo', version: '1.0', arch: 'amd64', filename: 'demo_1.0_amd64.deb', sha256: sha256File(join(dir, 'demo_1.0_amd64.deb')), size: 16 };
  return { dir, pkg };
}

test('a cached package matching the lock is used', () => {
  const { dir, pkg } = fakeCache();
  assert.is(fetchPackages([pkg], dir, quiet).get('demo'), join(dir, pkg.filename));
});

test('a corrupted cached package is refused naming the package and both hashes', () => {
  const { dir, pkg } = fakeCache();
  writeFileSync(join(dir, pkg.filename), 'not really a deb!');
  const actual = sha256File(join(dir, pkg.filename));
  try {
    fetchPackages([pkg], dir, quiet);
    assert.unreachable('should refuse');
  } catch (err) {
    assert.instance(err, PackageHashError);
    const m = (err as Error).message;
    assert.ok(m.startsWith('demo 1.0 (amd64): '), m);
    assert.ok(m.includes(actual) && m.includes(pkg.sha256), m);
  }
});

const writeCbor = (bytes: Uint8Array): string => {
  const f = join(tmp, 'w.cbor');
  writeFileSync(f, bytes);
  return f;
};

test('the image overlay config: runtime schema and defaults, no key required, bad fields named', () => {
  const defaults = { name: 'tfw0', listenPort: 51820, address: [], mtu: 1420, mesh: false, peers: [] };
  assert.equal(loadOverlayConfig(undefined), defaults);
  const p = join(tmp, 'o.yaml');
  writeFileSync(p, 'name: wg7\nlistenPort: 4000\npeers: []\n');
  const cbor = encodeOverlayConfig(loadOverlayConfig(p));
  writeFileSync(join(tmp, 'o.cbor'), cbor);
  assert.equal(readConfigObject(join(tmp, 'o.cbor')), { ...defaults, name: 'wg7', listenPort: 4000 });
  assert.equal(loadOverlayConfig(join(tmp, 'o.cbor')).name, 'wg7', 'a CBOR config reads back');
  // The mesh default's opt-out (and a mycelium section) rides into the image, where the runtime reads it.
  writeFileSync(p, 'mesh: true\nmycelium: false\n');
  assert.equal(readConfigObject(writeCbor(encodeOverlayConfig(loadOverlayConfig(p)))), { ...defaults, mesh: true, mycelium: false });
  writeFileSync(p, 'mesh: true\nmycelium: { discovery: false }\n');
  assert.equal((loadOverlayConfig(p) as unknown as { mycelium: unknown }).mycelium, { discovery: false });
  writeFileSync(p, 'mycelium: on\n');
  assert.throws(() => loadOverlayConfig(p), (e: Error) => (e as Error & { field?: string }).field === 'mycelium');
  writeFileSync(p, 'listenPort: 70000\n');
  assert.throws(() => loadOverlayConfig(p), /listenPort: Number must be less than or equal to 65535 \(got 70000\)/);
  // Peers are checked at build time too, not only at boot.
  writeFileSync(p, 'peers:\n  - publicKey: nope\n');
  assert.throws(() => loadOverlayConfig(p), (e: Error) => (e as Error & { field?: string }).field === 'peers.0.publicKey');
  writeFileSync(p, 'name: [\n');
  assert.throws(() => loadOverlayConfig(p), /cannot parse .*o\.yaml as yaml/);
  // A key given is kept, and what the runtime does with the image's config (runtime/main.ts) accepts it.
  const key = 'AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=';
  writeFileSync(p, `privateKey: ${key}\n`);
  assert.is(validateOverlayConfig(readConfigObject(p)).privateKey, loadOverlayConfig(p).privateKey);
});

/** Runs runtime/main.ts; resolves with exit code and output. */
function runRuntime(args: string[], stopOnReady: boolean): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'runtime/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stopped = false;
    const on = (c: Buffer) => {
      out += c.toString();
      if (stopOnReady && !stopped && /tfw: ready /.test(out)) stopped = child.kill('SIGTERM');
    };
    child.stdout.on('data', on);
    child.stderr.on('data', on);
    child.on('exit', (code) => resolve({ code, out }));
  });
}

test('the runtime prints the self-test and ready marker, then exits 0 on SIGTERM', async () => {
  const arch = process.arch === 'x64' ? 'x86_64' : process.arch;
  const r = await runRuntime(['--config', join(tmp, 'o.cbor'), '--role', '3router'], true);
  assert.match(r.out, /tfw: selftest: /);
  assert.match(r.out, new RegExp(`tfw: ready 3router ${arch} \\d+\\.\\d+\\.\\d+`));
  assert.is(r.code, 0, r.out);
});

test('the runtime exits non-zero naming the bad field', async () => {
  const p = join(tmp, 'bad.json');
  writeFileSync(p, JSON.stringify({ name: 'this-name-is-far-too-long' }));
  const r = await runRuntime(['--config', p], false);
  assert.is(r.code, 1);
  assert.match(r.out, /tfw: runtime: name: expected an interface name/);
  assert.not.match(r.out, /tfw: ready/);
});

test('the guest init scripts parse as POSIX sh', () => {
  const sh = has('busybox') ? ['busybox', 'sh'] : ['sh'];
  for (const f of ['runtime/init/init.sh', 'runtime/init/udhcpc.sh']) {
    const r = spawnSync(sh[0], [...sh.slice(1), '-n', f]);
    assert.is(r.status, 0, `${f}: ${r.stderr}`);
  }
});

test('QEMU arguments follow the board; bad --net specs are refused', () => {
  assert.equal(netdevArgs('mcast:47001', 'virtio-net-pci', '52:54:00:00:00:01').slice(0, 2), ['-netdev', 'socket,id=n0,mcast=230.0.0.1:47001,localaddr=127.0.0.1']);
  assert.throws(() => netdevArgs('vde:/tmp/sw', 'e1000', '52:54:00:00:00:01'), /--net: expected user, none, tap:IFNAME, mcast:PORT/);
  const dir = join(tmp, 'img');
  mkdirSync(dir);
  for (const f of ['vmlinuz', 'initramfs.cpio.zst']) writeFileSync(join(dir, f), '');
  writeFileSync(join(dir, 'cmdline'), 'console=ttyAMA0 tfw.role=3router\n');
  const q = qemuCommand({ board: loadBoard('qemu-arm64'), dir, exitAfterReady: true, ip: '10.99.0.2/24' });
  assert.is(q.cmd, 'qemu-system-aarch64');
  const s = q.args.join(' ');
  for (const w of ['-accel tcg', '-machine virt', '-cpu cortex-a57', '-m 1024', '-no-reboot', 'virtio-net-pci']) assert.ok(s.includes(w), w);
  assert.is(q.cmdline, 'console=ttyAMA0 tfw.role=3router tfw.poweroff_after_ready=1 tfw.ip=10.99.0.2/24');
  assert.throws(() => qemuCommand({ board: loadBoard('qemu-arm64'), dir, ip: '10.99.0.2' }), /--ip: expected ADDR\/PREFIX/);
});

test('console lines lose terminal control codes (SeaBIOS reset and clear-screen, colours, stray controls)', () => {
  assert.is(plainConsoleLine('\x1bc[    2.04] Initramfs unpacking failed\r'), '[    2.04] Initramfs unpacking failed');
  assert.is(plainConsoleLine('\x1b[2J\x1b[01;01H\x1b[=3hBdsDxe: loading'), 'BdsDxe: loading');
  assert.is(plainConsoleLine('\x1b[?7l\x1b[0;32mtfw: ready\x1b[0m\x07'), 'tfw: ready');
  assert.is(plainConsoleLine('a\tb'), 'a\tb');
});

test.run();
