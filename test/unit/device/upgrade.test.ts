/**
 * Release bundles and installing them into a slot, on a folder standing in
 * for the EFI System Partition: `tfw release`'s archive lists with tar(1) and
 * verifies with minisign, installBundle writes the other slot with a
 * `+3` entry of a higher generation, and every refusal (flipped byte,
 * untrusted key, truncated file, older version, another board, a write that
 * fails midway) leaves the ESP exactly as it was.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareVersions, listTar } from '../../../runtime/device/bundle.js';
import { formatPublicKey, formatSecretKey, generateSigningKey, parsePublicKey } from '../../../runtime/device/minisign.js';
import { ENTRIES_DIR, LOADER_CONF, listEntries, slotEntry } from '../../../runtime/device/slots.js';
import { installBundle, type InstallOptions } from '../../../runtime/device/upgrade.js';
import { makeRelease } from '../../../images/builder/release.js';
import { prng, rejection } from '../../helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'tfw-upgrade-'));
const rnd = prng(11);
const key = generateSigningKey();
writeFileSync(join(tmp, 'release.key'), formatSecretKey(key));
writeFileSync(join(tmp, 'release.key.pub'), formatPublicKey(key));
const trusted = [parsePublicKey(formatPublicKey(key))];

/** A fake image folder of `version` (random kernel and initramfs bytes). */
function image(name: string, version: string, board = 'qemu-x86_64'): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'vmlinuz'), rnd.bytes(70_000 + rnd.int(1000)));
  writeFileSync(join(dir, 'initramfs.cpio.zst'), rnd.bytes(200_000 + rnd.int(1000)));
  writeFileSync(join(dir, 'cmdline'), 'console=ttyS0 tfw.role=3router\n');
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ board, role: '3router', arch: 'x86_64', version }));
  return dir;
}

/** An ESP folder with slot a installed and booted, generation 1. */
function esp(name: string): string {
  const d = join(tmp, name);
  mkdirSync(join(d, ENTRIES_DIR), { recursive: true });
  mkdirSync(join(d, 'a'));
  writeFileSync(join(d, 'loader/loader.conf'), LOADER_CONF);
  writeFileSync(join(d, ENTRIES_DIR, 'tfw-a.conf'), slotEntry({ slot: 'a', generation: 1, title: 'tfw 1.0.0', cmdline: 'console=ttyS0' }));
  writeFileSync(join(d, 'a/vmlinuz'), 'old kernel');
  return d;
}

/** Every file under a folder with its bytes (to compare before/after). */
function snapshot(d: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string) => {
    for (const n of readdirSync(p, { withFileTypes: true })) {
      if (n.isDirectory()) walk(join(p, n.name));
      else out[relative(d, join(p, n.name))] = readFileSync(join(p, n.name)).toString('base64');
    }
  };
  walk(d);
  return out;
}


const device = { board: 'qemu-x86_64', arch: 'x86_64', version: '1.0.0', slot: 'a' as const };
const v11 = image('v11', '1.1.0');
const bundle = join(tmp, 'v11.tfwup');
const opts = (over: Partial<InstallOptions> = {}): InstallOptions => ({ bundle, signature: readFileSync(`${bundle}.minisig`, 'utf8'), trusted, device, esp: join(tmp, 'esp'), ...over });

test('tfw release writes a ustar bundle (manifest first) that tar lists and minisign verifies, reproducibly', async () => {
  const r = await makeRelease({ dir: v11, keyFile: join(tmp, 'release.key'), output: bundle, append: ['tfw.health_deadline=20'] });
  assert.is(r.manifest.version, '1.1.0');
  assert.is(r.manifest.cmdline, 'console=ttyS0 tfw.role=3router tfw.health_deadline=20');
  assert.equal(listTar(bundle).map((e) => e.name), ['manifest.json', 'vmlinuz', 'initramfs.cpio.zst']);
  const tv = execFileSync('tar', ['-tvf', bundle], { encoding: 'utf8' }).trim().split('\n');
  assert.is(tv.length, 3);
  assert.match(tv[1], /^-rw-r--r-- root\/root +\d+ 2023-11-14 22:13 vmlinuz$/);
  const first = readFileSync(bundle);
  const firstSig = readFileSync(`${bundle}.minisig`, 'utf8');
  await makeRelease({ dir: v11, keyFile: join(tmp, 'release.key'), output: bundle, append: ['tfw.health_deadline=20'] });
  assert.ok(readFileSync(bundle).equals(first), 'same inputs, same bundle');
  assert.is(readFileSync(`${bundle}.minisig`, 'utf8'), firstSig);
  if (spawnSync('minisign', ['-v']).status === 0) {
    assert.match(execFileSync('minisign', ['-Vm', bundle, '-p', join(tmp, 'release.key.pub')], { encoding: 'utf8' }), /verified/);
  }
});

