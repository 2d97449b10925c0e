#!/usr/bin/env node
// `tfw` CLI entry (package.json `bin`). Runs the compiled CLI in build/dist
// (tsc -p tsconfig.build.json: `make dist`, part of `make all`; what the npm
// package carries, so no tsx at run time). In a source checkout whose sources
// are newer than that build (or TFW_DEV=1), it loads the TypeScript sources
// through tsx instead, so the CLI always matches the checkout.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const compiled = `${root}build/dist/host-tools/cli.js`;
const stamp = `${root}build/dist/.stamp`;
const SOURCE_DIRS = ['runtime', 'host-tools', 'images', 'bench'];

/** Newest mtime (ms) of a .ts file under the checkout's source folders. */
function newestSource() {
  let newest = 0;
  for (const d of SOURCE_DIRS) {
    let names;
    try {
      names = readdirSync(`${root}${d}`, { recursive: true });
    } catch {
      continue;
    }
    for (const n of names) if (n.endsWith('.ts')) newest = Math.max(newest, statSync(`${root}${d}/${n}`).mtimeMs);
  }
  return newest;
}

const isCheckout = existsSync(`${root}host-tools/cli.ts`);
const useSources = isCheckout && (process.env.TFW_DEV === '1' || !existsSync(stamp) || newestSource() > statSync(stamp).mtimeMs);
let main;
if (useSources) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../cli.ts'));
} else {
  ({ main } = await import(compiled));
}
process.exitCode = await main(process.argv.slice(2));
