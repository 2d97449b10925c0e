/** `tfw keygen`: like wg genkey / wg pubkey, plus --json with the overlay /64. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { overlaySubnet } from '../../runtime/overlay/address.js';
import { myceliumAddress } from '../../runtime/overlay/mycelium/address.js';
import { fromBase64, publicKeyFromPrivate } from '../../runtime/overlay/wireguard/keys.js';
import { tfwBin } from '../helpers.js';

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

test('tfw keygen --json prints privateKey, publicKey and the overlay /64', () => {
  const j = tfw(['keygen', '--json']);
  assert.is(j.status, 0, j.stderr);
  const o = JSON.parse(j.stdout);
  assert.equal(Object.keys(o).sort(), ['address', 'myceliumAddress', 'myceliumPublicKey', 'privateKey', 'publicKey']);
  assert.is(o.publicKey, Buffer.from(publicKeyFromPrivate(fromBase64(o.privateKey))).toString('base64'));
  assert.is(o.address, overlaySubnet(fromBase64(o.publicKey)));
  assert.match(o.address, /^[45][0-9a-f]{2}:/);
  // One X25519 key: Mycelium's hex form is the same 32 bytes, its address BLAKE3-derived (address.test.ts).
  assert.is(Buffer.from(o.myceliumPublicKey, 'hex').toString('base64'), o.publicKey);
  assert.is(o.myceliumAddress, myceliumAddress(fromBase64(o.publicKey)));
  assert.match(o.myceliumAddress, /^[45][0-9a-f]{2}:/);
});

test('tfw keygen --public with a bad key exits 1 with one line naming stdin', () => {
  const r = tfw(['keygen', '--public'], 'not-a-key\n');
  assert.is(r.status, 1);
  assert.is(r.stdout, '');
  assert.match(r.stderr, /^tfw: keygen: stdin: expected a private key: base64 of 32 bytes/);
});

test.run();
