/**
 * Compaction of the record log (runtime/storage/compaction.ts): garbage
 * reclaimed and every live value kept; writes made while the copy runs kept;
 * an injected failure or a SIGKILL at any stage leaves the old log whole (the
 * unfinished copy deleted on the next open); COMPACT and NSINFO over RESP.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Buffer } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactLog, isCompacting } from '../../../runtime/storage/compaction.js';
import { compactionPath, HEADER_BYTES, RecordLog } from '../../../runtime/storage/record-log.js';
import { startShardServer } from '../../../runtime/storage/server.js';
import { ZdbClient } from '../../../runtime/storage/zdb-client.js';
import type { RespStatus } from '../../../runtime/storage/resp.js';
import { prng } from '../../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'tfw-compaction-'));
let n = 0;
const fresh = () => join(dir, `log${n++}`);
const b = (s: string) => Buffer.from(s);

/** A log with 40 keys written, 20 overwritten and 10 deleted; returns the live values expected. */
function filled(path: string): Map<string, Buffer> {
  const rnd = prng(n);
  const log = new RecordLog(path, 'never');
  const want = new Map<string, Buffer>();
  for (let i = 0; i < 40; i++) {
    const v = Buffer.from(rnd.bytes(200 + i * 50));
    log.set(b(`k${i}`), v);
    want.set(`k${i}`, v);
  }
  for (let i = 0; i < 20; i++) {
    const v = Buffer.from(rnd.bytes(300));
    log.set(b(`k${i * 2}`), v);
    want.set(`k${i * 2}`, v);
  }
  for (let i = 0; i < 10; i++) {
    assert.ok(log.delete(b(`k${i * 4 + 1}`)));
    want.delete(`k${i * 4 + 1}`);
  }
  log.close();
  return want;
}

function assertHolds(log: RecordLog, want: Map<string, Buffer>, why: string): void {
  assert.is(log.entries, want.size, `${why}: entries`);
  for (const [k, v] of want) assert.ok(log.get(b(k))?.equals(v), `${why}: ${k}`);
  for (let i = 0; i < 10; i++) assert.is(log.get(b(`k${i * 4 + 1}`)), null, `${why}: deleted k${i * 4 + 1} stays deleted`);
}

const liveBytes = (want: Map<string, Buffer>) => [...want].reduce((a, [k, v]) => a + HEADER_BYTES + k.length + v.length, 0);

test('compaction drops overwritten and deleted records and keeps every live value, on disk too', async () => {
  const path = fresh();
  const want = filled(path);
  const log = new RecordLog(path, 'never');
  const before = statSync(path).size;
  assert.is(log.garbageBytes, before - liveBytes(want));
  const r = await compactLog(log);
  assert.equal(r, { beforeBytes: before, afterBytes: liveBytes(want), records: want.size, tailBytes: 0 });
  assert.is(statSync(path).size, liveBytes(want));
  assert.is(log.garbageBytes, 0);
  assertHolds(log, want, 'after compaction');
  log.set(b('new'), b('after'));
  log.close();
  const again = new RecordLog(path, 'never');
  assertHolds(again, new Map([...want, ['new', b('after')]]), 'reopened');
  assert.equal(again.recovery, { records: want.size + 1, truncatedBytes: 0, corrupt: 0 });
  again.close();
});

