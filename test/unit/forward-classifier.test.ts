// The forward kernel's batch classifier on hand-built IPv4/IPv6 packets (options,
// fragments, TTL 1 and 0, bad IHL, lengths, versions, truncation), the RFC 1624
// checksum patch against a full recomputation, and fuzzed / mutated input.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { availableBackends, type ConcreteBackend } from '../../runtime/kernels/backend.js';
import { Classifier, DropReason, VerdictFlag } from '../../runtime/kernels/forward.js';
import { prng } from '../helpers.js';
import { checksum, ip4, ip6 } from './forward-packets.js';

// Every backend runnable here: both wasm builds, and native when the addon is built.
const backends = availableBackends();


function setup(backend: ConcreteBackend): Classifier {
  const c = new Classifier({ backend, poolBytes: 1 << 20, maxPackets: 8192 });
  c.ipv4.insert('10.0.0.0/8', 1);
  c.ipv4.insert('10.1.0.0/16', 2);
  c.ipv4.insert('10.1.2.0/25', 3);
  c.ipv6.insert('2001:db8::/32', 11);
  c.ipv6.insert('2001:db8:1::/48', 12);
  c.addLocal('10.1.2.1');
  c.addLocal('192.0.2.0/24');
  c.addLocal('2001:db8:1::1');
  return c;
}

function run(c: Classifier, packets: Uint8Array[]) {
  const n = c.load(packets);
  assert.is(n, packets.length);
  c.classify(n);
  return packets.map((_, i) => c.verdict(i));
}

