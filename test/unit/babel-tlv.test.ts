// Babel wire format (RFC 8966 §4): byte-exact TLV layouts built from the RFC's
// field diagrams, round trips, prefix compression, and malformed input that must be
// counted and skipped, never thrown.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodePacket, encodePackets, newParseStats, parsePacket, Tlv } from '../../runtime/overlay/babel/packet.js';
import { formatPrefix, parsePrefix } from '../../runtime/overlay/babel/prefix.js';
import { Writer } from '../../runtime/overlay/babel/wire.js';
import { encodeUpdate, Update } from '../../runtime/overlay/babel/update.js';
import { seqnoLess, seqnoAdd } from '../../runtime/overlay/babel/seqno.js';
import { BabelRouter } from '../../runtime/overlay/babel/router.js';
import { ManualClock } from '../../runtime/overlay/babel/clock.js';
import { hex, prng, unhex } from '../helpers.js';

const RID = unhex('0102030405060708');
const pfx = (s: string) => parsePrefix(s);
/** A packet: Magic 42, Version 2, Body length, body (§4.2). */
const packet = (body: string) => {
  const b = unhex(body);
  return Uint8Array.from([42, 2, b.length >> 8, b.length & 0xff, ...b]);
};
const one = (bytes: Uint8Array) => {
  const stats = newParseStats();
  const tlvs = parsePacket(bytes, stats);
  return { tlvs, stats };
};

// ---- prefixes and seqnos ----------------------------------------------------

test('prefixes parse and print in standard notation (IPv4, IPv6 canonical)', () => {
  assert.is(formatPrefix(pfx('400:a:0:1::/64')), '400:a:0:1::/64');
  assert.is(formatPrefix(pfx('0400:000A:0000:0001:0000:0000:0000:0000/64')), '400:a:0:1::/64');
  assert.is(formatPrefix(pfx('2001:db8:0:0:1:0:0:1/128')), '2001:db8::1:0:0:1/128');
  assert.is(formatPrefix(pfx('::/0')), '::/0');
  assert.is(formatPrefix(pfx('::ffff:10.1.2.3/128')), '::ffff:a01:203/128');
  assert.is(formatPrefix(pfx('10.100.0.0/16')), '10.100.0.0/16');
  assert.is(formatPrefix(pfx('10.100.0.2/32')), '10.100.0.2/32');
  assert.equal(Array.from(pfx('10.100.0.0/16').bytes), [10, 100, 0, 0]);
});

test('bad prefixes throw ERR_TFW_BABEL_PREFIX naming the value', () => {
  for (const bad of ['400::', '400::/129', '10.0.0.0/33', '10.0.0.256/32', '1:2:3/64', '1::2::3/64', '10.1.0.0/8', 'x/1', '400::/064']) {
    try {
      pfx(bad);
      assert.unreachable(`accepted ${bad}`);
    } catch (e) {
      assert.is((e as { code?: string }).code, 'ERR_TFW_BABEL_PREFIX', bad);
      assert.match((e as Error).message, /prefix/);
    }
  }
});

test('seqno comparison is modulo 2^16 (§3.2.1)', () => {
  assert.ok(seqnoLess(1, 2));
  assert.ok(seqnoLess(0xffff, 0));
  assert.ok(seqnoLess(65000, 100));
  assert.not.ok(seqnoLess(100, 65000));
  assert.not.ok(seqnoLess(5, 5));
  assert.is(seqnoAdd(0xffff, 1), 0);
});

// ---- byte-exact layouts (RFC 8966 §4.6 diagrams) ----------------------------

