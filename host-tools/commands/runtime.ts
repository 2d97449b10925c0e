/**
 * `tfw runtime --config FILE`: runs the overlay router on this host (YAML,
 * JSON, CBOR or a wg-quick .conf; see ARCHITECTURE.md "Overlay config, keys
 * and status"). SIGHUP re-reads the file and applies the peers without
 * dropping sessions; SIGTERM / SIGINT stop it cleanly (exit 0). A bad config
 * exits non-zero with the field named.
 */
import type { Command } from 'commander';
import { loadConfig } from '../../runtime/config/load.js';
import { startOverlay } from '../../runtime/overlay/index.js';

const log = (msg: string) => process.stderr.write(`tfw: overlay: ${msg}\n`);

export function register(program: Command): void {
  program
    .command('runtime')
    .description('Run the tfw runtime (overlay router) on this host')
    .requiredOption('-c, --config <file>', 'overlay config: YAML, JSON, CBOR or a wg-quick .conf file')
    .option('--check', 'validate the config, print it as JSON and exit')
    .action(async (opts: { config: string; check?: boolean }) => {
      const config = loadConfig(opts.config);
      if (opts.check) {
        process.stdout.write(`${JSON.stringify({ ...config, privateKey: '(hidden)' })}\n`);
        return;
      }
      const overlay = await startOverlay(config, { log });
      await new Promise<void>((resolve) => {
        const onHup = () => {
          try {
            overlay.reload(loadConfig(opts.config)).catch((err) => log(`reload failed, keeping the running config: ${(err as Error).message}`));
          } catch (err) {
            log(`reload failed, keeping the running config: ${(err as Error).message}`);
          }
        };
        const onStop = (sig: string) => {
          log(`${sig}: stopping`);
          process.off('SIGHUP', onHup);
          overlay.stop().then(resolve, resolve);
        };
        process.on('SIGHUP', onHup);
        process.once('SIGTERM', () => onStop('SIGTERM'));
        process.once('SIGINT', () => onStop('SIGINT'));
      });
    });
}
