/**
 * AEAD throughput: ChaCha20-Poly1305 seal of 64, 1,420 and 65,536-byte messages,
 * 64 messages per timed call, for the tfw batch API (wasm-simd, wasm-scalar),
 * tfw native (when the addon is built: the kernel it picks, plus a row per other
 * kernel this CPU runs, forced with nativeAead.setIsa), tfw single calls, node:crypto (createCipheriv per message, the baseline),
 * @noble/ciphers, libsodium-wrappers and @chainsafe/as-chacha20poly1305.
 * Prints MB/s and packets/s with ratios to node:crypto; writes build/bench/aead.json.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { chacha20poly1305 as nobleChaCha } from '@noble/ciphers/chacha.js';
import { AeadPacketPool, chacha20poly1305Seal } from '../runtime/kernels/aead.js';
import { availableBackends, wasmSimdSupported } from '../runtime/kernels/backend.js';
import { nativeAead } from '../runtime/kernels/native.js';
import { perCpuSecond, printTable, progress, timeIt, writeResult, type Sample } from './lib.js';

const SIZES = [64, 1420, 65536];
/**
 * TFW_BENCH_CLOCK=cpu times with this process's CPU time instead of wall time:
 * on a shared, overloaded machine it removes the time this process spends
 * descheduled (all peers here run on the main thread, so the comparison stays fair).
 */
const CPU_CLOCK = process.env.TFW_BENCH_CLOCK === 'cpu';

const BATCH = 64;
const BASELINE = 'node:crypto';

type Runner = (len: number) => (() => void) | null;

async function peers(): Promise<Array<[string, Runner]>> {
  const key = new Uint8Array(randomBytes(32));
  const nonce = new Uint8Array(12);
  const out: Array<[string, Runner]> = [];
  const tfwBatch = (backend: 'wasm-simd' | 'wasm-scalar' | 'native'): Runner => (len) => {
    const pool = new AeadPacketPool({ slots: BATCH, slotBytes: len + 16, keys: 1, backend });
    pool.setKey(0, key);
    for (let i = 0; i < BATCH; i++) pool.slot(i).set(randomBytes(len));
    let counter = 0;
    return () => {
      for (let i = 0; i < BATCH; i++) pool.setPacket(i, i, len, 0, counter++);
      pool.seal(BATCH);
    };
  };
  if (wasmSimdSupported()) out.push(['tfw wasm-simd batch', tfwBatch('wasm-simd')]);
  out.push(['tfw wasm-scalar batch', tfwBatch('wasm-scalar')]);
  if (availableBackends().includes('native')) {
    // Each native row sets its kernel before every timed call, so rows never inherit another's choice.
    const withIsa = (isa: 'auto' | 'avx512' | 'avx2' | 'neon' | 'portable'): Runner => (len) => {
      const run = tfwBatch('native')(len);
      return run && (() => { nativeAead.setIsa(isa); run(); });
    };
    const auto = nativeAead.setIsa('auto');
    out.push([`tfw native batch (${auto})`, withIsa('auto')]);
    for (const isa of ['avx512', 'avx2', 'neon', 'portable'] as const) {
      if (isa !== auto && nativeAead.setIsa(isa) === isa) out.push([`tfw native batch (${isa})`, withIsa(isa)]);
    }
    nativeAead.setIsa('auto');
  }
  if (wasmSimdSupported()) {
    out.push(['tfw wasm-simd single', (len) => {
      const pt = new Uint8Array(randomBytes(len));
      return () => { for (let i = 0; i < BATCH; i++) chacha20poly1305Seal(key, nonce, pt, undefined, { backend: 'wasm-simd' }); };
    }]);
  }
  out.push([BASELINE, (len) => {
    const pt = randomBytes(len);
    return () => {
      for (let i = 0; i < BATCH; i++) {
        const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
        c.update(pt);
        c.final();
        c.getAuthTag();
      }
    };
  }]);
  out.push(['@noble/ciphers', (len) => {
    const pt = new Uint8Array(randomBytes(len));
    return () => { for (let i = 0; i < BATCH; i++) nobleChaCha(key, nonce).encrypt(pt); };
  }]);
  try {
    const sodium = (await import('libsodium-wrappers')).default;
    await sodium.ready;
    out.push(['libsodium-wrappers', (len) => {
      const pt = new Uint8Array(randomBytes(len));
      return () => { for (let i = 0; i < BATCH; i++) sodium.crypto_aead_chacha20poly1305_ietf_encrypt(pt, null, null, nonce, key); };
    }]);
  } catch (err) {
    console.error(`tfw: bench: libsodium-wrappers unavailable: ${(err as Error).message}`);
  }
  try {
    const cs = await import('@chainsafe/as-chacha20poly1305');
    const impl = new cs.ChaCha20Poly1305(cs.newInstance());
    out.push(['@chainsafe/as-chacha20poly1305', (len) => {
      const pt = new Uint8Array(randomBytes(len));
      return () => { for (let i = 0; i < BATCH; i++) impl.seal(key, nonce, pt); };
    }]);
  } catch (err) {
    console.error(`tfw: bench: @chainsafe/as-chacha20poly1305 unavailable: ${(err as Error).message}`);
  }
  return out;
}

export default async function run(): Promise<void> {
  const samples: Sample[] = [];
  const runners = await peers();
  const minMs = Number(process.env.TFW_BENCH_MS ?? 120);
  const rounds = Number(process.env.TFW_BENCH_ROUNDS ?? 4);
  for (const len of SIZES) {
    // Rounds alternate between the peers and each keeps its best, so a burst of
    // load from other processes on this shared machine hits every peer alike.
    const fns = runners.map(([name, make]) => [name, make(len)] as const);
    const best = new Map<string, number>();
    const all = new Map<string, number[]>();
    progress(`aead ${len} B: ${fns.length} implementations x ${rounds} rounds`);
    for (let r = 0; r < rounds; r++) {
      for (const [name, fn] of fns) {
        if (!fn) continue;
        if (r === 0) timeIt(fn, { minMs: 20, warmupMs: 80, rounds: 1 });
        const callsPerSec = CPU_CLOCK ? perCpuSecond(fn, minMs) : timeIt(fn, { minMs, warmupMs: 0, rounds: 1 });
        best.set(name, Math.max(best.get(name) ?? 0, callsPerSec));
        all.set(name, [...(all.get(name) ?? []), callsPerSec * BATCH]);
      }
    }
    for (const [name, callsPerSec] of best) {
      const pps = callsPerSec * BATCH;
      samples.push({ name, case: `${len} B`, opsPerSec: pps, bytesPerSec: pps * len, extra: { batch: BATCH, rounds, minMs, clock: CPU_CLOCK ? 'cpu' : 'wall', packetsPerSecRounds: all.get(name) } });
    }
  }
  const clock = CPU_CLOCK ? ', CPU time' : '';
  printTable(`AEAD ChaCha20-Poly1305 seal, throughput${clock}`, samples, { baseline: BASELINE });
  printTable(`AEAD ChaCha20-Poly1305 seal, packets${clock}`, samples, { baseline: BASELINE, metric: 'opsPerSec', unit: 'kpkt/s', scale: 1e-3 });
  const file = writeResult('aead', { node: process.version, arch: process.arch, batch: BATCH, clock: CPU_CLOCK ? 'cpu' : 'wall', samples });
  console.log(`tfw: bench: wrote ${file}`);
}
