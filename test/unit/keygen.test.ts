/** `tfw keygen`: like wg genkey / wg pubkey, plus --json with the overlay address and /64. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { overlayAddress, overlaySubnet } from '../../runtime/overlay/address.js';
import { fromBase64, publicKeyFromPrivate } from '../../runtime/overlay/wireguard/keys.js';
import { parseIp } from '../../runtime/config/ip.js';
import { hex, tfwBin } from '../helpers.js';

const tfw = (args: string[], input?: string) => spawnSync(process.execPath, [tfwBin, ...args], { input, encoding: 'utf8' });
const hasWg = spawnSync('sh', ['-c', 'command -v wg']).status === 0;

test('tfw keygen prints a clamped base64 private key; --public derives its public key', () => {
  const g = tfw(['keygen']);
  assert.is(g.status, 0, g.stderr);
  const priv = g.stdout.trim();
  assert.match(priv, /^[A-Za-z0-9+/]{43}=$/);
  const k = fromBase64(priv);
  assert.is(k[0] & 7, 0);
  assert.is(k[31] & 0xc0, 0x40);
  const p = tfw(['keygen', '--public'], `${priv}\n`);
  assert.is(p.status, 0, p.stderr);
  assert.is(p.stdout.trim(), Buffer.from(publicKeyFromPrivate(k)).toString('base64'));
  if (hasWg) assert.is(p.stdout.trim(), execFileSync('wg', ['pubkey'], { input: `${priv}\n` }).toString().trim(), 'same as wg pubkey');
  else console.log('  (wg not installed: skipped the wg pubkey cross-check)');
});

test('tfw keygen --public accepts keys from wg genkey', () => {
  if (!hasWg) return;
  const priv = execFileSync('wg', ['genkey']).toString();
  assert.is(tfw(['keygen', '--public'], priv).stdout, execFileSync('wg', ['pubkey'], { input: priv }).toString());
});

test('tfw keygen --json prints privateKey, publicKey, the overlay /64 (address) and the node address in it (myceliumAddress)', () => {
  const j = tfw(['keygen', '--json']);
  assert.is(j.status, 0, j.stderr);
  const o = JSON.parse(j.stdout);
  assert.equal(Object.keys(o).sort(), ['address', 'myceliumAddress', 'myceliumPublicKey', 'privateKey', 'publicKey']);
  assert.is(o.publicKey, Buffer.from(publicKeyFromPrivate(fromBase64(o.privateKey))).toString('base64'));
  // One derivation (overlay/address.ts, BLAKE3 as Mycelium): the node address (the whole /128)
  // is myceliumAddress, inside the /64 that `address` has always been (ARCHITECTURE.md).
  assert.is(o.myceliumAddress, overlayAddress(fromBase64(o.publicKey)));
  assert.match(o.myceliumAddress, /^[45][0-9a-f]{2}:/);
  assert.is(o.address, overlaySubnet(fromBase64(o.publicKey)));
  assert.ok(o.address.endsWith('::/64'), o.address);
  const a = parseIp(o.myceliumAddress)!, s = parseIp(o.address.slice(0, -3))!;
  assert.is(hex(a.subarray(0, 8)), hex(s.subarray(0, 8)), 'the node address is inside its /64');
  // One X25519 key: Mycelium's hex form is the same 32 bytes.
  assert.is(Buffer.from(o.myceliumPublicKey, 'hex').toString('base64'), o.publicKey);
});

test('tfw keygen --public --json of a known key: a pinned address', () => {
  // The all-zero private key (clamped by X25519); b3sum --raw -l 16 of its public key is
  // ea7075b1b6955ed7541ee8d8efbbb9a0, popcount(0xea) = 5 is odd, so byte 0 becomes 0x05.
  const o = JSON.parse(tfw(['keygen', '--public', '--json'], `${Buffer.alloc(32).toString('base64')}\n`).stdout);
  assert.is(o.publicKey, 'L+V9o0fNYkMVKNqsX7spBzD/9oSvxM/C7ZCZX1jLO3Q=');
  assert.is(o.myceliumAddress, '570:75b1:b695:5ed7:541e:e8d8:efbb:b9a0');
  assert.is(o.address, '570:75b1:b695:5ed7::/64');
});

test('tfw keygen --public with a bad key exits 1 with one line naming stdin', () => {
  const r = tfw(['keygen', '--public'], 'not-a-key\n');
  assert.is(r.status, 1);
  assert.is(r.stdout, '');
  assert.match(r.stderr, /^tfw: keygen: stdin: expected a private key: base64 of 32 bytes/);
});

test.run();
