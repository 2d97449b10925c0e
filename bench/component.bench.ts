/**
 * `BENCH=component make bench`: the tfw:kernels WebAssembly component (jco
 * transpile of build/components/tfw-kernels.wasm, canonical-ABI copies in and out
 * on every call) against the core modules behind the TypeScript APIs, same run:
 * - AEAD seal of a batch of 64 packets of 1,420 bytes: component `seal-packed`
 *   (one buffer each way) and `seal-batch` (a list of packet records) vs the
 *   core module's packet pool (`AeadPacketPool.seal`, data already in linear
 *   memory: the baseline) and vs 64 single `chacha20poly1305Seal` calls (which
 *   copy in and out like the component does);
 * - Reed-Solomon (10,4) encode with 64 KiB and 1 MiB shards: component `encode`
 *   vs `ReedSolomon.encode` (baseline).
 * Both on the SIMD build. Figures are per second of process CPU time, best of
 * interleaved rounds; ratios to the baseline. Erasure runs first: the component's
 * fresh result buffers leave garbage that slows whichever section runs second.
 * Writes build/bench/component.json.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AeadPacketPool, chacha20poly1305Seal } from '../runtime/kernels/aead.js';
import { wasmSimdSupported } from '../runtime/kernels/backend.js';
import { ReedSolomon, type Shards } from '../runtime/kernels/erasure.js';
import { perCpuSecond, printTable, writeResult, type Sample } from './lib.js';

const BATCH = 64;
const LEN = 1420;
const ROUNDS = 5;
const ROUND_MS = 250;

interface Component {
  aead: {
    sealBatch(key: Uint8Array, packets: Array<{ nonce: Uint8Array; data: Uint8Array; aad: Uint8Array }>): Uint8Array[];
    sealPacked(key: Uint8Array, batch: { nonces: Uint8Array; data: Uint8Array; lengths: Uint32Array }): Uint8Array;
  };
  erasure: { encode(k: number, m: number, data: Uint8Array[]): Uint8Array[] };
}


/** Best calls/s of each runner over interleaved rounds (after one warm-up round). */
function race(runners: Array<[string, () => void]>): Map<string, number> {
  const best = new Map<string, number>();
  for (const [, fn] of runners) perCpuSecond(fn, 50);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, fn] of runners) best.set(name, Math.max(best.get(name) ?? 0, perCpuSecond(fn, ROUND_MS)));
  }
  return best;
}

export default async function componentBench(): Promise<void> {
  const js = join(process.cwd(), 'build/components/js/tfw-kernels.js');
  if (!existsSync(js)) throw new Error(`tfw: bench: ${js} not found (run \`make components\`)`);
  if (!wasmSimdSupported()) throw new Error('tfw: bench: the component is built from the SIMD kernels; this engine lacks SIMD');
  const c = (await import(pathToFileURL(js).href)) as Component;
  const samples: Sample[] = [];

  // ---- Erasure: (10,4) encode ----
  for (const size of [64 * 1024, 1024 * 1024]) {
    const data = Array.from({ length: 10 }, () => new Uint8Array(randomBytes(size)));
    const rs = new ReedSolomon(10, 4, { backend: 'wasm-simd' });
    const shards: Shards = [...data, null, null, null, null];
    const label = `(10,4) ${size >= 1 << 20 ? '1 MiB' : '64 KiB'}`;
    const rows = race([
      ['core module: ReedSolomon.encode', () => rs.encode(shards)],
      ['component: encode', () => {
        c.erasure.encode(10, 4, data);
      }],
    ]);
    for (const [name, ops] of rows) samples.push({ name, case: label, opsPerSec: ops, bytesPerSec: ops * 10 * size });
  }

  // ---- AEAD: 64 x 1420-byte seal ----
  const key = new Uint8Array(randomBytes(32));
  const payloads = Array.from({ length: BATCH }, () => new Uint8Array(randomBytes(LEN)));
  const none = new Uint8Array(0);
  const nonceOf = (i: number) => {
    const n = new Uint8Array(12);
    new DataView(n.buffer).setUint32(4, i, true);
    return n;
  };
  const pool = new AeadPacketPool({ slots: BATCH, slotBytes: LEN + 16, keys: 1, backend: 'wasm-simd' });
  pool.setKey(0, key);
  payloads.forEach((p, i) => pool.slot(i).set(p));
  let counter = 0;
  const packets = payloads.map((data, i) => ({ nonce: nonceOf(i), data, aad: none }));
  const packed = {
    nonces: new Uint8Array(BATCH * 12),
    data: new Uint8Array(BATCH * LEN),
    lengths: new Uint32Array(BATCH).fill(LEN),
  };
  packets.forEach((p, i) => {
    packed.nonces.set(p.nonce, i * 12);
    packed.data.set(p.data, i * LEN);
  });
  const aeadCase = `${BATCH} x ${LEN} B`;
  const aead = race([
    ['core module: packet pool batch', () => {
      for (let i = 0; i < BATCH; i++) pool.setPacket(i, i, LEN, 0, counter++);
      pool.seal(BATCH);
    }],
    ['core module: single calls', () => {
      for (let i = 0; i < BATCH; i++) chacha20poly1305Seal(key, packets[i].nonce, payloads[i], undefined, { backend: 'wasm-simd' });
    }],
    ['component: seal-packed', () => {
      c.aead.sealPacked(key, packed);
    }],
    ['component: seal-batch', () => {
      c.aead.sealBatch(key, packets);
    }],
  ]);
  for (const [name, ops] of aead) samples.push({ name, case: aeadCase, opsPerSec: ops, bytesPerSec: ops * BATCH * LEN });

  const aeadTable = printTable('AEAD seal through the component vs the core module (MB/s of plaintext per CPU second)', samples.filter((s) => s.case === aeadCase), {
    baseline: 'core module: packet pool batch',
  });
  const rsTable = printTable('Reed-Solomon (10,4) encode through the component vs the core module (MB/s of data per CPU second)', samples.filter((s) => s.case !== aeadCase), {
    baseline: 'core module: ReedSolomon.encode',
  });
  const ratio = (a: string, b: string, cs: string) =>
    samples.find((s) => s.name === a && s.case === cs)!.opsPerSec / samples.find((s) => s.name === b && s.case === cs)!.opsPerSec;
  const summary = {
    aeadPackedVsPool: ratio('component: seal-packed', 'core module: packet pool batch', aeadCase),
    aeadBatchVsPool: ratio('component: seal-batch', 'core module: packet pool batch', aeadCase),
    aeadBatchVsSingle: ratio('component: seal-batch', 'core module: single calls', aeadCase),
    erasure64KiBComponentVsCore: ratio('component: encode', 'core module: ReedSolomon.encode', '(10,4) 64 KiB'),
    erasure1MiBComponentVsCore: ratio('component: encode', 'core module: ReedSolomon.encode', '(10,4) 1 MiB'),
  };
  console.log(`component / core module: ${Object.entries(summary).map(([k, v]) => `${k} ${v.toFixed(2)}x`).join(', ')}`);
  writeResult('component', { samples, summary, tables: [aeadTable, rsTable] });
}
