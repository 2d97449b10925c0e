// The native (C, N-API) forward engine against the wasm one: the same lookups on
// random nested IPv4 / IPv6 tables before and after random deletes, the same
// memory figures (same structures), byte-identical verdicts and rewritten packets
// on hand-built and >= 24,000 fuzzed / mutated packets, and coded errors on bad
// arguments. Skips with a message when the addon (or its forward kernel) is not built.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Classifier, Fib, formatAddress } from '../../runtime/kernels/forward.js';
import { nativeForwardAvailable } from '../../runtime/kernels/forward-native.js';
import { nativeForward, nativeLoadError } from '../../runtime/kernels/native.js';
import { prng } from '../helpers.js';
import { checksum, ip4 as buildIp4, ip6 as buildIp6, type V4, type V6 } from './forward-packets.js';
import { genAddresses, genTable, packAddresses, text } from './forward-random.js';


function compare(label: string, wasm: Fib, native: Fib, addrs: Uint8Array): void {
  const w = wasm.family === 'ipv4' ? 4 : 16;
  const n = addrs.length / w;
  const a = new Int32Array(n);
  const b = new Int32Array(n);
  wasm.lookupBatch(addrs, a);
  native.lookupBatch(addrs, b);
  let bad = 0;
  let first = '';
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) {
      if (!bad) first = `${formatAddress(addrs.subarray(i * w, i * w + w))}: wasm ${a[i]}, native ${b[i]}`;
      bad++;
    }
  }
  assert.is(bad, 0, `${label}: ${bad} batch lookups differ, first ${first}`);
  // Single lookups take another path (no lanes, no two-pass batch).
  for (let i = 0; i < n; i += 7) {
    const addr = addrs.subarray(i * w, i * w + w);
    assert.is(native.lookup(addr), a[i], `${label}: single lookup ${formatAddress(addr)}`);
  }
  assert.is(native.memoryBytes, wasm.memoryBytes, `${label}: memoryBytes (same structures, same accounting)`);
  assert.is(native.size, wasm.size);
}

const skip = nativeForwardAvailable() ? '' : `native forward kernel not available: ${nativeLoadError() || 'addon predates it'} (run \`make native\`)`;
if (skip) console.log(`tfw: test: forward-native skipped: ${skip}`);
const t = skip ? test.skip : test;

for (const [family, bits, n] of [['ipv4', 32, 3000], ['ipv6', 128, 3000]] as const) {
  t(`${family}: native lookups equal wasm on a nested table, through deletes, re-inserts and a full drain`, () => {
    const rng = prng(family === 'ipv4' ? 41 : 61);
    const routes = genTable(rng, bits, n, { rareShort: true });
    const wasm = new Fib(family, { backend: 'wasm-scalar' });
    const native = new Fib(family, { backend: 'native' });
    assert.is(native.backend, 'native');
    assert.is(native.lookup(family === 'ipv4' ? '10.0.0.1' : '2001:db8::1'), -1, 'empty table');
    assert.is(native.memoryBytes, 0);
    const half = routes.length >> 1;
    // First half one by one, second half in one bulk update (IPv6: one rebuild per slot).
    for (const r of routes.slice(0, half)) {
      wasm.insert(text(r, bits), r.nh);
      native.insert(text(r, bits), r.nh);
    }
    const bulk = routes.slice(half).map((r) => ({ prefix: text(r, bits), nextHop: r.nh }));
    wasm.insertMany(bulk);
    native.insertMany(bulk);
    const addrs = packAddresses(genAddresses(rng, routes, bits, 6000, 8), bits);
    compare('after inserts', wasm, native, addrs);
    const live = [...routes];
    for (let i = 0; i < Math.floor(n * 0.4); i++) {
      const [r] = live.splice(rng.int(live.length), 1);
      assert.ok(wasm.delete(text(r, bits)));
      assert.ok(native.delete(text(r, bits)));
    }
    compare('after deleting 40%', wasm, native, addrs);
    for (let i = 0; i < 500; i++) {
      const r = routes[rng.int(routes.length)];
      const nh = rng.int(65536);
      wasm.insert(text(r, bits), nh);
      native.insert(text(r, bits), nh);
    }
    compare('after re-inserts and next-hop changes', wasm, native, addrs);
    for (const [p] of [...wasm.routes()]) {
      wasm.delete(p);
      native.delete(p);
    }
    compare('after deleting everything', wasm, native, addrs);
    const none = new Int32Array(addrs.length / (bits / 8));
    native.lookupBatch(addrs, none);
    assert.ok(none.every((x) => x === -1), 'drained table answers -1');
  });
}

