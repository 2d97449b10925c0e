// Longest-prefix match of the forward kernel's Fib against a linear-scan reference,
// on random tables with heavy nesting, before and after random deletes, both
// families and both wasm builds; plus prefix parsing, errors and route loading.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { availableBackends } from '../../runtime/kernels/backend.js';
import { Fib, PrefixError, RouteFileError, formatAddress, parsePrefix } from '../../runtime/kernels/forward.js';
import { Rib4 } from '../../runtime/kernels/forward-rib4.js';
import { prng } from '../helpers.js';
import { genAddresses, genTable, maskOf, text, toBytes, type Route } from './forward-random.js';

// Every backend runnable here: both wasm builds, and native when the addon is built.
const backends = availableBackends();


/** Random prefixes where most extend an earlier one (deep nesting), lengths over the whole range. */
function reference(routes: Route[], addr: bigint, bits: number): number {
  let best = -1;
  let bestLen = -1;
  for (const r of routes) {
    if (r.len > bestLen && (addr & maskOf(r.len, bits)) === r.value) {
      best = r.nh;
      bestLen = r.len;
    }
  }
  return best;
}

function check(fib: Fib, routes: Route[], addrs: bigint[], bits: number, what: string): void {
  const width = bits / 8;
  const packed = new Uint8Array(addrs.length * width);
  addrs.forEach((a, i) => packed.set(toBytes(a, width), i * width));
  const out = new Int32Array(addrs.length);
  fib.lookupBatch(packed, out);
  for (let i = 0; i < addrs.length; i++) {
    const want = reference(routes, addrs[i], bits);
    if (out[i] !== want) {
      assert.unreachable(`${what}: ${formatAddress(toBytes(addrs[i], width))}: batch ${out[i]}, reference ${want}`);
    }
    if (i % 16 === 0) assert.is(fib.lookup(toBytes(addrs[i], width)), want, `${what}: single lookup`);
  }
}

for (const backend of backends) {
  for (const [family, bits, n] of [['ipv4', 32, 3000], ['ipv6', 128, 2000]] as const) {
    test(`${family} ${backend}: LPM equals a linear scan, through random deletes and re-inserts`, () => {
      const rng = prng();
      const routes = genTable(rng, bits, n);
      const fib = new Fib(family, { backend });
      for (const r of routes) fib.insert(text(r, bits), r.nh);
      assert.is(fib.size, routes.length);
      const addrs = genAddresses(rng, routes, bits, 4000);
      check(fib, routes, addrs, bits, 'after inserts');
      // Delete 40% at random.
      const live = routes.slice();
      for (let i = 0; i < routes.length * 0.4; i++) {
        const [r] = live.splice(rng.int(live.length), 1);
        assert.ok(fib.delete(text(r, bits)));
        assert.not.ok(fib.delete(text(r, bits)), 'second delete reports absent');
      }
      assert.is(fib.size, live.length);
      check(fib, live, addrs, bits, 'after deletes');
      // Replace next hops of some and re-insert some deleted ones.
      for (let i = 0; i < 300; i++) {
        const r = routes[rng.int(routes.length)];
        r.nh = rng.int(65536);
        if (!live.includes(r)) live.push(r);
        fib.insert(text(r, bits), r.nh);
      }
      assert.is(fib.size, live.length);
      check(fib, live, addrs, bits, 'after re-inserts');
      // Delete everything: memory returns to the fixed part, every lookup misses.
      for (const r of live) assert.ok(fib.delete(text(r, bits)));
      assert.is(fib.size, 0);
      check(fib, [], addrs.slice(0, 500), bits, 'after deleting all');
      if (family === 'ipv4') assert.is(fib.memoryBytes, 1 << 26, 'only tbl24 left: tbl8 groups freed');
    });
  }

  test(`ipv6 ${backend}: bulk insertMany builds the same table as single inserts`, () => {
    const rng = prng(7);
    const routes = genTable(rng, 128, 1500);
    const a = new Fib('ipv6', { backend });
    const b = new Fib('ipv6', { backend });
    for (const r of routes) a.insert(text(r, 128), r.nh);
    b.insertMany(routes.map((r) => ({ prefix: text(r, 128), nextHop: r.nh })));
    const addrs = genAddresses(rng, routes, 128, 3000);
    check(b, routes, addrs, 128, 'bulk');
    assert.is(a.memoryBytes, b.memoryBytes);
  });
}

