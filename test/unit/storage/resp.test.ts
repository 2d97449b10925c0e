/** RESP codec (runtime/storage/resp.ts): frames from the protocol spec, byte-at-a-time parsing, malformed input. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Buffer } from 'node:buffer';
import { encodeCommand, encodeReply, RespErrorReply, RespReader, RespStatus, type RespValue } from '../../../runtime/storage/resp.js';
import { ProtocolError } from '../../../runtime/storage/errors.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startShardServer } from '../../../runtime/storage/server.js';
import { ZdbClient } from '../../../runtime/storage/zdb-client.js';
import { prng } from '../../helpers.js';

const readAll = (bytes: Buffer, step = bytes.length, inline = false): RespValue[] => {
  const r = new RespReader(inline);
  const out: RespValue[] = [];
  for (let i = 0; i < bytes.length; i += step) {
    r.push(bytes.subarray(i, i + step));
    for (let v = r.next(); v !== undefined; v = r.next()) out.push(v);
  }
  return out;
};

test('encodes a command as the spec shows: *2 $3 GET $3 key', () => {
  assert.is(Buffer.concat(encodeCommand(['GET', 'key'])).toString(), '*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n');
  const big = new Uint8Array(5000).fill(7);
  const b = Buffer.concat(encodeCommand(['SET', 'k', big]));
  assert.equal(readAll(b), [[Buffer.from('SET'), Buffer.from('k'), Buffer.from(big)]]);
});

test('decodes every reply type, split at every byte', () => {
  const wire = Buffer.from('+OK\r\n-Key not found\r\n:42\r\n$5\r\nhello\r\n$-1\r\n*2\r\n$1\r\na\r\n*1\r\n:-3\r\n$0\r\n\r\n');
  for (const step of [1, 2, 3, 7, wire.length]) {
    const v = readAll(wire, step);
    assert.is(v.length, 7, `step ${step}`);
    assert.is((v[0] as RespStatus).text, 'OK');
    assert.is((v[1] as RespErrorReply).message, 'Key not found');
    assert.is(v[2], 42);
    assert.equal(v[3], Buffer.from('hello'));
    assert.is(v[4], null);
    assert.equal(v[5], [Buffer.from('a'), [-3]]);
    assert.equal(v[6], Buffer.alloc(0));
  }
});

test('reply encoding round-trips through the reader (binary payloads intact)', () => {
  const rnd = prng(11);
  const value: RespValue = [Buffer.from(rnd.bytes(300)), 7, null, new RespStatus('PONG'), [Buffer.from('\r\n\x00'), []]];
  const bytes = Buffer.concat(encodeReply(value));
  const [back] = readAll(bytes, 5);
  assert.equal(back, value);
});

test('inline commands (telnet style) are split on spaces', () => {
  assert.equal(readAll(Buffer.from('PING\r\nSET a b\n'), 1, true), [[Buffer.from('PING')], [Buffer.from('SET'), Buffer.from('a'), Buffer.from('b')]]);
});

test('malformed frames throw ProtocolError naming the field', () => {
  for (const [bad, field] of [['?x\r\n', 'type byte'], ['$abc\r\n', 'bulk length'], ['*-5\r\n', 'array length'], ['$99999999999\r\n', 'bulk length'], ['$3\r\nabcXY', 'bulk string']] as const) {
    try {
      readAll(Buffer.from(bad));
      assert.unreachable(`${JSON.stringify(bad)} parsed`);
    } catch (err) {
      assert.instance(err, ProtocolError);
      assert.is((err as ProtocolError).code, 'ERR_TFW_STORE_PROTOCOL');
      assert.match((err as Error).message, field);
    }
  }
});

test('a large bulk arriving in many pieces is joined once it is complete', () => {
  const payload = Buffer.from(prng(3).bytes(3 << 20));
  const wire = Buffer.concat(encodeReply(payload));
  const r = new RespReader();
  for (let i = 0; i < wire.length; i += 65536) {
    r.push(wire.subarray(i, i + 65536));
    const v = r.next();
    if (i + 65536 < wire.length) assert.is(v, undefined);
    else assert.ok(Buffer.isBuffer(v) && v.equals(payload));
  }
});

test('next(into): a bulk of into.length bytes is received into it at every split; other replies come back as usual', () => {
  const payload = Buffer.from(prng(5).bytes(1000));
  // a sunk bulk, then a nil, an error, a bulk of another length, and a sunk bulk again
  const wire = Buffer.concat([...encodeReply(payload), Buffer.from('$-1\r\n-ERR nope\r\n$3\r\nabc\r\n'), ...encodeReply(payload)]);
  for (const step of [1, 2, 5, 999, 1007, 4096]) {
    const r = new RespReader();
    const intos = [new Uint8Array(1000), new Uint8Array(1000), new Uint8Array(1000), new Uint8Array(1000), new Uint8Array(1000)];
    const out: RespValue[] = [];
    for (let i = 0; i < wire.length; i += step) {
      r.push(wire.subarray(i, i + step));
      for (let v = r.next(intos[out.length]); v !== undefined; v = r.next(intos[out.length])) out.push(v);
    }
    assert.is(out.length, 5, `step ${step}`);
    const first = out[0] as Buffer;
    assert.ok(first.equals(payload) && first.buffer === intos[0].buffer, `step ${step}: the first bulk lands in its buffer`);
    assert.ok(Buffer.from(intos[0]).equals(payload));
    assert.is(out[1], null);
    assert.is((out[2] as RespErrorReply).message, 'ERR nope');
    assert.equal(out[3], Buffer.from('abc'));
    assert.ok(Buffer.from(intos[3]).equals(Buffer.alloc(1000)), `step ${step}: a bulk of another length leaves the buffer alone`);
    assert.ok((out[4] as Buffer).equals(payload) && (out[4] as Buffer).buffer === intos[4].buffer);
  }
});

test('sinkSpace/sunk: payload read straight into the caller\'s buffer (as a socket does), in pieces of any size, mixed with pushed bytes', () => {
  const payload = Buffer.from(prng(6).bytes(1000));
  const wire = Buffer.concat([...encodeReply(payload), Buffer.from('+OK\r\n'), ...encodeReply(payload)]);
  for (const step of [1, 7, 64, 999, 4096]) {
    const r = new RespReader();
    const intos = [new Uint8Array(1000), new Uint8Array(1), new Uint8Array(1000)];
    const out: RespValue[] = [];
    let direct = 0;
    for (let i = 0; i < wire.length; ) {
      const space = r.sinkSpace();
      if (space) {
        // a read into the space: never more than it holds, so nothing past the payload lands there
        const n = Math.min(step, space.length);
        assert.ok(n <= space.length && space.buffer === intos[out.length].buffer);
        space.set(wire.subarray(i, i + n));
        r.sunk(n);
        direct += n;
        i += n;
      } else {
        r.push(wire.subarray(i, i + step));
        i += step;
      }
      for (let v = r.next(intos[out.length]); v !== undefined; v = r.next(intos[out.length])) out.push(v);
    }
    assert.is(out.length, 3, `step ${step}`);
    assert.ok((out[0] as Buffer).equals(payload) && (out[0] as Buffer).buffer === intos[0].buffer, `step ${step}: first bulk`);
    assert.is((out[1] as RespStatus).text, 'OK');
    assert.ok((out[2] as Buffer).equals(payload) && (out[2] as Buffer).buffer === intos[2].buffer, `step ${step}: second bulk`);
    if (step < 999) assert.ok(direct > 0, `step ${step}: some payload bytes were read straight in`);
  }
  const r = new RespReader();
  assert.is(r.sinkSpace(), undefined);
  assert.throws(() => r.sunk(1), (e: unknown) => e instanceof ProtocolError);
  r.push(Buffer.from('$3\r\na'));
  assert.is(r.next(new Uint8Array(3)), undefined);
  assert.is(r.sinkSpace()!.length, 2);
  assert.throws(() => r.sunk(3), (e: unknown) => e instanceof ProtocolError && /awaits 2/.test((e as Error).message));
});

test('next(into): a sunk bulk without its CRLF is a ProtocolError', () => {
  const r = new RespReader();
  r.push(Buffer.from('$3\r\nab'));
  assert.is(r.next(new Uint8Array(3)), undefined);
  assert.throws(() => r.push(Buffer.from('cXY')), (e: unknown) => e instanceof ProtocolError && /bulk string/.test((e as Error).message));
});

test('reuse mode: pipelined large frames split anywhere parse to the same values, joined in one reused buffer', () => {
  const rnd = prng(9);
  const frames = [Buffer.from(rnd.bytes(300_000)), Buffer.from('x'), Buffer.from(rnd.bytes(70_000)), Buffer.from(rnd.bytes(1_500_000)), Buffer.from(rnd.bytes(200_000))];
  const wire = Buffer.concat(frames.flatMap((f, i) => encodeCommand(['SET', `k${i}`, f])));
  for (const step of [1000, 65536, 99_999, 400_000, wire.length]) {
    const r = new RespReader(true, true);
    const got: Buffer[] = [];
    let aliased = 0;
    for (let i = 0; i < wire.length; i += step) {
      r.push(wire.subarray(i, i + step));
      for (let v = r.next(); v !== undefined; v = r.next()) {
        const value = (v as Buffer[])[2];
        if (r.aliases(value)) aliased++;
        got.push(Buffer.from(value)); // valid until the next call: copy now
      }
    }
    assert.is(got.length, frames.length, `step ${step}`);
    got.forEach((g, i) => assert.ok(g.equals(frames[i]), `step ${step}: frame ${i}`));
    if (step < 200_000) assert.ok(aliased >= 3, `step ${step}: large frames were joined in the reused buffer (${aliased})`);
  }
});

test('reuse mode: detach copies what aliases the reused buffer, so a later join cannot change it', () => {
  const rnd = prng(13);
  const ping = Buffer.from(rnd.bytes(300_000));
  const wire = Buffer.concat([...encodeCommand(['PING', ping]), ...encodeCommand(['SET', 'k', Buffer.from(rnd.bytes(300_000))])]);
  const r = new RespReader(true, true);
  const out: RespValue[] = [];
  for (let i = 0; i < wire.length; i += 65536) {
    r.push(wire.subarray(i, i + 65536));
    for (let v = r.next(); v !== undefined; v = r.next()) out.push(v);
  }
  // kept without detach, the first frame's value was overwritten by the second join
  assert.ok(!(out[0] as Buffer[])[1].equals(ping), 'the reused buffer was reused');
  const r2 = new RespReader(true, true);
  const kept: RespValue[] = [];
  for (let i = 0; i < wire.length; i += 65536) {
    r2.push(wire.subarray(i, i + 65536));
    for (let v = r2.next(); v !== undefined; v = r2.next()) kept.push(r2.detach(v));
  }
  assert.ok((kept[0] as Buffer[])[1].equals(ping), 'the detached PING argument is intact');
  assert.ok(!r2.aliases((kept[0] as Buffer[])[1]));
  assert.equal(r2.detach([1, null, Buffer.from('x')]), [1, null, Buffer.from('x')]);
});

test('the shard server answers pipelined large requests, echoes intact', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tfw-resp-'));
  const srv = await startShardServer({ listen: '127.0.0.1:0', dataDir: dir, log: () => {}, sync: 'never' });
  const c = new ZdbClient({ address: srv.address });
  try {
    const rnd = prng(11);
    const ping = Buffer.from(rnd.bytes(600_000));
    const values = [Buffer.from(rnd.bytes(900_000)), Buffer.from(rnd.bytes(500_000))];
    // pipelined: the PING echo and the SET keys must survive the later frames joined in the same buffer
    const [echo, k0, k1] = await Promise.all([c.call('PING', ping), c.call('SET', 'a'.repeat(200), values[0]), c.call('SET', 'b', values[1])]);
    assert.ok(Buffer.isBuffer(echo) && echo.equals(ping), 'PING echoes its argument');
    assert.equal(k0, Buffer.from('a'.repeat(200)));
    assert.equal(k1, Buffer.from('b'));
    assert.ok((await c.get(Buffer.from('a'.repeat(200))))!.equals(values[0]));
    const into = new Uint8Array(values[1].length);
    const back = await c.get(Buffer.from('b'), into);
    assert.ok(back!.equals(values[1]) && back!.buffer === into.buffer, 'GET into the caller buffer');
  } finally {
    c.close();
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