test('installBundle writes slot b with a +3 entry of a higher generation, files byte for byte', async () => {
  esp('esp');
  const progress: number[] = [];
  const r = await installBundle(opts({ onProgress: (d) => progress.push(d) }));
  assert.is(r.slot, 'b');
  assert.is(r.generation, 2);
  const e = listEntries(join(tmp, 'esp'));
  assert.equal(e.map((x) => [x.file, x.state, x.generation]), [['tfw-a.conf', 'good', 1], ['tfw-b+3.conf', 'trial', 2]]);
  const entry = readFileSync(join(tmp, 'esp', ENTRIES_DIR, 'tfw-b+3.conf'), 'utf8');
  assert.match(entry, /^sort-key tfw$/m);
  assert.match(entry, /^linux \/b\/vmlinuz$/m);
  assert.match(entry, /^options console=ttyS0 tfw\.role=3router tfw\.health_deadline=20 tfw\.slot=b$/m);
  for (const f of ['vmlinuz', 'initramfs.cpio.zst']) assert.ok(readFileSync(join(tmp, 'esp/b', f)).equals(readFileSync(join(v11, f))), f);
  assert.is(JSON.parse(readFileSync(join(tmp, 'esp/b/manifest.json'), 'utf8')).version, '1.1.0');
  const total = r.manifest.files.reduce((n, f) => n + f.size, 0);
  assert.is(progress[progress.length - 1], total);
  // Installing again replaces slot b (still not the running one), again above slot a.
  const again = await installBundle(opts());
  assert.is(again.generation, 2);
  assert.equal(readdirSync(join(tmp, 'esp', ENTRIES_DIR)).sort(), ['tfw-a.conf', 'tfw-b+3.conf']);
});

test('refused with nothing written: flipped byte, untrusted key, truncated bundle, older version, another board, no slot', async () => {
  const d = esp('esp-refused');
  const before = snapshot(d);
  const o = (over: Partial<InstallOptions>) => opts({ esp: d, ...over });
  const flipped = join(tmp, 'flipped.tfwup');
  const b = readFileSync(bundle);
  b[b.length - 5000] ^= 1;
  writeFileSync(flipped, b);
  assert.match(await rejection(installBundle(o({ bundle: flipped }))), /^signature: signature by key [0-9A-F]{16} does not match the file$/);
  assert.match(await rejection(installBundle(o({ trusted: [parsePublicKey(formatPublicKey(generateSigningKey()))] }))), /^signature: signed by key [0-9A-F]{16}, which is not trusted/);
  assert.match(await rejection(installBundle(o({ trusted: [] }))), /trusts no release keys/);
  const cut = join(tmp, 'cut.tfwup');
  cpSync(bundle, cut);
  truncateSync(cut, 100_000);
  assert.match(await rejection(installBundle(o({ bundle: cut }))), /^signature: .*does not match the file$/);
  assert.match(await rejection(installBundle(o({ device: { ...device, version: '1.2.0' } }))), /^version 1\.1\.0 is older than the running 1\.2\.0/);
  assert.match(await rejection(installBundle(o({ device: { ...device, board: 'qemu-arm64', arch: 'arm64' } }))), /bundle is for qemu-x86_64 \(x86_64\), this device is qemu-arm64 \(arm64\)/);
  assert.match(await rejection(installBundle(o({ device: { ...device, slot: undefined } }))), /did not come from a slot/);
  assert.equal(snapshot(d), before);
  // An older version is installed when asked.
  const r = await installBundle(o({ device: { ...device, version: '1.2.0' }, allowDowngrade: true }));
  assert.is(r.slot, 'b');
});

test('a signed bundle whose archive is cut short is refused by the tar reader, not half-installed', async () => {
  // Sign a truncated archive: the signature is good, the archive is not.
  const d = esp('esp-cut');
  const before = snapshot(d);
  const cut = join(tmp, 'cut-signed.tfwup');
  cpSync(bundle, cut);
  truncateSync(cut, 150_000);
  const { signFile, parseSecretKey } = await import('../../../runtime/device/minisign.js');
  const sig = await signFile(cut, parseSecretKey(readFileSync(join(tmp, 'release.key'), 'utf8')), 'x');
  assert.match(await rejection(installBundle(opts({ esp: d, bundle: cut, signature: sig }))), /^bundle: tar: entry initramfs\.cpio\.zst needs \d+ bytes at byte \d+, the file ends at 150000 \(truncated\)$/);
  assert.equal(snapshot(d), before);
});

test('a write that fails midway removes the half-written slot and its entry', async () => {
  const d = esp('esp-fail');
  let calls = 0;
  const msg = await rejection(
    installBundle(opts({
      esp: d,
      onProgress: () => {
        if (++calls === 1) throw new Error('disk full (injected)');
      },
    })),
  );
  assert.match(msg, /^writing slot b failed: disk full \(injected\)$/);
  assert.equal(listEntries(d).map((e) => e.file), ['tfw-a.conf']);
  assert.equal(readdirSync(d).sort(), ['a', 'loader']);
});

test('versions compare as numbers, a pre-release before its release', () => {
  assert.ok(compareVersions('1.10.0', '1.9.9') > 0);
  assert.is(compareVersions('1.0', '1.0.0'), 0);
  assert.ok(compareVersions('1.0.0-rc1', '1.0.0') < 0);
  assert.ok(compareVersions('0.1.0', '0.2.0') < 0);
});

test.run();
