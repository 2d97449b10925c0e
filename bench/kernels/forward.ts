/**
 * Portable forward benchmark (host and QEMU guests): batch longest-prefix-match
 * lookups per second against FIB size, IPv4 (DIR-24-8) and IPv6 (Poptrie), for
 * tfw's Fib on every backend this machine has, against the JS binary trie
 * (bench/forward-baseline.ts, the PEER: what a JavaScript user writes first).
 * Tables and destinations come from bench/forward-tables.ts (random prefixes
 * with a realistic length mix, destinations inside them). Before timing, every
 * backend's answer for every destination is checked against the trie's.
 */
import { availableBackends } from '../../runtime/kernels/backend.js';
import { Fib } from '../../runtime/kernels/forward.js';
import { nativeForwardAvailable } from '../../runtime/kernels/forward-native.js';
import { BinaryTrieBaseline } from '../forward-baseline.js';
import { genAddrs, genTable } from '../forward-tables.js';
import { measureInterleaved, type Cell, type MeasureOptions } from './measure.js';
import { makeResult, type SuiteEvent } from './result.js';

export const FORWARD_PEER = 'JS binary trie';
/** Destinations per timed call. */
const BATCH = 4096;

export interface ForwardCase {
  family: 'ipv4' | 'ipv6';
  /** Prefixes in the table. */
  routes: number;
}

/** Quick runs: one small IPv4 table; full runs: IPv4 and IPv6 over table sizes. */
export const FORWARD_CASES: { quick: ForwardCase[]; full: ForwardCase[] } = {
  quick: [{ family: 'ipv4', routes: 1000 }],
  full: [
    ...[1000, 10_000, 100_000].map((routes) => ({ family: 'ipv4' as const, routes })),
    ...[1000, 10_000, 50_000].map((routes) => ({ family: 'ipv6' as const, routes })),
  ],
};

const countLabel = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n));

/**
 * Runs the lookup cases and emits one `result` per implementation and case
 * (lookups per second, random destinations).
 * @throws Error when a backend's next hop differs from the trie's for any destination
 */
export function runForward(cases: ForwardCase[], o: MeasureOptions, quick: boolean, emit: (e: SuiteEvent) => void): void {
  const backends = availableBackends().filter((b) => b !== 'native' || nativeForwardAvailable());
  const naddr = quick ? 1 << 14 : 1 << 16;
  for (const { family, routes } of cases) {
    const bits = family === 'ipv4' ? 32 : 128;
    const w = bits / 32;
    const label = `${family} ${countLabel(routes)}`;
    emit({ type: 'progress', kernel: 'forward', case: label, impl: FORWARD_PEER, step: 'building tables' });
    const t = genTable(bits, routes, 0x1234 + routes + bits);
    const addrs = genAddrs(t, naddr, 'random', 99);
    const trie = new BinaryTrieBaseline(bits);
    for (let i = 0; i < routes; i++) trie.insert(t.words.subarray(i * w, i * w + w), t.lens[i], t.nhs[i]);
    const want = new Int32Array(naddr);
    for (let i = 0; i < naddr; i++) want[i] = bits === 32 ? trie.lookup4(addrs.words[i]) : trie.lookup6(addrs.words, i * 4);
    const out = new Int32Array(BATCH);
    const cells: Cell[] = [];
    for (const backend of backends) {
      const fib = new Fib(family, { backend });
      fib.insertMany(t.text.map((prefix, i) => ({ prefix, nextHop: t.nhs[i] })));
      const got = new Int32Array(naddr);
      fib.lookupBatch(addrs.bytes, got);
      let bad = 0;
      for (let i = 0; i < naddr; i++) if (got[i] !== want[i]) bad++;
      if (bad) throw new Error(`forward: tfw ${backend} ${label}: ${bad} of ${naddr} lookups differ from the JS binary trie`);
      let off = 0;
      const width = bits / 8;
      cells.push({
        impl: `tfw ${backend}`,
        backend,
        units: BATCH,
        fn: () => {
          fib.lookupBatch(addrs.bytes.subarray(off * width, (off + BATCH) * width), out);
          off = (off + BATCH) % naddr;
        },
      });
    }
    let off = 0;
    cells.push({
      impl: FORWARD_PEER,
      backend: null,
      units: BATCH,
      fn: () => {
        if (bits === 32) for (let i = 0; i < BATCH; i++) out[i] = trie.lookup4(addrs.words[off + i]);
        else for (let i = 0; i < BATCH; i++) out[i] = trie.lookup6(addrs.words, (off + i) * 4);
        off = (off + BATCH) % naddr;
      },
    });
    const samples = measureInterleaved(cells, o, (c, step) => emit({ type: 'progress', kernel: 'forward', case: label, impl: c.impl, step }));
    cells.forEach((c, i) => {
      emit({
        type: 'result',
        result: makeResult({ kernel: 'forward', impl: c.impl, backend: c.backend, peer: FORWARD_PEER, case: label, params: { family, routes, pattern: 'random' }, unit: 'lookups/s', samples: samples[i] }),
      });
    });
  }
}
