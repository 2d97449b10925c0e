/**
 * The device lifecycle, driven from outside as an owner would: `tfw keygen
 * --signing`, `tfw build --trust`, `tfw flash`, `tfw release`, `tfw upgrade
 * --device`, and guests booted from writable disk copies through UEFI
 * (OVMF, AAVMF) with the device API forwarded to the host.
 *
 * - x86_64: the identity is created on first boot and loaded on later boots;
 *   refusals with nothing written (a flipped byte, an untrusted key, a
 *   truncated upload, an older version); a good upgrade a -> b that is marked
 *   good with the identity kept; a release that never gets healthy
 *   (`tfw.config=/missing`, `tfw.health_deadline=20`) rolled back by
 *   systemd-boot's boot counting after three tries; a second disk from the same
 *   image gets another identity, and cutting its power while it writes a slot
 *   leaves it booting its old slot.
 * - arm64: the good upgrade and the rollback.
 * The two arches run side by side (one TCG guest per core). Needs root
 * (apt-get download, QEMU) and the tools make sysdeps installs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findEsp } from '../../images/builder/disk.js';
import { loadBoard, type Arch } from '../../images/builder/schema.js';
import { isRoot, runTfw, freeTcpPort } from '../helpers.js';
import { diskToolsMissing, Guest, mtoolsEnv } from './guest.js';

const tmp = mkdtempSync(join(tmpdir(), 'tfw-lifecycle-'));
const BOARD: Record<Arch, string> = { x86_64: 'qemu-x86_64', arm64: 'qemu-arm64' };
const READY_S = 300;

const missing = isRoot ? diskToolsMissing() : [];
const skip = !isRoot || missing.length > 0;
if (!isRoot) console.log('  tfw: test: lifecycle tests need root (apt-get download, QEMU): skipped');
else if (missing.length) console.log(`  tfw: test: lifecycle tests skipped, missing (make sysdeps installs them): ${missing.join('; ')}`);


/** `tfw ...` that must succeed; returns stdout. */
async function tfw(args: string[]): Promise<string> {
  const r = await runTfw(args);
  assert.is(r.code, 0, `tfw ${args.join(' ')}: ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

/** The loader entries on a disk's ESP (mtools), e.g. ['tfw-a.conf', 'tfw-b+0-3.conf']. */
function espEntries(disk: string): string[] {
  const esp = findEsp(disk);
  return execFileSync('mdir', ['-b', '-i', `${disk}@@${esp.offset}`, '::/loader/entries'], { encoding: 'utf8', env: mtoolsEnv })
    .split('\n').filter(Boolean).map((l) => l.replace(/^.*\//, '')).sort();
}

async function status(port: number): Promise<{ version: string; slot: string; slots: Array<{ slot: string; state: string; generation: number }>; identity: { publicKey: string } }> {
  const r = await fetch(`http://127.0.0.1:${port}/v1/status`, { signal: AbortSignal.timeout(20_000) });
  assert.is(r.status, 200);
  return r.json() as never;
}

/** Images, releases and disks for one arch: v1 (0.1.0) and v2 (0.2.0), both trusting release.key. */
interface Made {
  v1Bundle: string;
  v2Bundle: string;
  badBundle: string;
  disk: string;
}
const made = {} as Record<Arch, Made>;
/** The x86_64 disk's identity (public key), to compare with the second disk's. */
let x86Identity = '';
const figures: string[] = [];

test('keygen --signing, build --trust, release and flash for x86_64 and arm64', async () => {
  if (skip) return;
  const key = join(tmp, 'release.key');
  await tfw(['keygen', '--signing', '-o', key]);
  assert.match(readFileSync(`${key}.pub`, 'utf8'), /^untrusted comment: minisign public key [0-9A-F]{16}\n/);
  for (const arch of ['x86_64', 'arm64'] as const) {
    const b = BOARD[arch];
    const v1 = join(tmp, `${arch}-v1`);
    const v2 = join(tmp, `${arch}-v2`);
    await tfw(['build', '--board', b, '--trust', `${key}.pub`, '-o', v1, '-q']);
    await tfw(['build', '--board', b, '--trust', `${key}.pub`, '--image-version', '0.2.0', '-o', v2, '-q']);
    const m: Made = { v1Bundle: join(tmp, `${arch}-0.1.0.tfwup`), v2Bundle: join(tmp, `${arch}-0.2.0.tfwup`), badBundle: join(tmp, `${arch}-bad.tfwup`), disk: join(tmp, `${arch}.img`) };
    await tfw(['release', '--dir', v1, '--key', key, '-o', m.v1Bundle]);
    await tfw(['release', '--dir', v2, '--key', key, '-o', m.v2Bundle]);
    await tfw(['release', '--dir', v2, '--key', key, '-o', m.badBundle, '--append', 'tfw.config=/missing', '--append', 'tfw.health_deadline=20']);
    await tfw(['flash', '--dir', v1, '-o', m.disk]);
    // Debian's minisign verifies what tfw release signed.
    assert.match(execFileSync('minisign', ['-Vm', m.v2Bundle, '-p', `${key}.pub`], { encoding: 'utf8' }), /Signature and comment signature verified/);
    made[arch] = m;
  }
});

/**
 * Uploads `bundle` with the CLI, then follows the guest through the reboot:
 * returns seconds from the upload to `marked good`.
 */
async function goodUpgrade(g: Guest, arch: Arch, port: number, bundle: string, slot: string, version: string, publicKey: string): Promise<number> {
  const t0 = Date.now();
  const from = g.mark();
  const r = await runTfw(['upgrade', '--device', `http://127.0.0.1:${port}`, bundle]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`tfw: upgrade: the device wrote ${version.replace(/\./g, '\\.')} to slot ${slot} and is rebooting into it\n$`));
  await g.waitFor(new RegExp(`^tfw: slot: booted ${slot}$`), READY_S, from);
  await g.waitFor(new RegExp(`^tfw: ready 3router ${arch} ${version.replace(/\./g, '\\.')}$`), READY_S, from);
  await g.waitFor(new RegExp(`^tfw: slot: ${slot} marked good$`), 60, from);
  assert.ok(g.grep(new RegExp(`^tfw: identity: loaded ${publicKey.replace(/[+/]/g, '\\$&')}$`), from).length === 1, 'the identity survives the upgrade');
  return (Date.now() - t0) / 1000;
}

