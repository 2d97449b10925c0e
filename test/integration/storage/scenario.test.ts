/**
 * Issue 16's scenarios: six backends as `tfw store serve` processes on
 * loopback, 200 objects from 0 B to 32 MiB with (4,2); two backends SIGKILLed
 * and every object still reads back byte for byte; flipped bits in stored
 * shards detected and never returned; `repair` restoring full redundancy;
 * interrupted puts (an injected fault, and a CLI put SIGKILLed midway) leaving
 * nothing visible; a wrong secret refused clearly; a killed backend restarted
 * over a torn tail. Then (10,4) over fourteen in-process backends losing four.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import {
  check, DataLostError, NotFoundError, ObjectStore, repair, startShardServer, validateStoreConfig, WrongSecretError, ZdbClient, type StoreConfig,
} from '../../../runtime/storage/index.js';
import { metaRecordKey } from '../../../runtime/storage/metadata.js';
import { shardKey } from '../../../runtime/storage/object-format.js';
import { runTfw, tfwBin } from '../../helpers.js';

const MiB = 1 << 20;
const dir = mkdtempSync(join(tmpdir(), 'tfw-store-'));
const secret = randomBytes(32).toString('base64');

/** Deterministic bytes: AES-128-CTR keystream of the seed (fast for 32 MiB), or compressible text. */
function content(seed: number, size: number): Buffer {
  if (seed % 3 === 0) {
    const line = Buffer.from(`object ${seed}: the quick brown fox jumps over the lazy dog ${'.'.repeat(seed % 40)}\n`);
    return Buffer.alloc(size, line);
  }
  const key = Buffer.alloc(16);
  key.writeUInt32LE(seed);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Backend {
  proc: ChildProcess;
  address: string;
  data: string;
  stderr: string;
}

/** Starts `tfw store serve`; resolves with the address it prints. */
function serve(data: string, listen = '127.0.0.1:0'): Promise<Backend> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [tfwBin, 'store', 'serve', '--listen', listen, '--data', data], { stdio: ['ignore', 'pipe', 'pipe'] });
    const b: Backend = { proc, address: '', data, stderr: '' };
    const t = setTimeout(() => reject(new Error(`tfw store serve did not start in 60 s: ${b.stderr}`)), 60000);
    proc.stderr!.on('data', (d: Buffer) => (b.stderr += d));
    proc.stdout!.on('data', (d: Buffer) => {
      if (b.address) return;
      b.address = d.toString().trim().split('\n')[0];
      clearTimeout(t);
      resolve(b);
    });
    proc.on('exit', (code) => !b.address && reject(new Error(`tfw store serve exited ${code}: ${b.stderr}`)));
  });
}

const exited = (p: ChildProcess) => new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r())));

let backends: Backend[] = [];
let config: StoreConfig;
const expected = new Map<string, { sha: string; size: number }>();
const killed: number[] = [];
const configFile = join(dir, 'store.yaml');
const wrongFile = join(dir, 'wrong.yaml');

const open = () => new ObjectStore(config);

test.before(async () => {
  backends = await Promise.all(Array.from({ length: 6 }, (_, i) => serve(join(dir, `b${i}`))));
  config = validateStoreConfig({ secret, dataShards: 4, parityShards: 2, backends: backends.map((b) => ({ address: b.address, namespace: 'default' })) });
  const yaml = (s: string) => `secret: ${s}\ndataShards: 4\nparityShards: 2\nbackends:\n${backends.map((b) => `  - { address: "${b.address}", namespace: default }\n`).join('')}`;
  writeFileSync(configFile, yaml(secret));
  writeFileSync(wrongFile, yaml(randomBytes(32).toString('base64')));
});

