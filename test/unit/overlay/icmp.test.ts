/**
 * ICMP errors (runtime/overlay/routing/icmp.ts): each message byte for byte where the
 * RFCs fix it, checksums checked by an independent RFC 1071 sum (and, for
 * ICMPv6, the RFC 8200 section 8.1 pseudo-header), quoting cut at 1280 / 576
 * bytes, the never-send rules (RFC 4443 2.4(e), RFC 1812 4.3.2.7) and the
 * token-bucket rate limit on a hand-driven clock.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  buildIcmp4Error, buildIcmp6Error, ICMP_NO_ROUTE, ICMP_TIME_EXCEEDED, ICMP_TOO_BIG, IcmpErrors, icmpErrorAllowed, TokenBucket,
  type IcmpCounters,
} from '../../../runtime/overlay/routing/icmp.js';

/** RFC 1071 section 4.1's loop, written independently: true when the one's-complement sum over `data` is 0xffff. */
function rfc1071Verifies(data: Uint8Array): boolean {
  let sum = 0;
  let count = data.length, i = 0;
  while (count > 1) {
    sum += data[i] * 256 + data[i + 1];
    i += 2;
    count -= 2;
  }
  if (count > 0) sum += data[i] * 256;
  while (sum >>> 16) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

/** The ICMPv6 message with its RFC 8200 8.1 pseudo-header in front (src, dst, 32-bit length, 3 zeros, 58). */
function withPseudoHeader(msg: Uint8Array): Uint8Array {
  const icmpLen = msg.length - 40;
  const p = new Uint8Array(40 + icmpLen);
  p.set(msg.subarray(8, 40), 0);
  new DataView(p.buffer).setUint32(32, icmpLen);
  p[39] = 58;
  p.set(msg.subarray(40), 40);
  return p;
}

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!.map((h) => parseInt(h, 16)));
const SRC6 = hex('04aa bbcc ddee ff00 0000 0000 0000 0001'); // the router's overlay address
const A6 = hex('0411 2233 4455 6677 0000 0000 0000 0001');
const C6 = hex('0499 8877 6655 4433 0000 0000 0000 0001');

/** An IPv6 packet of `len` bytes from `src` to `dst`, next header `nh`, payload bytes i & 0xff. */
function v6(len: number, src = A6, dst = C6, nh = 17, hops = 1): Uint8Array {
  const p = new Uint8Array(len);
  for (let i = 40; i < len; i++) p[i] = i & 0xff;
  p[0] = 0x60;
  p[4] = (len - 40) >> 8;
  p[5] = (len - 40) & 0xff;
  p[6] = nh;
  p[7] = hops;
  p.set(src, 8);
  p.set(dst, 24);
  return p;
}

/** An IPv4 datagram of `len` bytes, protocol `proto`, flags/offset word `frag`. */
function v4(len: number, src = [10, 100, 0, 1], dst = [10, 100, 0, 3], proto = 17, frag = 0x4000): Uint8Array {
  const p = new Uint8Array(len);
  for (let i = 20; i < len; i++) p[i] = i & 0xff;
  p[0] = 0x45;
  p[2] = len >> 8;
  p[3] = len & 0xff;
  p[6] = frag >> 8;
  p[7] = frag & 0xff;
  p[8] = 1;
  p[9] = proto;
  p.set(src, 12);
  p.set(dst, 16);
  return p;
}

test('ICMPv6 Time Exceeded: header bytes, quoted packet, pseudo-header checksum', () => {
  const pkt = v6(100);
  const out = new Uint8Array(1280);
  const n = buildIcmp6Error(out, 3, 0, 0, SRC6, pkt, pkt.length);
  assert.is(n, 40 + 8 + 100);
  // RFC 8200 section 3 header: version 6, class/flow 0, payload length 108, next header 58, hop limit 64.
  assert.equal([...out.subarray(0, 8)], [0x60, 0, 0, 0, 0, 108, 58, 64]);
  assert.equal(out.subarray(8, 24), SRC6);
  assert.equal(out.subarray(24, 40), A6, 'to the invoking source');
  // RFC 4443 section 3.3: type 3, code 0, checksum, 4 unused zero bytes.
  assert.equal([out[40], out[41], out[44], out[45], out[46], out[47]], [3, 0, 0, 0, 0, 0]);
  assert.equal(out.subarray(48, n), pkt);
  assert.ok(rfc1071Verifies(withPseudoHeader(out.subarray(0, n))));
  // A flipped bit in the quote or the pseudo-header breaks it.
  const bad = out.slice(0, n);
  bad[100] ^= 1;
  assert.not.ok(rfc1071Verifies(withPseudoHeader(bad)));
  const bad2 = out.slice(0, n);
  bad2[30] ^= 0x80;
  assert.not.ok(rfc1071Verifies(withPseudoHeader(bad2)));
});