/** Uploads the bad release into the other slot and waits for the rollback to `slot`; returns seconds. */
async function rollback(g: Guest, arch: Arch, port: number, bundle: string, bad: string, slot: string, version: string): Promise<number> {
  const t0 = Date.now();
  const from = g.mark();
  const r = await runTfw(['upgrade', '--device', `http://127.0.0.1:${port}`, bundle]);
  assert.is(r.code, 0, r.stderr);
  // Three tries of the bad slot, each ended by the health deadline, then the good slot again.
  const third = await g.waitForCount(new RegExp(`^tfw: slot: ${bad} not healthy after 20 s, rebooting$`), 3, 3 * READY_S, from);
  const back = await g.waitForCount(new RegExp(`^tfw: slot: booted ${slot}$`), 1, READY_S, third);
  await g.waitFor(new RegExp(`^tfw: ready 3router ${arch} ${version.replace(/\./g, '\\.')}$`), READY_S, back);
  const seconds = (Date.now() - t0) / 1000;
  assert.is(g.grep(new RegExp(`^tfw: slot: booted ${bad}$`), from).length, 3, 'systemd-boot tried the bad slot three times');
  assert.is(g.grep(new RegExp(`^tfw: slot: ${bad} marked good`), from).length, 0);
  const s = await status(port);
  assert.is(s.slot, slot);
  assert.equal(s.slots.map((e) => [e.slot, e.state]).sort(), [[slot, 'good'], [bad, 'bad']].sort());
  return seconds;
}