test('200 objects from 0 B to 32 MiB round-trip with (4,2), each chunk on six distinct backends', async () => {
  const sizes = [32 * MiB, 17 * MiB + 3, 8 * MiB, 4 * MiB, 4 * MiB - 1, 4 * MiB + 1, MiB, 0, 1];
  for (let i = sizes.length; i < 200; i++) sizes.push(i % 10 === 0 ? 100_000 + ((i * 7919) % (900 * 1024)) : (i * 104729) % 65536);
  const store = open();
  for (let i = 0; i < sizes.length; i += 8) {
    await Promise.all(sizes.slice(i, i + 8).map(async (size, j) => {
      const name = `obj/${String(i + j).padStart(3, '0')}`;
      const data = content(i + j, size);
      expected.set(name, { sha: sha(data), size });
      const info = await store.put(name, data);
      assert.is(info.size, size);
    }));
  }
  const list = await store.list();
  assert.is(list.length, 200);
  for (const o of list) assert.is(o.size, expected.get(o.name)!.size, o.name);
  const big = (await store.readMeta('obj/000'))!.meta;
  assert.is(big.chunks.length, 8);
  for (const ch of big.chunks) assert.is(new Set(ch.s.map(([bi]) => big.backends[bi])).size, 6, 'six shards on six backends');
  for (const name of ['obj/000', 'obj/003', 'obj/007', 'obj/150']) assert.is(sha(await store.get(name)), expected.get(name)!.sha, name);
  store.close();
});

test('tfw store CLI: put FILE --name, get -o, ls --json, status --json', async () => {
  const file = join(dir, 'cli.bin');
  const data = content(1001, 5 * MiB + 77);
  writeFileSync(file, data);
  const put = await runTfw(['store', '--config', configFile, 'put', file, '--name', 'cli/file']);
  assert.is(put.code, 0, put.stderr);
  assert.match(put.stdout, /stored cli\/file: 5\.0 MiB in 2 chunks, \(4,2\)/);
  expected.set('cli/file', { sha: sha(data), size: data.length });
  const out = join(dir, 'cli.out');
  const get = await runTfw(['store', '--config', configFile, 'get', 'cli/file', '-o', out]);
  assert.is(get.code, 0, get.stderr);
  assert.is(sha(readFileSync(out)), sha(data));
  const ls = await runTfw(['store', '--config', configFile, '--json', 'ls']);
  assert.is(JSON.parse(ls.stdout).length, 201);
  const st = await runTfw(['store', '--config', configFile, '--json', 'status']);
  const s = JSON.parse(st.stdout);
  assert.is(s.backends.filter((b: { up: boolean }) => b.up).length, 6);
  assert.is(s.objects, 201);
  const missing = await runTfw(['store', '--config', configFile, 'get', 'no/such', '-o', out]);
  assert.is(missing.code, 1);
  assert.is(missing.stderr, 'tfw: store: no object named "no/such"\n');
});

test('SIGKILL two backends: every object still reads back byte for byte', async () => {
  for (const i of [1, 4]) {
    backends[i].proc.kill('SIGKILL');
    await exited(backends[i].proc);
    killed.push(i);
  }
  const store = open();
  for (const [name, e] of expected) assert.is(sha(await store.get(name)), e.sha, name);
  store.close();
});

test('check reports degraded objects; repair restores full redundancy onto the other backends', async () => {
  const store = open();
  const before = await check(store);
  assert.is(before.healthy, false);
  assert.is(before.objects.filter((o) => o.state === 'lost').length, 0);
  assert.ok(before.objects.filter((o) => o.state === 'degraded').length > 150);
  assert.equal(before.backends.filter((b) => !b.up).map((b) => b.label).sort(), killed.map((i) => `${backends[i].address}/default`).sort());
  const r = await repair(store);
  assert.is(r.lost.length, 0);
  assert.ok(r.shardsRewritten > 0);
  store.close();
  const again = open();
  const after = await check(again);
  assert.ok(after.healthy, JSON.stringify(after.objects.find((o) => o.state !== 'healthy')));
  for (const o of after.objects) assert.is(o.shards.unreachable + o.shards.missing + o.shards.corrupt, 0, o.name);
  for (const name of ['obj/000', 'obj/001', 'cli/file']) assert.is(sha(await again.get(name)), expected.get(name)!.sha);
  again.close();
});

