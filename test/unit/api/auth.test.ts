/**
 * The admin password set at build time (runtime/api/auth.ts `imageFile`,
 * what `tfw build --admin-password-file` writes to /etc/tfw/admin.json):
 * it signs in while the data partition holds no password, a password set on
 * the device replaces it (and wins at the next start), and neither file
 * holds the password itself. buildImage refuses a missing or short password
 * file before it fetches or builds anything.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ADMIN_FILE, AdminAuth, AuthError, hashPassword } from '../../../runtime/api/auth.js';
import { buildImage } from '../../../images/builder/image.js';
import { makeProgress } from '../../../images/builder/progress.js';
import { TfwError } from '../../../runtime/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'tfw-auth-'));
const imageFile = join(dir, 'image-admin.json');
const data = join(dir, 'data');
writeFileSync(imageFile, `${JSON.stringify(hashPassword('set at build time'))}\n`);

test('a build-time password signs in until the device sets its own, which then wins', () => {
  const fresh = new AdminAuth({ dataDir: data });
  assert.not.ok(fresh.isSet, 'no image file: set-up mode');
  const a = new AdminAuth({ dataDir: data, imageFile });
  assert.ok(a.isSet, 'not in set-up mode');
  assert.ok(a.login('127.0.0.1', 'set at build time').token);
  assert.throws(() => a.login('127.0.0.1', 'another password'), (e: Error) => e instanceof AuthError && e.status === 401);
  assert.not.match(readFileSync(imageFile, 'utf8'), 'set at build time');
  a.setPassword('set on the device');
  assert.not.match(readFileSync(join(data, ADMIN_FILE), 'utf8'), 'set on the device');
  const next = new AdminAuth({ dataDir: data, imageFile }); // the next boot
  assert.ok(next.verify('set on the device'));
  assert.not.ok(next.verify('set at build time'));
});

test('hashPassword: a fresh salt each time; a short password refused', () => {
  const [x, y] = [hashPassword('same password'), hashPassword('same password')];
  assert.is.not(x.scrypt.salt, y.scrypt.salt);
  assert.is.not(x.scrypt.hash, y.scrypt.hash);
  assert.throws(() => hashPassword('short'), /password: expected a string of at least 8 characters/);
});

test('buildImage: a missing or short --admin-password-file is refused up front', () => {
  const short = join(dir, 'short.txt');
  writeFileSync(short, 'short\nsecond line ignored\n');
  for (const [file, re] of [[join(dir, 'nope.txt'), /--admin-password-file: .*nope\.txt does not exist/], [short, /--admin-password-file: .*short\.txt: password: expected a string of at least 8/]] as const) {
    try {
      buildImage({ board: 'qemu-x86_64', role: '3router', adminPasswordFile: file, outDir: join(dir, 'out'), progress: makeProgress({ quiet: true }) });
      assert.unreachable('built');
    } catch (e) {
      assert.instance(e, TfwError);
      assert.match((e as Error).message, re);
    }
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
