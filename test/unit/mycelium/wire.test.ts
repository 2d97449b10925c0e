// Mycelium wire codecs (runtime/overlay/mycelium/): byte vectors copied from
// Mycelium's own #[test] functions (file cited at each), round trips, and the
// framing codec fed random and truncated bytes: every bad input is a counted
// drop, never an exception, and the decoder never holds more than one frame.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Counters } from '../../../runtime/overlay/mycelium/counters.js';
import { decodeHelloBody, encodeHelloBody } from '../../../runtime/overlay/mycelium/hello.js';
import { decodeIhuBody, encodeIhuBody } from '../../../runtime/overlay/mycelium/ihu.js';
import { decodeUpdateBody, encodeUpdateBody, type Update } from '../../../runtime/overlay/mycelium/update.js';
import { decodeRouteRequestBody, encodeRouteRequestBody } from '../../../runtime/overlay/mycelium/route-request.js';
import { decodeSeqnoRequestBody, encodeSeqnoRequestBody } from '../../../runtime/overlay/mycelium/seqno-request.js';
import { encodeDataPacket } from '../../../runtime/overlay/mycelium/data-packet.js';
import { encodeControlFrame, FrameDecoder, MAX_FRAME_BYTES, writeDataFrameHeader, type DataFrame } from '../../../runtime/overlay/mycelium/frame.js';
import { parseIp } from '../../../runtime/config/ip.js';
import type { Subnet } from '../../../runtime/overlay/mycelium/subnet.js';
import type { Tlv } from '../../../runtime/overlay/mycelium/tlv.js';
import { hex, prng } from '../../helpers.js';

const b = (...x: number[]) => Uint8Array.from(x);
const fill = (v: number, n = 40) => new Uint8Array(n).fill(v);
const v6 = (s: string, plen: number): Subnet => {
  const bytes = parseIp(s)!;
  for (let i = 0; i < 16; i++) bytes[i] &= i * 8 >= plen ? 0 : i * 8 + 8 <= plen ? 0xff : (0xff << (8 - (plen - i * 8))) & 0xff;
  return { family: 6, bytes, plen };
};
/** AE 3 (link-local): 8 bytes on the wire after an implied fe80::/64; the interface id is kept, as Mycelium's Subnet keeps it. */
const ll = (s: string): Subnet => ({ family: 6, bytes: parseIp(s)!, plen: 64 });
const v4 = (s: string, plen: number): Subnet => {
  const bytes = parseIp(s)!;
  for (let i = 0; i < 4; i++) bytes[i] &= i * 8 >= plen ? 0 : i * 8 + 8 <= plen ? 0xff : (0xff << (8 - (plen - i * 8))) & 0xff;
  return { family: 4, bytes, plen };
};
const same = (a: unknown, e: unknown) => assert.equal(JSON.parse(JSON.stringify(a, (_k, v) => (v instanceof Uint8Array ? hex(v) : v))), JSON.parse(JSON.stringify(e, (_k, v) => (v instanceof Uint8Array ? hex(v) : v))));

// ---- hello.rs ---------------------------------------------------------------
test('Hello: mycelium/src/babel/hello.rs encoding / decoding / decode_ignores_invalid_flag_bits', () => {
  assert.equal(Array.from(encodeHelloBody({ type: 'hello', unicast: false, seqno: 25, interval: 400 })), [0, 0, 0, 25, 1, 144]);
  assert.equal(Array.from(encodeHelloBody({ type: 'hello', unicast: true, seqno: 16, interval: 4000 })), [128, 0, 0, 16, 15, 160]);
  same(decodeHelloBody(b(0b10000000, 0, 0, 19, 2, 1)), { type: 'hello', unicast: true, seqno: 19, interval: 513 });
  same(decodeHelloBody(b(0, 0, 1, 19, 200, 100)), { type: 'hello', unicast: false, seqno: 275, interval: 51300 });
  same(decodeHelloBody(b(0b10001001, 0, 0, 100, 1, 144)), { type: 'hello', unicast: true, seqno: 100, interval: 400 });
  same(decodeHelloBody(b(0b00001001, 0, 0, 100, 1, 144)), { type: 'hello', unicast: false, seqno: 100, interval: 400 });
  assert.is(decodeHelloBody(b(0, 0, 0)), null);
});