test('a killed backend restarts over a torn tail: the half record is cut, its records serve, its stale shards are orphans repair removes', async () => {
  const i = killed[0];
  const log = join(backends[i].data, 'default', 'data.log');
  const size = readFileSync(log).length;
  appendFileSync(log, Buffer.concat([Buffer.from('TFWR'), randomBytes(40)])); // a header and a few bytes of a record
  backends[i] = await serve(backends[i].data, backends[i].address);
  assert.match(backends[i].stderr, /namespace default: recovered \d+ records, cut 44 torn bytes/);
  assert.is(readFileSync(log).length, size);
  const client = new ZdbClient({ address: backends[i].address });
  await client.set(Buffer.from('probe'), Buffer.from('ok'));
  assert.equal(await client.get(Buffer.from('probe')), Buffer.from('ok'));
  await client.del(Buffer.from('probe'));
  client.close();
  const store = open();
  const c = await check(store);
  assert.ok(c.orphans > 0, 'shards rebuilt elsewhere are orphans on the restarted backend');
  const r = await repair(store, { orphanAgeSeconds: 0 });
  assert.is(r.orphansRemoved, c.orphans);
  assert.is((await check(store)).orphans, 0);
  store.close();
});

test('a flipped bit in a stored shard (on disk, or rewritten by a backend) is detected, never returned, and repaired', async () => {
  const store = open();
  const meta = (await store.readMeta('obj/000'))!.meta;
  // shard 0 of chunk 0: flip a bit in the backend's log file, under its running server
  const label0 = meta.backends[meta.chunks[0].s[0][0]];
  const b0 = backends.find((b) => `${b.address}/default` === label0)!;
  const file = join(b0.data, 'default', 'data.log');
  const bytes = readFileSync(file);
  const at = bytes.indexOf(shardKey(meta.id, 0, 0));
  assert.ok(at > 0);
  bytes[at + 22 + 1000] ^= 0x04;
  writeFileSync(file, bytes);
  // shard 1 of chunk 0: the backend stores a flipped copy with a valid record checksum; only the shard checksum can tell
  const label1 = meta.backends[meta.chunks[0].s[1][0]];
  const c1 = new ZdbClient({ address: label1.replace(/\/default$/, '') });
  const good = (await c1.get(shardKey(meta.id, 0, 1)))!;
  const bad = Buffer.from(good);
  bad[7] ^= 0x80;
  await c1.set(shardKey(meta.id, 0, 1), bad);
  c1.close();
  assert.is(sha(await store.get('obj/000')), expected.get('obj/000')!.sha);
  const c = await check(store);
  const o = c.objects.find((x) => x.name === 'obj/000')!;
  assert.is(o.state, 'degraded');
  assert.is(o.shards.corrupt, 2);
  await repair(store);
  const after = (await check(store)).objects.find((x) => x.name === 'obj/000')!;
  assert.is(after.state, 'healthy');
  assert.is(sha(await store.get('obj/000')), expected.get('obj/000')!.sha);
  store.close();
});

test('a put that fails midway leaves no object and no shards; a failed replace keeps the old object', async () => {
  const store = open();
  const fault = (c: number, s: number) => {
    if (c === 2 && s === 3) throw new Error('injected fault at chunk 2 shard 3');
  };
  await store.put('half/new', content(7, 20 * MiB), { beforeShardWrite: fault }).then(() => assert.unreachable('put succeeded'), (e: Error) => assert.match(e.message, /injected fault/));
  assert.not.ok((await store.list()).some((o) => o.name === 'half/new'));
  await store.get('half/new').then(() => assert.unreachable(), (e: Error) => assert.instance(e, NotFoundError));
  await store.put('obj/003', content(9, 10 * MiB), { beforeShardWrite: fault }).catch(() => {});
  assert.is(sha(await store.get('obj/003')), expected.get('obj/003')!.sha);
  const c = await check(store);
  assert.is(c.orphans, 0);
  assert.ok(c.healthy);
  store.close();
});

test('a CLI put SIGKILLed midway: nothing visible; its orphan shards are found by check and removed by repair', async () => {
  const file = join(dir, 'crash.bin');
  writeFileSync(file, content(11, 12 * MiB));
  const r = await new Promise<{ signal: string | null }>((resolve) => {
    const c = spawn(process.execPath, [tfwBin, 'store', '--config', configFile, 'put', file, '--name', 'crash/me'], { stdio: 'ignore', env: { ...process.env, TFW_STORE_CRASH_AFTER_SHARDS: '9' } });
    c.on('exit', (_code, signal) => resolve({ signal }));
  });
  assert.is(r.signal, 'SIGKILL');
  const store = open();
  assert.not.ok((await store.list()).some((o) => o.name === 'crash/me'));
  assert.is(await store.readMeta('crash/me'), null);
  const c = await check(store);
  assert.ok(c.orphans > 0, `orphans ${c.orphans}`);
  assert.is((await repair(store, { orphanAgeSeconds: 3600 })).orphansRemoved, 0, 'young orphans are kept (a put may be running)');
  assert.is((await repair(store, { orphanAgeSeconds: 0 })).orphansRemoved, c.orphans);
  store.close();
});

