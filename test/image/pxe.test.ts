/**
 * `tfw pxe` and network boots: the HTTP server serves exactly the image's
 * files (byte-exact GET, HEAD, 404 for anything else, bad --listen refused),
 * and a qemu-x86_64 3router image boots to ready through the NIC's iPXE
 * option ROM with no -kernel/-initrd: QEMU's DHCP hands out the boot.ipxe
 * URL, iPXE fetches the script, the kernel and the initramfs from `tfw pxe`.
 * `--tftp` runs dnsmasq as a TFTP-only server: files fetched with curl over
 * tftp:// match byte for byte, in a private network namespace (port 69).
 * The HTTP server tests need nothing; the boot and TFTP need root.
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builtImage } from './images.js';
import { bootImage, guestPxeUrl, netdevArgs, qemuCommand } from '../../images/builder/qemu.js';
import { loadBoard } from '../../images/builder/schema.js';
import { isRoot, runTfw, tfwBin } from '../helpers.js';

const BOOT_TIMEOUT = 240;
const tmp = mkdtempSync(join(tmpdir(), 'tfw-pxe-'));
const FILES = ['boot.ipxe', 'vmlinuz', 'initramfs.cpio.zst', 'cmdline', 'manifest.json'];
const SCRIPT = '#!ipxe\n# tfw test\nkernel vmlinuz initrd=initramfs.cpio.zst console=ttyS0 tfw.role=3router\ninitrd initramfs.cpio.zst\nboot\n';

/** A fake image folder: random kernel/initramfs bytes, plus a file that must never be served. */
function fakeImage(): string {
  const dir = mkdtempSync(join(tmp, 'img-'));
  writeFileSync(join(dir, 'boot.ipxe'), SCRIPT);
  writeFileSync(join(dir, 'vmlinuz'), randomBytes(300_000));
  writeFileSync(join(dir, 'initramfs.cpio.zst'), randomBytes(1_000_003));
  writeFileSync(join(dir, 'cmdline'), 'console=ttyS0 tfw.role=3router\n');
  writeFileSync(join(dir, 'manifest.json'), '{"role":"3router","arch":"x86_64","version":"0.0.0"}\n');
  writeFileSync(join(dir, 'secret.key'), 'not for the network\n');
  return dir;
}

/** A running `tfw pxe` child: its printed URL, and its stderr so far. */
interface PxeChild {
  url: string;
  child: ChildProcessWithoutNullStreams;
  stderr: () => string;
  /** SIGTERM, then resolves with the exit code. */
  stop: () => Promise<number | null>;
}

/**
 * Starts `tfw pxe ARGS` and resolves once it printed its URL (rejects with its
 * stderr if it exits first); `netns`: in a new network namespace with only lo up.
 */