const layouts: Array<[string, Tlv, string]> = [
  ['Pad1 (§4.6.1)', { type: 'pad1' }, '00'],
  ['PadN (§4.6.2)', { type: 'padN', length: 3 }, '01 03 000000'],
  ['Ack Request (§4.6.3)', { type: 'ackRequest', opaque: 0xabcd, interval: 100 }, '02 06 0000 abcd 0064'],
  ['Ack (§4.6.4)', { type: 'ack', opaque: 0xabcd }, '03 02 abcd'],
  ['Hello, unicast (§4.6.5)', { type: 'hello', unicast: true, seqno: 0x1234, interval: 400 }, '04 06 8000 1234 0190'],
  ['Hello, multicast (§4.6.5)', { type: 'hello', unicast: false, seqno: 1, interval: 0 }, '04 06 0000 0001 0000'],
  ['IHU, AE 0 (§4.6.6)', { type: 'ihu', ae: 0, rxcost: 96, interval: 1200, address: null }, '05 06 00 00 0060 04b0'],
  ['IHU, AE 1 (§4.6.6)', { type: 'ihu', ae: 1, rxcost: 0xffff, interval: 1200, address: unhex('0a000001') }, '05 0a 01 00 ffff 04b0 0a000001'],
  ['IHU, AE 3 (§4.6.6)', { type: 'ihu', ae: 3, rxcost: 256, interval: 300, address: unhex('0000000000000001') }, '05 0e 03 00 0100 012c 0000000000000001'],
  ['Router-Id (§4.6.7)', { type: 'routerId', routerId: RID }, '06 0a 0000 0102030405060708'],
  ['Next Hop, AE 2 (§4.6.8)', { type: 'nextHop', ae: 2, address: pfx('fe80::1/128').bytes }, '07 12 02 00 fe800000000000000000000000000001'],
  ['Next Hop, AE 1 (§4.6.8)', { type: 'nextHop', ae: 1, address: unhex('0a000001') }, '07 06 01 00 0a000001'],
  [
    'Update, AE 2 /64 (§4.6.9)',
    { type: 'update', ae: 2, flags: 0x80, plen: 64, omitted: 0, interval: 1600, seqno: 7, metric: 96, prefix: pfx('400:1:2:3::/64').bytes },
    '08 12 02 80 40 00 0640 0007 0060 0400000100020003',
  ],
  [
    'Update, AE 2 /64 with Omitted 6 (§4.6.9)',
    { type: 'update', ae: 2, flags: 0, plen: 64, omitted: 6, interval: 1600, seqno: 7, metric: 96, prefix: pfx('400:1:2:4::/64').bytes },
    '08 0c 02 00 40 06 0640 0007 0060 0004',
  ],
  [
    'Update, AE 1 /20 (§4.6.9)',
    { type: 'update', ae: 1, flags: 0, plen: 20, omitted: 0, interval: 400, seqno: 0xfffe, metric: 0xffff, prefix: pfx('10.1.16.0/20').bytes },
    '08 0d 01 00 14 00 0190 fffe ffff 0a0110',
  ],
  [
    'Update, AE 0 wildcard retraction (§4.6.9)',
    { type: 'update', ae: 0, flags: 0, plen: 0, omitted: 0, interval: 400, seqno: 3, metric: 0xffff, prefix: new Uint8Array(0) },
    '08 0a 00 00 00 00 0190 0003 ffff',
  ],
  ['Route Request, wildcard (§4.6.10)', { type: 'routeRequest', ae: 0, plen: 0, prefix: new Uint8Array(0) }, '09 02 00 00'],
  ['Route Request, AE 2 /64 (§4.6.10)', { type: 'routeRequest', ae: 2, plen: 64, prefix: pfx('400:1:2:3::/64').bytes }, '09 0a 02 40 0400000100020003'],
  [
    'Seqno Request, AE 2 /64 (§4.6.11)',
    { type: 'seqnoRequest', ae: 2, plen: 64, seqno: 8, hopCount: 64, routerId: RID, prefix: pfx('400:1:2:3::/64').bytes },
    '0a 16 02 40 0008 40 00 0102030405060708 0400000100020003',
  ],
  [
    'Seqno Request, AE 1 /32 (§4.6.11)',
    { type: 'seqnoRequest', ae: 1, plen: 32, seqno: 1, hopCount: 2, routerId: RID, prefix: pfx('10.100.0.2/32').bytes },
    '0a 12 01 20 0001 02 00 0102030405060708 0a640002',
  ],
];

