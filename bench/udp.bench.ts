/**
 * UDP datagrams per second on loopback, 1,380-byte payloads: node:dgram (one
 * send() per datagram, one 'message' event each) against the addon's batched
 * path (sendmmsg/recvmmsg, 64 per syscall, uv_poll readiness), with and without
 * UDP GSO (UDP_SEGMENT: one message per run of equal datagrams to one endpoint). Both run the same
 * windowed pump: send a window of datagrams, wait until they arrived (or a short
 * timeout counts the rest as lost), repeat until the count or time bound. The
 * figure is received datagrams per second, best of three runs; the ratio to
 * dgram is what matters (target: batched >= 3x). Writes build/bench/udp.json.
 */
import { createSocket } from 'node:dgram';
import { nativeAvailable, nativeLoadError } from '../runtime/kernels/native.js';
import { bindUdp, EndpointBatch } from '../runtime/overlay/links/conn.js';
import { printTable, writeResult, type Sample } from './lib.js';

const SIZE = 1380;
const WINDOW = 512;
const MAX_PACKETS = 200_000;
const MAX_MS = 1500;
const RUNS = 3;

interface Run {
  received: number;
  sent: number;
  seconds: number;
}

/** Runs windows until MAX_PACKETS or MAX_MS; `sendWindow` sends n datagrams, `received()` counts arrivals. */
async function pump(sendWindow: (n: number) => void, received: () => number): Promise<Run> {
  let sent = 0;
  const start = process.hrtime.bigint();
  const elapsedMs = () => Number(process.hrtime.bigint() - start) / 1e6;
  while (sent < MAX_PACKETS && elapsedMs() < MAX_MS) {
    sendWindow(WINDOW);
    sent += WINDOW;
    const waitStart = elapsedMs();
    while (received() < sent && elapsedMs() - waitStart < 50) await new Promise<void>((r) => setImmediate(r));
  }
  return { received: received(), sent, seconds: elapsedMs() / 1e3 };
}

async function dgramRun(): Promise<Run> {
  const rx = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  const tx = createSocket({ type: 'udp4', sendBufferSize: 4 << 20 });
  await new Promise<void>((r) => rx.bind(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => tx.bind(0, '127.0.0.1', () => r()));
  tx.connect(rx.address().port, '127.0.0.1');
  await new Promise<void>((r) => tx.once('connect', () => r()));
  let got = 0;
  rx.on('message', () => got++);
  const payload = Buffer.alloc(SIZE, 0x5a);
  const run = await pump((n) => {
    for (let i = 0; i < n; i++) tx.send(payload);
  }, () => got);
  rx.close();
  tx.close();
  return run;
}

async function batchedRun(gso: boolean): Promise<Run> {
  const rx = bindUdp({ port: 0, host: '127.0.0.1' });
  const tx = bindUdp({ port: 0, host: '127.0.0.1', gso });
  const B = 64;
  const txBufs = Array.from({ length: B }, () => new Uint8Array(SIZE).fill(0x5a));
  const txSizes = new Int32Array(B);
  const to = new EndpointBatch(B);
  for (const e of to.items) e.parse(`127.0.0.1:${rx.port}`);
  const rxBufs = Array.from({ length: B }, () => new Uint8Array(2048));
  const rxSizes = new Int32Array(B);
  const from = new EndpointBatch(B);
  let got = 0;
  rx.onReadable(() => {
    let n;
    while ((n = rx.recvBatch(rxBufs, rxSizes, from)) > 0) got += n;
  });
  const run = await pump((n) => {
    for (let left = n; left > 0; ) {
      const k = Math.min(B, left);
      txSizes.fill(SIZE, 0, k);
      left -= k;
      tx.sendBatch(txBufs, txSizes, to, k);
    }
  }, () => got);
  rx.close();
  tx.close();
  return run;
}

export default async function udpBench(): Promise<void> {
  const runners: [string, () => Promise<Run>][] = [['node:dgram', dgramRun]];
  if (nativeAvailable()) {
    runners.push(['tfw sendmmsg/recvmmsg', () => batchedRun(false)]);
    runners.push(['tfw sendmmsg+GSO/recvmmsg', () => batchedRun(true)]);
  }
  else console.log(`tfw: bench: udp: native addon not available (${nativeLoadError()}); dgram only`);
  const samples: Sample[] = [];
  const runs: Record<string, Run[]> = {};
  for (const [name, fn] of runners) {
    runs[name] = [];
    for (let i = 0; i < RUNS; i++) runs[name].push(await fn());
    const best = Math.max(...runs[name].map((r) => r.received / r.seconds));
    const loss = runs[name].reduce((s, r) => s + (r.sent - r.received), 0) / runs[name].reduce((s, r) => s + r.sent, 0);
    samples.push({ name, case: `${SIZE} B`, opsPerSec: best, bytesPerSec: best * SIZE, extra: { loss } });
  }
  printTable('UDP loopback, datagrams/s received', samples, { baseline: 'node:dgram', metric: 'opsPerSec', unit: 'kpps', scale: 1e-3 });
  const base = samples[0].opsPerSec;
  const file = writeResult('udp', {
    datagramBytes: SIZE,
    window: WINDOW,
    samples: samples.map((s) => ({ ...s, ratioToDgram: s.opsPerSec / base })),
    runs,
  });
  console.log(`tfw: bench: udp: wrote ${file}`);
}
