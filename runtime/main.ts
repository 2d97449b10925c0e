/**
 * The image runtime entry (bundled to build/runtime/tfw-runtime.mjs):
 * `node tfw-runtime.mjs [--config FILE] [--role R] [--no-overlay] [--data DIR] [--esp DIR]`;
 * `--config FILE --wan-static` only prints a 3router's static WAN for the init
 * (`NET_ADDRESS=... NET_GATEWAY=...`, nothing for DHCP) and exits.
 * Reads the overlay config (CBOR in images, YAML, JSON or wg-quick on a host),
 * loads or creates the node's identity on the data partition (`--data`, where
 * the guest init mounted `tfw-data`), prints the kernel self-test, starts the
 * overlay router with its WireGuard UAPI socket (/var/run/wireguard/<name>.sock,
 * api/uapi.ts) and the device API (`api:`; 0.0.0.0:80 in images; with
 * GET /metrics), then
 * prints the ready marker `tfw: ready <role> <arch> <version>` that `tfw boot`
 * waits for, and marks the booted slot good (`--esp`, device/slots.ts). Keeps
 * running until SIGTERM or SIGINT (exit 0). As a 3router with a `lan:` config
 * section (or `TFW_FAILSAFE=1`) it also runs the LAN gateway (runtime/gateway); as an
 * aibox with `--data` it runs the slice manager (runtime/slices, the device API's
 * /v1/slices) with its overlay node as the slices' gateway (`slices.bridge`). SIGHUP re-reads the config and
 * applies the peers without dropping sessions. A bad config exits 1 with the
 * field named. Runs on Node >= 18.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { TfwError } from './errors.js';
import { selfTests } from './selftest.js';
import { selfTest as aeadSelfTest } from './kernels/aead.js';
import { selfTest as erasureSelfTest } from './kernels/erasure.js';
import { selfTest as forwardSelfTest } from './kernels/forward.js';
import { selfTest as nativeSelfTest } from './kernels/native.js';
import { myceliumFor, readConfigObject, validateMyceliumConfig, validateOverlayConfig, validateSlicesConfig, type OverlayConfig } from './config/index.js';
import { MESH_MYCELIUM_PORT } from './config/mycelium.js';
import { isKey32 } from './config/schema.js';
import { DeviceState } from './device/device.js';
import { loadIdentity, type Identity } from './device/identity.js';
import { VERSION } from './version.js';
import { LogRing, levelOf } from './api/logs.js';

/** Recent log lines for the device API (GET /v1/logs), with levels and times. */
const logRing = new LogRing();
const log = (component: string, msg: string) => {
  logRing.push(levelOf(msg), component, msg);
  process.stderr.write(`tfw: ${component}: ${msg}\n`);
};

/** tfw's arch names: x86_64 or arm64 (Node says x64 / arm64). */
const tfwArch = (a: string = process.arch): string => (a === 'x64' ? 'x86_64' : a);

/** The 3Node's shard backend port (0-db's default is 9900). */
const SHARD_PORT = 9900;

/** True under the image's init (which exports TFW_IMAGE=1): the device API then listens by default. */
const inImage = process.env.TFW_IMAGE === '1';

/**
 * The web console's folder, when there is one: $TFW_CONSOLE_DIR, else
 * ../console beside the runtime (/usr/lib/tfw/console in images, where the
 * bundle is /usr/lib/tfw/runtime/tfw-runtime.mjs; build/console for
 * build/runtime/tfw-runtime.mjs), else build/console of the checkout when
 * run from runtime/main.ts (build/dist/runtime/main.js: ../../console is
 * build/console); a folder without assets/console.js is not one.
 */
function consoleDir(): string | undefined {
  const candidates = [process.env.TFW_CONSOLE_DIR, fileURLToPath(new URL('../console', import.meta.url)), fileURLToPath(new URL('../build/console', import.meta.url)), fileURLToPath(new URL('../../console', import.meta.url))];
  // The bundle, not index.html, marks a built console: run from source, ../console is the source folder.
  return candidates.find((d) => d && existsSync(`${d}/index.html`) && existsSync(`${d}/assets/console.js`));
}