// ---- classifier ----

const ip4 = (dst: string, o: V4 = {}) => buildIp4({ ...o, dst });
const ip6 = (dst: string, o: V6 = {}) => buildIp6({ ...o, dst });

function pair(): [Classifier, Classifier] {
  const cs = [new Classifier({ backend: 'wasm-scalar', poolBytes: 1 << 20, maxPackets: 8192 }), new Classifier({ backend: 'native', poolBytes: 1 << 20, maxPackets: 8192 })] as const;
  for (const c of cs) {
    c.ipv4.insert('10.0.0.0/8', 1);
    c.ipv4.insert('10.1.0.0/16', 2);
    c.ipv4.insert('10.1.2.0/25', 3);
    c.ipv4.insert('172.16.0.0/12', 4);
    c.ipv4.insert('172.16.5.7/32', 5);
    c.ipv6.insert('2001:db8::/32', 11);
    c.ipv6.insert('2001:db8:1::/48', 12);
    c.ipv6.insert('2001:db8:1:2:3::/80', 13);
    c.ipv6.insert('::/1', 14);
    c.addLocal('10.1.2.1');
    c.addLocal('192.0.2.0/24');
    c.addLocal('2001:db8:1::1');
    c.addLocal('fe80::/10');
  }
  return [cs[0], cs[1]];
}

/** Same pool bytes and descriptors into both, classify, compare verdicts and the whole pool. */
function sameOnBoth(cs: [Classifier, Classifier], poolBytes: Uint8Array, desc: Uint32Array, count: number, label: string): Uint32Array {
  for (const c of cs) {
    c.pool.set(poolBytes);
    c.descriptors.set(desc.subarray(0, 2 * count));
    c.classify(count);
  }
  const [w, n] = cs;
  const vw = w.verdicts.subarray(0, 2 * count);
  const vn = n.verdicts.subarray(0, 2 * count);
  for (let i = 0; i < 2 * count; i++) {
    if (vw[i] !== vn[i]) assert.unreachable(`${label}: packet ${i >> 1} word ${i & 1}: wasm 0x${vw[i].toString(16)}, native 0x${vn[i].toString(16)}`);
  }
  assert.ok(Buffer.from(w.pool).equals(Buffer.from(n.pool)), `${label}: rewritten pools differ`);
  return vw.slice();
}

function pack(pkts: Uint8Array[], gap = 0): [Uint8Array, Uint32Array] {
  const pool = new Uint8Array(1 << 20);
  const desc = new Uint32Array(pkts.length * 2);
  let off = 0;
  pkts.forEach((p, i) => {
    pool.set(p, off);
    desc[2 * i] = off;
    desc[2 * i + 1] = p.length;
    off += p.length + gap;
  });
  return [pool, desc];
}