test('writes and deletes made while the copy runs are in the compacted log', async () => {
  const path = fresh();
  const want = filled(path);
  const log = new RecordLog(path, 'never');
  let done = false;
  const running = compactLog(log, {
    yieldBytes: 1, // yield after every record: requests interleave with the copy
    onStage: (stage, copied) => {
      if (stage === 'copy' && copied === 5) assert.ok(isCompacting(log));
    },
  });
  // runs between copied records, as a client's SET and DEL would
  await new Promise((r) => setImmediate(r));
  log.set(b('k0'), b('overwritten during the copy'));
  want.set('k0', b('overwritten during the copy'));
  assert.ok(log.delete(b('k2')));
  want.delete('k2');
  log.set(b('fresh'), b('new during the copy'));
  want.set('fresh', b('new during the copy'));
  const r = await running.then((x) => ((done = true), x));
  assert.ok(done && r.tailBytes > 0, 'the records written meanwhile were carried over');
  assert.is(log.get(b('k0'))?.toString(), 'overwritten during the copy');
  assert.is(log.get(b('k2')), null);
  assert.is(log.get(b('fresh'))?.toString(), 'new during the copy');
  assert.is(log.entries, want.size);
  log.close();
  const again = new RecordLog(path, 'never');
  for (const [k, v] of want) assert.ok(again.get(b(k))?.equals(v), k);
  assert.is(again.get(b('k2')), null);
  again.close();
});

test('an injected failure while copying or at the rename keeps the old log byte for byte and removes the copy', async () => {
  for (const stage of ['copy', 'rename'] as const) {
    const path = fresh();
    const want = filled(path);
    const bytes = readFileSync(path);
    const log = new RecordLog(path, 'never');
    const err = await compactLog(log, {
      onStage: (s, copied) => {
        if (s === stage && (s === 'rename' || copied === 7)) throw new Error('EIO: injected');
      },
    }).catch((e: Error) => e);
    assert.instance(err, Error);
    assert.is((err as Error).message, 'EIO: injected');
    assert.ok(readFileSync(path).equals(bytes), `${stage}: the log is untouched`);
    assert.not.ok(existsSync(compactionPath(path)), `${stage}: the copy is gone`);
    assertHolds(log, want, `${stage}: still served`);
    log.set(b('k1'), b('back'));
    assert.is(log.get(b('k1'))?.toString(), 'back');
    log.close();
  }
});

test('a process SIGKILLed mid-copy or just before the rename leaves the old log, whole, for the next open', () => {
  for (const at of ['copy:12', 'rename']) {
    const path = fresh();
    const want = filled(path);
    const bytes = readFileSync(path);
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, 'compaction-child.ts'), path, at], { encoding: 'utf8', timeout: 60_000 });
    assert.is(r.signal, 'SIGKILL', `${at}: ${r.stdout}${r.stderr}`);
    assert.ok(existsSync(compactionPath(path)), `${at}: the unfinished copy is left behind`);
    assert.ok(readFileSync(path).equals(bytes), `${at}: the log is untouched`);
    const log = new RecordLog(path, 'never');
    assert.not.ok(existsSync(compactionPath(path)), `${at}: open removes the copy`);
    assertHolds(log, want, `${at}: after the crash`);
    log.close();
  }
});

test('COMPACT over RESP compacts in the background; NSINFO shows the garbage before and after', async () => {
  const data = join(dir, 'srv');
  const srv = await startShardServer({ listen: '127.0.0.1:0', dataDir: data, log: () => {}, compactRatio: 0 });
  const c = new ZdbClient({ address: srv.address });
  try {
    const v = Buffer.alloc(10_000, 7);
    for (let i = 0; i < 20; i++) await c.set(b(`x${i % 5}`), v);
    const info = async () => Object.fromEntries(String(await c.call('NSINFO', 'default')).split('\n').map((l) => l.split(': ')));
    const before = await info();
    assert.ok(Number(before.garbage_bytes) >= 15 * 10_000, before.garbage_bytes);
    assert.is(((await c.call('COMPACT')) as RespStatus).text, 'Compaction started');
    let after = await info();
    for (let i = 0; i < 100 && after.compacting === 'yes'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = await info();
    }
    assert.is(after.garbage_bytes, '0');
    assert.is(Number(after.log_bytes), 5 * (HEADER_BYTES + 2 + 10_000));
    assert.ok((await c.get(b('x3')))?.equals(v));
    assert.match(String(await c.call('COMPACT', 'nope').catch((e: Error) => e.message)), /Namespace not found/);
  } finally {
    c.close();
    await srv.close();
  }
});

test.run();