for (const [name, tlv, expected] of layouts) {
  test(`layout: ${name}`, () => {
    const bytes = encodePacket([tlv]);
    assert.is(hex(bytes), hex(packet(expected.replace(/\s/g, ''))));
  });
}

test('every layout decodes back to the same fields (round trip)', () => {
  for (const [name, tlv] of layouts) {
    if (tlv.type === 'pad1' || tlv.type === 'padN') continue;
    // Updates need a router-id in force and the previous prefix for Omitted: supply both.
    const prior: Tlv[] = [];
    if (tlv.type === 'update' && tlv.omitted > 0)
      prior.push({ type: 'update', ae: 2, flags: 0x80, plen: 64, omitted: 0, interval: 1, seqno: 0, metric: 0, prefix: pfx('400:1:2:3::/64').bytes });
    const { tlvs, stats } = one(encodePacket([{ type: 'routerId', routerId: RID }, ...prior, tlv]));
    assert.is(stats.malformedTlv + stats.unknownTlv + stats.unknownAe, 0, name);
    const got = tlvs[tlvs.length - 1] as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(tlv)) {
      const g = got[k];
      if (v instanceof Uint8Array) assert.is(hex(g as Uint8Array), hex(v), `${name}: ${k}`);
      else assert.equal(g, v, `${name}: ${k}`);
    }
    if (tlv.type === 'update') assert.is(hex((got as unknown as Update).routerId!), hex(RID), name);
  }
});

// ---- packet-level state (§4.5) and compression ------------------------------

test('the packet encoder inserts Router-Id TLVs and compresses prefixes; the parser restores them', () => {
  const rid2 = unhex('1111111111111111');
  const mk = (p: string, routerId: Uint8Array, metric: number): Update => {
    const x = pfx(p);
    return { type: 'update', ae: x.family === 4 ? 1 : 2, flags: 0, plen: x.plen, omitted: 0, interval: 1600, seqno: 9, metric, prefix: x.bytes, routerId };
  };
  const input = [
    mk('400:1:2:3::/64', RID, 0),
    mk('400:1:2:4::/64', RID, 96),
    mk('10.100.0.0/16', RID, 96),
    mk('10.100.7.0/24', rid2, 192),
    mk('400:1:2:3:8000::/65', rid2, 192),
  ];
  const [bytes, ...rest] = encodePackets(input);
  assert.is(rest.length, 0);
  // Two Router-Id TLVs (12 bytes each), updates with 8, 1, 2, 1, 2 prefix octets on the wire.
  assert.is(bytes.length, 4 + 2 * 12 + 5 * 12 + 8 + 1 + 2 + 1 + 2);
  const { tlvs, stats } = one(bytes);
  assert.is(stats.malformedTlv, 0);
  const ups = tlvs.filter((t): t is Update => t.type === 'update');
  assert.equal(
    ups.map((u) => `${formatPrefix({ family: u.ae === 1 ? 4 : 6, bytes: u.prefix, plen: u.plen })} ${hex(u.routerId!)} ${u.metric}`),
    ['400:1:2:3::/64 0102030405060708 0', '400:1:2:4::/64 0102030405060708 96', '10.100.0.0/16 0102030405060708 96', '10.100.7.0/24 1111111111111111 192', '400:1:2:3:8000::/65 1111111111111111 192'],
  );
});

