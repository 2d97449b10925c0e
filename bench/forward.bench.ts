/**
 * `BENCH=forward make bench`: batch longest-prefix-match lookups (M lookups/s) of
 * tfw's IPv4 DIR-24-8 and IPv6 Poptrie in wasm (and in C, the `native` backend,
 * when the addon is built) against a plain TypeScript binary
 * trie (bench/forward-baseline.ts, the BASELINE) on random tables with a realistic
 * prefix-length mix; random and repeated destinations; classifier packets/s;
 * table memory and build time. Writes build/bench/forward.json.
 */
import { availableBackends, type ConcreteBackend } from '../runtime/kernels/backend.js';
import { Classifier } from '../runtime/kernels/forward.js';
import { nativeForwardAvailable } from '../runtime/kernels/forward-native.js';
import { BinaryTrieBaseline } from './forward-baseline.js';
import { genAddrs, genTable } from './forward-tables.js';
import { printTable, progress, timeItRounds, writeResult, type Sample } from './lib.js';

const BASELINE = 'JS binary trie (baseline)';
const BATCH = 8192;

function ms(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export default async function (): Promise<void> {
  // 'native' (the C engine, native/src/fib*.c) is included when the addon is built.
  const backends = availableBackends().filter((b) => b !== 'native' || nativeForwardAvailable());
  const samples: Sample[] = [];
  const tables: Record<string, unknown>[] = [];
  const cases: Array<[32 | 128, number]> = [[32, 1000], [32, 100_000], [32, 1_000_000], [128, 1000], [128, 200_000]];
  const naddr = 1 << 20;
  for (const [bits, n] of cases) {
    const fam = bits === 32 ? 'ipv4' : 'ipv6';
    const label = `${fam} ${n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : n}`;
    progress(`forward ${label}: building the table, then ${backends.length + 1} implementations x 2 patterns x 4 rounds`);
    const t = genTable(bits, n, 0x1234 + n + bits);
    const addrs = { random: genAddrs(t, naddr, 'random', 99), repeated: genAddrs(t, naddr, 'repeated', 98) };
    const out = new Int32Array(BATCH);
    // Baseline.
    const base = new BinaryTrieBaseline(bits);
    const w = bits / 32;
    const baseBuild = ms(() => {
      for (let i = 0; i < n; i++) base.insert(t.words.subarray(i * w, i * w + w), t.lens[i], t.nhs[i]);
    });
    const check = new Int32Array(naddr);
    for (const pattern of ['random', 'repeated'] as const) {
      const a = addrs[pattern];
      let off = 0;
      const rounds = timeItRounds(() => {
        if (bits === 32) for (let i = 0; i < BATCH; i++) out[i] = base.lookup4(a.words[off + i]);
        else for (let i = 0; i < BATCH; i++) out[i] = base.lookup6(a.words, (off + i) * 4);
        off = (off + BATCH) % naddr;
      }, { minMs: 150, warmupMs: 50, rounds: 4 });
      samples.push({ name: BASELINE, case: `${label} ${pattern}`, opsPerSec: Math.max(...rounds) * BATCH, extra: { lookupsPerSecRounds: rounds.map((x) => x * BATCH) } });
    }
    if (bits === 32) for (let i = 0; i < naddr; i++) check[i] = base.lookup4(addrs.random.words[i]);
    else for (let i = 0; i < naddr; i++) check[i] = base.lookup6(addrs.random.words, i * 4);
    tables.push({ table: label, impl: BASELINE, buildMs: baseBuild, bytes: base.bytes });
    // tfw, each wasm build and the native engine.
    for (const backend of backends) {
      const c = new Classifier({ backend, poolBytes: 1 << 20, maxPackets: 1024 });
      const fib = bits === 32 ? c.ipv4 : c.ipv6;
      const routes = t.text.map((prefix, i) => ({ prefix, nextHop: t.nhs[i] }));
      const build = ms(() => fib.insertMany(routes));
      const width = bits / 8;
      // Agreement with the baseline on every random destination (a bench that lies is worse than none).
      const res = new Int32Array(naddr);
      fib.lookupBatch(addrs.random.bytes, res);
      let bad = 0;
      for (let i = 0; i < naddr; i++) if (res[i] !== check[i]) bad++;
      if (bad) throw new Error(`tfw: bench: forward ${label} ${backend}: ${bad} lookups differ from the baseline`);
      for (const pattern of ['random', 'repeated'] as const) {
        const a = addrs[pattern].bytes;
        let off = 0;
        const rounds = timeItRounds(() => {
          fib.lookupBatch(a.subarray(off * width, (off + BATCH) * width), out);
          off = (off + BATCH) % naddr;
        }, { minMs: 150, warmupMs: 50, rounds: 4 });
        samples.push({ name: `tfw ${backend}`, case: `${label} ${pattern}`, opsPerSec: Math.max(...rounds) * BATCH, extra: { lookupsPerSecRounds: rounds.map((x) => x * BATCH) } });
      }
      tables.push({ table: label, impl: `tfw ${backend}`, buildMs: build, bytes: fib.memoryBytes, prefixes: fib.size });
    }
  }
  printTable('forward: batch LPM lookups, M lookups/s', samples, { baseline: BASELINE, metric: 'opsPerSec', unit: 'M/s', scale: 1e-6 });
  if (backends.includes('native') && backends.includes('wasm-simd')) {
    printTable('forward: batch LPM lookups, M lookups/s', samples.filter((s) => s.name !== BASELINE), { baseline: 'tfw wasm-simd', metric: 'opsPerSec', unit: 'M/s', scale: 1e-6 });
  }
  console.log('\nforward: tables (build time, bytes)');
  for (const r of tables) console.log(`  ${String(r.table).padEnd(10)} ${String(r.impl).padEnd(28)} build ${(r.buildMs as number).toFixed(0).padStart(6)} ms  ${((r.bytes as number) / 2 ** 20).toFixed(1).padStart(7)} MiB`);
  const cls = classifierBench(backends);
  writeResult('forward', { batch: BATCH, lookups: samples, tables, classifier: cls });
}

/** Classifier packets/s: 1024 packets of 64 B (3/4 IPv4, 1/4 IPv6), pool refilled before each call. */
function classifierBench(backends: ConcreteBackend[]): Sample[] {
  progress(`forward classifier: ${backends.length} backends x 4 rounds`);
  const out: Sample[] = [];
  const t4 = genTable(32, 100_000, 7);
  const t6 = genTable(128, 20_000, 8);
  const a4 = genAddrs(t4, 768, 'random', 5).bytes;
  const a6 = genAddrs(t6, 256, 'random', 6).bytes;
  const template = new Uint8Array(1024 * 64);
  for (let i = 0; i < 1024; i++) {
    const p = template.subarray(i * 64, i * 64 + 64);
    if (i % 4 !== 3) {
      const k = i - (i >> 2);
      p.set([0x45, 0, 0, 64, 0, 0, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 1]);
      p.set(a4.subarray(k * 4, k * 4 + 4), 16);
      let s = 0;
      for (let j = 0; j < 20; j += 2) s += (p[j] << 8) | p[j + 1];
      while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
      p[10] = (~s >> 8) & 0xff;
      p[11] = ~s & 0xff;
    } else {
      const k = i >> 2;
      p.set([0x60, 0, 0, 0, 0, 24, 17, 64]);
      p.set(a6.subarray(k * 16, k * 16 + 16), 24);
    }
  }
  for (const backend of backends) {
    const c = new Classifier({ backend, poolBytes: 1 << 20, maxPackets: 1024 });
    c.ipv4.insertMany(t4.text.map((prefix, i) => ({ prefix, nextHop: t4.nhs[i] })));
    c.ipv6.insertMany(t6.text.map((prefix, i) => ({ prefix, nextHop: t6.nhs[i] })));
    const pool = c.pool;
    const desc = c.descriptors;
    for (let i = 0; i < 1024; i++) {
      desc[2 * i] = i * 64;
      desc[2 * i + 1] = 64;
    }
    pool.set(template);
    c.classify(1024);
    const fwd = Array.from({ length: 1024 }, (_, i) => c.verdict(i)).filter((v) => v.action === 'forward').length;
    if (fwd !== 1024) throw new Error(`tfw: bench: classifier forwarded ${fwd} of 1024`);
    const rounds = timeItRounds(() => {
      pool.set(template);
      c.classify(1024);
    }, { minMs: 150, warmupMs: 50, rounds: 4 });
    out.push({ name: `tfw ${backend}`, case: 'classify 64 B (100k v4 / 20k v6 routes)', opsPerSec: Math.max(...rounds) * 1024, extra: { packetsPerSecRounds: rounds.map((x) => x * 1024) } });
  }
  for (const s of out) console.log(`\nforward: classifier ${s.name}: ${(s.opsPerSec / 1e6).toFixed(1)} M packets/s (${s.case}, includes refilling the pool)`);
  return out;
}
