/**
 * `make bench` entry: runs bench/<name>.bench.ts for every name given on the
 * command line (all of them when none), each printing its table and writing
 * build/bench/<name>.json.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const all = readdirSync(here).filter((f) => f.endsWith('.bench.ts')).map((f) => f.replace(/\.bench\.ts$/, '')).sort();
const wanted = process.argv.slice(2).flatMap((a) => a.split(/[ ,]+/)).filter(Boolean);
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length) {
  console.error(`tfw: bench: unknown benchmark ${unknown.join(', ')}; expected one of ${all.join(', ')}`);
  process.exit(2);
}
console.log(`tfw bench: node ${process.version}, ${process.arch}, ${new Date().toISOString()}`);
for (const name of wanted.length ? wanted : all) {
  const mod = await import(pathToFileURL(join(here, `${name}.bench.ts`)).href);
  try {
    await mod.default();
  } catch (err) {
    // A missing build step (no build/wasm, no native addon) is one line naming it, not a stack trace.
    const code = (err as { code?: unknown })?.code;
    if (!(err instanceof Error && typeof code === 'string' && code.startsWith('ERR_TFW_'))) throw err;
    console.error(`tfw: bench: ${name}: ${err.message.split('\n')[0]}`);
    process.exit(1);
  }
}
