/**
 * `tfw/forward`: IPv4/IPv6 forwarding tables with longest-prefix match and a batch
 * packet classifier (design, sources and verdict encoding in docs/forward.md).
 *
 *   const fib = new Fib('ipv4');
 *   fib.insert('10.0.0.0/8', 1);
 *   fib.lookup('10.1.2.3'); // 1
 */
import { registerCalibration, resolveBackend, type BackendOptions, type ConcreteBackend } from './backend.js';
import type { SelfTestResult } from '../selftest.js';
import { Action, Classifier, DropReason } from './forward-classifier.js';
import { Fib } from './forward-fib.js';
import './forward-native.js'; // registers the native engine (used only when the addon is built)

export { Fib, type FibOptions } from './forward-fib.js';
export { Classifier, Action, DropReason, VerdictFlag, decodeVerdict, type Verdict, type ClassifierOptions } from './forward-classifier.js';
export { PrefixError, NextHopError, parsePrefix, parseAddress, formatAddress, type Family, type Prefix } from './forward-prefix.js';
export { RouteFileError, parseRoutes, type RouteParseOptions, type ParsedRoute } from './forward-routes.js';
export { ForwardMemoryError, registerNativeForwardEngine, type ForwardEngine } from './forward-engine.js';

/** A 20-byte IPv4 header (no options) to `dst` with `ttl`, valid checksum. */
function ipv4Packet(dst: number[], ttl: number): Uint8Array {
  const p = new Uint8Array(28);
  p.set([0x45, 0, 0, 28, 0, 1, 0, 0, ttl, 17, 0, 0, 192, 0, 2, 1, ...dst]);
  let s = 0;
  for (let i = 0; i < 20; i += 2) s += (p[i] << 8) | p[i + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  const c = ~s & 0xffff;
  p[10] = c >> 8;
  p[11] = c & 0xff;
  return p;
}

/**
 * Start-up self-test: known answers for IPv4/IPv6 longest-prefix match and one
 * classified packet (TTL and RFC 1624 checksum), then a quick batch-lookup rate.
 */
export function selfTest(opts: BackendOptions = {}): SelfTestResult {
  const backend = resolveBackend(opts, 'forward');
  let ok = true;
  const c = new Classifier({ backend, poolBytes: 4096, maxPackets: 4 });
  const f4 = c.ipv4;
  // No /0 here: on DIR-24-8 it rewrites all 2^24 tbl24 entries (tens of ms).
  f4.insert('11.0.0.0/8', 9);
  f4.insert('10.0.0.0/8', 1);
  f4.insert('10.1.0.0/16', 2);
  f4.insert('10.1.2.128/25', 3);
  ok &&= f4.lookup('10.1.2.200') === 3 && f4.lookup('10.1.2.1') === 2 && f4.lookup('10.9.9.9') === 1 && f4.lookup('11.0.0.1') === 9 && f4.lookup('12.0.0.1') === -1;
  f4.delete('10.1.0.0/16');
  ok &&= f4.lookup('10.1.2.1') === 1 && f4.lookup('10.1.2.200') === 3;
  const f6 = c.ipv6;
  f6.insert('2001:db8::/32', 4);
  f6.insert('2001:db8:1::/48', 5);
  f6.insert('2001:db8:1:2::1/128', 6);
  ok &&= f6.lookup('2001:db8:1:2::1') === 6 && f6.lookup('2001:db8:1:2::2') === 5 && f6.lookup('2001:db8:2::1') === 4 && f6.lookup('2001:db9::1') === -1;
  // One IPv4 packet: TTL 64 -> 63 and the checksum patched as a full recomputation gives.
  const pkt = ipv4Packet([10, 1, 2, 200], 64);
  c.load([pkt]);
  c.classify(1);
  const v = c.verdict(0);
  const out = c.pool.subarray(0, 28);
  const expect = ipv4Packet([10, 1, 2, 200], 63);
  ok &&= v.action === 'forward' && v.nextHop === 3 && out[8] === 63 && out[10] === expect[10] && out[11] === expect[11];
  ok &&= Action.DROP === 3 && DropReason.NO_ROUTE === 10;
  // Throughput: 64k lookups over a small table.
  const n = 1 << 16;
  const addrs = new Uint8Array(n * 4);
  let x = 0x9e3779b9;
  for (let i = 0; i < addrs.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    addrs[i] = x & 0xff;
  }
  const res = new Int32Array(n);
  f4.lookupBatch(addrs, res);
  const t0 = process.hrtime.bigint();
  let calls = 0;
  do {
    f4.lookupBatch(addrs, res);
    calls++;
  } while (calls < 4 && process.hrtime.bigint() - t0 < 20_000_000n);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return { kernel: 'forward', backend, ok, figure: `${((calls * n) / secs / 1e6).toFixed(1)} Mlookups/s (IPv4 batch)` };
}

// `auto` calibration job: one batch lookup of 1,024 IPv4 addresses in a small table.
const calibrationFibs = new Map<ConcreteBackend, { fib: Fib; addrs: Uint8Array; out: Int32Array }>();
registerCalibration('forward', (backend) => {
  let c = calibrationFibs.get(backend);
  if (!c) {
    const fib = new Fib('ipv4', { backend });
    for (let i = 0; i < 64; i++) fib.insert(`10.${i}.0.0/16`, i);
    fib.insert('10.0.0.0/8', 100);
    const addrs = new Uint8Array(4096);
    for (let i = 0; i < 1024; i++) addrs.set([10, i & 127, (i * 7) & 255, i & 255], i * 4);
    c = { fib, addrs, out: new Int32Array(1024) };
    calibrationFibs.set(backend, c);
  }
  c.fib.lookupBatch(c.addrs, c.out);
});