test('ICMPv6 Destination Unreachable (no route) and Packet Too Big (MTU in the second word)', () => {
  const pkt = v6(61); // odd length: the checksum pads the last byte
  const out = new Uint8Array(1280);
  let n = buildIcmp6Error(out, 1, 0, 0, SRC6, pkt, pkt.length);
  assert.equal([out[40], out[41], out[44], out[45], out[46], out[47]], [1, 0, 0, 0, 0, 0]);
  assert.ok(rfc1071Verifies(withPseudoHeader(out.subarray(0, n))));
  n = buildIcmp6Error(out, 2, 0, 1420, SRC6, pkt, pkt.length);
  assert.equal([out[40], out[41], out[44], out[45], out[46], out[47]], [2, 0, 0, 0, 0x05, 0x8c]);
  assert.ok(rfc1071Verifies(withPseudoHeader(out.subarray(0, n))));
});

test('ICMPv6 errors quote at most 1280 bytes in all (RFC 4443 2.4(c))', () => {
  const out = new Uint8Array(1280);
  for (const len of [1231, 1232, 1233, 1420, 9000]) {
    const pkt = v6(len);
    const n = buildIcmp6Error(out, 2, 0, 1280, SRC6, pkt, len);
    assert.is(n, Math.min(1280, 48 + len), `len ${len}`);
    assert.is((out[4] << 8) | out[5], n - 40);
    assert.equal(out.subarray(48, n), pkt.subarray(0, n - 48));
    assert.ok(rfc1071Verifies(withPseudoHeader(out.subarray(0, n))), `len ${len}`);
  }
  assert.throws(() => buildIcmp6Error(new Uint8Array(100), 3, 0, 0, SRC6, v6(100), 100), /output buffer of >= 148/);
  assert.throws(() => buildIcmp6Error(out, 3, 0, 0, SRC6, v4(60), 60), /IPv6/);
});

test('ICMPv4 Time Exceeded and Fragmentation Needed: IP header, ICMP header, both checksums', () => {
  const pkt = v4(84);
  const out = new Uint8Array(1280);
  let n = buildIcmp4Error(out, 11, 0, 0, Uint8Array.of(10, 100, 0, 2), pkt, pkt.length, 0x1234);
  assert.is(n, 20 + 8 + 84);
  // RFC 791 header: IHL 5, TOS 0xc0, length, id, no flags, TTL 64, protocol 1, from 10.100.0.2 to the datagram's source.
  assert.equal([...out.subarray(0, 10)], [0x45, 0xc0, 0, 112, 0x12, 0x34, 0, 0, 64, 1]);
  assert.equal([...out.subarray(12, 20)], [10, 100, 0, 2, 10, 100, 0, 1]);
  assert.ok(rfc1071Verifies(out.subarray(0, 20)), 'header checksum');
  // RFC 792 Time Exceeded: type 11, code 0, 4 unused bytes, then the datagram.
  assert.equal([out[20], out[21], out[24], out[25], out[26], out[27]], [11, 0, 0, 0, 0, 0]);
  assert.equal(out.subarray(28, n), pkt);
  assert.ok(rfc1071Verifies(out.subarray(20, n)), 'ICMP checksum');
  // RFC 1191: type 3 code 4, unused 16 bits, next-hop MTU 16 bits.
  n = buildIcmp4Error(out, 3, 4, 1420, Uint8Array.of(10, 100, 0, 2), pkt, 83);
  assert.equal([out[20], out[21], out[24], out[25], out[26], out[27]], [3, 4, 0, 0, 0x05, 0x8c]);
  assert.ok(rfc1071Verifies(out.subarray(0, 20)));
  assert.ok(rfc1071Verifies(out.subarray(20, n)), 'odd length');
});