// ---- ihu.rs -----------------------------------------------------------------
test('IHU: mycelium/src/babel/ihu.rs encoding / decoding / decode_ignores_invalid_ae_encoding', () => {
  assert.equal(Array.from(encodeIhuBody({ type: 'ihu', rxCost: 25, interval: 400, address: b(1, 1, 1, 1) })), [1, 0, 0, 25, 1, 144, 1, 1, 1, 1]);
  assert.equal(
    Array.from(encodeIhuBody({ type: 'ihu', rxCost: 100, interval: 4000, address: parseIp('2:0:4d2:929:d80:11d7:162e:1')! })),
    [2, 0, 0, 100, 15, 160, 0, 2, 0, 0, 4, 210, 9, 41, 13, 128, 17, 215, 22, 46, 0, 1],
  );
  same(decodeIhuBody(b(0, 0, 0, 1, 1, 44)), { type: 'ihu', rxCost: 1, interval: 300, address: null });
  same(decodeIhuBody(b(1, 0, 0, 2, 0, 44, 3, 4, 5, 6)), { type: 'ihu', rxCost: 2, interval: 44, address: b(3, 4, 5, 6) });
  same(decodeIhuBody(b(2, 0, 0, 2, 0, 44, 4, 0, 0, 0, 0, 5, 0, 6, 7, 8, 9, 10, 11, 12, 13, 14)), {
    type: 'ihu', rxCost: 2, interval: 44, address: parseIp('400:0:5:6:708:90a:b0c:d0e')!,
  });
  same(decodeIhuBody(b(3, 0, 1, 2, 0, 42, 7, 8, 9, 10, 11, 12, 13, 14)), { type: 'ihu', rxCost: 258, interval: 42, address: parseIp('fe80::708:90a:b0c:d0e')! });
  assert.is(decodeIhuBody(b(4, 0, 0, 2, 0, 44, 2, 0, 0, 0, 0, 5, 0, 6, 7, 8, 9, 10, 11, 12, 13, 14)), null);
});

// ---- update.rs --------------------------------------------------------------
test('Update: mycelium/src/babel/update.rs encoding (40-byte router ids)', () => {
  const u1: Update = { type: 'update', flags: 0b11000000, interval: 400, seqno: 17, metric: 25, subnet: v6('200:19:1a:1b:1c::1d', 64), routerId: fill(1) };
  assert.equal(Array.from(encodeUpdateBody(u1)), [2, 192, 64, 0, 1, 144, 0, 17, 0, 25, 2, 0, 0, 25, 0, 26, 0, 27, ...fill(1)]);
  const u2: Update = { type: 'update', flags: 0, interval: 600, seqno: 170, metric: 256, subnet: v4('10.101.4.1', 23), routerId: fill(2) };
  assert.equal(Array.from(encodeUpdateBody(u2)), [1, 0, 23, 0, 2, 88, 0, 170, 1, 0, 10, 101, 4, ...fill(2)]);
});

test('Update: update.rs decoding / decode_ignores_invalid_ae_encoding / decode_ignores_invalid_flag_bits', () => {
  same(decodeUpdateBody(b(0, 64, 0, 0, 0, 100, 0, 70, 2, 0, ...fill(3))), {
    type: 'update', flags: 0b01000000, interval: 100, seqno: 70, metric: 512, subnet: v6('::', 0), routerId: fill(3),
  });
  const llBytes = b(3, 0, 64, 0, 3, 232, 0, 42, 3, 1, 0, 10, 0, 20, 0, 30, 0, 40, ...fill(4));
  same(decodeUpdateBody(llBytes), { type: 'update', flags: 0, interval: 1000, seqno: 42, metric: 769, subnet: ll('fe80::a:14:1e:28'), routerId: fill(4) });
  const bad = b(4, 0, 64, 0, 0, 44, 2, 0, 0, 10, 10, 5, 0, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, ...fill(5));
  assert.is(decodeUpdateBody(bad), null);
  const flags = b(3, 255, 64, 0, 3, 232, 0, 42, 3, 1, 0, 10, 0, 20, 0, 30, 0, 40, ...fill(4));
  assert.is(decodeUpdateBody(flags)!.flags, 0xc0);
});

