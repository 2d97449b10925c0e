/**
 * minisign format (runtime/device/minisign.ts) against Debian's minisign 0.11:
 * our signatures verify with `minisign -Vm`, minisign's own signatures (with a
 * key from `minisign -G -W`, and with our key file) verify with ours, and every
 * kind of tampering is refused with a reason. Without the minisign binary the
 * cross-checks are reported and skipped (make sysdeps installs it).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  formatPublicKey, formatSecretKey, generateSigningKey, keyIdHex, parsePublicKey, parseSecretKey, parseSignature, signFile, verifyFile,
} from '../../../runtime/device/minisign.js';
import { prng, rejection } from '../../helpers.js';


const dir = mkdtempSync(join(tmpdir(), 'tfw-minisign-'));
const haveMinisign = spawnSync('minisign', ['-v']).status === 0;
if (!haveMinisign) console.log('  tfw: test: minisign not installed (make sysdeps): cross-checks skipped');
const file = join(dir, 'data.bin');
writeFileSync(file, prng(7).bytes(300_001));
const key = generateSigningKey();
writeFileSync(join(dir, 'k.key'), formatSecretKey(key));
writeFileSync(join(dir, 'k.pub'), formatPublicKey(key));

test('key files round-trip, the key id prints as minisign prints it', () => {
  const s = parseSecretKey(readFileSync(join(dir, 'k.key'), 'utf8'));
  assert.equal(Buffer.from(s.seed), Buffer.from(key.seed));
  const p = parsePublicKey(readFileSync(join(dir, 'k.pub'), 'utf8'));
  assert.equal(Buffer.from(p.publicKey), Buffer.from(key.publicKey));
  assert.match(readFileSync(join(dir, 'k.pub'), 'utf8'), new RegExp(`^untrusted comment: minisign public key ${keyIdHex(key.keyId)}\n`));
  assert.is(keyIdHex(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 0xab])), 'AB07060504030201');
});

test('a corrupt secret key is refused by its checksum; a password-protected one by name', () => {
  const b = Buffer.from(readFileSync(join(dir, 'k.key'), 'utf8').split('\n')[1], 'base64');
  b[100] ^= 1;
  assert.throws(() => parseSecretKey(`untrusted comment: x\n${b.toString('base64')}\n`), /checksum mismatch/);
  b.fill(0, 126, 158); // minisign -W leaves the checksum zero: the seed/public-key check still catches the flip
  assert.throws(() => parseSecretKey(`untrusted comment: x\n${b.toString('base64')}\n`), /public half does not match/);
  b[100] ^= 1;
  b.write('Sc', 2, 'latin1');
  assert.throws(() => parseSecretKey(`untrusted comment: x\n${b.toString('base64')}\n`), /password-protected/);
  assert.throws(() => parsePublicKey('untrusted comment: x\nnot base64!\n'), /public key: expected a minisign public key/);
});

test('our signature verifies with minisign -Vm and with ours', async () => {
  const sig = await signFile(file, key, 'timestamp:1700000000\tfile:data.bin\thashed');
  writeFileSync(`${file}.minisig`, sig);
  const r = await verifyFile(file, sig, [parsePublicKey(formatPublicKey(key))]);
  assert.is(r.trustedComment, 'timestamp:1700000000\tfile:data.bin\thashed');
  if (!haveMinisign) return;
  const out = execFileSync('minisign', ['-Vm', file, '-p', join(dir, 'k.pub')], { encoding: 'utf8' });
  assert.match(out, /Signature and comment signature verified/);
});

test("minisign's signatures verify with ours: its own key (-G -W) and our key file", async () => {
  if (!haveMinisign) return;
  execFileSync('minisign', ['-G', '-W', '-f', '-p', join(dir, 'm.pub'), '-s', join(dir, 'm.key')], { stdio: 'ignore' });
  execFileSync('minisign', ['-S', '-s', join(dir, 'm.key'), '-m', file, '-x', join(dir, 'm.sig'), '-t', 'made by minisign'], { stdio: 'ignore' });
  const r = await verifyFile(file, readFileSync(join(dir, 'm.sig'), 'utf8'), [parsePublicKey(readFileSync(join(dir, 'm.pub'), 'utf8'))]);
  assert.is(r.trustedComment, 'made by minisign');
  assert.is(parseSecretKey(readFileSync(join(dir, 'm.key'), 'utf8')).keyId.length, 8);
  // Our key file is unencrypted (KDF "\0\0"): minisign asks for no password and
  // never reads stdin, so stdin is closed rather than fed (feeding it raced
  // minisign's exit: spawnSync EPIPE, CI of 2026-12-05).
  execFileSync('minisign', ['-S', '-s', join(dir, 'k.key'), '-m', file, '-x', join(dir, 'k.sig')], { stdio: 'ignore' });
  await verifyFile(file, readFileSync(join(dir, 'k.sig'), 'utf8'), [parsePublicKey(formatPublicKey(key))]);
  // Legacy (non-prehashed) signatures: minisign -l.
  execFileSync('minisign', ['-S', '-l', '-s', join(dir, 'm.key'), '-m', file, '-x', join(dir, 'l.sig')], { stdio: 'ignore' });
  assert.is(parseSignature(readFileSync(join(dir, 'l.sig'), 'utf8')).algorithm, 'Ed');
  await verifyFile(file, readFileSync(join(dir, 'l.sig'), 'utf8'), [parsePublicKey(readFileSync(join(dir, 'm.pub'), 'utf8'))]);
});

test('refused: a flipped byte in the file, an untrusted key, an edited trusted comment, a malformed file', async () => {
  const sig = readFileSync(`${file}.minisig`, 'utf8');
  const trusted = [parsePublicKey(formatPublicKey(key))];
  const flipped = join(dir, 'flipped.bin');
  const b = readFileSync(file);
  b[12345] ^= 0x40;
  writeFileSync(flipped, b);
  assert.match(await rejection(verifyFile(flipped, sig, trusted)), /does not match the file/);
  const other = generateSigningKey();
  assert.match(await rejection(verifyFile(file, sig, [parsePublicKey(formatPublicKey(other))])), new RegExp(`signed by key ${keyIdHex(key.keyId)}, which is not trusted`));
  assert.match(await rejection(verifyFile(file, sig, [])), /no trusted keys/);
  assert.match(await rejection(verifyFile(file, sig.replace('hashed', 'hashed evil'), trusted)), /trusted comment does not match/);
  assert.match(await rejection(verifyFile(file, sig.split('\n').slice(0, 2).join('\n'), trusted)), /line 3/);
  if (haveMinisign) assert.is.not(spawnSync('minisign', ['-Vm', flipped, '-x', `${file}.minisig`, '-p', join(dir, 'k.pub')]).status, 0);
});

test.run();
