/**
 * The append-only record log (runtime/storage/record-log.ts): index rebuilt
 * from the log, a torn tail (half a record, as a killed writer leaves) cut on
 * start-up, a flipped bit detected and never returned, 0-db's limits, SCAN order.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HEADER_BYTES, MAX_VALUE, RecordLog } from '../../../runtime/storage/record-log.js';
import { CorruptRecordError, LimitError } from '../../../runtime/storage/errors.js';
import { xxh64 } from '../../../runtime/storage/checksum.js';
import { prng } from '../../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'tfw-recordlog-'));
let n = 0;
const fresh = () => join(dir, `log${n++}`);
const b = (s: string) => Buffer.from(s);

test('set, get, overwrite, delete; the index is rebuilt from the log', () => {
  const path = fresh();
  const log = new RecordLog(path, 'never');
  log.set(b('a'), b('one'));
  log.set(b('b'), b('two'));
  log.set(b('a'), b('uno'));
  assert.ok(log.delete(b('b')));
  assert.not.ok(log.delete(b('zz')));
  log.set(b('e'), new Uint8Array(0));
  assert.equal(log.get(b('a')), b('uno'));
  assert.is(log.get(b('b')), null);
  log.close();
  const again = new RecordLog(path, 'never');
  assert.is(again.entries, 2);
  assert.equal(again.get(b('a')), b('uno'));
  assert.equal(again.get(b('e')), Buffer.alloc(0));
  assert.is(again.get(b('b')), null);
  assert.equal(again.recovery, { records: 5, truncatedBytes: 0, corrupt: 0 });
  again.close();
});

test('a torn tail (half a record) is cut at start-up; earlier records survive and new ones append cleanly', () => {
  const path = fresh();
  const rnd = prng(5);
  const log = new RecordLog(path, 'always');
  const values = Array.from({ length: 20 }, (_, i) => Buffer.from(rnd.bytes(100 + i * 37)));
  values.forEach((v, i) => log.set(b(`k${i}`), v));
  log.close();
  const good = statSync(path).size;
  // what a writer killed mid-record leaves: a full header and half the value
  const scratch = fresh();
  const one = new RecordLog(scratch, 'never');
  one.set(b('torn'), Buffer.from(rnd.bytes(5000)));
  one.close();
  const rec = readFileSync(scratch);
  appendFileSync(path, rec.subarray(0, HEADER_BYTES + 4 + 2500));
  const back = new RecordLog(path, 'never');
  assert.equal(back.recovery, { records: 20, truncatedBytes: HEADER_BYTES + 4 + 2500, corrupt: 0 });
  assert.is(statSync(path).size, good);
  assert.is(back.get(b('torn')), null);
  values.forEach((v, i) => assert.equal(back.get(b(`k${i}`)), v));
  back.set(b('after'), b('ok'));
  back.close();
  const third = new RecordLog(path, 'never');
  assert.equal(third.get(b('after')), b('ok'));
  assert.is(third.entries, 21);
  third.close();
});

test('a torn header (a few bytes) and a full-length record with garbage are both cut', () => {
  for (const tail of [Buffer.from('TFW'), (() => {
    const s = fresh();
    const l = new RecordLog(s, 'never');
    l.set(b('x'), b('complete value'));
    l.close();
    const r = readFileSync(s);
    r[r.length - 1] ^= 0xff; // length intact, bytes not: a reordered write-back lost
    return r;
  })()]) {
    const path = fresh();
    const log = new RecordLog(path, 'never');
    log.set(b('k'), b('v'));
    log.close();
    appendFileSync(path, tail);
    const back = new RecordLog(path, 'never');
    assert.is(back.recovery.truncatedBytes, tail.length);
    assert.equal(back.get(b('k')), b('v'));
    assert.is(back.get(b('x')), null);
    back.close();
  }
});

test('a flipped bit inside the log is detected on GET and never returned as data; start-up skips that record', () => {
  const path = fresh();
  const log = new RecordLog(path, 'never');
  log.set(b('first'), Buffer.alloc(1000, 1));
  log.set(b('second'), Buffer.alloc(1000, 2));
  const bytes = readFileSync(path);
  bytes[HEADER_BYTES + 5 + 500] ^= 0x10; // inside the first value, while the log is open (bit rot)
  writeFileSync(path, bytes);
  assert.throws(() => log.get(b('first')), (e: Error) => e instanceof CorruptRecordError && /checksum mismatch/.test(e.message));
  assert.not.ok(log.check(b('first')));
  assert.ok(log.check(b('second')));
  log.close();
  const back = new RecordLog(path, 'never');
  assert.equal(back.recovery, { records: 1, truncatedBytes: 0, corrupt: 1 });
  assert.is(back.get(b('first')), null);
  assert.equal(back.get(b('second')), Buffer.alloc(1000, 2));
  back.close();
});

test('records are written as the release before reads them (format byte 0, SHA-256 sum), so a rollback keeps them; XXH64 records (format 1) are read and checked, both formats mixed', () => {
  const path = fresh();
  const log = new RecordLog(path, 'never');
  log.set(b('new'), b('sha-256 record'));
  log.close();
  const rec = readFileSync(path);
  assert.is(rec.readUInt16LE(6), 0, 'bytes 6..7 zero: the release before reads them as reserved and would cut the log otherwise');
  assert.equal(rec.subarray(16, 24), createHash('sha256').update(rec.subarray(0, 16)).update('new').update('sha-256 record').digest().subarray(0, 8));
  // a record as a later release may write it: format byte 1, XXH64(header[0..16] || key || value)
  const xxh = (key: string, value: Buffer) => {
    const h = Buffer.alloc(HEADER_BYTES);
    h.write('TFWR', 0, 'latin1');
    h[5] = key.length;
    h[6] = 1;
    h.writeUInt32LE(value.length, 8);
    h.writeUInt32LE(1700000000, 12);
    xxh64(h.subarray(0, 16), b(key), value).copy(h, 16);
    return Buffer.concat([h, b(key), value]);
  };
  const later = fresh();
  writeFileSync(later, Buffer.concat([xxh('a', Buffer.alloc(3000, 7)), xxh('b', b('two'))]));
  const mixed = new RecordLog(later, 'never');
  assert.equal(mixed.recovery, { records: 2, truncatedBytes: 0, corrupt: 0 });
  assert.equal(mixed.get(b('a')), Buffer.alloc(3000, 7));
  mixed.set(b('c'), b('three'));
  mixed.close();
  const bytes = readFileSync(later);
  bytes[HEADER_BYTES + 1 + 1500] ^= 0x01; // a flipped bit in an XXH64 record's value is caught
  writeFileSync(later, bytes);
  const back = new RecordLog(later, 'never');
  assert.equal(back.recovery, { records: 2, truncatedBytes: 0, corrupt: 1 });
  assert.is(back.get(b('a')), null);
  assert.equal(back.get(b('b')), b('two'));
  assert.equal(back.get(b('c')), b('three'));
  back.close();
});

test('a record of a format newer than this code (format byte 2) refuses the log, and does not cut it', () => {
  const path = fresh();
  const log = new RecordLog(path, 'never');
  log.set(b('a'), b('one'));
  log.set(b('b'), b('two'));
  log.close();
  const bytes = readFileSync(path);
  bytes[HEADER_BYTES + 1 + 3 + 6] = 2; // the second record's format byte
  writeFileSync(path, bytes);
  assert.throws(() => new RecordLog(path, 'never'), (e: Error) => e instanceof CorruptRecordError && /format 2, expected 0 or 1/.test(e.message));
  assert.is(statSync(path).size, bytes.length);
});

test("0-db's limits: keys 1..255 bytes, values up to 8 MiB", () => {
  const log = new RecordLog(fresh(), 'never');
  assert.throws(() => log.set(new Uint8Array(0), b('v')), (e: Error) => e instanceof LimitError && /key: expected 1..255/.test(e.message));
  assert.throws(() => log.set(new Uint8Array(256), b('v')), (e: Error) => e instanceof LimitError);
  assert.throws(() => log.set(b('k'), new Uint8Array(MAX_VALUE + 1)), (e: Error) => e instanceof LimitError && /8 MiB/.test(e.message));
  log.set(b('k'), new Uint8Array(MAX_VALUE));
  assert.is(log.get(b('k'))!.length, MAX_VALUE);
  log.close();
});

test('scan walks live records in log order, forward and reverse, skipping overwritten and deleted ones', () => {
  const log = new RecordLog(fresh(), 'never');
  for (let i = 0; i < 10; i++) log.set(b(`k${i}`), b(`v${i}`));
  log.set(b('k3'), b('new'));
  log.delete(b('k5'));
  const keys: string[] = [];
  for (let page = log.scan(null, 4); page.length; page = log.scan(page[page.length - 1].offset, 4)) keys.push(...page.map((e) => e.key.toString()));
  assert.equal(keys, ['k0', 'k1', 'k2', 'k4', 'k6', 'k7', 'k8', 'k9', 'k3']);
  const rev: string[] = [];
  for (let page = log.scan(null, 3, true); page.length; page = log.scan(page[page.length - 1].offset, 3, true)) rev.push(...page.map((e) => e.key.toString()));
  assert.equal(rev, [...keys].reverse());
  log.close();
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
