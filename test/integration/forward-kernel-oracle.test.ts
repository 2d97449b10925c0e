// The Linux kernel's FIB as an oracle for tfw's longest-prefix match: a network
// namespace with veth pairs (one gateway per device = one next-hop id), a few
// thousand random nested prefixes loaded with `ip -batch`, and `ip route get` for
// sampled addresses compared with Fib.lookup. IPv4 and IPv6. Needs root.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Fib, formatAddress, parseAddress } from '../../runtime/kernels/forward.js';
import { isRoot, prng } from '../helpers.js';

const NS = `tfwfwd${process.pid}`;
const DEVICES = 4;
const dir = mkdtempSync(join(tmpdir(), 'tfw-forward-'));
let created = false;

const ip = (args: string[], input?: string): string => execFileSync('ip', args, { encoding: 'utf8', input, maxBuffer: 64 << 20 });
const batch = (family: '-4' | '-6', lines: string[]): string => {
  const file = join(dir, `batch${family}.txt`);
  writeFileSync(file, lines.join('\n') + '\n');
  return ip(['-n', NS, family, '-o', '-batch', file]);
};

test.before(() => {
  if (!isRoot) return;
  ip(['netns', 'add', NS]);
  created = true;
  for (let i = 0; i < DEVICES; i++) {
    ip(['-n', NS, 'link', 'add', `v${i}a`, 'type', 'veth', 'peer', 'name', `v${i}b`]);
    ip(['-n', NS, 'link', 'set', `v${i}a`, 'up']);
    ip(['-n', NS, 'link', 'set', `v${i}b`, 'up']);
    ip(['-n', NS, 'addr', 'add', `10.200.${i}.1/24`, 'dev', `v${i}a`]);
    ip(['-n', NS, '-6', 'addr', 'add', `fd00:200:${i}::1/64`, 'dev', `v${i}a`, 'nodad']);
  }
});

test.after(() => {
  if (created) ip(['netns', 'del', NS]);
  rmSync(dir, { recursive: true, force: true });
});

interface Gen {
  bits: number;
  /** True when the prefix or address (value, len) lies where it may be used. */
  allowed(value: bigint, len: number): boolean;
  gateway(i: number): string;
}

const maskOf = (len: number, bits: number): bigint => (len === 0 ? 0n : ((1n << BigInt(len)) - 1n) << BigInt(bits - len));
const toBytes = (v: bigint, width: number): Uint8Array => {
  const b = new Uint8Array(width);
  for (let i = width - 1; i >= 0; i--, v >>= 8n) b[i] = Number(v & 0xffn);
  return b;
};

/** `len` fixed top bits `prefix` of a range: true when (value, len) is inside one of them. */
const inside = (value: bigint, len: number, bits: number, ranges: Array<[bigint, number]>) =>
  ranges.some(([p, l]) => len >= l && (value & maskOf(l, bits)) === p);
const overlaps = (value: bigint, len: number, bits: number, ranges: Array<[bigint, number]>) =>
  ranges.some(([p, l]) => (value & maskOf(Math.min(l, len), bits)) === (p & maskOf(Math.min(l, len), bits)));

const V4: Gen = {
  bits: 32,
  // Unicast space away from the veth subnets, loopback, 0/8 and multicast/reserved.
  allowed: (v, len) => len >= 8 && !overlaps(v, len, 32, [[0x0an << 24n | 200n << 16n, 16], [0n, 8], [127n << 24n, 8], [224n << 24n, 3]]),
  gateway: (i) => `10.200.${i}.2`,
};
const V6: Gen = {
  bits: 128,
  allowed: (v, len) => inside(v, len, 128, [[0x2n << 125n, 3]]),
  gateway: (i) => `fd00:200:${i}::2`,
};

