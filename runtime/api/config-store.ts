/**
 * The running config, one owner for every way it changes: the device API
 * (read with secrets redacted: `privateKey` left out, `presharedKey` shown
 * as "(hidden)"; replaced whole or edited peer by peer), the WireGuard UAPI
 * socket (`wg set`, api/uapi.ts) and SIGHUP. Each change is checked by the
 * runtime's own schema (config/schema.ts, which also checks the 3router's
 * `lan`, `wan` and `firewall` sections) before anything happens, applied
 * live (the overlay's reload: peers without dropping sessions; the gateway
 * sections through `applyGateway` when given; other fields are reported as
 * needing a restart; so is `mycelium`, kept as written beside them), then kept on `/data/tfw/config.json` (written to a
 * temporary file, fsync'ed, renamed), which the guest init prefers over the
 * image's config at the next boot. Changes run one at a time, in order, so
 * an API PUT and a `wg set` never undo each other. A change that fails
 * validation or cannot be applied leaves the running config untouched.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError } from '../errors.js';
import { formatCidr, maskCidr, parseCidr } from '../config/ip.js';
import { validateOverlayConfig, type OverlayConfig, type PeerConfig } from '../config/schema.js';
import { TOP_LEVEL_KEYS } from '../config/top-level.js';
import { fsyncPath } from '../device/slots.js';

/** Where a changed config is kept below the data partition (the init reads it at boot). */
export const CONFIG_FILE = 'tfw/config.json';
/** How a preshared key is shown (and, sent back unchanged, kept). */
export const HIDDEN = '(hidden)';
/** Fields the overlay applies only at start-up. */
const RESTART_FIELDS = ['name', 'listenPort', 'mtu', 'status', 'api'] as const;
/** The 3router's gateway sections (lan, wan, firewall; gateway/config.ts): shown, changed and kept as written. */
export const GATEWAY_SECTIONS: readonly string[] = Object.keys(TOP_LEVEL_KEYS).filter((k) => TOP_LEVEL_KEYS[k] === 'gateway');

/** The gateway sections of a parsed config, as written (absent ones left out). */
function sectionsOf(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of GATEWAY_SECTIONS) if (raw[k] !== undefined && raw[k] !== null) out[k] = raw[k];
  return out;
}

export interface ConfigStoreOptions {
  /** The checked running config. */
  config: OverlayConfig;
  /** Keep privateKey in the stored file (it came from the config, not from /data's identity). */
  keyFromConfig: boolean;
  dataDir?: string;
  /** Applies a checked config to the running overlay (its reload). */
  apply: (c: OverlayConfig) => Promise<void>;
  /** The gateway sections (lan, wan, firewall) as the config file wrote them. */
  gateway?: Record<string, unknown>;
  /**
   * Applies changed gateway sections live (the checked new sections, and the
   * names of those that changed); resolves with the names it could not apply
   * live, which take effect after a restart. Without it every changed
   * section waits for a restart.
   */
  applyGateway?: (sections: Record<string, unknown>, changed: string[]) => Promise<string[]>;
  /**
   * The config's `mycelium` value as written (a section, or false: the opt-out of the mesh
   * default, config/mycelium.ts); undefined when absent. Shown, kept on /data (so the opt-out
   * survives an API change and the next boot), changed by a PUT for the next start.
   */
  mycelium?: unknown;
}

export interface PutResult {
  /** Written to /data (false on a RAM-only device). */
  persisted: boolean;
  /** Changed fields that take effect after a restart. */
  restart: string[];
}

export class ConfigStore {
  private current: OverlayConfig;
  private gateway: Record<string, unknown>;
  /** The `mycelium` value as written, or undefined (ConfigStoreOptions.mycelium). */
  private mycelium: unknown;
  /** The change in progress: the next one starts when it settles. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: ConfigStoreOptions) {
    this.current = o.config;
    this.gateway = sectionsOf(o.gateway ?? {});
    this.mycelium = o.mycelium ?? undefined;
  }

  /** `{ mycelium }` when it is set, else nothing: spread into what is shown and kept. */
  private myceliumField(): Record<string, unknown> {
    return this.mycelium === undefined ? {} : { mycelium: structuredClone(this.mycelium) };
  }

  /** The running config without secrets, with the gateway sections as written. */
  get(): Record<string, unknown> {
    const { privateKey: _omit, ...rest } = this.current;
    return { ...rest, peers: this.current.peers.map((p) => (p.presharedKey ? { ...p, presharedKey: HIDDEN } : { ...p })), ...structuredClone(this.gateway), ...this.myceliumField() };
  }

  /** The running config's peers without secrets. */
  peers(): Array<Record<string, unknown>> {
    return this.get().peers as Array<Record<string, unknown>>;
  }

  /**
   * Replaces the config with `input` (the shape `GET /v1/config` gives; a
   * gateway section left out stays as it is, one given as `null` is removed).
   * @throws ConfigError naming the field, e.g. `lan.dhcp.start` (nothing changed)
   */
  put(input: unknown): Promise<PutResult> {
    return this.serial(() => this.putNow(input));
  }