for (const backend of backends) {
  test(`${backend}: IPv4 forward decrements TTL and patches the checksum (RFC 1624)`, () => {
    const c = setup(backend);
    const pkts = [ip4(), ip4({ dst: '10.1.2.200' }), ip4({ dst: '10.200.0.1', ttl: 2 }), ip4({ options: [1, 1, 1, 0] }), ip4({ options: [7, 7, 4, 0, 0, 0, 0, 1] })];
    const v = run(c, pkts);
    assert.equal(v.map((x) => [x.action, x.nextHop, x.version, x.headerLength]), [
      ['forward', 3, 4, 20], ['forward', 2, 4, 20], ['forward', 1, 4, 20], ['forward', 3, 4, 24], ['forward', 3, 4, 28],
    ]);
    assert.is(v[3].flags & VerdictFlag.OPTIONS, VerdictFlag.OPTIONS);
    assert.is(v[0].flags, 0);
    const desc = c.descriptors;
    for (let i = 0; i < pkts.length; i++) {
      const out = c.pool.slice(desc[2 * i], desc[2 * i] + pkts[i].length);
      assert.is(out[8], pkts[i][8] - 1, 'TTL decremented');
      const hl = v[i].headerLength;
      const stored = (out[10] << 8) | out[11];
      out[10] = out[11] = 0;
      assert.is(stored, checksum(out.subarray(0, hl)), 'patched checksum equals a full recomputation');
      assert.equal(out.subarray(12), pkts[i].subarray(12), 'nothing else changed');
    }
  });

  test(`${backend}: IPv4 drops with reasons`, () => {
    const c = setup(backend);
    const badSum = ip4();
    badSum[11] ^= 1;
    const cases: Array<[string, Uint8Array, number, number]> = [
      ['TTL 1', ip4({ ttl: 1 }), DropReason.TTL_EXPIRED, 20],
      ['TTL 0', ip4({ ttl: 0 }), DropReason.TTL_EXPIRED, 20],
      ['TTL 1 with options', ip4({ ttl: 1, options: [1, 1, 1, 1] }), DropReason.TTL_EXPIRED, 24],
      ['no route', ip4({ dst: '11.0.0.1' }), DropReason.NO_ROUTE, 20],
      ['IHL 4', ip4({ ihl: 4 }), DropReason.BAD_IHL, 0],
      ['IHL 0', ip4({ ihl: 0 }), DropReason.BAD_IHL, 0],
      ['IHL past the buffer', ip4({ ihl: 15, payload: 0 }), DropReason.BAD_IHL, 60],
      ['total length > buffer', ip4({ total: 100 }), DropReason.BAD_LENGTH, 20],
      ['total length < header', ip4({ total: 19 }), DropReason.BAD_LENGTH, 20],
      ['bad checksum', badSum, DropReason.BAD_CHECKSUM, 20],
      ['option length 0', ip4({ options: [7, 0, 0, 0] }), DropReason.BAD_OPTIONS, 24],
      ['option past header', ip4({ options: [1, 1, 7, 9] }), DropReason.BAD_OPTIONS, 24],
      ['option type without length', ip4({ options: [1, 1, 1, 7] }), DropReason.BAD_OPTIONS, 24],
      ['fragment past 65535', ip4({ frag: 0x1fff, payload: 16 }), DropReason.BAD_FRAGMENT, 20],
      ['truncated 19 bytes', ip4().subarray(0, 19), DropReason.TRUNCATED, 0],
      ['version 5', Uint8Array.from(ip4(), (b, i) => (i === 0 ? 0x55 : b)), DropReason.BAD_VERSION, 0],
      ['version 0', new Uint8Array(40), DropReason.BAD_VERSION, 0],
    ];
    const v = run(c, cases.map((x) => x[1]));
    cases.forEach(([name, , reason, hl], i) => {
      assert.is(v[i].action, 'drop', name);
      assert.is(v[i].reasonCode, reason, `${name}: ${v[i].reason}`);
      assert.is(v[i].headerLength, hl, `${name}: header length`);
    });
    assert.is(v[0].version, 4);
    assert.is(v[0].nextHop, 3, 'TTL expired names the route it would have taken');
    // Dropped packets are not modified.
    const desc = c.descriptors;
    cases.forEach(([name, p], i) => assert.equal(c.pool.slice(desc[2 * i], desc[2 * i] + p.length), p, name));
  });

  test(`${backend}: IPv4 fragments, trailing bytes and local delivery`, () => {
    const c = setup(backend);
    const v = run(c, [
      ip4({ frag: 0x2000 }), // MF
      ip4({ frag: 0x0010 }), // offset 16 * 8
      ip4({ frag: 0x4000 }), // DF only: not a fragment
      ip4({ extra: 6 }),
      ip4({ dst: '10.1.2.1', ttl: 1 }),
      ip4({ dst: '192.0.2.77' }),
    ]);
    assert.is(v[0].action, 'forward');
    assert.is(v[0].flags & VerdictFlag.FRAGMENT, VerdictFlag.FRAGMENT);
    assert.is(v[1].flags & VerdictFlag.FRAGMENT, VerdictFlag.FRAGMENT);
    assert.is(v[2].flags, 0);
    assert.is(v[3].action, 'forward');
    assert.is(v[3].flags, VerdictFlag.TRAILING);
    assert.is(v[4].action, 'local', 'local before the TTL check');
    assert.is(v[5].action, 'local');
    assert.is(c.pool[c.descriptors[8] + 8], 1, 'local packets keep their TTL');
    assert.ok(c.removeLocal('192.0.2.0/24'));
    assert.not.ok(c.removeLocal('192.0.2.0/24'));
    assert.is(run(c, [ip4({ dst: '192.0.2.77' })])[0].reasonCode, DropReason.NO_ROUTE);
  });

  test(`${backend}: IPv6 forward, hop limit, extension headers, lengths`, () => {
    const c = setup(backend);
    const hbh = [6, 0, 1, 4, 0, 0, 0, 0];
    const frag = [17, 0, 0, 8, 0, 0, 0, 1];
    const cases: Array<[string, Uint8Array, string, number]> = [
      ['plain', ip6(), 'forward', 0],
      ['/32 route', ip6({ dst: '2001:db8:2::1' }), 'forward', 0],
      ['hop limit 1', ip6({ hop: 1 }), 'drop', DropReason.TTL_EXPIRED],
      ['hop limit 0', ip6({ hop: 0 }), 'drop', DropReason.TTL_EXPIRED],
      ['no route', ip6({ dst: '2001:db9::1' }), 'drop', DropReason.NO_ROUTE],
      ['local', ip6({ dst: '2001:db8:1::1', hop: 1 }), 'local', 0],
      ['payload length > buffer', ip6({ plen: 100 }), 'drop', DropReason.BAD_LENGTH],
      ['jumbo (payload length 0 with HBH)', ip6({ plen: 0, next: 0, ext: hbh, payload: 0 }), 'drop', DropReason.BAD_LENGTH],
      ['truncated 39 bytes', ip6().subarray(0, 39), 'drop', DropReason.TRUNCATED],
      ['HBH + fragment', ip6({ next: 0, ext: [44, 0, 1, 4, 0, 0, 0, 0, ...frag] }), 'forward', 0],
      ['HBH past payload', ip6({ next: 0, ext: [17, 3, 0, 0, 0, 0, 0, 0], payload: 0 }), 'drop', DropReason.BAD_EXT_HEADER],
      ['ext header cut short', ip6({ next: 60, ext: [17, 0, 0], payload: 0 }), 'drop', DropReason.BAD_EXT_HEADER],
      ['trailing bytes', ip6({ extra: 3 }), 'forward', 0],
    ];
    const v = run(c, cases.map((x) => x[1]));
    cases.forEach(([name, , action, reason], i) => {
      assert.is(v[i].action, action, `${name}: ${v[i].action} ${v[i].reason ?? ''}`);
      assert.is(v[i].reasonCode, reason, name);
      if (action !== 'drop' || reason === DropReason.TTL_EXPIRED) assert.is(v[i].headerLength, 40, name);
    });
    assert.is(v[0].nextHop, 12);
    assert.is(v[1].nextHop, 11);
    assert.is(v[0].version, 6);
    assert.is(c.pool[c.descriptors[0] + 7], 63, 'hop limit decremented');
    assert.is(v[9].flags, VerdictFlag.FRAGMENT | VerdictFlag.OPTIONS);
    assert.is(v[12].flags, VerdictFlag.TRAILING);
  });

  test(`${backend}: descriptors outside the pool are dropped, not read`, () => {
    const c = new Classifier({ backend, poolBytes: 4096, maxPackets: 4 });
    const d = c.descriptors;
    d.set([4000, 200, 0xffffffff, 2, 4096, 0, 0, 0]);
    c.classify(4);
    assert.equal([0, 1, 2, 3].map((i) => c.verdict(i).reasonCode), [DropReason.DESCRIPTOR, DropReason.DESCRIPTOR, DropReason.TRUNCATED, DropReason.TRUNCATED]);
    assert.throws(() => c.classify(5), /count: expected an integer 0..4/);
  });

  test(`${backend}: RFC 1624 patch equals recomputation on random headers, including the 0x0000 edge`, () => {
    const c = setup(backend);
    const rng = prng(11);
    const pkts: Uint8Array[] = [];
    for (let i = 0; i < 4000; i++) {
      const opts = rng.int(3) === 0 ? [1, 1, 1, 1] : [];
      const p = ip4({ ttl: 2 + rng.int(254), id: rng.int(65536), options: opts, frag: rng.int(2) << 14 });
      pkts.push(p);
    }
    // Force the checksum after rewrite to 0x0000 (sum 0xffff) and to 0xffff-adjacent values.
    for (const ttl of [2, 64, 255]) {
      const p = ip4({ ttl: ttl - 1, id: 0 });
      p[10] = p[11] = 0;
      const want = checksum(p.subarray(0, 20)); // checksum after rewrite with id 0
      const id = (0xffff - (~want & 0xffff)) & 0xffff; // makes the rewritten sum 0xffff
      pkts.push(ip4({ ttl, id }));
    }
    const v = run(c, pkts);
    const desc = c.descriptors;
    let zeros = 0;
    pkts.forEach((p, i) => {
      assert.is(v[i].action, 'forward');
      const out = c.pool.slice(desc[2 * i], desc[2 * i] + p.length);
      const hl = v[i].headerLength;
      const stored = (out[10] << 8) | out[11];
      if (stored === 0) zeros++;
      out[10] = out[11] = 0;
      assert.is(stored, checksum(out.subarray(0, hl)), `packet ${i}`);
    });
    assert.ok(zeros >= 1, 'the 0x0000 edge was exercised');
  });

  test(`${backend}: fuzzed and mutated packets never trap, verdicts valid, no read past a packet`, () => {
    const c = setup(backend);
    const rng = prng(23);
    const valid = [ip4(), ip4({ options: [1, 1, 7, 5, 4, 0, 0, 0] }), ip4({ frag: 0x2001 }), ip6(), ip6({ next: 0, ext: [44, 0, 1, 4, 0, 0, 0, 0, 17, 0, 0, 8, 0, 0, 0, 1] })];
    for (let round = 0; round < 6; round++) {
      const pkts: Uint8Array[] = [];
      for (let i = 0; i < 2000; i++) {
        let p: Uint8Array;
        const k = rng.int(4);
        if (k === 0) {
          p = rng.bytes(rng.int(90));
          if (p.length && rng.int(2)) p[0] = (p[0] & 0x0f) | (rng.int(2) ? 0x40 : 0x60);
        } else {
          const base = valid[rng.int(valid.length)];
          const len = k === 1 ? rng.int(base.length + 1) : base.length + (k === 2 ? rng.int(9) : 0);
          p = new Uint8Array(len);
          p.set(base.subarray(0, Math.min(len, base.length)));
          for (let m = rng.int(4); m > 0 && len > 0; m--) p[rng.int(len)] = rng.int(256);
        }
        pkts.push(p);
      }
      // Each packet twice, with different neighbours: a read past a packet's end would
      // make the two verdicts differ.
      const n = pkts.length;
      const pool = c.pool;
      const desc = c.descriptors;
      let off = 0;
      for (let copy = 0; copy < 2; copy++) {
        for (let i = 0; i < n; i++) {
          pool.set(pkts[i], off);
          desc[2 * (copy * n + i)] = off;
          desc[2 * (copy * n + i) + 1] = pkts[i].length;
          off += pkts[i].length;
          const gap = rng.bytes(copy === 0 ? 3 : 5);
          if (copy === 1) gap.fill(0x45);
          pool.set(gap, off);
          off += gap.length;
        }
      }
      c.classify(2 * n);
      for (let i = 0; i < n; i++) {
        const a = c.verdict(i);
        const b = c.verdict(n + i);
        assert.equal(a, b, `packet ${i} depends on bytes outside it`);
        assert.ok(['forward', 'local', 'drop'].includes(a.action));
        if (a.action === 'drop') assert.ok(a.reason && !a.reason.startsWith('UNKNOWN'), `reason ${a.reasonCode}`);
        else assert.is(a.reasonCode, 0);
        if (a.action === 'forward' && a.version === 4) {
          const out = c.pool.slice(desc[2 * i], desc[2 * i] + a.headerLength);
          assert.is(checksum(out), 0, 'forwarded IPv4 header still checks');
        }
      }
    }
  });
}

test('local set is limited to 64 entries per family, with a coded error', () => {
  const c = new Classifier({ poolBytes: 4096, maxPackets: 4 });
  for (let i = 0; i < 64; i++) c.addLocal(`10.0.0.${i}`);
  c.addLocal('10.0.0.1');
  assert.throws(() => c.addLocal('10.0.1.1'), (e: Error & { code?: string }) => e.code === 'ERR_TFW_LOCAL_FULL');
  assert.throws(() => new Classifier({ poolBytes: 10 }), /poolBytes: expected an integer/);
});

test.run();