selfTests.push(aeadSelfTest, erasureSelfTest, forwardSelfTest, nativeSelfTest);

/**
 * Validates the overlay part of a parsed config file (readConfigObject), with the node's identity as its
 * private key when the config gives none (images are built without one, so
 * builds stay reproducible).
 * @throws ConfigError naming the field
 */
function overlayConfigOf(raw: unknown, identity: (configKey: unknown) => Identity): OverlayConfig {
  // A non-mapping is left for validateOverlayConfig to refuse with the field named.
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    const r = raw as Record<string, unknown>;
    if (r.privateKey === undefined) raw = { ...r, privateKey: identity(undefined).privateKey };
    else identity(r.privateKey);
  }
  return validateOverlayConfig(raw);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      role: { type: 'string', default: process.env.TFW_ROLE ?? 'host' },
      'no-overlay': { type: 'boolean', default: false },
      data: { type: 'string' },
      esp: { type: 'string' },
      'wan-static': { type: 'boolean', default: false },
    },
  });
  if (values['wan-static']) {
    // For the init's shell, before the network is up: a bad section prints nothing (DHCP then runs and the runtime names the field).
    const { wanStaticWords } = await import('./gateway/service.js');
    const words = values.config ? wanStaticWords(readConfigObject(values.config)) : '';
    if (words) console.log(words);
    return 0;
  }
  const version = process.env.TFW_VERSION ?? VERSION;
  const device = new DeviceState({
    board: process.env.TFW_BOARD ?? 'host',
    role: values.role!,
    arch: tfwArch(),
    version,
    dataDir: values.data,
    esp: values.esp,
    log,
  });
  // The identity is made (or read) once per run: a SIGHUP reload keeps it.
  let identity: Identity | undefined;
  const getIdentity = (configKey: unknown): Identity => {
    if (identity) return identity;
    const key = typeof configKey === 'string' && isKey32(configKey) ? configKey : undefined;
    try {
      identity = loadIdentity({ dataDir: values.data, configKey: key });
    } catch (err) {
      // A damaged key file is kept for its owner to look at; the device stays reachable meanwhile.
      log('identity', `${(err as Error).message}; using an ephemeral key for this boot`);
      identity = loadIdentity({ configKey: key });
    }
    if (identity.source === 'ephemeral') log('identity', `ephemeral ${identity.publicKey} (no tfw-data partition: a new key every boot)`);
    else log('identity', `${identity.source} ${identity.publicKey}`);
    return identity;
  };
  const file = values.config;
  // The file is read once at start-up; its overlay, gateway and mycelium sections all come from this parse.
  const raw = file ? readConfigObject(file) : undefined;
  const config = file ? overlayConfigOf(raw, getIdentity) : undefined;
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
  let uapi: Awaited<ReturnType<typeof import('./api/uapi.js').startUapi>> | undefined;
  // The running config's one owner (api/config-store.ts): the device API, `wg set` through the
  // UAPI socket and SIGHUP change it one at a time; API and UAPI changes are kept on /data.
  let store: import('./api/config-store.js').ConfigStore | undefined;
  const { startGatewayForRole, gatewaySections } = await import('./gateway/service.js');
  const gatewayRaw = file ? gatewaySections(raw) : undefined;
  if (config && !values['no-overlay']) {
    const { startOverlay } = await import('./overlay/index.js');
    overlay = await startOverlay(config, { log: (m: string) => log('overlay', m) });
    const { ConfigStore } = await import('./api/config-store.js');
    store = new ConfigStore({ config, keyFromConfig: identity?.source === 'config', dataDir: values.data, apply: (c) => overlay!.reload(c),
      // Only a 3router keeps the gateway sections; its firewall is reloaded live (lan and wan wait for a restart).
      gateway: values.role === '3router' ? (gatewayRaw ?? {}) : undefined,
      // Kept with the config on /data, so `mycelium: false` (or a section) outlives an API change.
      mycelium: file ? (raw as Record<string, unknown>).mycelium : undefined,
      applyGateway: async (sections, changed) => {
        if (!gateway || !changed.includes('firewall')) return changed;
        const { validateGatewayConfig } = await import('./gateway/config.js');
        gateway.setFirewall(validateGatewayConfig(sections).firewall);
        return changed.filter((k) => k !== 'firewall');
      },
    });
    const { startUapi } = await import('./api/uapi.js');
    uapi = await startUapi({ overlay, update: (change) => store!.update(change), log }).catch((err: Error) => (log('uapi', `${err.message}; wg(8) cannot see ${config.name}`), undefined));
    // SIGHUP: the file is the truth, so nothing is written back to /data.
    process.on('SIGHUP', () => {
      store!.update(() => overlayConfigOf(readConfigObject(file!), getIdentity), false).catch((err: Error) => log('overlay', `reload failed, keeping the running config: ${err.message}`));
    });
  }

  // The `mycelium:` section: a Mycelium-dialect node on the same key and address
  // (runtime/overlay/mycelium). It runs whenever the section is there, also with --no-overlay
  // (which skips only the WireGuard device); with the WireGuard overlay running it shares
  // the overlay's TUN (one TUN, one address; docs/overlay.md), else it opens `mycelium.tun`.
  // `mesh: true` without the section runs one over the WireGuard links only, listening on the
  // overlay address (config/mycelium.ts myceliumFor): end to end by default; `mycelium: false` opts out.
  let mycelium: import('./overlay/mycelium/service.js').MyceliumService | undefined;
  const myceliumRaw = file && config ? (raw as Record<string, unknown>).mycelium : undefined;
  const myceliumCfg = !config ? null : overlay ? myceliumFor(myceliumRaw, { mesh: config.mesh, address: overlay.address }) : validateMyceliumConfig(myceliumRaw);
  if (myceliumCfg && config) {
    const { startMyceliumSection } = await import('./overlay/mycelium/service.js');
    mycelium = await startMyceliumSection(myceliumCfg, config.privateKey, (m) => log('mycelium', m), overlay ?? undefined);
  }

  // A 3Node stores shards: a 0-db-compatible backend on its overlay address (port 9900), data on /data.
  let shards: Awaited<ReturnType<typeof import('./storage/index.js').startShardServer>> | undefined;
  if (values.role === '3node' && values.data && overlay && identity) {
    const { startShardServer } = await import('./storage/index.js');
    const { overlayAddress } = await import('./overlay/index.js');
    const listen = `[${overlayAddress(new Uint8Array(Buffer.from(identity.publicKey, 'base64')))}]:${SHARD_PORT}`;
    try {
      shards = await startShardServer({ listen, dataDir: join(values.data, 'zdb'), log: (m: string) => log('storage', m) });
    } catch (err) {
      log('storage', `cannot serve shards on ${listen}: ${(err as Error).message}`);
    }
  }

  // The 3router's LAN (bridge, dnsmasq, nftables; runtime/gateway) with a `lan:` section or tfw.failsafe=1,
  // whose device API then listens on the failsafe LAN only.
  const failsafe = inImage && values.role === '3router' && process.env.TFW_FAILSAFE === '1';
  const apiListen = failsafe ? '192.168.1.1:80' : (config?.api ?? (inImage ? '0.0.0.0:80' : undefined));
  const gateway = await startGatewayForRole({
    role: values.role!,
    raw: gatewayRaw,
    // A Mycelium node linked over the WireGuard tunnels (the mesh default or a section) takes links on 9651 there.
    overlay: config && overlay
      ? { iface: config.name, port: config.listenPort, address: `${overlay.address}/64`, ...(mycelium && myceliumCfg?.overWireGuard ? { myceliumPort: MESH_MYCELIUM_PORT } : {}) }
      : undefined,
    apiPort: apiListen ? Number(apiListen.slice(apiListen.lastIndexOf(':') + 1)) : undefined,
    log: (m) => log('gateway', m),
  });

  let api: Awaited<ReturnType<typeof import('./api/server.js').startApi>> | undefined;
  if (apiListen) {
    const { startApi } = await import('./api/server.js');
    const { createMetrics } = await import('./api/metrics.js');
    // The AIBox keeps its slices on /data and brings them back as they were (slices restart, GPUs rebound).
    let slices: import('./slices/index.js').SliceManager | undefined;
    if (values.role === 'aibox' && values.data) {
      const { SliceManager } = await import('./slices/index.js');
      // The AIBox's node is the slices' overlay gateway: the VMs peer with it over the bridge
      // (`slices.bridge`, default 10.254.0.1/24) and it learns each VM's key over its UAPI socket.
      let gateway: import('./slices/index.js').SliceGateway | undefined;
      const { bridge, accel } = validateSlicesConfig(raw ? (raw as Record<string, unknown>).slices : undefined);
      if (overlay && config) {
        const st = overlay.status();
        gateway = { address: bridge, publicKey: st.publicKey, listenPort: st.listenPort, uapiSocket: uapi?.path };
        log('slice', `overlay gateway ${bridge} port ${st.listenPort}${uapi ? '' : ' (no UAPI socket: VMs are not admitted)'}`);
      } else {
        log('slice', 'no overlay running: slices get no overlay gateway');
      }
      const m = new SliceManager({ stateDir: join(values.data, 'slices'), accel, gateway, log: (msg) => log('slice', msg) });
      slices = m;
      void m.reconcile().then(
        (r) => {
          // reconcile() admits the slices running now (started here, or left running by the last runtime).
          if (r.length) log('slice', `reconciled: ${r.map((e) => `${e.name} ${e.action}`).join(', ')}`);
        },
        (err: Error) => log('slice', `reconcile failed: ${err.message}`),
      );
    }
    const { AdminAuth, IMAGE_ADMIN_FILE } = await import('./api/auth.js');
    api = await startApi({
      // An image may carry a password set at build time (tfw build --admin-password-file).
      auth: new AdminAuth({ dataDir: values.data, imageFile: inImage ? IMAGE_ADMIN_FILE : undefined }),
      slices,
      config: store,
      logs: logRing,
      consoleDir: consoleDir(),
      listen: apiListen,
      device,
      log,
      metrics: createMetrics({ overlay: () => overlay ?? null, device }),
      status: () => ({
        identity: identity ? { publicKey: identity.publicKey, source: identity.source } : null,
        overlay: overlay ? (store ? store.describe(overlay.status()) : overlay.status()) : null,
        ...(shards ? { storage: { backend: shards.address } } : {}),
        ...(mycelium ? { mycelium: mycelium.node.status() } : {}),
      }),
      // Under the image init, SIGUSR1 to PID 1 stops the runtime, syncs, unmounts and reboots.
      reboot: () => (inImage ? process.kill(1, 'SIGUSR1') : log('api', 'reboot requested (not under the image init: ignored)')),
    });
    log('api', `listening on ${apiListen}`);
  }

  console.log(`tfw: ready ${values.role} ${tfwArch()} ${version}`);
  // The guest init watches this file for tfw.poweroff_after_ready.
  if (process.env.TFW_READY_FILE) writeFileSync(process.env.TFW_READY_FILE, `${process.pid}\n`);
  // Healthy: ready, and the overlay up when one is configured. The init's
  // health deadline reboots a slot on trial that never gets here.
  if (!config || overlay) {
    try {
      device.markHealthy();
    } catch (err) {
      log('slot', `cannot mark ${device.slot} good: ${(err as Error).message}`);
    }
    if (process.env.TFW_HEALTHY_FILE) writeFileSync(process.env.TFW_HEALTHY_FILE, `${process.pid}\n`);
  }

  await stopped;
  await api?.close();
  await shards?.close();
  await uapi?.close();
  await gateway?.stop();
  // The Mycelium node may share the overlay's TUN: it stops first.
  mycelium?.stop();
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
