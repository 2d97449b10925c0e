/**
 * Bundles the portable suite (bench/guest/guest.ts) into one ESM file for
 * Node 18, as the Makefile bundles the runtime (runtime/main.ts): esbuild,
 * platform node, a `require` shim for the addon loader. Output:
 * build/bench/guest/guest.mjs (about 200 KB; rebuilt on every call, ~0.1 s).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { repoRoot } from '../../images/builder/paths.js';
import { TfwError } from '../../runtime/errors.js';

export const GUEST_BUNDLE = join(repoRoot, 'build/bench/guest/guest.mjs');

/**
 * Writes GUEST_BUNDLE and returns its bytes.
 * @throws TfwError ERR_TFW_BENCH when esbuild is missing or the bundle fails
 */
export async function bundleGuest(): Promise<Buffer> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (err) {
    throw new TfwError('ERR_TFW_BENCH', `esbuild: cannot load it (${(err as Error).message}); run npm ci`);
  }
  mkdirSync(dirname(GUEST_BUNDLE), { recursive: true });
  try {
    await esbuild.build({
      entryPoints: [join(repoRoot, 'bench/guest/guest.ts')],
      bundle: true,
      platform: 'node',
      target: 'node18',
      format: 'esm',
      outfile: GUEST_BUNDLE,
      logLevel: 'silent',
      banner: { js: "import { createRequire as __tfwCreateRequire } from 'node:module'; const require = __tfwCreateRequire(import.meta.url);" },
    });
  } catch (err) {
    throw new TfwError('ERR_TFW_BENCH', `bench/guest/guest.ts: esbuild failed: ${(err as Error).message.split('\n')[0]}`);
  }
  return readFileSync(GUEST_BUNDLE);
}
