/**
 * `BENCH=storage make bench`: the object store end to end (issue 16 targets).
 * Put and get of TFW_BENCH_STORE_MIB (default 1024) MiB in 4 MiB chunks over
 * loopback with (10,4) on fourteen backends (one helper process,
 * bench/storage-servers.ts), against, in the same run:
 *   - the kernels alone on the same chunks: XChaCha20-Poly1305 seal + Reed-
 *     Solomon split/encode (put side), open + join (get side): the pipeline
 *     target is at least half of this;
 *   - three full replicas of every chunk on the same backends (plain SETs/GETs):
 *     bytes written and time.
 * The data is incompressible (a random chunk with its index stamped in), so
 * snappy's probe skips compression as it would for media or archives.
 * Writes build/bench/storage.json.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { printTable, writeResult, type Sample } from './lib.js';
import '../runtime/kernels/native.js';
import { xchacha20poly1305Open, xchacha20poly1305Seal } from '../runtime/kernels/aead.js';
import { ReedSolomon } from '../runtime/kernels/erasure.js';
import { ObjectStore, validateStoreConfig, ZdbClient } from '../runtime/storage/index.js';

const MiB = 1 << 20;
const CHUNK = 4 * MiB;
const TOTAL = Number(process.env.TFW_BENCH_STORE_MIB ?? 1024) * MiB;
const CHUNKS = Math.ceil(TOTAL / CHUNK);
const K = 10;
const M = 4;

const base = randomBytes(CHUNK);
function chunk(i: number): Buffer {
  base.writeUInt32LE(i, 0);
  base.writeUInt32LE(Math.imul(i, 2654435761) >>> 0, CHUNK - 4);
  return base;
}
async function* source(): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < CHUNKS; i++) yield Buffer.from(chunk(i));
}

async function startServers(n: number, dir: string): Promise<{ addresses: string[]; stop: () => Promise<void> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname ?? 'bench', 'storage-servers.ts'), String(n), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const addresses: string[] = [];
  for await (const line of createInterface({ input: proc.stdout! })) {
    if (line === 'ready') break;
    addresses.push(line);
  }
  return { addresses, stop: () => new Promise<void>((r) => { proc.once('exit', () => r()); proc.kill('SIGTERM'); }) };
}

const secs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

export default async function storageBench(): Promise<void> {
  const dir = process.env.TFW_BENCH_STORE_DIR ?? join(process.cwd(), 'build', 'bench', 'storage-data');
  rmSync(dir, { recursive: true, force: true });
  const rs = new ReedSolomon(K, M);
  const key = randomBytes(32);
  const nonce = randomBytes(24);

  // kernels alone, same chunk count (the put side, then the get side)
  let t0 = process.hrtime.bigint();
  const sealedSample: Uint8Array[] = [];
  for (let i = 0; i < CHUNKS; i++) {
    const sealed = xchacha20poly1305Seal(key, nonce, chunk(i));
    const shards = rs.split(sealed);
    rs.encode(shards);
    if (i === 0) sealedSample.push(...(shards as Uint8Array[]));
  }
  const kernelPut = TOTAL / secs(t0);
  t0 = process.hrtime.bigint();
  for (let i = 0; i < CHUNKS; i++) {
    const sealed = rs.join(sealedSample, CHUNK + 16);
    xchacha20poly1305Open(key, nonce, sealed);
  }
  const kernelGet = TOTAL / secs(t0);

  const servers = await startServers(K + M, dir);
  const cfg = validateStoreConfig({ secret: randomBytes(32).toString('base64'), dataShards: K, parityShards: M, chunkSize: CHUNK, backends: servers.addresses.map((address) => ({ address })) });
  const store = new ObjectStore(cfg);
  t0 = process.hrtime.bigint();
  await store.put('bench/1GiB', source());
  const pipePut = TOTAL / secs(t0);
  t0 = process.hrtime.bigint();
  let got = 0;
  for await (const p of store.read('bench/1GiB')) got += p.length;
  const pipeGet = TOTAL / secs(t0);
  if (got !== TOTAL) throw new Error(`storage bench: read ${got} of ${TOTAL} bytes`);
  const meta = (await store.readMeta('bench/1GiB'))!.meta;
  const ecBytes = meta.chunks.reduce((a, c) => a + Math.ceil(c.n / K) * (K + M), 0);
  await store.remove('bench/1GiB');
  store.close();

  // three replicas of each chunk on three of the same backends, pipelined two chunks deep like the store
  const clients = servers.addresses.map((address) => new ZdbClient({ address }));
  t0 = process.hrtime.bigint();
  const inflight: Array<Promise<unknown>> = [];
  for (let i = 0; i < CHUNKS; i++) {
    const c = Buffer.from(chunk(i));
    const k = Buffer.from(`r${i}`);
    inflight.push(Promise.all([0, 1, 2].map((r) => clients[(i + r * 5) % clients.length].set(k, c))));
    if (inflight.length >= 2) await inflight.shift();
  }
  await Promise.all(inflight);
  const replPut = TOTAL / secs(t0);
  t0 = process.hrtime.bigint();
  for (let i = 0; i < CHUNKS; i++) await clients[i % clients.length].get(Buffer.from(`r${i}`));
  const replGet = TOTAL / secs(t0);
  for (const c of clients) c.close();
  await servers.stop();
  rmSync(dir, { recursive: true, force: true });

  const label = `${TOTAL / MiB} MiB`;
  const samples: Sample[] = [
    { name: 'kernels alone (seal+encode / join+open)', case: `put ${label}`, opsPerSec: kernelPut / CHUNK, bytesPerSec: kernelPut },
    { name: 'tfw store (10,4) end to end', case: `put ${label}`, opsPerSec: pipePut / CHUNK, bytesPerSec: pipePut },
    { name: '3 replicas (plain SET/GET)', case: `put ${label}`, opsPerSec: replPut / CHUNK, bytesPerSec: replPut },
    { name: 'kernels alone (seal+encode / join+open)', case: `get ${label}`, opsPerSec: kernelGet / CHUNK, bytesPerSec: kernelGet },
    { name: 'tfw store (10,4) end to end', case: `get ${label}`, opsPerSec: pipeGet / CHUNK, bytesPerSec: pipeGet },
    { name: '3 replicas (plain SET/GET)', case: `get ${label}`, opsPerSec: replGet / CHUNK, bytesPerSec: replGet },
  ];
  printTable('Object store over loopback, 4 MiB chunks, plaintext MB/s', samples, { baseline: 'kernels alone (seal+encode / join+open)' });
  console.log(`bytes written to backends: (10,4) ${(ecBytes / TOTAL).toFixed(3)}x the data, 3 replicas 3.000x; kernels ${rs.backend}`);
  const file = writeResult('storage', {
    totalBytes: TOTAL, chunkBytes: CHUNK, k: K, m: M, erasureBackend: rs.backend,
    kernelPut, kernelGet, pipePut, pipeGet, replPut, replGet,
    putRatio: pipePut / kernelPut, getRatio: pipeGet / kernelGet,
    bytesWrittenRatio: { erasure: ecBytes / TOTAL, replicas: 3 },
  });
  console.log(`tfw: bench: storage: wrote ${file}`);
}
