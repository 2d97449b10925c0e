/**
 * Helper for bench/storage.bench.ts: runs N shard backends in this one process
 * (so the client under test has the other core) and prints their addresses,
 * one per line, then "ready". Each "cpu" line on stdin is answered with this
 * process's CPU time so far (`cpu USER_US SYSTEM_US`), so the bench can charge
 * the backends' work to each phase. Exits on SIGTERM.
 *   node --import tsx bench/storage-servers.ts N DIR
 */
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startShardServer } from '../runtime/storage/index.js';

const n = Number(process.argv[2] ?? 14);
const dir = process.argv[3] ?? 'build/bench/storage';
const servers = await Promise.all(Array.from({ length: n }, (_, i) => startShardServer({ listen: '127.0.0.1:0', dataDir: join(dir, `b${i}`), log: () => {} })));
process.stdout.write(`${servers.map((s) => s.address).join('\n')}\nready\n`);
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'cpu') return;
  const u = process.cpuUsage();
  process.stdout.write(`cpu ${u.user} ${u.system}\n`);
});
process.once('SIGTERM', async () => {
  for (const s of servers) await s.close();
  process.exit(0);
});