test('ICMPv4 errors quote at most 576 bytes in all (RFC 1812 4.3.2.3)', () => {
  const out = new Uint8Array(1280);
  for (const len of [547, 548, 549, 1500]) {
    const pkt = v4(len);
    const n = buildIcmp4Error(out, 11, 0, 0, Uint8Array.of(10, 0, 0, 1), pkt, len);
    assert.is(n, Math.min(576, 28 + len), `len ${len}`);
    assert.is((out[2] << 8) | out[3], n);
    assert.equal(out.subarray(28, n), pkt.subarray(0, n - 28));
    assert.ok(rfc1071Verifies(out.subarray(0, 20)) && rfc1071Verifies(out.subarray(20, n)), `len ${len}`);
  }
});

test('never an error about an ICMP error, a non-host source, a multicast destination, a non-first fragment', () => {
  // IPv6: ICMPv6 errors (type < 128) no, informational (echo request 128) yes, also behind extension headers.
  const icmp6 = (type: number) => {
    const p = v6(64, A6, C6, 58);
    p[40] = type;
    return p;
  };
  for (const t of [1, 2, 3, 4, 127]) assert.not.ok(icmpErrorAllowed(icmp6(t), 64, false), `icmp6 type ${t}`);
  assert.ok(icmpErrorAllowed(icmp6(128), 64, false));
  assert.ok(icmpErrorAllowed(v6(64), 64, false), 'UDP');
  const hbh = v6(72, A6, C6, 0); // hop-by-hop (8 bytes) -> ICMPv6 time exceeded
  hbh[40] = 58;
  hbh[41] = 0;
  hbh[48] = 3;
  assert.not.ok(icmpErrorAllowed(hbh, 72, false), 'ICMPv6 error behind a hop-by-hop header');
  hbh[48] = 129;
  assert.ok(icmpErrorAllowed(hbh, 72, false), 'echo reply behind a hop-by-hop header');
  const frag = v6(72, A6, C6, 44); // fragment header, offset 0 -> ICMPv6 error
  frag[40] = 58;
  frag[42] = frag[43] = 0;
  frag[48] = 1;
  assert.not.ok(icmpErrorAllowed(frag, 72, false), 'first fragment of an ICMPv6 error');
  frag[43] = 0x08; // offset 1 (8 bytes): the upper-layer header is not in this fragment
  assert.ok(icmpErrorAllowed(frag, 72, false), 'non-first IPv6 fragment (RFC 4443 does not forbid)');
  assert.not.ok(icmpErrorAllowed(v6(40, A6, C6, 58), 40, false), 'ICMPv6 with no type byte');
  const none = new Uint8Array(16), loop = new Uint8Array(16), mcast = hex('ff02 0000 0000 0000 0000 0000 0000 0001');
  loop[15] = 1;
  for (const [name, s] of [['::', none], ['::1', loop], ['ff02::1', mcast]] as const) assert.not.ok(icmpErrorAllowed(v6(64, s), 64, false), `source ${name}`);
  assert.not.ok(icmpErrorAllowed(v6(64, A6, mcast), 64, false), 'multicast destination');
  assert.ok(icmpErrorAllowed(v6(64, A6, mcast), 64, true), 'Packet Too Big about multicast is allowed (2.4(e.2))');
  assert.not.ok(icmpErrorAllowed(v6(64), 39, false), 'truncated');
  // IPv4: ICMP errors 3, 4, 5, 11, 12 no; echo (8) yes.
  const icmp4 = (type: number, frag = 0) => {
    const p = v4(56, undefined, undefined, 1, frag);
    p[20] = type;
    return p;
  };
  for (const t of [3, 4, 5, 11, 12]) assert.not.ok(icmpErrorAllowed(icmp4(t), 56, false), `icmp4 type ${t}`);
  assert.ok(icmpErrorAllowed(icmp4(8), 56, false));
  assert.ok(icmpErrorAllowed(v4(56), 56, false));
  for (const s of [[0, 0, 0, 0], [127, 0, 0, 1], [224, 0, 0, 5], [240, 1, 2, 3], [255, 255, 255, 255]]) {
    assert.not.ok(icmpErrorAllowed(v4(56, s), 56, false), `source ${s.join('.')}`);
  }
  assert.not.ok(icmpErrorAllowed(v4(56, undefined, [239, 1, 1, 1]), 56, false), 'multicast destination');
  assert.not.ok(icmpErrorAllowed(v4(56, undefined, [255, 255, 255, 255]), 56, false), 'broadcast destination');
  assert.not.ok(icmpErrorAllowed(v4(56, undefined, undefined, 17, 0x0001), 56, false), 'non-first fragment (offset 8)');
  assert.not.ok(icmpErrorAllowed(v4(56, undefined, undefined, 17, 0x2010), 56, false), 'non-first fragment with MF');
  assert.ok(icmpErrorAllowed(v4(56, undefined, undefined, 17, 0x2000), 56, false), 'first fragment (MF, offset 0)');
  assert.not.ok(icmpErrorAllowed(new Uint8Array(0), 0, false));
});