test('a wrong secret is a clear error, from the library and the CLI', async () => {
  const wrong = new ObjectStore({ ...config, secret: randomBytes(32).toString('base64') });
  const e = await wrong.get('obj/010').then(() => null, (x: Error) => x);
  assert.instance(e, WrongSecretError);
  assert.is((e as WrongSecretError).code, 'ERR_TFW_STORE_SECRET');
  await wrong.list().then(() => assert.unreachable(), (x: Error) => assert.instance(x, WrongSecretError));
  wrong.close();
  const cli = await runTfw(['store', '--config', wrongFile, 'get', 'obj/010', '-o', join(dir, 'x')]);
  assert.is(cli.code, 1);
  assert.match(cli.stderr, /^tfw: store: secret: the metadata of "obj\/010" was written with another secret/);
  // metadata stays unreadable without the secret: no backend holds it in the clear
  const client = new ZdbClient({ address: backends[0].address });
  const stored = await client.get(metaRecordKey('obj/010'));
  client.close();
  if (stored) assert.is(stored.indexOf(Buffer.from('obj/010')), -1);
});

test('(10,4) over fourteen backends: four lost (two killed, two disks gone), everything reads back; repair restores it', async () => {
  const servers = await Promise.all(Array.from({ length: 14 }, (_, i) => startShardServer({ listen: '127.0.0.1:0', dataDir: join(dir, `w${i}`), log: () => {} })));
  const cfg = validateStoreConfig({ secret, dataShards: 10, parityShards: 4, backends: servers.map((s) => ({ address: s.address })) });
  const store = new ObjectStore(cfg);
  const want = new Map<string, string>();
  const sizes = [16 * MiB + 5, 4 * MiB, 0, 1, ...Array.from({ length: 16 }, (_, i) => (i * 39119) % 300_000)];
  for (const [i, size] of sizes.entries()) {
    const d = content(500 + i, size);
    want.set(`w/${i}`, sha(d));
    await store.put(`w/${i}`, d);
  }
  store.close();
  for (const i of [0, 5]) await servers[i].close();
  for (const i of [9, 13]) {
    // the disk is gone: the backend comes back empty at the same address
    await servers[i].close();
    rmSync(join(dir, `w${i}`), { recursive: true, force: true });
    servers[i] = await startShardServer({ listen: servers[i].address, dataDir: join(dir, `w${i}`), log: () => {} });
  }
  const reader = new ObjectStore(cfg);
  for (const [name, h] of want) assert.is(sha(await reader.get(name)), h, name);
  const c = await check(reader);
  assert.ok(c.objects.some((o) => o.shards.missing > 0) && c.objects.some((o) => o.shards.unreachable > 0));
  assert.is((await repair(reader)).lost.length, 0);
  reader.close();
  const fixed = new ObjectStore(cfg);
  const after = await check(fixed);
  assert.ok(after.healthy);
  fixed.close();
  await servers[1].close();
  await servers[2].close(); // after repair, two more losses are survivable again
  const still = new ObjectStore(cfg);
  assert.is(sha(await still.get('w/0')), want.get('w/0'));
  await servers[3].close();
  await servers[4].close();
  await servers[6].close(); // seven of fourteen gone: more than m of some chunk
  const gone = new ObjectStore(cfg);
  // chunks below k shards (DataLostError), or every metadata shard on the lost ones (NotFoundError saying so)
  await gone.get('w/0').then(
    () => assert.unreachable('read with seven backends lost'),
    (e: Error) => assert.ok(e instanceof DataLostError || (e instanceof NotFoundError && /7 of 14 unreachable/.test(e.message)), e.message),
  );
  gone.close();
  still.close();
  for (const s of servers) await s.close();
});

test.after(async () => {
  for (const b of backends) {
    if (b.proc.exitCode === null && b.proc.signalCode === null) {
      b.proc.kill('SIGTERM');
      await exited(b.proc);
    }
  }
  rmSync(dir, { recursive: true, force: true });
});
test.run();