/** A raw HTTP upload that sends half the bundle and closes the connection. */
function truncatedUpload(port: number, bundle: string, signature: string): Promise<void> {
  const data = readFileSync(bundle);
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write(`POST /v1/upgrade HTTP/1.1\r\nHost: device\r\nContent-Type: application/octet-stream\r\nContent-Length: ${data.length}\r\nTfw-Signature: ${Buffer.from(signature).toString('base64')}\r\n\r\n`);
      s.write(data.subarray(0, data.length >> 1), () => setTimeout(() => (s.destroy(), resolve()), 1000));
    });
    s.on('error', reject);
  });
}

async function x86Scenario(): Promise<void> {
  const arch = 'x86_64';
  const m = made[arch];
  const port = await freeTcpPort();
  const g = new Guest('lifecycle-x86_64', { board: loadBoard(BOARD[arch]), dir: '', disk: m.disk, forward: [`${port}:80`], timeout: 3000 });
  try {
    await g.waitFor(/^tfw: ready 3router x86_64 0\.1\.0$/, READY_S);
    const publicKey = (await g.waitFor(/^tfw: identity: created \S+$/, 1)).split(' ').pop()!;
    x86Identity = publicKey;
    assert.ok(g.grep(/^tfw: slot: booted a$/).length === 1);
    assert.is((await status(port)).identity.publicKey, publicKey);

    // Refusals, nothing written.
    const sig = readFileSync(`${m.v2Bundle}.minisig`, 'utf8');
    const flipped = join(tmp, 'flipped.tfwup');
    const b = readFileSync(m.v2Bundle);
    b[b.length >> 1] ^= 0x01;
    writeFileSync(flipped, b);
    let r = await runTfw(['upgrade', '--device', `http://127.0.0.1:${port}`, flipped, '--signature', `${m.v2Bundle}.minisig`]);
    assert.is(r.code, 1);
    assert.match(r.stderr, /tfw: upgrade: refused signature: signature by key [0-9A-F]{16} does not match the file\n$/);
    const other = join(tmp, 'other.key');
    await tfw(['keygen', '--signing', '-o', other]);
    const untrusted = join(tmp, 'untrusted.tfwup');
    await tfw(['release', '--dir', join(tmp, 'x86_64-v2'), '--key', other, '-o', untrusted]);
    r = await runTfw(['upgrade', '--device', `http://127.0.0.1:${port}`, untrusted]);
    assert.match(r.stderr, /tfw: upgrade: refused signature: signed by key [0-9A-F]{16}, which is not trusted \(trusted: [0-9A-F]{16}\)\n$/);
    const mark = g.mark();
    await truncatedUpload(port, m.v2Bundle, sig);
    await g.waitFor(/^tfw: upgrade: refused upload truncated: \d+ of \d+ bytes$/, 30, mark);
    const s = await status(port);
    assert.equal(s.slots.map((e) => [e.slot, e.state, e.generation]), [['a', 'good', 1]], 'no slot b entry after the refusals');
    assert.is(g.grep(/^tfw: upgrade: refused /).length, 3);

    const up = await goodUpgrade(g, arch, port, m.v2Bundle, 'b', '0.2.0', publicKey);
    figures.push(`x86_64 upgrade a -> b (upload of ${(b.length / 1048576).toFixed(1)} MiB to marked good): ${up.toFixed(1)} s`);
    r = await runTfw(['upgrade', '--device', `http://127.0.0.1:${port}`, m.v1Bundle]);
    assert.match(r.stderr, /tfw: upgrade: refused version 0\.1\.0 is older than the running 0\.2\.0 \(allow a downgrade to install it\)\n$/);

    const rb = await rollback(g, arch, port, m.badBundle, 'a', 'b', '0.2.0');
    figures.push(`x86_64 rollback (upload to ready on the old slot, 3 tries with a 20 s health deadline): ${rb.toFixed(1)} s`);
  } finally {
    await g.kill();
  }
  assert.equal(espEntries(m.disk), ['tfw-a+0-3.conf', 'tfw-b.conf']);
}