test('token bucket: burst, refill at the rate, clock stepping back', () => {
  let t = 1_000;
  const b = new TokenBucket(10, 20, () => t);
  let n = 0;
  while (b.take()) n++;
  assert.is(n, 20, 'burst');
  t += 99;
  assert.not.ok(b.take(), '0.99 token after 99 ms');
  t += 1;
  assert.ok(b.take(), '1 token after 100 ms');
  assert.not.ok(b.take());
  t += 10_000;
  n = 0;
  while (b.take()) n++;
  assert.is(n, 20, 'capped at the burst');
  t -= 5_000;
  assert.not.ok(b.take(), 'a clock stepping back refills nothing');
  assert.throws(() => new TokenBucket(0, 20, () => t), /rate > 0/);
});

test('IcmpErrors: kinds to messages, DF rule, IPv4 source, rate limit counted', () => {
  let t = 0;
  const counters: IcmpCounters = { icmpSent: 0, icmpRateLimited: 0, icmpNoSource: 0 };
  const e = new IcmpErrors(SRC6, 1420, counters, () => t, 10, 20);
  const p6 = v6(1500);
  assert.is(e.build(ICMP_TIME_EXCEEDED, p6, 1500), 1280);
  assert.equal([e.buf[40], e.buf[41]], [3, 0]);
  e.build(ICMP_NO_ROUTE, p6, 1500);
  assert.equal([e.buf[40], e.buf[41]], [1, 0]);
  e.build(ICMP_TOO_BIG, p6, 1500);
  assert.equal([...e.buf.subarray(40, 42), ...e.buf.subarray(44, 48)], [2, 0, 0, 0, 0x05, 0x8c]);
  // IPv4 without an address: counted, nothing built.
  const p4 = v4(1500);
  assert.is(e.build(ICMP_TIME_EXCEEDED, p4, 1500), 0);
  assert.is(counters.icmpNoSource, 1);
  e.source4 = Uint8Array.of(10, 100, 0, 2);
  assert.is(e.build(ICMP_TIME_EXCEEDED, p4, 1500), 576);
  assert.equal([...e.buf.subarray(12, 20), e.buf[20], e.buf[21]], [10, 100, 0, 2, 10, 100, 0, 1, 11, 0]);
  assert.is(e.build(ICMP_TOO_BIG, p4, 1500), 576, 'DF set: fragmentation needed');
  assert.equal([e.buf[20], e.buf[21], e.buf[26], e.buf[27]], [3, 4, 0x05, 0x8c]);
  assert.is(e.build(ICMP_TOO_BIG, v4(1500, undefined, undefined, 17, 0), 1500), 0, 'DF clear: no error');
  // Not allowed: not counted as rate-limited.
  const err6 = v6(64, A6, C6, 58);
  err6[40] = 3;
  assert.is(e.build(ICMP_TIME_EXCEEDED, err6, 64), 0);
  // 5 built so far; 15 tokens left of the burst, then the limit.
  for (let i = 0; i < 15; i++) assert.ok(e.build(ICMP_TIME_EXCEEDED, p6, 100) > 0, `burst ${i}`);
  assert.is(e.build(ICMP_TIME_EXCEEDED, p6, 100), 0);
  assert.is(e.build(ICMP_TIME_EXCEEDED, p6, 100), 0);
  assert.is(counters.icmpRateLimited, 2);
  t += 100;
  assert.ok(e.build(ICMP_TIME_EXCEEDED, p6, 100) > 0, '10 per second');
  assert.is(counters.icmpRateLimited, 2);
});

test.run();
