/**
 * The image runtime entry (bundled to build/runtime/tfw-runtime.mjs):
 * `node tfw-runtime.mjs [--config FILE] [--role R] [--no-overlay]`.
 * Reads the overlay config (CBOR in images, YAML, JSON or wg-quick on a host),
 * prints the kernel self-test, starts the overlay router, then prints the ready
 * marker `tfw: ready <role> <arch> <version>` that `tfw boot` waits for, and
 * keeps running until SIGTERM or SIGINT (exit 0). SIGHUP re-reads the config and
 * applies the peers without dropping sessions. A bad config exits 1 with the
 * field named. Runs on Node >= 18.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TfwError } from './errors.js';
import { selfTests } from './selftest.js';
import { selfTest as aeadSelfTest } from './kernels/aead.js';
import { selfTest as erasureSelfTest } from './kernels/erasure.js';
import { selfTest as forwardSelfTest } from './kernels/forward.js';
import { selfTest as nativeSelfTest } from './kernels/native.js';
import { readConfigObject, validateOverlayConfig, type OverlayConfig } from './config/index.js';
import { generatePrivateKey, toBase64 } from './overlay/keys.js';
import { VERSION } from './version.js';

const log = (component: string, msg: string) => process.stderr.write(`tfw: ${component}: ${msg}\n`);

/** tfw's arch names: x86_64 or arm64 (Node says x64 / arm64). */
const tfwArch = (a: string = process.arch): string => (a === 'x64' ? 'x86_64' : a);

selfTests.push(aeadSelfTest, erasureSelfTest, forwardSelfTest, nativeSelfTest);

/**
 * Reads and validates the overlay config. Images are built without a private key
 * (builds are reproducible), so a config without `privateKey` gets an ephemeral
 * one generated here, for this boot only; give the image a key with
 * `tfw build --config` for a stable identity.
 * @throws ConfigError naming the field
 */
function readOverlayConfig(file: string): OverlayConfig {
  const raw = readConfigObject(file) as Record<string, unknown> | null;
  // A non-mapping is left for validateOverlayConfig to refuse with the field named.
  if (raw && typeof raw === 'object' && !Array.isArray(raw) && raw.privateKey === undefined) {
    raw.privateKey = toBase64(generatePrivateKey());
    log('runtime', 'config has no privateKey: using an ephemeral key for this boot');
  }
  return validateOverlayConfig(raw);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      role: { type: 'string', default: process.env.TFW_ROLE ?? 'host' },
      'no-overlay': { type: 'boolean', default: false },
    },
  });
  const file = values.config;
  const config = file ? readOverlayConfig(file) : undefined;
  if (config) log('runtime', `config ${config.name} listenPort ${config.listenPort} peers ${config.peers.length}`);
  const { selfTest } = await import('./selftest.js');
  for (const line of await selfTest()) log('selftest', line);

  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  process.on('SIGTERM', () => stop());
  process.on('SIGINT', () => stop());
  // Keeps the event loop alive until a signal, also when no overlay runs.
  const keepAlive = setInterval(() => {}, 1 << 30);

  let overlay: Awaited<ReturnType<typeof import('./overlay/index.js').startOverlay>> | undefined;
  if (config && !values['no-overlay']) {
    const { startOverlay } = await import('./overlay/index.js');
    overlay = await startOverlay(config, { log: (m: string) => log('overlay', m) });
    process.on('SIGHUP', () => {
      try {
        overlay!.reload(readOverlayConfig(file!)).catch((err: Error) => log('overlay', `reload failed, keeping the running config: ${err.message}`));
      } catch (err) {
        log('overlay', `reload failed, keeping the running config: ${(err as Error).message}`);
      }
    });
  }

  console.log(`tfw: ready ${values.role} ${tfwArch()} ${VERSION}`);
  // The guest init watches this file for tfw.poweroff_after_ready.
  if (process.env.TFW_READY_FILE) writeFileSync(process.env.TFW_READY_FILE, `${process.pid}\n`);

  await stopped;
  await overlay?.stop();
  clearInterval(keepAlive);
  log('runtime', 'stopped');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    log('runtime', err instanceof TfwError ? err.message : String((err as Error)?.stack ?? err));
    process.exit(1);
  },
);
