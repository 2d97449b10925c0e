/**
 * `tfw runtime --config FILE`: runs the overlay router on this host (YAML,
 * JSON, CBOR or a wg-quick .conf; see ARCHITECTURE.md "Overlay config, keys
 * and status"), with the WireGuard UAPI socket /var/run/wireguard/<name>.sock
 * for `wg show`, `wg set` and `tfw show` (runtime/api/uapi.ts). SIGHUP re-reads the file and applies the peers without
 * dropping sessions; SIGTERM / SIGINT stop it cleanly (exit 0). A bad config
 * exits non-zero with the field named.
 */
import { redact } from '../../runtime/config/redact.js';
import type { Command } from 'commander';
import { loadConfig, readConfigObject } from '../../runtime/config/load.js';
import { myceliumFor, validateMyceliumConfig, validateOverlayConfig } from '../../runtime/config/index.js';
import type { MyceliumService } from '../../runtime/overlay/mycelium/service.js';
import { startUapi } from '../../runtime/api/uapi.js';
import { ConfigStore } from '../../runtime/api/config-store.js';
import { startOverlay } from '../../runtime/overlay/index.js';

const log = (msg: string) => process.stderr.write(`tfw: overlay: ${msg}\n`);

export function register(program: Command): void {
  program
    .command('runtime')
    .description('Run the tfw runtime (overlay router) on this host')
    .requiredOption('-c, --config <file>', 'overlay config: YAML, JSON, CBOR or a wg-quick .conf file')
    .option('--check', 'validate the config, print it as JSON (privateKey and presharedKey shown as "(hidden)") and exit')
    .action(async (opts: { config: string; check?: boolean }) => {
      const raw = readConfigObject(opts.config);
      const config = validateOverlayConfig(raw);
      // The `mycelium:` section (docs/overlay.md "Mycelium"): a Mycelium-dialect node on the same
      // key and address, sharing the overlay's TUN, as the image runtime (runtime/main.ts) runs it.
      // `mesh: true` without the section runs one over the WireGuard links (config/mycelium.ts myceliumFor).
      const myceliumRaw = (raw as Record<string, unknown> | null)?.mycelium;
      validateMyceliumConfig(myceliumRaw);
      if (opts.check) {
        process.stdout.write(`${JSON.stringify(redact(config))}\n`);
        return;
      }
      const overlay = await startOverlay(config, { log });
      const myceliumCfg = myceliumFor(myceliumRaw, { mesh: config.mesh, address: overlay.address });
      let mycelium: MyceliumService | undefined;
      if (myceliumCfg) {
        const { startMyceliumSection } = await import('../../runtime/overlay/mycelium/service.js');
        mycelium = await startMyceliumSection(myceliumCfg, config.privateKey, (m) => process.stderr.write(`tfw: mycelium: ${m}\n`), overlay);
      }
      // The WireGuard UAPI socket (wg show / wg set / tfw show). The running config has one owner that
      // runs SIGHUP reloads and UAPI sets one at a time, in order; nothing is kept (no /data on a host).
      const store = new ConfigStore({ config, keyFromConfig: true, apply: (next) => overlay.reload(next) });
      const uapi = await startUapi({ overlay, update: (change) => store.update(change), log: (c, m) => process.stderr.write(`tfw: ${c}: ${m}\n`) })
        .catch((err: Error) => (log(`${err.message}; wg(8) cannot see ${overlay.name}`), undefined));
      await new Promise<void>((resolve) => {
        const onHup = () => {
          store.update(() => loadConfig(opts.config), false).catch((err: Error) => log(`reload failed, keeping the running config: ${err.message}`));
        };
        const onStop = (sig: string) => {
          log(`${sig}: stopping`);
          process.off('SIGHUP', onHup);
          // The Mycelium node shares the overlay's TUN: it stops first.
          mycelium?.stop();
          Promise.all([uapi?.close(), overlay.stop()]).then(() => resolve(), resolve);
        };
        process.on('SIGHUP', onHup);
        process.once('SIGTERM', () => onStop('SIGTERM'));
        process.once('SIGINT', () => onStop('SIGINT'));
      });
    });
}