async function arm64Scenario(): Promise<void> {
  const arch = 'arm64';
  const m = made[arch];
  const port = await freeTcpPort();
  const g = new Guest('lifecycle-arm64', { board: loadBoard(BOARD[arch]), dir: '', disk: m.disk, forward: [`${port}:80`], timeout: 3000 });
  try {
    await g.waitFor(/^tfw: ready 3router arm64 0\.1\.0$/, READY_S);
    const publicKey = (await g.waitFor(/^tfw: identity: created \S+$/, 1)).split(' ').pop()!;
    const up = await goodUpgrade(g, arch, port, m.v2Bundle, 'b', '0.2.0', publicKey);
    figures.push(`arm64 upgrade a -> b: ${up.toFixed(1)} s`);
    const rb = await rollback(g, arch, port, m.badBundle, 'a', 'b', '0.2.0');
    figures.push(`arm64 rollback: ${rb.toFixed(1)} s`);
  } finally {
    await g.kill();
  }
  assert.equal(espEntries(m.disk), ['tfw-a+0-3.conf', 'tfw-b.conf']);
}

test('x86_64 (identity, refusals, upgrade, rollback) and arm64 (upgrade, rollback) guests, side by side', async () => {
  if (skip) return;
  const [x, a] = await Promise.allSettled([x86Scenario(), arm64Scenario()]);
  for (const f of figures) console.log(`  ${f}`);
  if (x.status === 'rejected') throw x.reason;
  if (a.status === 'rejected') throw a.reason;
});

test('the upgraded disk keeps its identity and slot over a power cycle (tfw boot --disk)', async () => {
  if (skip || !made.x86_64) return;
  const r = await runTfw(['boot', '--disk', made.x86_64.disk, '--exit-after-ready', '--timeout', String(READY_S), '--json']);
  assert.is(r.code, 0, r.stderr.slice(-3000));
  assert.match(r.stderr, /tfw: slot: booted b\r?\n/);
  assert.match(r.stderr, /tfw: identity: loaded \S+\r?\n/);
  assert.not.match(r.stderr, /tfw: identity: created/);
  assert.match(JSON.parse(r.stdout).readyLine, /^tfw: ready 3router x86_64 0\.2\.0$/);
});

test('a second disk from the same image gets another identity; a power cut while writing a slot boots the old slot', async () => {
  if (skip || !made.x86_64) return;
  const m = made.x86_64;
  const disk = join(tmp, 'x86_64-second.img');
  await tfw(['flash', '--dir', join(tmp, 'x86_64-v1'), '-o', disk]);
  const port = await freeTcpPort();
  let g = new Guest('lifecycle-powercut', { board: loadBoard('qemu-x86_64'), dir: '', disk, forward: [`${port}:80`], timeout: 1200 });
  let key: string;
  try {
    await g.waitFor(/^tfw: ready 3router x86_64 0\.1\.0$/, READY_S);
    key = (await g.waitFor(/^tfw: identity: created \S+$/, 1)).split(' ').pop()!;
    if (x86Identity) assert.is.not(key, x86Identity, 'two disks flashed from one image have different identities');
    void runTfw(['upgrade', '--device', `http://127.0.0.1:${port}`, m.v2Bundle]);
    await g.waitFor(/^tfw: upgrade: writing slot: [1-9]0%$/, 120);
  } finally {
    await g.kill(); // the power cut
  }
  assert.not.ok(espEntries(disk).some((e) => e.startsWith('tfw-b')), `no bootable slot b: ${espEntries(disk)}`);
  g = new Guest('lifecycle-powercut-2', { board: loadBoard('qemu-x86_64'), dir: '', disk, exitAfterReady: true, timeout: READY_S });
  const r = await g.done;
  assert.ok(r.ok, `${r.cause}\n${r.tail.join('\n')}`);
  assert.ok(g.grep(/^tfw: slot: booted a$/).length === 1);
  assert.ok(g.grep(new RegExp(`^tfw: identity: loaded ${key!.replace(/[+/]/g, '\\$&')}$`)).length === 1);
  assert.match(r.readyLine!, /^tfw: ready 3router x86_64 0\.1\.0$/);
});

test.run();
