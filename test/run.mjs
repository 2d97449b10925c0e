// tfw test runner: runs every test/<tier>/**/*.test.ts through uvu in one process
// (run with `node --import tsx test/run.mjs [tier...]`), prints uvu's summary, then
// the plain closing line `N passed, N failed` (skipped ones counted apart).
// TFW_TEST_FILTER=regex limits the files run.
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname);
const tiers = process.argv.slice(2).length ? process.argv.slice(2) : ['unit', 'integration', 'image'];
const filter = process.env.TFW_TEST_FILTER ? new RegExp(process.env.TFW_TEST_FILTER) : null;

function walk(dir) {
  let out = [];
  let names;
  try { names = readdirSync(dir).sort(); } catch { return out; }
  for (const n of names) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out = out.concat(walk(p));
    else if (/\.test\.(ts|mjs|js)$/.test(n)) out.push(p);
  }
  return out;
}

const files = tiers.flatMap((t) => walk(join(root, t))).filter((f) => !filter || filter.test(f));

// Capture uvu's output to read its totals.
let captured = '';
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => {
  captured += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
  if (captured.length > 1 << 16) captured = captured.slice(-4096);
  return write(chunk, ...rest);
};

globalThis.UVU_DEFER = 1;
const { exec } = await import('uvu');
let loadFailures = 0;
for (const [i, file] of files.entries()) {
  globalThis.UVU_INDEX = i;
  globalThis.UVU_QUEUE.push([relative(resolve(root, '..'), file)]);
  try {
    await import(pathToFileURL(file).href);
  } catch (err) {
    loadFailures++;
    console.error(`tfw: test: cannot load ${file}: ${err?.stack ?? err}`);
  }
}
// Seconds per test file (its suites' runs), kept in build/test/timings.json, slowest first:
// where the suite's wall time goes, without adding lines after uvu's summary.
const seconds = new Map();
for (const group of globalThis.UVU_QUEUE) {
  const name = group[0];
  if (name == null) continue;
  for (let i = 1; i < group.length; i++) {
    const run = group[i];
    group[i] = async () => {
      const t0 = performance.now();
      try { return await run(); } finally { seconds.set(name, (seconds.get(name) ?? 0) + (performance.now() - t0) / 1000); }
    };
  }
}
await exec();
process.stdout.write = write;
try {
  mkdirSync(join(root, '..', 'build', 'test'), { recursive: true });
  const rows = [...seconds].sort((a, b) => b[1] - a[1]).map(([file, s]) => ({ file, seconds: Math.round(s * 10) / 10 }));
  writeFileSync(join(root, '..', 'build', 'test', 'timings.json'), `${JSON.stringify(rows, null, 1)}\n`);
} catch { /* timings are a convenience */ }

const plain = captured.replace(/\x1b\[[0-9;]*m/g, '');
const num = (label) => Number((plain.match(new RegExp(`${label}:\\s+(\\d+)`, 'g')) ?? []).pop()?.match(/(\d+)/)?.[1] ?? 0);
const total = num('Total'), passed = num('Passed'), skipped = num('Skipped');
const failed = total - passed + loadFailures; // uvu's Total excludes skipped tests
if (failed > 0) process.exitCode = 1;
if (files.length === 0) { console.error('tfw: test: no test files found'); process.exitCode = 1; }
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
