/**
 * Portable AEAD benchmark (runs on the host and inside QEMU guests): ChaCha20-
 * Poly1305 seal (RFC 8439 section 2.8) of BATCH packets per timed call, through
 * tfw's batch API on every backend this machine has (native adds a row per
 * kernel the CPU runs: avx512/avx2/neon/portable, forced with nativeAead.setIsa),
 * against node:crypto (OpenSSL, one createCipheriv per packet: the PEER) and
 * @noble/ciphers (the JS baseline a JavaScript user would pick). Before timing,
 * every tfw row's output is checked byte for byte against node:crypto.
 * The host-only peers (libsodium, @chainsafe) stay in bench/aead.bench.ts.
 */
import { createCipheriv } from 'node:crypto';
import { chacha20poly1305 as nobleChaCha } from '@noble/ciphers/chacha.js';
import { AeadPacketPool } from '../../runtime/kernels/aead.js';
import { availableBackends, type ConcreteBackend } from '../../runtime/kernels/backend.js';
import { nativeAead } from '../../runtime/kernels/native.js';
import { measureInterleaved, type Cell, type MeasureOptions } from './measure.js';
import { makeResult, type SuiteEvent } from './result.js';

export const AEAD_PEER = 'node:crypto';
export const AEAD_JS = 'JS baseline (@noble/ciphers)';
/** Packets per timed call. */
const BATCH = 32;
/** Message sizes in bytes: quick runs take the MTU-sized one only. */
export const AEAD_SIZES = { quick: [1420], full: [64, 1420, 16384] };

type Isa = 'auto' | 'avx512' | 'avx2' | 'neon' | 'portable';

/** Deterministic filler (no crypto RNG: guests may lack entropy early in boot). */
function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** The 12-byte nonce the pool uses for `counter`: 4 zero bytes || le64(counter). */
function poolNonce(counter: number): Uint8Array {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setBigUint64(4, BigInt(counter), true);
  return n;
}

function opensslSeal(key: Uint8Array, nonce: Uint8Array, pt: Uint8Array): Uint8Array {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  return new Uint8Array(Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]));
}

/** A tfw batch cell for `backend` (with `isa` forced before every call for native rows). */
function tfwCell(backend: ConcreteBackend, isa: Isa | null, key: Uint8Array, len: number): Cell {
  const pool = new AeadPacketPool({ slots: BATCH, slotBytes: len + 16, keys: 1, backend });
  pool.setKey(0, key);
  const pt = bytes(len, 7);
  // Correctness first: packet 0 sealed with counter 5 must equal OpenSSL's output.
  if (isa) nativeAead.setIsa(isa);
  pool.slot(0).set(pt);
  pool.setPacket(0, 0, len, 0, 5);
  pool.seal(1);
  const want = opensslSeal(key, poolNonce(5), pt);
  if (Buffer.compare(Buffer.from(pool.packet(0)), Buffer.from(want)) !== 0) {
    throw new Error(`aead: tfw ${backend}${isa ? ` (${isa})` : ''} sealed ${len} B differently from node:crypto`);
  }
  for (let i = 0; i < BATCH; i++) pool.slot(i).set(pt);
  let counter = 0;
  const impl = isa ? `tfw native (${isa === 'auto' ? nativeAead.setIsa('auto') : isa})` : `tfw ${backend}`;
  return {
    impl,
    backend,
    units: BATCH * len,
    fn: () => {
      if (isa) nativeAead.setIsa(isa);
      for (let i = 0; i < BATCH; i++) pool.setPacket(i, i, len, 0, counter++);
      pool.seal(BATCH);
    },
  };
}

/** The cells of one message size: tfw rows, then the peer and the JS baseline. */
function cellsFor(len: number, key: Uint8Array): Cell[] {
  const cells: Cell[] = [];
  for (const b of availableBackends()) {
    if (b !== 'native') {
      cells.push(tfwCell(b, null, key, len));
      continue;
    }
    // Each native row forces its kernel before every call, so rows never inherit another's choice.
    const auto = nativeAead.setIsa('auto');
    cells.push(tfwCell('native', auto as Isa, key, len));
    for (const isa of ['avx512', 'avx2', 'neon', 'portable'] as const) {
      if (isa !== auto && nativeAead.setIsa(isa) === isa) cells.push(tfwCell('native', isa, key, len));
    }
    nativeAead.setIsa('auto');
  }
  const nonce = poolNonce(1);
  const pt = bytes(len, 9);
  cells.push({ impl: AEAD_PEER, backend: null, units: BATCH * len, fn: () => { for (let i = 0; i < BATCH; i++) opensslSeal(key, nonce, pt); } });
  const noble = nobleChaCha(key, nonce);
  if (Buffer.compare(Buffer.from(noble.encrypt(pt)), Buffer.from(opensslSeal(key, nonce, pt))) !== 0) {
    throw new Error(`aead: @noble/ciphers sealed ${len} B differently from node:crypto`);
  }
  cells.push({ impl: AEAD_JS, backend: null, units: BATCH * len, fn: () => { for (let i = 0; i < BATCH; i++) nobleChaCha(key, nonce).encrypt(pt); } });
  return cells;
}

/**
 * Runs the AEAD cases (`sizes` in bytes) and emits one `result` event per
 * implementation and size (figures in bytes of plaintext per second).
 * @throws Error when an implementation's output differs from node:crypto's
 */
export function runAead(sizes: number[], o: MeasureOptions, emit: (e: SuiteEvent) => void): void {
  const key = bytes(32, 3);
  for (const len of sizes) {
    const label = `${len} B`;
    const cells = cellsFor(len, key);
    const samples = measureInterleaved(cells, o, (c, step) => emit({ type: 'progress', kernel: 'aead', case: label, impl: c.impl, step }));
    nativeAeadReset();
    cells.forEach((c, i) => {
      emit({
        type: 'result',
        result: makeResult({ kernel: 'aead', impl: c.impl, backend: c.backend, peer: AEAD_PEER, case: label, params: { size: len, batch: BATCH }, unit: 'B/s', samples: samples[i] }),
      });
    });
  }
}

function nativeAeadReset(): void {
  if (availableBackends().includes('native')) nativeAead.setIsa('auto');
}