t('classifier: native verdicts and rewritten packets equal wasm on hand-built packets', () => {
  const cs = pair();
  const pkts = [
    ip4('10.1.2.3'), ip4('10.1.2.200'), ip4('10.200.0.1', { ttl: 2 }), ip4('172.16.5.7'), ip4('172.31.0.1', { ttl: 255 }),
    ip4('10.1.2.3', { options: [1, 1, 1, 0] }), ip4('10.1.2.3', { options: [7, 7, 4, 0, 0, 0, 0, 1] }), ip4('10.1.2.3', { options: [7, 9, 0, 0] }),
    ip4('10.1.2.3', { options: [1, 1, 7, 0] }), ip4('10.1.2.3', { frag: 0x2000 }), ip4('10.1.2.3', { frag: 0x1fff, payload: 100 }),
    ip4('10.1.2.3', { ttl: 1 }), ip4('10.1.2.3', { ttl: 0 }), ip4('10.1.2.1', { ttl: 0 }), ip4('192.0.2.77'), ip4('11.0.0.1'),
    ip4('10.1.2.3', { ihl: 4 }), ip4('10.1.2.3', { ihl: 0 }), ip4('10.1.2.3', { ihl: 15 }), ip4('10.1.2.3', { total: 19 }), ip4('10.1.2.3', { total: 2000 }),
    ip4('10.1.2.3', { extra: 6 }), ip4('10.1.2.3').subarray(0, 19),
    ip6('2001:db8:1::5'), ip6('2001:db8:1:2:3::9', { hop: 2 }), ip6('2001:db8:2::1'), ip6('3fff::1'), ip6('8000::1'), ip6('2001:db8:1::1', { hop: 0 }),
    ip6('fe80::1234'), ip6('2001:db8::1', { hop: 1 }), ip6('2001:db8::1', { hop: 0 }), ip6('2001:db8::1', { plen: 0, next: 0, payload: 0 }),
    ip6('2001:db8::1', { plen: 100 }), ip6('2001:db8::1', { extra: 4 }), ip6('2001:db8::1').subarray(0, 39),
    ip6('2001:db8::1', { next: 0, ext: [43, 0, 1, 4, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0] }),
    ip6('2001:db8::1', { next: 44, ext: [17, 0, 0, 1, 0, 0, 0, 1] }), ip6('2001:db8::1', { next: 60, ext: [17, 5, 0, 0, 0, 0, 0, 0], payload: 0 }),
    Uint8Array.of(0x50, 1, 2, 3), new Uint8Array(0),
  ];
  const badSum = ip4('10.1.2.3');
  badSum[11] ^= 1;
  pkts.push(badSum);
  // The edge where the patched checksum is 0x0000: pick the id that makes it so.
  const edge = ip4('10.1.2.3', { ttl: 64 });
  for (let id = 0; id < 65536; id++) {
    edge[4] = id >> 8;
    edge[5] = id & 0xff;
    edge[8] = 63;
    edge[10] = edge[11] = 0;
    if (checksum(edge.subarray(0, 20)) === 0) break;
  }
  edge[8] = 64;
  edge[10] = edge[11] = 0;
  const ec = checksum(edge.subarray(0, 20));
  edge[10] = ec >> 8;
  edge[11] = ec & 0xff;
  const edgeIndex = pkts.push(edge) - 1;
  const [pool, desc] = pack(pkts, 3);
  // Two descriptors past the pool end and one straddling it.
  const d = new Uint32Array(desc.length + 6);
  d.set(desc);
  d.set([1 << 20, 1, 0xffffffff, 2, (1 << 20) - 10, 20], desc.length);
  const count = pkts.length + 3;
  const v = sameOnBoth(cs, pool, d, count, 'hand-built');
  const actions = new Set(Array.from({ length: count }, (_, i) => v[2 * i] & 0xff));
  const reasons = new Set(Array.from({ length: count }, (_, i) => (v[2 * i] >>> 8) & 0xff));
  assert.equal([...actions].sort(), [1, 2, 3], 'forward, local and drop all exercised');
  for (let r = 1; r <= 11; r++) assert.ok(reasons.has(r), `drop reason ${r} exercised`);
  const eo = d[2 * edgeIndex];
  assert.is(v[2 * edgeIndex] & 0xff, 1);
  assert.equal([cs[1].pool[eo + 8], cs[1].pool[eo + 10], cs[1].pool[eo + 11]], [63, 0, 0], 'the 0x0000 checksum edge');
});