function startPxe(args: string[], netns = false): Promise<PxeChild> {
  return new Promise((resolve, reject) => {
    const cmd = [process.execPath, tfwBin, 'pxe', ...args];
    const child = netns
      ? spawn('unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', ...cmd], { stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(cmd[0], cmd.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        resolve({
          url: out.slice(0, nl),
          child,
          stderr: () => err,
          stop: () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`tfw pxe exited (${code}) before printing its URL: ${err}`)));
  });
}

/** One raw HTTP request (the path is sent as given, unnormalised). */
function http(url: string, method: string, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('tfw pxe serves exactly the image files, byte-exact (GET, HEAD), and 404 for anything else', async () => {
  const dir = fakeImage();
  const s = await startPxe(['--dir', dir, '--listen', '127.0.0.1:0']);
  try {
    assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+\/boot\.ipxe$/);
    for (const f of FILES) {
      const want = readFileSync(join(dir, f));
      const g = await http(s.url, 'GET', `/${f}`);
      assert.is(g.status, 200, f);
      assert.ok(g.body.equals(want), `${f}: served bytes differ`);
      const h = await http(s.url, 'HEAD', `/${f}`);
      assert.is(h.status, 200, f);
      assert.is(Number(h.headers['content-length']), want.length, f);
      assert.is(h.body.length, 0);
    }
    for (const p of ['/', '/secret.key', '/../secret.key', '/%2e%2e/secret.key', '/..%2fsecret.key', '/etc/passwd', '/vmlinuz/x', '/boot.ipxe.bak', '/constructor', '/__proto__']) {
      assert.is((await http(s.url, 'GET', p)).status, 404, p);
    }
    for (const m of ['POST', 'PUT', 'DELETE']) assert.is((await http(s.url, m, '/vmlinuz')).status, 404, m);
    assert.is((await http(s.url, 'GET', '/vmlinuz?x=1')).body.length, 300_000);
  } finally {
    assert.is(await s.stop(), 0);
  }
  // The request log names address, method, path, status and bytes.
  assert.match(s.stderr(), /tfw: pxe: 127\.0\.0\.1 GET \/initramfs\.cpio\.zst 200 1000003\n/);
  assert.match(s.stderr(), /tfw: pxe: 127\.0\.0\.1 GET \/secret\.key 404 0\n/);
});

test('tfw pxe --append adds kernel words to the served script only; --max-requests exits', async () => {
  const dir = fakeImage();
  const s = await startPxe(['--dir', dir, '--listen', '127.0.0.1:0', '--append', 'tfw.poweroff_after_ready=1', '--append', 'tfw.ip=10.99.0.1/24', '--max-requests', '2']);
  const g = await http(s.url, 'GET', '/boot.ipxe');
  assert.is(g.body.toString(), SCRIPT.replace('tfw.role=3router\n', 'tfw.role=3router tfw.poweroff_after_ready=1 tfw.ip=10.99.0.1/24\n'));
  assert.is(Number((await http(s.url, 'HEAD', '/boot.ipxe')).headers['content-length']), g.body.length);
  assert.is(await new Promise((r) => s.child.once('exit', r)), 0);
  assert.is(readFileSync(join(dir, 'boot.ipxe'), 'utf8'), SCRIPT);
  const bad = await runTfw(['pxe', '--dir', dir, '--listen', '127.0.0.1:0', '--append', 'a\n#!ipxe shell']);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /^tfw: pxe: --append: expected one kernel word without blanks/);
});

test('tfw pxe refuses a bad --listen, a port in use and a folder without boot.ipxe', async () => {
  const dir = fakeImage();
  for (const l of ['8069', '127.0.0.1:99999', 'host:80', '127.0.0.1:']) {
    const r = await runTfw(['pxe', '--dir', dir, '--listen', l]);
    assert.is(r.code, 1, l);
    assert.is(r.stderr, `tfw: pxe: --listen: expected ADDR:PORT like 127.0.0.1:8069, got "${l}"\n`);
  }
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  const port = (busy.address() as { port: number }).port;
  try {
    const r = await runTfw(['pxe', '--dir', dir, '--listen', `127.0.0.1:${port}`]);
    assert.is(r.code, 1);
    assert.match(r.stderr, new RegExp(`^tfw: pxe: --listen 127\\.0\\.0\\.1:${port}: listen EADDRINUSE`));
  } finally {
    busy.close();
  }
  const r = await runTfw(['pxe', '--dir', tmp, '--listen', '127.0.0.1:0']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /has no boot\.ipxe; run tfw build/);
  assert.match((await runTfw(['pxe', '--help'])).stdout, /over HTTP \(and over TFTP with --tftp, via dnsmasq\)/);
});

