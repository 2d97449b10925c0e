/**
 * Debian's redis-cli against the shard backend (issue 16 "Tests"): namespaces
 * with passwords, SET/GET in user and sequential mode, SCAN with a cursor,
 * DEL/EXISTS, and 0-db's 8 MiB value limit, over a real TCP connection.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startShardServer, type ShardServer } from '../../../runtime/storage/index.js';

const hasRedisCli = spawnSync('sh', ['-c', 'command -v redis-cli']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'tfw-rediscli-'));
let srv: ShardServer;
let port = 0;

/**
 * Runs redis-cli with `args`, feeding `input` on stdin (the server runs in this
 * process, so never spawnSync); resolves with stdout. Killed after 10 s.
 */
function redisCli(args: string[], input: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const t = setTimeout(() => c.kill('SIGKILL'), 10000);
    c.stdout.on('data', (d: Buffer) => (out += d));
    c.stderr.on('data', (d: Buffer) => (err += d));
    c.on('exit', (code) => {
      clearTimeout(t);
      if (code === 0) resolve(out);
      else reject(new Error(`redis-cli exited ${code}: ${err}`));
    });
    c.stdin.end(input);
  });
}

/** Runs commands (one per line) in one redis-cli session; returns its output lines (--no-raw: quoted, typed). */
async function cli(lines: string[]): Promise<string[]> {
  return (await redisCli(['--no-raw'], `${lines.join('\n')}\n`)).split('\n').filter((l) => l !== '');
}

test.before(async () => {
  srv = await startShardServer({ listen: '127.0.0.1:0', dataDir: dir, log: () => {}, adminPassword: 'adm1n' });
  port = Number(srv.address.split(':')[1]);
});

test('PING, and SET/GET/EXISTS/DEL in the default (user-key) namespace', async () => {
  if (!hasRedisCli) return console.log('  (redis-cli not installed: skipped; make sysdeps installs redis-tools)');
  assert.equal(await cli(['PING', 'SET greeting "hello world"', 'GET greeting', 'EXISTS greeting', 'DEL greeting', 'EXISTS greeting', 'GET greeting', 'DEL greeting']), [
    'PONG', '"greeting"', '"hello world"', '(integer) 1', 'OK', '(integer) 0', '(nil)', '(error) Key not found',
  ]);
});

test('namespaces: admin-only NSNEW, password-protected SELECT, read-only public access, NSINFO, NSLIST', async () => {
  if (!hasRedisCli) return;
  assert.equal(await cli(['NSNEW shards']), ['(error) Permission denied']);
  assert.equal(await cli(['AUTH wrong', 'AUTH adm1n', 'NSNEW shards', 'NSSET shards password s3cret', 'NSNEW shards']), ['(error) Access denied', 'OK', 'OK', 'OK', '(error) Namespace already exists']);
  assert.equal(await cli(['SELECT shards wrong', 'SELECT shards s3cret', 'SET k v', 'GET k']), ['(error) Access denied', 'OK', '"k"', '"v"']);
  // public + password: readable without it, not writable
  assert.equal(await cli(['SELECT shards', 'GET k', 'SET k w']), ['OK', '"v"', '(error) Namespace is in read-only mode']);
  assert.equal(await cli(['AUTH adm1n', 'NSSET shards public 0']), ['OK', 'OK']);
  assert.equal(await cli(['SELECT shards']), ['(error) Access denied']);
  const info = await redisCli(['NSINFO', 'shards'], '');
  assert.match(info, /name: shards\nentries: 1\npublic: no\npassword: yes\n/);
  assert.match(info, /mode: userkey/);
  assert.equal(await cli(['NSLIST']), ['1) "default"', '2) "shards"']);
});

test('sequential mode: the server assigns 4-byte little-endian ids; only updates of existing ids are allowed', async () => {
  if (!hasRedisCli) return;
  assert.equal(await cli(['AUTH adm1n', 'NSNEW seq', 'NSSET seq mode seq', 'SELECT seq', 'SET "" first', 'SET "" second', 'GET "\\x01\\x00\\x00\\x00"', 'SET "\\x00\\x00\\x00\\x00" updated', 'GET "\\x00\\x00\\x00\\x00"', 'SET "\\x09\\x00\\x00\\x00" nope', 'SET mykey x']), [
    'OK', 'OK', 'OK', 'OK', '"\\x00\\x00\\x00\\x00"', '"\\x01\\x00\\x00\\x00"', '"second"', '"\\x00\\x00\\x00\\x00"', '"updated"',
    '(error) Invalid key, only update authorized', '(error) Invalid key, only update authorized',
  ]);
});

test('SCAN walks every key with a cursor until "No more data"; RSCAN walks back', async () => {
  if (!hasRedisCli) return;
  const sets = Array.from({ length: 70 }, (_, i) => `SET key${String(i).padStart(2, '0')} v${i}`);
  assert.is((await cli(['AUTH adm1n', 'NSNEW scan', 'SELECT scan', ...sets])).length, 73);
  const seen: string[] = [];
  let cursor = '';
  for (let calls = 0; calls < 10; calls++) {
    const r = (await cli(['SELECT scan', `SCAN ${cursor}`]));
    if (r[1] === '(error) No more data') break;
    // 1) "<cursor>"  2) 1) 1) "key00"  2) (integer) 2  3) (integer) <time> ...
    cursor = r[1].replace(/^1\) /, '');
    for (const l of r) {
      const m = /"(key\d\d)"/.exec(l);
      if (m) seen.push(m[1]);
    }
  }
  assert.equal(seen, Array.from({ length: 70 }, (_, i) => `key${String(i).padStart(2, '0')}`));
  const back = (await cli(['SELECT scan', 'RSCAN'])).join('\n');
  assert.match(back, /"key69"/);
  assert.not.match(back, /"key00"/);
});

test("values over 0-db's 8 MiB limit are refused; 8 MiB exactly is stored", async () => {
  if (!hasRedisCli) return;
  const big = async (n: number) => (await redisCli(['-x', 'SET', `big${n}`], Buffer.alloc(n, 0x61))).trim();
  assert.is(await big(8 * 1024 * 1024), `big${8 * 1024 * 1024}`);
  assert.match(await big(8 * 1024 * 1024 + 1), /Payload too large/);
  assert.is((await cli(['STRLEN x'])).join(), '(error) Command not supported: STRLEN');
});

test.after(async () => {
  await srv?.close();
  rmSync(dir, { recursive: true, force: true });
});
test.run();