t('classifier: native equals wasm on 24,000 fuzzed and mutated packets, random headers and descriptors', () => {
  const cs = pair();
  const rng = prng(97);
  const valid = [
    ip4('10.1.2.3'), ip4('172.16.5.7', { options: [1, 1, 7, 5, 4, 0, 0, 0] }), ip4('10.9.0.1', { frag: 0x2001 }), ip4('10.1.2.1'),
    ip6('2001:db8:1::5'), ip6('2001:db8:1:2:3::1', { next: 0, ext: [44, 0, 1, 4, 0, 0, 0, 0, 17, 0, 0, 8, 0, 0, 0, 1] }), ip6('2001:db8:1::1'),
  ];
  let forwarded = 0;
  for (let round = 0; round < 6; round++) {
    const pkts: Uint8Array[] = [];
    for (let i = 0; i < 4000; i++) {
      let p: Uint8Array;
      const k = rng.int(5);
      if (k === 0) {
        p = rng.bytes(rng.int(90));
        if (p.length && rng.int(2)) p[0] = (p[0] & 0x0f) | (rng.int(2) ? 0x40 : 0x60);
      } else if (k === 1) {
        // A valid IPv4 header with random fields (TTL, id, destination): many checksums, the 0x0000 edge.
        const dst = rng.int(2) ? `10.1.${rng.int(4)}.${rng.int(256)}` : `${rng.int(256)}.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}`;
        p = ip4(dst, { ttl: rng.int(256), frag: rng.int(4) === 0 ? rng.int(65536) & 0x3fff : 0 });
        p[4] = rng.int(256);
        p[5] = rng.int(256);
        p[10] = p[11] = 0;
        const c = checksum(p.subarray(0, 20));
        p[10] = c >> 8;
        p[11] = c & 0xff;
      } else {
        const base = valid[rng.int(valid.length)];
        const len = k === 2 ? rng.int(base.length + 1) : base.length + (k === 3 ? rng.int(9) : 0);
        p = new Uint8Array(len);
        p.set(base.subarray(0, Math.min(len, base.length)));
        for (let m = rng.int(4); m > 0 && len > 0; m--) p[rng.int(len)] = rng.int(256);
      }
      pkts.push(p);
    }
    const [pool, desc] = pack(pkts, rng.int(3));
    // Some descriptors random (overlapping other packets, or past the pool end).
    for (let j = 0; j < 100; j++) {
      const i = rng.int(pkts.length);
      desc[2 * i] = rng.int(2) ? rng.int(1 << 20) : (1 << 20) - rng.int(64);
      desc[2 * i + 1] = rng.int(100);
    }
    const v = sameOnBoth(cs, pool, desc, pkts.length, `round ${round}`);
    for (let i = 0; i < pkts.length; i++) {
      if ((v[2 * i] & 0xff) === 1) forwarded++;
    }
  }
  assert.ok(forwarded > 3000, `enough packets forwarded (${forwarded})`);
});

t('native engine: pool views stay put when tables grow; coded errors on bad raw arguments', () => {
  const c = new Classifier({ backend: 'native', poolBytes: 4096, maxPackets: 4 });
  const pool = c.pool;
  for (let i = 0; i < 300; i++) c.ipv4.insert(`10.${i & 255}.${i >> 8}.0/28`, i);
  c.ipv6.insert('2001:db8::/64', 1);
  assert.ok(c.pool === pool, 'the pool view is not detached by table growth');
  const h = nativeForward.create();
  const code = (re: RegExp, c2: string) => (e: Error & { code?: string }) => e.code === c2 && re.test(e.message);
  assert.throws(() => nativeForward.v4Insert(h, 0x0a000001, 8, 1), code(/host bits/, 'ERR_OUT_OF_RANGE'));
  assert.throws(() => nativeForward.v4Insert(h, 0x0a000000, 33, 1), code(/length: expected an integer 0..32, got 33/, 'ERR_OUT_OF_RANGE'));
  assert.throws(() => nativeForward.v4Insert(h, 0x0a000000, 8, 65536), code(/nextHop/, 'ERR_OUT_OF_RANGE'));
  assert.throws(() => nativeForward.v4Insert({}, 0, 0, 1), code(/handle/, 'ERR_INVALID_ARG_TYPE'));
  assert.throws(() => nativeForward.v6Lookup(h, new Uint8Array(15)), code(/16 bytes/, 'ERR_OUT_OF_RANGE'));
  assert.throws(() => nativeForward.v6Insert(h, new Uint8Array(16).fill(1), 64, 1, true), code(/host bits/, 'ERR_OUT_OF_RANGE'));
  assert.throws(() => nativeForward.v4LookupBatch(h, new Uint8Array(8), 3, new Int32Array(3)), code(/addrs/, 'ERR_OUT_OF_RANGE'));
  assert.throws(() => nativeForward.v4LookupBatch(h, new Uint8Array(12), 3, new Int32Array(2)), code(/out/, 'ERR_OUT_OF_RANGE'));
  assert.throws(() => nativeForward.classify(h, new Uint8Array(64), new Uint32Array(2), 2, new Uint32Array(4)), code(/descriptors/, 'ERR_OUT_OF_RANGE'));
  assert.throws(() => nativeForward.setLocal(h, 4, new Uint8Array(4), Uint8Array.of(33)), code(/lengths\[0\]/, 'ERR_OUT_OF_RANGE'));
  // The handle still works after the rejected calls.
  assert.is(nativeForward.v4Insert(h, 0x0a000000, 8, 7), 0);
  assert.is(nativeForward.v4Lookup(h, 0x0a0b0c0d), 7);
});