  private async putNow(input: unknown): Promise<PutResult> {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new ConfigError('config', 'expected a JSON object');
    const raw = { ...(input as Record<string, unknown>) };
    if ('privateKey' in raw) throw new ConfigError('privateKey', 'is not changed through the API (the node key lives in the identity on /data)');
    raw.privateKey = this.current.privateKey;
    if (Array.isArray(raw.peers)) {
      raw.peers = raw.peers.map((p: unknown) => {
        if (typeof p !== 'object' || p === null) return p;
        const q = { ...(p as Record<string, unknown>) };
        if (q.presharedKey === HIDDEN) {
          const old = this.current.peers.find((x) => x.publicKey === q.publicKey)?.presharedKey;
          if (old) q.presharedKey = old;
          else delete q.presharedKey;
        }
        return q;
      });
    }
    const next = validateOverlayConfig(raw);
    // A section the body leaves out stays as it is (a client that only knows the overlay fields);
    // `null` removes it. Without `gateway` (not a 3router) the sections are checked, not kept.
    const gateway: Record<string, unknown> = this.o.gateway === undefined ? {} : { ...this.gateway, ...sectionsOf(raw) };
    for (const k of GATEWAY_SECTIONS) if (raw[k] === null) delete gateway[k];
    const changed = GATEWAY_SECTIONS.filter((k) => JSON.stringify(gateway[k]) !== JSON.stringify(this.gateway[k]));
    // `mycelium` as the gateway sections: left out stays, null removes; the node starts with the runtime.
    const mycelium = !('mycelium' in raw) ? this.mycelium : raw.mycelium === null ? undefined : raw.mycelium;
    await this.o.apply(next);
    const restart: string[] = RESTART_FIELDS.filter((f) => JSON.stringify(next[f]) !== JSON.stringify(this.current[f]));
    if (JSON.stringify(mycelium) !== JSON.stringify(this.mycelium)) restart.push('mycelium');
    this.current = next;
    this.gateway = gateway;
    this.mycelium = mycelium;
    if (changed.length) restart.push(...(this.o.applyGateway ? await this.o.applyGateway(gateway, changed) : changed));
    return { persisted: this.persist(), restart };
  }

  /**
   * Changes the running overlay config with `change` (given the running one,
   * secrets included; it returns a checked config, e.g. api/uapi.ts's
   * applySetLines for a `wg set`), applies it live and, when `persist`,
   * keeps it on /data with the gateway sections unchanged.
   * @throws what `change` or the apply throws (nothing changed)
   */
  update(change: (running: OverlayConfig) => OverlayConfig, persist = true): Promise<OverlayConfig> {
    return this.serial(async () => {
      const next = change(this.current);
      await this.o.apply(next);
      this.current = next;
      if (persist) this.persist();
      return next;
    });
  }

  /**
   * Adds a peer, or replaces the one with the same publicKey when `replace`.
   * @throws ConfigError naming the field (e.g. `peers.2.endpoint`), or `publicKey` for a duplicate
   */
  putPeer(peer: unknown, replace: boolean): Promise<PutResult> {
    return this.serial(() => this.putPeerNow(peer, replace));
  }

  private async putPeerNow(peer: unknown, replace: boolean): Promise<PutResult> {
    const key = (peer as { publicKey?: unknown } | null)?.publicKey;
    const peers = this.get().peers as Array<Record<string, unknown>>;
    const i = peers.findIndex((p) => p.publicKey === key);
    if (i >= 0 && !replace) throw new ConfigError('publicKey', `peer ${String(key)} exists; PUT /v1/peers/<publicKey> changes it`);
    if (i < 0 && replace) throw new ConfigError('publicKey', `no peer ${String(key)}`);
    const list = i >= 0 ? peers.map((p, j) => (j === i ? (peer as Record<string, unknown>) : p)) : [...peers, peer as Record<string, unknown>];
    return this.putNow({ ...this.get(), peers: list });
  }

  /** Removes a peer. @throws ConfigError when there is none with that key */
  deletePeer(publicKey: string): Promise<PutResult> {
    return this.serial(async () => {
      const peers = this.get().peers as Array<Record<string, unknown>>;
      if (!peers.some((p) => p.publicKey === publicKey)) throw new ConfigError('publicKey', `no peer ${publicKey}`);
      return this.putNow({ ...this.get(), peers: peers.filter((p) => p.publicKey !== publicKey) });
    });
  }

  /** The running overlay config as the schema checked it (secrets included). */
  running(): OverlayConfig {
    return this.current;
  }

  /**
   * An overlay status (overlay/status.ts) with each peer's `allowedIPs`
   * (masked CIDRs, as `wg show` prints them) and `persistentKeepalive`
   * (seconds, 0 for off) from the running config, for GET /v1/status (so
   * `tfw show --device` shows what `wg show` does).
   */
  describe<T extends { peers: Array<{ publicKey: string }> }>(status: T): T {
    const byKey = new Map(this.current.peers.map((p) => [p.publicKey, p]));
    return {
      ...status,
      peers: status.peers.map((p) => {
        const c = byKey.get(p.publicKey);
        return { ...p, allowedIPs: (c?.allowedIPs ?? []).map((a) => formatCidr(maskCidr(parseCidr(a)!))), persistentKeepalive: c?.persistentKeepalive ?? 0 };
      }),
    };
  }

  /** The running peers as the schema checked them (secrets included), for the overlay. */
  runningPeers(): PeerConfig[] {
    return this.current.peers;
  }

  /** Runs `f` after every change queued before it (whether that one failed or not). */
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const r = this.queue.then(f);
    this.queue = r.catch(() => {});
    return r;
  }

  private persist(): boolean {
    if (!this.o.dataDir) return false;
    const file = join(this.o.dataDir, CONFIG_FILE);
    const { privateKey, ...rest } = this.current;
    const body = { ...(this.o.keyFromConfig ? { privateKey, ...rest } : rest), ...this.gateway, ...this.myceliumField() };
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(`${file}.tmp`, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
    fsyncPath(`${file}.tmp`);
    renameSync(`${file}.tmp`, file);
    fsyncPath(dirname(file));
    return true;
  }
}