test('packets are split at maxPacketSize and each one stands alone', () => {
  const ups: Update[] = [];
  for (let i = 0; i < 200; i++) {
    const p = pfx(`4${(i % 16).toString(16)}0:${i.toString(16)}::/64`);
    ups.push({ type: 'update', ae: 2, flags: 0, plen: 64, omitted: 0, interval: 1600, seqno: i, metric: i, prefix: p.bytes, routerId: RID });
  }
  const pkts = encodePackets(ups, 300);
  assert.ok(pkts.length > 5);
  let n = 0;
  for (const p of pkts) {
    assert.ok(p.length <= 300, `packet of ${p.length}`);
    const { tlvs, stats } = one(p);
    assert.is(stats.malformedTlv, 0);
    for (const t of tlvs) if (t.type === 'update') assert.is(t.seqno, n++);
  }
  assert.is(n, 200);
});

test('Update flag 0x40 takes the router-id from the low 64 bits of the prefix', () => {
  const { tlvs } = one(packet('08 1a 02 40 80 00 0640 0001 0000 04000001000200030a0b0c0d0e0f1011'.replace(/\s/g, '')));
  const u = tlvs[0] as Update;
  assert.is(hex(u.routerId!), '0a0b0c0d0e0f1011');
});

test('Update AE 3 rebuilds the link-local prefix (fe80::/64 implied)', () => {
  const { tlvs, stats } = one(packet('06 0a 0000 0102030405060708 08 12 03 00 80 00 0640 0001 0000 0000000000000001'.replace(/\s/g, '')));
  assert.is(stats.malformedTlv, 0);
  const u = tlvs[1] as Update;
  assert.is(formatPrefix({ family: 6, bytes: u.prefix, plen: u.plen }), 'fe80::1/128');
});

test('a packet trailer after the body is ignored (§4.2)', () => {
  const p = packet('04 06 8000 0001 0190'.replace(/\s/g, ''));
  const withTrailer = Uint8Array.from([...p, 0xde, 0xad, 0xbe, 0xef]);
  const { tlvs, stats } = one(withTrailer);
  assert.is(tlvs.length, 1);
  assert.is(stats.malformedTlv, 0);
});

// ---- malformed input: counted, skipped, never thrown ------------------------

test('bad magic, bad version and short packets are counted as badHeader', () => {
  for (const b of [[43, 2, 0, 0], [42, 1, 0, 0], [42], []]) {
    const { tlvs, stats } = one(Uint8Array.from(b));
    assert.is(tlvs.length, 0);
    assert.is(stats.badHeader, 1, JSON.stringify(b));
  }
});

test('a body length past the end of the datagram drops the packet (truncated)', () => {
  const { tlvs, stats } = one(Uint8Array.from([42, 2, 0, 10, 4, 6, 0x80, 0, 0, 1, 1, 0x90]));
  assert.is(tlvs.length, 0);
  assert.is(stats.truncated, 1);
});

test('a TLV whose length runs past the body ends the parse; earlier TLVs survive', () => {
  const { tlvs, stats } = one(packet('04 06 8000 0001 0190 04 06 8000 00'.replace(/\s/g, '')));
  assert.is(tlvs.length, 1);
  assert.is(stats.malformedTlv, 1);
});

test('a TLV too short for its fields is skipped and the next TLV is parsed', () => {
  const { tlvs, stats } = one(packet('04 02 8000  06 0a 0000 0000000000000000  04 06 8000 0002 0190'.replace(/\s/g, '')));
  assert.is(stats.malformedTlv, 2); // the short Hello and the all-zero Router-Id
  assert.is(tlvs.length, 1);
  assert.is((tlvs[0] as { seqno: number }).seqno, 2);
});

test('an Update with Omitted > 0 and no default prefix, or interval 0, is malformed', () => {
  const a = one(packet('06 0a 0000 0102030405060708 08 0c 02 00 40 06 0640 0007 0060 0004'.replace(/\s/g, '')));
  assert.is(a.stats.malformedTlv, 1);
  const b = one(packet('06 0a 0000 0102030405060708 08 12 02 00 40 00 0000 0007 0060 0400000100020003'.replace(/\s/g, '')));
  assert.is(b.stats.malformedTlv, 1);
  const c = one(packet('08 0c 01 00 21 00 0640 0007 0060 0a00'.replace(/\s/g, ''))); // AE 1, plen 33
  assert.is(c.stats.malformedTlv, 1);
});