t('classifyIn: packets in a caller\'s buffer (at any offsets) get the verdicts and rewrites of the own pool; wasm refuses it', () => {
  const mk = (backend: 'native' | 'wasm-scalar') => {
    const c = new Classifier({ backend, poolBytes: 1 << 16, maxPackets: 16 });
    c.ipv4.insert('10.0.0.0/8', 7);
    c.ipv6.insert('2001:db8::/32', 9);
    c.addLocal('10.1.2.3');
    return c;
  };
  const pkts = [buildIp4({ dst: '10.9.9.9', ttl: 64 }), buildIp4({ dst: '10.1.2.3' }), buildIp4({ dst: '10.9.9.9', ttl: 1 }), buildIp4({ dst: '11.0.0.1' }),
    buildIp6({ dst: '2001:db8::5', hop: 3 }), buildIp6({ dst: '2001:db9::5' })];
  const bad = buildIp4({ dst: '10.9.9.9' });
  bad[10] ^= 0xff; // header checksum broken
  pkts.push(bad);
  const own = mk('native');
  own.load(pkts.map((p) => p.slice()));
  own.classify(pkts.length);
  // The caller's buffer: packets 100 bytes apart after a 37-byte gap.
  const buf = new Uint8Array(4096);
  const desc = new Uint32Array(2 * pkts.length), verdicts = new Uint32Array(2 * pkts.length);
  pkts.forEach((p, i) => {
    buf.set(p, 37 + 100 * i);
    desc[2 * i] = 37 + 100 * i;
    desc[2 * i + 1] = p.length;
  });
  const ext = mk('native');
  assert.ok(ext.classifiesInPlace);
  ext.classifyIn(buf, desc, pkts.length, verdicts);
  assert.equal([...verdicts], [...own.verdicts.subarray(0, 2 * pkts.length)]);
  for (let i = 0; i < pkts.length; i++) {
    const o = own.descriptors;
    assert.equal([...buf.subarray(desc[2 * i], desc[2 * i] + pkts[i].length)], [...own.pool.subarray(o[2 * i], o[2 * i] + o[2 * i + 1])], `packet ${i} rewritten alike`);
  }
  assert.equal(own.verdict(0).action, 'forward');
  assert.equal(own.verdict(6).reason, 'BAD_CHECKSUM');
  const wasm = mk('wasm-scalar');
  assert.not.ok(wasm.classifiesInPlace);
  assert.throws(() => wasm.classifyIn(buf, desc, 1, verdicts), (e: Error & { code?: string }) => e.code === 'ERR_TFW_BACKEND_UNAVAILABLE');
  assert.throws(() => ext.classifyIn(buf, desc, pkts.length + 1, verdicts), /count/);
});

test.run();
