/**
 * `tfw flash` refuses what it must not write (the CLI's main(), and a spawned
 * CLI on a terminal):
 * a loop device with a mounted partition, one of its partitions, a block
 * device without --yes when there is no terminal, a "no" typed on a terminal
 * (util-linux script(1) gives the CLI a pty), a path under /dev that does not
 * exist (no file is left there) and a character device. The device's bytes are
 * compared before and after each refusal. Needs root (losetup, mount).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isRoot, runMain as runTfw, tfwBin } from '../helpers.js';

const have = (t: string) => ['/usr/sbin', '/sbin', '/usr/bin', '/bin'].some((d) => existsSync(join(d, t)));
const missing = [!isRoot && 'root', ...['losetup', 'sfdisk', 'partx', 'mkfs.ext4', 'script'].filter((t) => !have(t))].filter(Boolean);
if (missing.length) console.log(`  skip flash-refusals: needs ${missing.join(', ')}`);
const skip = missing.length > 0;

const work = mkdtempSync(join(tmpdir(), 'tfw-flashref-'));
const mnt = join(work, 'mnt');
// A fake image folder: the refusals come before anything is read from it.
const dir = join(work, 'image');
let loop = '';

/** sha256 of the device's first 2 MiB (GPT + start of partition 1). */
function head(dev: string): string {
  const fd = openSync(dev, 'r');
  try {
    const b = Buffer.alloc(2 << 20);
    readSync(fd, b, 0, b.length, 0);
    return createHash('sha256').update(b).digest('hex');
  } finally {
    closeSync(fd);
  }
}

test.before(() => {
  if (skip) return;
  mkdirSync(mnt);
  mkdirSync(dir);
  for (const f of ['vmlinuz', 'initramfs.cpio.zst', 'cmdline', 'manifest.json', 'boot.ipxe']) writeFileSync(join(dir, f), 'x');
  const img = join(work, 'disk.img');
  execFileSync('truncate', ['-s', '64M', img]);
  execFileSync('sfdisk', ['-q', img], { input: 'label: gpt\n,16M\n,\n' });
  loop = execFileSync('losetup', ['-f', '--show', '-P', img], { encoding: 'utf8' }).trim();
  execFileSync('partx', ['-u', loop]);
  // Partition nodes appear asynchronously (devtmpfs); bounded wait.
  for (let i = 0; i < 50 && !existsSync(`${loop}p2`); i++) execFileSync('sleep', ['0.1']);
  execFileSync('mkfs.ext4', ['-q', `${loop}p2`]);
});

test.after(() => {
  if (loop) {
    try {
      execFileSync('umount', [mnt], { stdio: 'ignore' });
    } catch {}
    execFileSync('losetup', ['-d', loop]);
  }
  rmSync(work, { recursive: true, force: true });
});

test('a device with a mounted partition is refused, even with --yes, and left unchanged', async () => {
  if (skip) return;
  execFileSync('mount', [`${loop}p2`, mnt]);
  try {
    const before = head(loop);
    const r = await runTfw(['flash', '--dir', dir, '-o', loop, '--yes']);
    assert.is(r.code, 1);
    assert.is(r.stderr, `tfw: flash: --output: ${loop} is in use: its partition ${loop}p2 is mounted on ${mnt}; unmount it first\n`);
    assert.is(head(loop), before);
  } finally {
    execFileSync('umount', [mnt]);
  }
});

test('a partition is refused: the whole disk is expected', async () => {
  if (skip) return;
  const r = await runTfw(['flash', '--dir', dir, '-o', `${loop}p1`, '--yes']);
  assert.is(r.code, 1);
  assert.is(r.stderr, `tfw: flash: --output: ${loop}p1 is partition ${loop.slice(5)}p1 of ${loop}; give the whole disk\n`);
});

test('a free device without --yes and without a terminal is refused (tar and disk)', async () => {
  if (skip) return;
  const before = head(loop);
  for (const format of ['disk', 'tar']) {
    const r = await runTfw(['flash', '--dir', dir, '--format', format, '-o', loop]);
    assert.is(r.code, 1);
    assert.match(r.stderr, new RegExp(`^tfw: flash: --output: ${loop} \\(loop\\d+, 64\\.0 MiB\\) is a block device and there is no terminal to ask; pass --yes to overwrite it\\n$`));
  }
  assert.is(head(loop), before);
});

test('on a terminal, an answer other than yes leaves the device as it was', async () => {
  if (skip) return;
  const before = head(loop);
  const cmd = `${process.execPath} ${tfwBin} flash --dir ${dir} -o ${loop}`;
  const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const c = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => {
      out += d;
      if (out.includes('[y/N]')) c.stdin.end('n\n');
    });
    const t = setTimeout(() => c.kill('SIGKILL'), 20_000);
    c.on('exit', (code) => (clearTimeout(t), resolve({ code, out })));
  });
  assert.match(r.out, new RegExp(`tfw: flash: overwrite ${loop} \\(loop\\d+, 64\\.0 MiB\\)\\? Everything on it is lost\\. \\[y/N\\]`));
  assert.match(r.out, `tfw: flash: --output: ${loop} left as it was (answer "n")`);
  assert.is(r.code, 1);
  assert.is(head(loop), before);
});

test('a path under /dev that is not a block device is refused and no file is left there', async () => {
  if (skip) return;
  const typo = `/dev/sdzz${process.pid}`;
  const r = await runTfw(['flash', '--dir', dir, '-o', typo]);
  assert.is(r.code, 1);
  assert.is(r.stderr, `tfw: flash: --output: ${typo} does not exist; expected a disk like /dev/sdX (lsblk lists them) or a file outside /dev\n`);
  assert.not.ok(existsSync(typo));
  const n = await runTfw(['flash', '--dir', dir, '-o', '/dev/null', '--force']);
  assert.is(n.code, 1);
  assert.is(n.stderr, 'tfw: flash: --output: /dev/null is not a block device; expected a disk like /dev/sdX (lsblk lists them) or a file outside /dev\n');
});

test.run();