test('Update: update.rs roundtrip', () => {
  const u: Update = { type: 'update', flags: 0, interval: 6400, seqno: 10, metric: 25, subnet: v6('21f:4025:abcd:dead::', 64), routerId: fill(6) };
  same(decodeUpdateBody(encodeUpdateBody(u)), u);
});

// ---- route_request.rs -------------------------------------------------------
test('RouteRequest: mycelium/src/babel/route_request.rs encoding / decoding / invalid AE / roundtrip', () => {
  assert.equal(Array.from(encodeRouteRequestBody({ type: 'route-request', generation: 2, subnet: v6('200:19:1a:1b:1c::1d', 64) })), [2, 2, 64, 2, 0, 0, 25, 0, 26, 0, 27]);
  assert.equal(Array.from(encodeRouteRequestBody({ type: 'route-request', generation: 3, subnet: v4('10.101.4.1', 32) })), [3, 1, 32, 10, 101, 4, 1]);
  assert.equal(Array.from(encodeRouteRequestBody({ type: 'route-request', generation: 0, subnet: null })), [0, 0, 0]);
  same(decodeRouteRequestBody(b(12, 0, 0)), { type: 'route-request', generation: 12, subnet: null });
  same(decodeRouteRequestBody(b(24, 1, 24, 10, 15, 19)), { type: 'route-request', generation: 24, subnet: v4('10.15.19.0', 24) });
  same(decodeRouteRequestBody(b(7, 2, 64, 0, 10, 0, 20, 0, 30, 0, 40)), { type: 'route-request', generation: 7, subnet: v6('a:14:1e:28::', 64) });
  same(decodeRouteRequestBody(b(4, 3, 64, 0, 10, 0, 20, 0, 30, 0, 40)), { type: 'route-request', generation: 4, subnet: ll('fe80::a:14:1e:28') });
  assert.is(decodeRouteRequestBody(b(0, 4, 64, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21)), null);
  const rr = { type: 'route-request' as const, generation: 27, subnet: v6('21f:4025:abcd:dead::', 64) };
  same(decodeRouteRequestBody(encodeRouteRequestBody(rr)), rr);
});

// ---- seqno_request.rs -------------------------------------------------------
test('SeqnoRequest: mycelium/src/babel/seqno_request.rs encoding / decoding / invalid AE / hop count 0', () => {
  assert.equal(
    Array.from(encodeSeqnoRequestBody({ type: 'seqno-request', seqno: 17, hopCount: 64, subnet: v6('200:19:1a:1b:1c::1d', 64), routerId: fill(1) })),
    [2, 64, 0, 17, 64, 0, ...fill(1), 2, 0, 0, 25, 0, 26, 0, 27],
  );
  assert.equal(
    Array.from(encodeSeqnoRequestBody({ type: 'seqno-request', seqno: 170, hopCount: 111, subnet: v4('10.101.4.1', 32), routerId: fill(2) })),
    [1, 32, 0, 170, 111, 0, ...fill(2), 10, 101, 4, 1],
  );
  same(decodeSeqnoRequestBody(b(0, 0, 0, 0, 1, 0, ...fill(3))), { type: 'seqno-request', seqno: 0, hopCount: 1, routerId: fill(3), subnet: v6('::', 0) });
  same(decodeSeqnoRequestBody(b(3, 64, 0, 42, 232, 0, ...fill(4), 0, 10, 0, 20, 0, 30, 0, 40)), {
    type: 'seqno-request', seqno: 42, hopCount: 232, routerId: fill(4), subnet: ll('fe80::a:14:1e:28'),
  });
  assert.is(decodeSeqnoRequestBody(b(4, 64, 0, 0, 44, 0, ...fill(5), 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21)), null);
  assert.is(decodeSeqnoRequestBody(b(3, 64, 92, 0, 0, 0, ...fill(4), 0, 10, 0, 20, 0, 30, 0, 40)), null);
});

// ---- framing: packet.rs + babel.rs codec + data packet codec ----------------
function collect() {
  const counters = new Counters();
  const data: DataFrame[] = [];
  const tlvs: Tlv[] = [];
  const dec = new FrameDecoder({ data: (f) => data.push({ ...f, frame: f.frame.slice(), body: f.body.slice(), src: f.src.slice(), dst: f.dst.slice() }), control: (t) => tlvs.push(t) }, counters);
  return { counters, data, tlvs, dec };
}

