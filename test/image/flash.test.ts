/**
 * `tfw flash` disk images and `tfw boot --disk`: the GPT and EFI System
 * Partition read back with sfdisk and mtools match what flash promises
 * (systemd-boot from the lock as the removable-media loader, loader config,
 * boot slot a with the image's kernel and initramfs byte for byte, a clean
 * ext4 tfw-data partition), two flashes are
 * byte-identical, `--format tar` still gives the bundle, an existing file is
 * not overwritten without --force, a loop device is written with --yes and
 * read back (refusals: test/integration/flash-refusals.test.ts); then the disk boots to the ready marker
 * through UEFI firmware: OVMF on qemu-x86_64 (CLI) and AAVMF on qemu-arm64
 * (API, with a config given at boot). Needs root (apt-get download, QEMU).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DATA_SIZE, ESP_TYPE, LINUX_DATA_TYPE, findEsp, guidFrom, loaderEfi, makeDisk, readEspFile } from '../../images/builder/disk.js';
import { builtImage } from './images.js';
import { makeProgress } from '../../images/builder/progress.js';
import { bootImage, qemuCommand } from '../../images/builder/qemu.js';
import { loadBoard } from '../../images/builder/schema.js';
import { compileConfig } from '../../runtime/config/load.js';
import { generatePrivateKey, toBase64 } from '../../runtime/overlay/wireguard/keys.js';
import { isRoot, runTfw } from '../helpers.js';
import { diskToolsMissing, mtoolsEnv } from './guest.js';

const TIMEOUT = 240;
const tmp = mkdtempSync(join(tmpdir(), 'tfw-flash-'));
const quiet = makeProgress({ quiet: true });
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');


const missing = isRoot ? diskToolsMissing() : [];
const skip = !isRoot || missing.length > 0;
if (!isRoot) console.log('  tfw: test: flash tests need root (apt-get download, QEMU): skipped');
else if (missing.length) console.log(`  tfw: test: flash tests skipped, missing (make sysdeps installs them): ${missing.join('; ')}`);

let x86Dir = '';
const diskA = join(tmp, 'a.img');

test('tfw flash writes a GPT disk with one EFI System Partition at 1 MiB (sfdisk --json)', async () => {
  if (skip) return;
  x86Dir = builtImage('qemu-x86_64', '3router').outDir;
  const r = await runTfw(['flash', '--board', 'qemu-x86_64', '--role', '3router', '-o', diskA]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /tfw: flash: wrote .*a\.img: GPT disk [\d.]+ MiB .*EFI System Partition [\d.]+ MiB FAT32 at 1 MiB .*loader systemd-boot-efi 252\.[^ ]+ \(amd64\); sha256 [0-9a-f]{64}\n$/);
  const t = JSON.parse(execFileSync('sfdisk', ['--json', diskA], { encoding: 'utf8' })).partitiontable;
  assert.is(t.label, 'gpt');
  assert.is(t.partitions.length, 2);
  const [p, data] = t.partitions;
  assert.is(p.type, ESP_TYPE);
  assert.is(p.start, 2048);
  assert.equal([data.type, data.name, data.start, data.size * 512], [LINUX_DATA_TYPE, 'tfw-data', 2048 + p.size, DATA_SIZE]);
  const manifestSha = sha(join(x86Dir, 'manifest.json'));
  assert.is(t.id, guidFrom(`tfw-disk-guid:${manifestSha}`));
  assert.is(p.uuid, guidFrom(`tfw-esp-guid:${manifestSha}`));
  // ESP = three times a slot (two slots, room to grow) + 8 MiB slack, rounded up to MiB;
  // disk = 1 MiB + ESP + data partition + backup GPT (33 sectors).
  const slot = ['vmlinuz', 'initramfs.cpio.zst'].reduce((n, f) => n + statSync(join(x86Dir, f)).size, 0);
  assert.ok(p.size * 512 >= 3 * slot + 8 * 1048576 && p.size * 512 < 3 * slot + 9 * 1048576, `ESP ${p.size} sectors for slots of ${slot} bytes`);
  assert.is(statSync(diskA).size, 1048576 + p.size * 512 + DATA_SIZE + 33 * 512);
  assert.is(spawnSync('sfdisk', ['--verify', diskA]).status, 0);
});

test('the ESP holds systemd-boot, the loader config and the image files, and fsck.fat finds no errors', () => {
  if (skip) return;
  const esp = findEsp(diskA);
  assert.is(esp.offset, 1048576);
  const list = execFileSync('mdir', ['-/', '-b', '-i', `${diskA}@@${esp.offset}`, '::/'], { encoding: 'utf8', env: mtoolsEnv })
    .split('\n').filter(Boolean).map((l) => l.replace(/^::\//, '')).filter((l) => !l.endsWith('/')).sort();
  assert.equal(list, ['EFI/BOOT/BOOTX64.EFI', 'a/initramfs.cpio.zst', 'a/manifest.json', 'a/vmlinuz', 'loader/entries/tfw-a.conf', 'loader/loader.conf', 'manifest.json']);
  for (const f of ['vmlinuz', 'initramfs.cpio.zst']) assert.ok(readEspFile(diskA, `a/${f}`, esp)!.equals(readFileSync(join(x86Dir, f))), f);
  assert.ok(readEspFile(diskA, 'manifest.json', esp)!.equals(readFileSync(join(x86Dir, 'manifest.json'))));
  const slotManifest = JSON.parse(readEspFile(diskA, 'a/manifest.json', esp)!.toString());
  assert.equal(slotManifest.files.map((f: { path: string; sha256: string }) => [f.path, f.sha256]), ['vmlinuz', 'initramfs.cpio.zst'].map((f) => [f, sha(join(x86Dir, f))]));
  assert.ok(readEspFile(diskA, 'EFI/BOOT/BOOTX64.EFI', esp)!.equals(readFileSync(loaderEfi('x86_64').file)));
  assert.is(readEspFile(diskA, 'loader/loader.conf', esp)!.toString(), 'timeout 0\neditor no\n');
  const cmdline = readFileSync(join(x86Dir, 'cmdline'), 'utf8').trim();
  assert.match(
    readEspFile(diskA, 'loader/entries/tfw-a.conf', esp)!.toString(),
    new RegExp(`^title tfw \\S+ qemu-x86_64-3router \\(slot a\\)\nsort-key tfw\nversion 1\nlinux /a/vmlinuz\ninitrd /a/initramfs\\.cpio\\.zst\noptions ${cmdline.replace(/[.]/g, '\\.')} tfw\\.slot=a\n$`),
  );
  // The partition on its own is a clean FAT32 file system.
  const part = join(tmp, 'esp.part');
  const buf = Buffer.alloc(esp.size);
  const fd = openSync(diskA, 'r');
  readSync(fd, buf, 0, esp.size, esp.offset);
  closeSync(fd);
  writeFileSync(part, buf);
  const fsck = spawnSync('fsck.fat', ['-n', part], { encoding: 'utf8' });
  assert.is(fsck.status, 0, fsck.stdout + fsck.stderr);
  assert.is(buf.toString('latin1', 82, 90), 'FAT32   ');
  // The data partition is a clean, empty ext4 file system labelled tfw-data.
  const dataPart = join(tmp, 'data.part');
  const dataOffset = JSON.parse(execFileSync('sfdisk', ['--json', diskA], { encoding: 'utf8' })).partitiontable.partitions[1].start * 512;
  execFileSync('dd', [`if=${diskA}`, `of=${dataPart}`, 'bs=1M', `skip=${dataOffset / 1048576}`, 'status=none']);
  const e2 = spawnSync('e2fsck', ['-fn', dataPart], { encoding: 'utf8' });
  assert.is(e2.status, 0, e2.stdout + e2.stderr);
  const sb = execFileSync('dumpe2fs', ['-h', dataPart], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  assert.match(sb, /^Filesystem volume name:\s+tfw-data$/m);
  assert.match(sb, /^Filesystem features:.*\bhas_journal\b.*\bextent\b/m);
});

test('two flashes of the same image are byte-identical (another time, another file, --force over an existing one)', async () => {
  if (skip) return;
  await new Promise((r) => setTimeout(r, 2100)); // FAT timestamps have 2 s resolution
  const b = join(tmp, 'b.img');
  writeFileSync(b, 'old');
  const r = await runTfw(['flash', '-o', b, '--force']);
  assert.is(r.code, 0, r.stderr);
  assert.is(sha(b), sha(diskA));
});

test('flash refuses to overwrite an existing file without --force, names bad options and missing files', async () => {
  if (skip) return;
  const before = sha(diskA);
  const r = await runTfw(['flash', '-o', diskA]);
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /tfw: flash: --output: .*a\.img exists and is not a block device; pass --force to overwrite it\n$/);
  assert.is(sha(diskA), before);
  const f = await runTfw(['flash', '-o', join(tmp, 'x.img'), '--format', 'iso']);
  assert.match(f.stderr, /--format: expected disk or tar, got "iso"/);
  const empty = join(tmp, 'empty');
  mkdirSync(empty);
  const m = await runTfw(['flash', '--dir', empty, '-o', join(tmp, 'y.img')]);
  assert.match(m.stderr, /empty\/vmlinuz is missing; run tfw build first/);
  assert.not.ok(existsSync(join(tmp, 'x.img')) || existsSync(join(tmp, 'y.img')));
  // A folder, or a file in a folder that does not exist, is named as such (no temporary file named, nothing left).
  const d = await runTfw(['flash', '-o', tmp, '--force']);
  assert.match(d.stderr, /^tfw: flash: --output: .* is a folder; give a file name like .*\/disk\.img\n$/);
  const n = await runTfw(['flash', '-o', join(tmp, 'missing/x.img')]);
  assert.match(n.stderr, /^tfw: flash: --output: folder .*\/missing does not exist\n$/);
});

test('--format tar still writes the bundle of the five image files', async () => {
  if (skip) return;
  const t = join(tmp, 'bundle.tar');
  const r = await runTfw(['flash', '--format', 'tar', '-o', t]);
  assert.is(r.code, 0, r.stderr);
  assert.equal(execFileSync('tar', ['-tf', t], { encoding: 'utf8' }).trim().split('\n'), ['boot.ipxe', 'cmdline', 'initramfs.cpio.zst', 'manifest.json', 'vmlinuz']);
});

test('flash --yes to a loop device writes it in bytes, reads it back verified, and its ESP holds the image\'s files', async () => {
  if (skip) return;
  const img = join(tmp, 'loop.img');
  execFileSync('truncate', ['-s', '512M', img]);
  const loop = execFileSync('losetup', ['-f', '--show', img], { encoding: 'utf8' }).trim();
  try {
    const r = await runTfw(['flash', '-o', loop, '--yes']);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`tfw: flash: writing ${loop} \\d+ of (\\d+) bytes \\([\\d.]+ of [\\d.]+ MiB\\)\n`));
    assert.match(r.stderr, new RegExp(`tfw: flash: verifying ${loop} (\\d+) of \\1 bytes`));
    const verified = /; (\d+) bytes read back and verified\n$/.exec(r.stderr);
    assert.ok(verified, r.stderr);
    const t = JSON.parse(execFileSync('sfdisk', ['--json', loop], { encoding: 'utf8' })).partitiontable;
    assert.is(t.partitions.length, 2);
    // The data partition takes the rest of the device (in whole MiB) before the backup GPT (33 sectors).
    const end = (t.partitions[1].start + t.partitions[1].size) * 512;
    assert.ok(end <= 512 * 1048576 - 33 * 512 && end > 511 * 1048576 - 33 * 512, `data partition ends at ${end}`);
    const espA = findEsp(diskA);
    const espL = findEsp(loop);
    assert.equal(espL, espA);
    assert.is(Number(verified![1]), espA.offset + espA.size + 33 * 512);
    for (const [f, from] of [['a/vmlinuz', 'vmlinuz'], ['a/initramfs.cpio.zst', 'initramfs.cpio.zst'], ['manifest.json', 'manifest.json']]) {
      assert.ok(readEspFile(loop, f)?.equals(readFileSync(join(x86Dir, from))), `${f} on ${loop}`);
    }
    assert.ok(readEspFile(loop, 'EFI/BOOT/BOOTX64.EFI')?.equals(readEspFile(diskA, 'EFI/BOOT/BOOTX64.EFI')!), 'BOOTX64.EFI');
  } finally {
    execFileSync('losetup', ['-d', loop]);
  }
});

test('a disk boot uses UEFI pflash and a writable virtio disk (snapshot on request), reboots in place, extra words via fw_cfg', () => {
  if (skip) return;
  const q = qemuCommand({ board: loadBoard('qemu-arm64'), dir: '/nonexistent', disk: diskA, exitAfterReady: true, forward: ['18080:80'] });
  const a = q.args.join(' ');
  assert.match(a, /-drive if=pflash,format=raw,unit=0,readonly=on,file=\/usr\/share\/AAVMF\/AAVMF_CODE\.fd/);
  assert.match(a, /-drive if=none,id=disk0,format=raw,file=.*a\.img -device virtio-blk-pci,drive=disk0,bootindex=0/);
  assert.match(a, /-netdev user,id=n0,hostfwd=tcp:127\.0\.0\.1:18080-:80 /);
  assert.match(a, /-fw_cfg name=opt\/tfw\/cmdline,string=tfw\.poweroff_after_ready=1/);
  assert.not.match(a, /-kernel|-initrd|-append|-no-reboot/);
  assert.is(q.cmdline, 'tfw.poweroff_after_ready=1');
  assert.match(qemuCommand({ board: loadBoard('qemu-arm64'), dir: '/x', disk: diskA, snapshot: true }).args.join(' '), /format=raw,snapshot=on,file=.*a\.img/);
  assert.throws(() => qemuCommand({ board: loadBoard('qemu-arm64'), dir: '/x', disk: diskA, forward: ['80'] }), /--forward: expected HOSTPORT:GUESTPORT like 8080:80, got "80"/);
  assert.throws(() => qemuCommand({ board: loadBoard('qemu-arm64'), dir: '/x', disk: diskA, net: 'mcast:47001', forward: ['8080:80'] }), /--forward: needs --net user/);
  assert.throws(() => qemuCommand({ board: loadBoard('qemu-arm64'), dir: '/x', disk: join(tmp, 'none.img') }), /--disk: .*none\.img does not exist/);
});

test('tfw boot --disk --snapshot boots the x86_64 disk through OVMF to ready and powers off; the disk is unchanged', async () => {
  if (skip) return;
  const before = sha(diskA);
  const t0 = Date.now();
  const r = await runTfw(['boot', '--disk', diskA, '--snapshot', '--exit-after-ready', '--timeout', String(TIMEOUT), '--expect', 'tfw: selftest', '--json']);
  assert.is(r.code, 0, r.stderr.slice(-3000));
  const res = JSON.parse(r.stdout);
  assert.is(res.board, 'qemu-x86_64');
  assert.match(res.readyLine, /^tfw: ready 3router x86_64 /);
  assert.is(res.qemuExitCode, 0);
  assert.match(r.stderr, /BdsDxe: starting Boot\d+ .*PciRoot/); // OVMF's boot manager started the disk's loader
  assert.match(r.stderr, /tfw: slot: booted a\r?\n/);
  assert.match(r.stderr, /tfw: init: data: \/dev\/vda2 mounted on \/data \(ext4\)/);
  assert.is(sha(diskA), before);
  console.log(`  x86_64 UEFI disk boot-to-ready ${res.readySeconds.toFixed(1)} s (whole run ${((Date.now() - t0) / 1000).toFixed(1)} s) under TCG`);
});

test('the qemu-arm64 disk boots through AAVMF to ready with a config given at boot', async () => {
  if (skip) return;
  const { outDir } = builtImage('qemu-arm64', '3router');
  const disk = join(tmp, 'arm64.img');
  const d = makeDisk({ dir: outDir, output: disk, progress: quiet });
  assert.equal(d.files.filter((f) => f.startsWith('EFI/')), ['EFI/BOOT/BOOTAA64.EFI']);
  const cfg = { name: 'tfwdisk', privateKey: toBase64(generatePrivateKey()), listenPort: 51998 };
  const before = sha(disk);
  const t0 = Date.now();
  const r = await bootImage({
    board: loadBoard('qemu-arm64'), dir: outDir, disk, timeout: TIMEOUT, exitAfterReady: true, consoleOut: null, snapshot: true,
    config: compileConfig(cfg), expect: ['tfw: runtime: config tfwdisk listenPort 51998 peers 0'],
  });
  assert.ok(r.ok, `${r.cause}\n${r.tail.join('\n')}`);
  assert.match(r.readyLine!, /^tfw: ready 3router arm64 /);
  assert.is(r.qemuExitCode, 0);
  assert.is(sha(disk), before);
  console.log(`  arm64 UEFI disk boot-to-ready ${r.readySeconds!.toFixed(1)} s (whole run ${((Date.now() - t0) / 1000).toFixed(1)} s) under TCG`);
});

test.run();
