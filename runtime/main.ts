/**
 * The image runtime entry (bundled to build/runtime/tfw-runtime.mjs):
 * `node tfw-runtime.mjs [--config /etc/tfw/config.cbor] [--role R]`.
 * Loads the kernels, prints their self-test, then the ready marker
 * `tfw: ready <role> <arch> <version>` that `tfw boot` waits for.
 */
import { parseArgs } from 'node:util';
import { VERSION } from './version.js';

const log = (component: string, msg: string) => process.stderr.write(`tfw: ${component}: ${msg}\n`);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      role: { type: 'string', default: process.env.TFW_ROLE ?? 'host' },
    },
  });
  const { selfTest } = await import('./selftest.js');
  for (const line of await selfTest()) log('selftest', line);
  const arch = process.arch === 'x64' ? 'x86_64' : process.arch;
  console.log(`tfw: ready ${values.role} ${arch} ${VERSION}`);
}

main().catch((err) => {
  log('runtime', (err as Error).message);
  process.exit(1);
});