test('ipv4: tbl8 groups are allocated for /25+ and freed when they collapse', () => {
  const fib = new Fib('ipv4', { backend: 'wasm-scalar' });
  assert.is(fib.memoryBytes, 0, 'an empty table holds nothing');
  fib.insert('10.0.0.0/8', 1);
  assert.is(fib.memoryBytes, 1 << 26);
  fib.insert('10.1.2.128/25', 2);
  fib.insert('10.1.3.7/32', 3);
  assert.is(fib.memoryBytes, (1 << 26) + 2048);
  assert.is(fib.lookup('10.1.2.129'), 2);
  assert.is(fib.lookup('10.1.2.127'), 1);
  assert.is(fib.lookup('10.1.3.7'), 3);
  assert.is(fib.lookup('10.1.3.8'), 1);
  fib.delete('10.1.2.128/25');
  assert.is(fib.memoryBytes, (1 << 26) + 1024);
  assert.is(fib.lookup('10.1.2.129'), 1);
  fib.insert('10.1.3.0/24', 4);
  assert.is(fib.lookup('10.1.3.8'), 4);
  assert.is(fib.lookup('10.1.3.7'), 3);
  fib.delete('10.1.3.7/32');
  assert.is(fib.memoryBytes, 1 << 26);
  assert.is(fib.lookup('10.1.3.7'), 4);
  fib.insert('0.0.0.0/0', 65535);
  assert.is(fib.lookup('255.255.255.255'), 65535);
  assert.is(fib.lookup('10.1.3.7'), 4);
});

test('host bits are masked; bare addresses are host routes', () => {
  const fib = new Fib('ipv4');
  fib.insert('10.1.2.3/8', 1);
  assert.ok(fib.delete('10.0.0.0/8'));
  fib.insert('192.0.2.1', 5);
  assert.is(fib.lookup('192.0.2.1'), 5);
  assert.is(fib.lookup('192.0.2.2'), -1);
  const p = parsePrefix('ipv6', '2001:db8::ffff/32');
  assert.is(formatAddress(p.bytes), '2001:db8::');
  assert.is(parsePrefix('ipv6', '::ffff:192.0.2.1/128').bytes[12], 192);
});

test('bad prefixes, addresses and next hops throw coded errors naming the value', () => {
  const f4 = new Fib('ipv4');
  const f6 = new Fib('ipv6');
  const bad4 = ['10.0.0.0/33', '10.0.0/8', '256.0.0.0/8', '10.0.0.0/', '10.0.0.0/08', '01.2.3.4/32', 'x', '', '2001:db8::/32', '1.2.3.4/-1'];
  for (const s of bad4) {
    try {
      f4.insert(s, 1);
      assert.unreachable(`accepted ${s}`);
    } catch (err) {
      assert.instance(err, PrefixError);
      assert.is((err as PrefixError).code, 'ERR_TFW_PREFIX');
      assert.ok((err as Error).message.includes(JSON.stringify(s)), (err as Error).message);
      assert.match((err as Error).message, /expected an IPv4 prefix/);
    }
  }
  const bad6 = ['2001:db8::/129', '2001:db8:::/32', '1:2:3:4:5:6:7:8:9/64', '2001:db8::g/64', ':1::/16', '1::2::3/64', '10.0.0.0/8', '::ffff:1.2.3/96'];
  for (const s of bad6) assert.throws(() => f6.insert(s, 1), (e: Error) => e instanceof PrefixError && e.message.includes(JSON.stringify(s)));
  for (const nh of [-1, 65536, 1.5, NaN, '1' as unknown as number]) {
    assert.throws(() => f4.insert('10.0.0.0/8', nh), (e: Error & { code?: string }) => e.code === 'ERR_TFW_NEXT_HOP');
  }
  assert.throws(() => f4.lookup('10.0.0'), (e: Error) => e instanceof PrefixError && /address: expected an IPv4 address/.test(e.message));
  assert.throws(() => f4.lookup(new Uint8Array(16)), (e: Error) => e instanceof PrefixError);
  assert.throws(() => new Fib('ipx' as never), /family: expected 'ipv4' or 'ipv6'/);
  assert.throws(() => f4.lookupBatch(new Uint8Array(6), new Int32Array(2)), /multiple of 4/);
  assert.throws(() => f4.lookupBatch(new Uint8Array(8), new Int32Array(1)), /at least 2/);
  assert.is(f4.size, 0, 'failed inserts leave no state');
});

test('loadRoutes: plain lines with comments, atomic on error', () => {
  const fib = new Fib('ipv4');
  const r = fib.loadRoutes('# table\n10.0.0.0/8 1\n\n10.1.0.0/16   2  # more specific\n0.0.0.0/0 3\n');
  assert.is(r.added, 3);
  assert.is(fib.lookup('10.1.0.1'), 2);
  assert.is(fib.lookup('8.8.8.8'), 3);
  try {
    fib.loadRoutes('192.0.2.0/24 4\n192.0.2.0/33 5\n');
    assert.unreachable();
  } catch (err) {
    assert.instance(err, RouteFileError);
    assert.is((err as RouteFileError).code, 'ERR_TFW_ROUTES');
    assert.match((err as Error).message, /routes line 2: prefix: expected an IPv4 prefix/);
  }
  assert.is(fib.lookup('192.0.2.1'), 3, 'nothing from the bad file was applied');
  assert.throws(() => fib.loadRoutes('10.0.0.0/8\n'), /line 1: expected "prefix nexthop"/);
  assert.throws(() => fib.loadRoutes('10.0.0.0/8 70000\n'), /line 1: nextHop: expected an integer 0..65535/);
});

