/**
 * Boot slot entries (runtime/device/slots.ts) as systemd-boot's Automatic Boot
 * Assessment names them, marking a slot good as systemd-bless-boot does, and
 * the node identity on /data (runtime/device/identity.ts): created once with
 * mode 0600, loaded after, a config key winning, a damaged key never replaced.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IDENTITY_FILE, loadIdentity } from '../../../runtime/device/identity.js';
import { bootedSlot, ENTRIES_DIR, entryFileName, listEntries, markGood, parseEntryName, slotEntry } from '../../../runtime/device/slots.js';
import { keygen } from '../../../host-tools/commands/keygen.js';

const tmp = mkdtempSync(join(tmpdir(), 'tfw-slots-'));

test('entry names carry the boot counter as systemd-boot writes it', () => {
  assert.is(entryFileName('b', 3), 'tfw-b+3.conf');
  assert.is(entryFileName('b', 1, 2), 'tfw-b+1-2.conf');
  assert.is(entryFileName('a'), 'tfw-a.conf');
  assert.equal(parseEntryName('tfw-b+2-1.conf'), { slot: 'b', file: 'tfw-b+2-1.conf', triesLeft: 2, triesDone: 1, state: 'trial' });
  assert.equal(parseEntryName('tfw-b+0-3.conf')?.state, 'bad');
  assert.equal(parseEntryName('tfw-a.conf')?.state, 'good');
  assert.is(parseEntryName('tfw-c.conf'), undefined);
  assert.is(parseEntryName('tfw-b+3.conf.tmp'), undefined);
  assert.is(bootedSlot('console=ttyS0 tfw.slot=b quiet'), 'b');
  assert.is(bootedSlot('tfw.slot=bb'), undefined);
});

test('markGood renames the counting entry of the booted slot and keeps the other', () => {
  const esp = join(tmp, 'esp');
  mkdirSync(join(esp, ENTRIES_DIR), { recursive: true });
  writeFileSync(join(esp, ENTRIES_DIR, 'tfw-a.conf'), slotEntry({ slot: 'a', generation: 1, title: 't', cmdline: 'x' }));
  writeFileSync(join(esp, ENTRIES_DIR, 'tfw-b+1-2.conf'), slotEntry({ slot: 'b', generation: 2, title: 't', cmdline: 'x' }));
  assert.equal(listEntries(esp).map((e) => [e.slot, e.state, e.generation]), [['a', 'good', 1], ['b', 'trial', 2]]);
  assert.is(markGood(esp, 'a'), undefined);
  assert.is(markGood(esp, 'b'), 'tfw-b+1-2.conf');
  assert.equal(readdirSync(join(esp, ENTRIES_DIR)).sort(), ['tfw-a.conf', 'tfw-b.conf']);
  assert.match(readFileSync(join(esp, ENTRIES_DIR, 'tfw-b.conf'), 'utf8'), /^version 2$/m);
});

test('identity: created with mode 0600, loaded on the next boot, the config key wins, ephemeral without /data', () => {
  const data = join(tmp, 'data');
  mkdirSync(data);
  const a = loadIdentity({ dataDir: data });
  assert.is(a.source, 'created');
  assert.is(statSync(join(data, IDENTITY_FILE)).mode & 0o777, 0o600);
  assert.is(a.publicKey, keygen(a.privateKey).publicKey);
  const b = loadIdentity({ dataDir: data });
  assert.equal([b.source, b.privateKey], ['loaded', a.privateKey]);
  const cfg = keygen();
  assert.equal(loadIdentity({ dataDir: data, configKey: cfg.privateKey }), { privateKey: cfg.privateKey, publicKey: cfg.publicKey, source: 'config' });
  const other = loadIdentity({ dataDir: join(tmp, 'data2') });
  assert.is.not(other.privateKey, a.privateKey);
  const e = loadIdentity({});
  assert.is(e.source, 'ephemeral');
  chmodSync(join(data, IDENTITY_FILE), 0o644);
  loadIdentity({ dataDir: data });
  assert.is(statSync(join(data, IDENTITY_FILE)).mode & 0o777, 0o600);
});

test('a damaged stored key is refused, never replaced', () => {
  const data = join(tmp, 'data3');
  mkdirSync(join(data, 'tfw/identity'), { recursive: true });
  writeFileSync(join(data, IDENTITY_FILE), 'garbage\n');
  assert.throws(() => loadIdentity({ dataDir: data }), /node\.key: expected a base64 private key of 32 bytes; refusing to replace it/);
  assert.is(readFileSync(join(data, IDENTITY_FILE), 'utf8'), 'garbage\n');
});

test.run();