function runOracle(family: 'ipv4' | 'ipv6', gen: Gen, count: number, samples: number) {
  const rng = prng(family === 'ipv4' ? 101 : 202);
  const bits = gen.bits;
  const width = bits / 8;
  const rand = () => [...rng.bytes(width)].reduce((a, b) => (a << 8n) | BigInt(b), 0n);
  const fib = new Fib(family);
  const lines: string[] = [];
  const seen = new Set<string>();
  const routes: Array<[bigint, number]> = [];
  // The default route (next hop 0) keeps every lookup answerable by `ip route get`.
  fib.insert(family === 'ipv4' ? '0.0.0.0/0' : '::/0', 0);
  lines.push(`route add default via ${gen.gateway(0)}`);
  while (routes.length < count) {
    let value: bigint;
    let len: number;
    if (routes.length && rng.int(10) < 7) {
      const [pv, pl] = routes[rng.int(routes.length)];
      if (pl >= bits) continue;
      len = Math.min(bits, pl + 1 + rng.int(bits === 32 ? 8 : 20));
      value = pv | (rand() & ~maskOf(pl, bits) & maskOf(len, bits));
    } else {
      len = bits === 32 ? 8 + rng.int(25) : 3 + rng.int(126);
      value = rand() & maskOf(len, bits);
      if (bits === 128) value = (value & ~maskOf(3, 128)) | (0x2n << 125n);
    }
    if (!gen.allowed(value, len) || seen.has(`${value}/${len}`)) continue;
    seen.add(`${value}/${len}`);
    routes.push([value, len]);
    const nh = rng.int(DEVICES);
    const text = `${formatAddress(toBytes(value, width))}/${len}`;
    // The Fib gets the prefix with random host bits set (masked on insert); the kernel the clean one.
    const dirty = `${formatAddress(toBytes(value | (rand() & ~maskOf(len, bits)), width))}/${len}`;
    fib.insert(dirty, nh);
    lines.push(`route add ${text} via ${gen.gateway(nh)}`);
  }
  batch(family === 'ipv4' ? '-4' : '-6', lines);
  // Sample addresses: mostly inside table prefixes (deep matches), some anywhere allowed.
  const addrs: string[] = [];
  while (addrs.length < samples) {
    let a: bigint;
    if (rng.int(4) > 0) {
      const [v, l] = routes[rng.int(routes.length)];
      a = v | (rand() & ~maskOf(l, bits));
    } else {
      a = rand();
      if (bits === 128) a = (a & ~maskOf(3, 128)) | (0x2n << 125n);
    }
    if (!gen.allowed(a, bits)) continue;
    addrs.push(formatAddress(toBytes(a, width)));
  }
  const compare = (what: string) => {
    const out = batch(family === 'ipv4' ? '-4' : '-6', addrs.map((a) => `route get ${a}`)).trim().split('\n');
    assert.is(out.length, addrs.length, 'one answer per route get');
    const gwId = new Map(Array.from({ length: DEVICES }, (_, i) => [formatAddress(parseAddress(family, gen.gateway(i))), i]));
    let deep = 0;
    addrs.forEach((a, i) => {
      const m = /^(\S+) (?:from \S+ )?via (\S+) dev (\S+)/.exec(out[i]);
      assert.ok(m, `unexpected route get output: ${out[i]}`);
      assert.is(m![1], a, 'answers in order');
      const want = gwId.get(m![2]);
      assert.ok(want !== undefined, `gateway ${m![2]}`);
      assert.is(m![3], `v${want}a`);
      const got = fib.lookup(a);
      assert.is(got, want, `${what}: ${a}: tfw ${got}, kernel via ${m![2]}`);
      if (got !== 0) deep++;
    });
    assert.ok(deep > samples / 3, `${what}: most samples matched a table prefix, not the default`);
  };
  compare('after inserts');
  // The kernel's own table as `ip -j route show` JSON, through loadRoutes, answers the same.
  const json = ip(['-n', NS, family === 'ipv4' ? '-4' : '-6', '-j', 'route', 'show']);
  const ids = new Map(Array.from({ length: DEVICES }, (_, i) => [`via ${formatAddress(parseAddress(family, gen.gateway(i)))} dev v${i}a`, i]));
  const fromJson = new Fib(family);
  const { added } = fromJson.loadRoutes(json, { nextHops: ids });
  assert.ok(added >= count + 1, `loadRoutes took ${added} routes from ip -j`);
  for (const a of addrs) assert.is(fromJson.lookup(a), fib.lookup(a), `ip -j route: ${a}`);
  // Delete a third of the prefixes from both and compare again (covering routes take over).
  const dels: string[] = [];
  for (let i = 0; i < count / 3; i++) {
    const [v, l] = routes.splice(rng.int(routes.length), 1)[0];
    const text = `${formatAddress(toBytes(v, width))}/${l}`;
    assert.ok(fib.delete(text));
    dels.push(`route del ${text}`);
  }
  batch(family === 'ipv4' ? '-4' : '-6', dels);
  compare('after deletes');
  return fib;
}

test('IPv4: Fib.lookup agrees with the kernel on 3,000 random nested prefixes', () => {
  if (!isRoot) {
    console.log('tfw: test: skipping forward kernel oracle (needs root for ip netns)');
    return;
  }
  runOracle('ipv4', V4, 3000, 3000);
});

test('IPv6: Fib.lookup agrees with the kernel on 2,000 random nested prefixes', () => {
  if (!isRoot) {
    console.log('tfw: test: skipping forward kernel oracle (needs root for ip netns)');
    return;
  }
  runOracle('ipv6', V6, 2000, 2000);
});

test.run();