test('tfw pxe --tftp serves the image and iPXE loaders over TFTP (dnsmasq), byte-exact', async () => {
  if (!isRoot) {
    console.log('  tfw: test: --tftp needs root (port 69, network namespace): skipped');
    return;
  }
  const dir = fakeImage();
  const bad = await runTfw(['pxe', '--dir', dir, '--listen', '127.0.0.1:0', '--tftp', '127.0.0.1:6969']);
  assert.is(bad.stderr, 'tfw: pxe: --tftp: dnsmasq\'s TFTP server listens on port 69 only, got "127.0.0.1:6969"\n');
  // Port 69 is fixed in dnsmasq: a private network namespace keeps it from other tests and services.
  const s = await startPxe(['--dir', dir, '--listen', '127.0.0.1:0', '--tftp', '127.0.0.1', '--append', 'tfw.debug=1'], true);
  const out = mkdtempSync(join(tmp, 'got-'));
  const tftpGet = (name: string): Buffer | null => {
    try {
      execFileSync('nsenter', ['-t', String(s.child.pid), '-n', 'curl', '-sS', '--max-time', '20', '-o', join(out, name.replace(/\//g, '_')), `tftp://127.0.0.1/${name}`], { stdio: 'pipe' });
      return readFileSync(join(out, name.replace(/\//g, '_')));
    } catch {
      return null;
    }
  };
  let code: number | null;
  try {
    for (const f of ['vmlinuz', 'initramfs.cpio.zst', 'manifest.json']) assert.ok(tftpGet(f)?.equals(readFileSync(join(dir, f))), f);
    assert.is(tftpGet('boot.ipxe')?.toString(), SCRIPT.replace('tfw.role=3router\n', 'tfw.role=3router tfw.debug=1\n'));
    const loader = '/usr/lib/ipxe/undionly.kpxe';
    if (existsSync(loader)) assert.ok(tftpGet('undionly.kpxe')?.equals(readFileSync(loader)), 'undionly.kpxe');
    else console.log('  tfw: test: no iPXE loaders (Debian package ipxe) to serve: not checked');
    for (const f of ['secret.key', '../secret.key', '/etc/passwd', 'nonexistent']) assert.is(tftpGet(f), null, f);
  } finally {
    code = await s.stop();
  }
  assert.is(code, 0, s.stderr());
  const log = s.stderr();
  assert.match(log, /tfw: pxe: tftp: .*TFTP root is \/.*tfw-tftp-\S+ secure mode/);
  assert.match(log, /tfw: pxe: tftp: sent \S+\/initramfs\.cpio\.zst to 127\.0\.0\.1/);
  const root = /TFTP root is (\S+)/.exec(log)![1];
  assert.not.ok(existsSync(root), `${root} left behind`);
  assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+\/boot\.ipxe$/);
});

test('PXE QEMU arguments: no -kernel, the NIC keeps its iPXE ROM, DHCP hands out the URL; bad combinations are refused', () => {
  const board = loadBoard('qemu-x86_64');
  const q = qemuCommand({ board, dir: '/nonexistent', pxe: { url: 'http://127.0.0.1:8069/boot.ipxe' } });
  const s = q.args.join(' ');
  assert.ok(s.includes('-netdev user,id=n0,bootfile=http://10.0.2.2:8069/boot.ipxe'), s);
  assert.ok(s.includes('-boot n'), s);
  assert.not.ok(/-kernel|-initrd|-append|romfile=/.test(s), s);
  assert.is(guestPxeUrl('http://localhost:80/x/boot.ipxe'), 'http://10.0.2.2/x/boot.ipxe');
  assert.is(guestPxeUrl('http://192.0.2.7:8069/boot.ipxe'), 'http://192.0.2.7:8069/boot.ipxe');
  assert.throws(() => guestPxeUrl('tftp://127.0.0.1/boot.ipxe'), /--pxe: expected an http:\/\/ URL/);
  assert.throws(() => netdevArgs('mcast:47001', 'e1000', '52:54:00:00:00:01', 'http://10.0.2.2/boot.ipxe'), /--pxe: needs --net user/);
  assert.throws(() => qemuCommand({ board, dir: '/nonexistent', pxe: { url: 'http://127.0.0.1:1/boot.ipxe' }, ip: '10.99.0.1/24' }), /--pxe: .*drop --ip/);
  assert.throws(() => qemuCommand({ board: loadBoard('qemu-arm64'), dir: '/nonexistent', pxe: { url: 'http://127.0.0.1:1/boot.ipxe' } }), /--pxe: .*x86_64 board/);
});

test('tfw boot --pxe fails at once for an unreachable server or a script that does not power off', async () => {
  const r = await runTfw(['boot', '--pxe', 'http://127.0.0.1:1/boot.ipxe', '--timeout', '5']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^tfw: boot: --pxe: cannot fetch http:\/\/127\.0\.0\.1:1\/boot\.ipxe: .*\(is tfw pxe running\?\)\n$/);
  const s = await startPxe(['--dir', fakeImage(), '--listen', '127.0.0.1:0']);
  try {
    let err: Error | undefined;
    await bootImage({ board: loadBoard('qemu-x86_64'), dir: '/nonexistent', pxe: { url: s.url }, exitAfterReady: true, consoleOut: null }).catch((e: Error) => (err = e));
    assert.match(err?.message ?? '', /--exit-after-ready: the script at .* does not power the guest off; serve it with tfw pxe --append tfw\.poweroff_after_ready=1/);
  } finally {
    await s.stop();
  }
});

test('qemu-x86_64 3router boots to ready over PXE (iPXE ROM, HTTP from tfw pxe), then powers off', async () => {
  if (!isRoot) {
    console.log('  tfw: test: the PXE boot needs root (apt-get download, QEMU): skipped');
    return;
  }
  const { outDir, manifest } = builtImage('qemu-x86_64', '3router');
  const s = await startPxe(['--board', 'qemu-x86_64', '--role', '3router', '--listen', '127.0.0.1:0', '--append', 'tfw.poweroff_after_ready=1']);
  let r: Awaited<ReturnType<typeof runTfw>>;
  try {
    r = await runTfw(['boot', '--board', 'qemu-x86_64', '--pxe', s.url, '--exit-after-ready', '--timeout', String(BOOT_TIMEOUT), '--expect', 'tfw: selftest', '--json']);
  } finally {
    assert.is(await s.stop(), 0);
  }
  assert.is(r.code, 0, `${r.stderr.slice(-3000)}\n${s.stderr()}`);
  const res = JSON.parse(r.stdout);
  assert.is(res.readyLine, `tfw: ready 3router x86_64 ${manifest.version}`);
  assert.is(res.role, '3router');
  assert.is(res.qemuExitCode, 0);
  // The console shows iPXE taking the boot file from DHCP and fetching the script (no -kernel).
  assert.match(r.stderr, /iPXE/);
  assert.match(r.stderr, /http:\/\/10\.0\.2\.2:\d+\/boot\.ipxe\.\.\. ok/);
  assert.match(r.stderr, /tfw: init: network: eth0 10\.0\.2\.15\/24 \(dhcp\)/);
  // The server handed the guest (through QEMU's user net, from 127.0.0.1) the script, kernel and initramfs whole.
  const log = s.stderr();
  for (const f of ['vmlinuz', 'initramfs.cpio.zst']) {
    const size = readFileSync(join(outDir, f)).length;
    assert.match(log, new RegExp(`tfw: pxe: 127\\.0\\.0\\.1 GET /${f.replace(/\./g, '\\.')} 200 ${size}\\n`), f);
  }
  assert.ok((log.match(/GET \/boot\.ipxe 200 /g) ?? []).length >= 2, log); // tfw boot's check + iPXE
  console.log(`  x86_64 PXE boot-to-ready ${res.readySeconds.toFixed(1)} s under TCG (iPXE ROM + HTTP, kernel ${(readFileSync(join(outDir, 'vmlinuz')).length / 1048576).toFixed(1)} MiB, initramfs ${(manifest.initramfs.compressedSize / 1048576).toFixed(1)} MiB)`);
});

test.run();