test('unknown TLV types and unknown AEs are ignored and counted (§4.3, §4.1.3)', () => {
  const { tlvs, stats } = one(packet('c8 03 010203  09 02 07 00  04 06 8000 0003 0190'.replace(/\s/g, '')));
  assert.is(stats.unknownTlv, 1);
  assert.is(stats.unknownAe, 1);
  assert.is(tlvs.length, 1);
});

test('sub-TLVs: padding and unknown non-mandatory ones are skipped, a mandatory one voids the TLV (§4.4)', () => {
  // Hello + Pad1 + PadN(2) + unknown type 5: kept.
  let r = one(packet('04 0e 8000 0001 0190 00 01 02 0000 05 01 ff'.replace(/\s/g, '')));
  assert.is(r.tlvs.length, 1);
  assert.is(r.stats.ignoredMandatory, 0);
  // Hello + unknown mandatory type 0x85: ignored.
  r = one(packet('04 08 8000 0001 0190 85 00'.replace(/\s/g, '')));
  assert.is(r.tlvs.length, 0);
  assert.is(r.stats.ignoredMandatory, 1);
  // A sub-TLV running past the TLV is malformed.
  r = one(packet('04 08 8000 0001 0190 05 04'.replace(/\s/g, '')));
  assert.is(r.stats.malformedTlv, 1);
  // An Update ignored for a mandatory sub-TLV still sets the default prefix (§4.4, §4.5).
  r = one(
    packet(
      ('06 0a 0000 0102030405060708' +
        ' 08 14 02 80 40 00 0640 0007 0060 0400000100020003 85 00' +
        ' 08 0c 02 00 40 06 0640 0007 0060 0004').replace(/\s/g, ''),
    ),
  );
  assert.is(r.stats.ignoredMandatory, 1);
  assert.is(r.stats.malformedTlv, 0);
  const u = r.tlvs.find((t) => t.type === 'update') as Update;
  assert.is(formatPrefix({ family: 6, bytes: u.prefix, plen: 64 }), '400:1:2:4::/64');
});

test('random and mutated packets never throw, in the parser or in the router', () => {
  const rnd = prng();
  const clock = new ManualClock();
  const router = new BabelRouter({ routerId: RID, prefixes: ['400:1::/64'], clock, log: () => {} });
  router.addNeighbour('x', () => {});
  const valid = encodePacket(layouts.map((l) => l[1]));
  for (let i = 0; i < 3000; i++) {
    let b: Uint8Array;
    if (i % 2 === 0) {
      b = rnd.bytes(rnd.int(64));
      if (b.length >= 4) {
        b[0] = 42;
        b[1] = 2;
        const len = b.length - 4;
        b[2] = len >> 8;
        b[3] = len & 0xff;
      }
    } else {
      b = Uint8Array.from(valid);
      for (let k = 0; k < 4; k++) b[4 + rnd.int(b.length - 4)] = rnd.int(256);
      b = b.subarray(0, 4 + rnd.int(b.length - 3));
    }
    const stats = newParseStats();
    parsePacket(b, stats);
    router.receive('x', b);
  }
  assert.ok(router.stats.packets === 3000);
  assert.is(router.stats.internalErrors, 0); // malformed input is handled, not caught as a crash
  assert.ok(router.stats.malformedTlv + router.stats.truncated + router.stats.unknownTlv > 0);
  router.stop();
});

test('encodeUpdate writes exactly ceil(plen/8) - Omitted prefix octets', () => {
  const w = new Writer();
  encodeUpdate(w, { type: 'update', ae: 2, flags: 0, plen: 57, omitted: 3, interval: 1, seqno: 0, metric: 0, prefix: pfx('400:1:2:300::/57').bytes });
  assert.is(w.length, 2 + 10 + 8 - 3);
});

test.run();