test('frames: a control frame is 1,1,0,0 + Babel header 42,3,len + one TLV (packet.rs, babel.rs Codec)', () => {
  const f = encodeControlFrame({ type: 'hello', unicast: true, seqno: 15, interval: 400 });
  assert.is(hex(f), '01010000' + '2a030008' + '0406' + '8000000f0190');
  const { dec, tlvs } = collect();
  assert.ok(dec.push(f));
  same(tlvs, [{ type: 'hello', unicast: true, seqno: 15, interval: 400 }]);
});

test('frames: a data frame is 1,0,0,0 + 0,len(2),hop + src + dst + body (data packet codec)', () => {
  const src = parseIp('400::1')!;
  const dst = parseIp('5ff::2')!;
  const dp = encodeDataPacket({ hopLimit: 64, src, dst, body: b(9, 8, 7) });
  const f = new Uint8Array(4 + dp.length);
  writeDataFrameHeader(f);
  f.set(dp, 4);
  assert.is(hex(f.subarray(0, 8)), '01000000' + '00000340');
  const { dec, data } = collect();
  // byte by byte: the decoder resumes across reads
  for (const x of f) assert.ok(dec.push(b(x)));
  assert.is(data.length, 1);
  assert.is(data[0].hopLimit, 64);
  assert.is(hex(data[0].src), hex(src));
  assert.is(hex(data[0].dst), hex(dst));
  assert.is(hex(data[0].body), '090807');
  assert.is(dec.buffered, 0);
});

test('frames: wrong Babel magic or version skips the body (counted), the stream stays in sync', () => {
  const { dec, tlvs, counters } = collect();
  const bad = encodeControlFrame({ type: 'route-request', generation: 0, subnet: null });
  bad[5] = 2; // Babel version 2 (RFC 8966): not Mycelium's dialect
  const good = encodeControlFrame({ type: 'route-request', generation: 1, subnet: null });
  assert.ok(dec.push(new Uint8Array([...bad, ...good])));
  assert.is(counters.drops['babel-header'], 1);
  assert.is(tlvs.length, 1);
});

test('frames: bad outer version or type closes the link (counted), as Mycelium does', () => {
  let c = collect();
  assert.is(c.dec.push(b(2, 0, 0, 0, 0)), false);
  assert.is(c.counters.drops['bad-version'], 1);
  assert.is(c.dec.push(encodeControlFrame({ type: 'route-request', generation: 0, subnet: null })), false);
  c = collect();
  assert.is(c.dec.push(b(1, 7, 0, 0, 0)), false);
  assert.is(c.counters.drops['bad-type'], 1);
});

test('fuzz: random, truncated and mutated streams never throw, never hold more than one frame', () => {
  const r = prng();
  const valid = [
    encodeControlFrame({ type: 'update', flags: 0, interval: 100, seqno: 1, metric: 5, subnet: v6('400:1:2:3::', 64), routerId: fill(9) }),
    encodeControlFrame({ type: 'seqno-request', seqno: 3, hopCount: 2, subnet: v6('400:1:2:3::', 64), routerId: fill(9) }),
    encodeControlFrame({ type: 'ihu', rxCost: 9, interval: 100, address: null }),
  ];
  let drops = 0;
  for (let i = 0; i < 3000; i++) {
    const { dec, counters } = collect();
    const base = valid[i % valid.length];
    let input: Uint8Array;
    const mode = i % 3;
    if (mode === 0) input = r.bytes(r.int(200));
    else if (mode === 1) input = base.slice(0, r.int(base.length));
    else {
      input = base.slice();
      for (let k = 0; k < 3; k++) input[4 + r.int(input.length - 4)] = r.int(256);
    }
    const chunks = [input.subarray(0, input.length >> 1), input.subarray(input.length >> 1)];
    for (const ch of chunks) dec.push(ch);
    assert.ok(dec.buffered <= MAX_FRAME_BYTES);
    drops += counters.dropped();
  }
  assert.ok(drops > 0, 'some fuzzed inputs must be counted as drops');
  // A huge claimed length holds at most that one frame, not more.
  const { dec } = collect();
  dec.push(b(1, 0, 0, 0, 0, 0xff, 0xff, 64));
  for (let i = 0; i < 100; i++) dec.push(new Uint8Array(1000));
  assert.ok(dec.buffered <= MAX_FRAME_BYTES);
});

test.run();