test('loadRoutes: ip -j route JSON, gateways and devices mapped to next-hop ids', () => {
  const json = JSON.stringify([
    { dst: 'default', gateway: '192.0.2.1', dev: 'eth0', protocol: 'dhcp', flags: [] },
    { dst: '10.0.0.0/8', gateway: '192.0.2.2', dev: 'eth0', flags: [] },
    { dst: '10.9.0.0/16', gateway: '192.0.2.1', dev: 'eth0', flags: [] },
    { dst: '192.0.2.0/24', dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: '192.0.2.10', flags: [] },
    { dst: '198.51.100.7', nexthops: [{ gateway: '192.0.2.3', dev: 'eth0' }, { gateway: '192.0.2.4', dev: 'eth0' }] },
    { type: 'blackhole', dst: '203.0.113.0/24', flags: [] },
  ]);
  const fib = new Fib('ipv4');
  const { added, nextHops } = fib.loadRoutes(json);
  assert.is(added, 5);
  assert.equal([...nextHops], [['via 192.0.2.1 dev eth0', 0], ['via 192.0.2.2 dev eth0', 1], ['dev eth0', 2], ['via 192.0.2.3 dev eth0', 3]]);
  assert.is(fib.lookup('10.9.1.1'), 0);
  assert.is(fib.lookup('10.8.1.1'), 1);
  assert.is(fib.lookup('192.0.2.77'), 2);
  assert.is(fib.lookup('198.51.100.7'), 3);
  assert.is(fib.lookup('203.0.113.1'), 0, 'blackhole skipped: falls to default');
  const f6 = new Fib('ipv6');
  const ids = new Map([['via fe80::1 dev eth0', 7]]);
  f6.loadRoutes(JSON.stringify([{ dst: 'default', gateway: 'fe80::1', dev: 'eth0' }, { dst: '2001:db8::/32', dev: 'eth1' }]), { nextHops: ids });
  assert.is(f6.lookup('2001:db8::1'), 8);
  assert.is(f6.lookup('2001:db9::1'), 7);
  assert.throws(() => fib.loadRoutes('[{"dst":"10.0.0.0/40","dev":"x"}]'), /routes line 1: dst: expected an IPv4 prefix/);
});

test('routes() lists the table in prefix notation', () => {
  const fib = new Fib('ipv6');
  fib.insert('2001:db8::/32', 1);
  fib.insert('::/0', 2);
  assert.equal(new Map(fib.routes()), new Map([['2001:db8::/32', 1], ['::/0', 2]]));
});

test('Fib.fromFile reads a route file; a missing file throws ENOENT', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tfw-fib-'));
  try {
    const file = join(dir, 'routes.txt');
    writeFileSync(file, '2001:db8::/32 1 # site\n2001:db8:1::/48 2\n');
    const fib = Fib.fromFile(file, 'ipv6', { backend: 'wasm-scalar' });
    assert.is(fib.size, 2);
    assert.is(fib.lookup('2001:db8:1::9'), 2);
    assert.is(fib.lookup('2001:db8:2::9'), 1);
    assert.throws(() => Fib.fromFile(join(dir, 'nope.txt'), 'ipv4'), (e: Error & { code?: string }) => e.code === 'ENOENT');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Rib4 hash table agrees with a Map through 60,000 random set/delete/get (tombstones, resizes)', () => {
  const rng = prng(5);
  const rib = new Rib4();
  const ref = new Map<string, number>();
  const keys: Array<[number, number]> = [];
  for (let i = 0; i < 3000; i++) {
    const len = rng.int(33);
    const a = len === 0 ? 0 : ((rng.int(2 ** 32) & (0xffffffff << (32 - len))) >>> 0);
    keys.push([a, len]);
  }
  for (let i = 0; i < 60000; i++) {
    const [a, l] = keys[rng.int(keys.length)];
    const k = `${a}/${l}`;
    const op = rng.int(3);
    if (op === 0) {
      assert.is(rib.set(a, l, i & 0xffff), !ref.has(k));
      ref.set(k, i & 0xffff);
    } else if (op === 1) assert.is(rib.delete(a, l), ref.delete(k));
    else assert.is(rib.get(a, l), ref.get(k) ?? -1);
  }
  assert.is(rib.size, ref.size);
  assert.is([...rib.entries()].length, ref.size);
  for (const [a, l, nh] of rib.entries()) assert.is(ref.get(`${a}/${l}`), nh);
});

test.run();
