/**
 * The running config as the device API shows and changes it: read with
 * secrets redacted (`privateKey` left out, `presharedKey` shown as
 * "(hidden)"), replaced or edited peer by peer, each change checked by the
 * runtime's own schema (config/schema.ts) before anything happens, applied
 * live (the overlay's reload: peers without dropping sessions; other fields
 * are reported as needing a restart), then kept on `/data/tfw/config.json`
 * (written to a temporary file, fsync'ed, renamed), which the guest init
 * prefers over the image's config at the next boot. A change that fails
 * validation or cannot be applied leaves the running config untouched.
 * The 3router's gateway sections (`lan`, `wan`, `firewall`) are shown and
 * taken too: `firewall` is applied live when an `applyFirewall` is given
 * (the gateway's ruleset reload), `lan` and `wan` after a restart; a PUT
 * without them leaves them as they are.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError } from '../errors.js';
import { validateOverlayConfig, type OverlayConfig, type PeerConfig } from '../config/schema.js';
import { validateGatewayConfig, type FirewallConfig } from '../gateway/config.js';
import { fsyncPath } from '../device/slots.js';

/** Where a changed config is kept below the data partition (the init reads it at boot). */
export const CONFIG_FILE = 'tfw/config.json';
/** How a preshared key is shown (and, sent back unchanged, kept). */
export const HIDDEN = '(hidden)';
/** Fields the overlay applies only at start-up. */
const RESTART_FIELDS = ['name', 'listenPort', 'mtu', 'status', 'api'] as const;

export interface ConfigStoreOptions {
  /** The checked running config. */
  config: OverlayConfig;
  /** Keep privateKey in the stored file (it came from the config, not from /data's identity). */
  keyFromConfig: boolean;
  dataDir?: string;
  /** Applies a checked config to the running overlay (its reload). */
  apply: (c: OverlayConfig) => Promise<void>;
  /** The 3router's gateway sections (lan, wan, firewall) as the config file has them ({} for none); shown by get, changed by put. Other roles leave it out. */
  keep?: Record<string, unknown>;
  /** Applies a checked firewall section to the running gateway (its ruleset reload); without it a firewall change waits for a restart. */
  applyFirewall?: (f: FirewallConfig) => void;
}

const GATEWAY_SECTIONS = ['lan', 'wan', 'firewall'] as const;

export interface PutResult {
  /** Written to /data (false on a RAM-only device). */
  persisted: boolean;
  /** Changed fields that take effect after a restart. */
  restart: string[];
}

export class ConfigStore {
  private current: OverlayConfig;
  private gateway: Record<string, unknown>;

  constructor(private readonly o: ConfigStoreOptions) {
    this.current = o.config;
    this.gateway = { ...o.keep };
  }

  /** The running config without secrets (with the gateway sections the config has). */
  get(): Record<string, unknown> {
    const { privateKey: _omit, ...rest } = this.current;
    return { ...rest, peers: this.current.peers.map((p) => (p.presharedKey ? { ...p, presharedKey: HIDDEN } : { ...p })), ...this.gateway };
  }

  /** The running config's peers without secrets. */
  peers(): Array<Record<string, unknown>> {
    return this.get().peers as Array<Record<string, unknown>>;
  }

  /**
   * Replaces the config with `input` (the shape `GET /v1/config` gives).
   * @throws ConfigError naming the field (nothing changed)
   */
  async put(input: unknown): Promise<PutResult> {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new ConfigError('config', 'expected a JSON object');
    const raw = { ...(input as Record<string, unknown>) };
    const gateway = { ...this.gateway };
    // Only a 3router (keep given) keeps the gateway sections; elsewhere the overlay schema checks and drops them.
    for (const k of this.o.keep ? GATEWAY_SECTIONS : []) {
      if (k in raw) gateway[k] = raw[k];
      delete raw[k];
    }
    const changed = GATEWAY_SECTIONS.filter((k) => JSON.stringify(gateway[k]) !== JSON.stringify(this.gateway[k]));
    const checked = validateGatewayConfig(gateway);
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
    await this.o.apply(next);
    const restart: string[] = RESTART_FIELDS.filter((f) => JSON.stringify(next[f]) !== JSON.stringify(this.current[f]));
    this.current = next;
    for (const k of changed) {
      if (k === 'firewall' && this.o.applyFirewall) this.o.applyFirewall(checked.firewall);
      else restart.push(k);
    }
    this.gateway = Object.fromEntries(Object.entries(gateway).filter(([, v]) => v !== undefined));
    return { persisted: this.persist(), restart };
  }

  /**
   * Adds a peer, or replaces the one with the same publicKey when `replace`.
   * @throws ConfigError naming the field (e.g. `peers.2.endpoint`), or `publicKey` for a duplicate
   */
  async putPeer(peer: unknown, replace: boolean): Promise<PutResult> {
    const key = (peer as { publicKey?: unknown } | null)?.publicKey;
    const peers = this.get().peers as Array<Record<string, unknown>>;
    const i = peers.findIndex((p) => p.publicKey === key);
    if (i >= 0 && !replace) throw new ConfigError('publicKey', `peer ${String(key)} exists; PUT /v1/peers/<publicKey> changes it`);
    if (i < 0 && replace) throw new ConfigError('publicKey', `no peer ${String(key)}`);
    const list = i >= 0 ? peers.map((p, j) => (j === i ? (peer as Record<string, unknown>) : p)) : [...peers, peer as Record<string, unknown>];
    return this.put({ ...this.get(), peers: list });
  }

  /** Removes a peer. @throws ConfigError when there is none with that key */
  async deletePeer(publicKey: string): Promise<PutResult> {
    const peers = this.get().peers as Array<Record<string, unknown>>;
    if (!peers.some((p) => p.publicKey === publicKey)) throw new ConfigError('publicKey', `no peer ${publicKey}`);
    return this.put({ ...this.get(), peers: peers.filter((p) => p.publicKey !== publicKey) });
  }

  /** The running peers as the schema checked them (secrets included), for the overlay. */
  runningPeers(): PeerConfig[] {
    return this.current.peers;
  }

  private persist(): boolean {
    if (!this.o.dataDir) return false;
    const file = join(this.o.dataDir, CONFIG_FILE);
    const { privateKey, ...rest } = this.current;
    const body = { ...(this.o.keyFromConfig ? { privateKey, ...rest } : rest), ...this.gateway };
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(`${file}.tmp`, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
    fsyncPath(`${file}.tmp`);
    renameSync(`${file}.tmp`, file);
    fsyncPath(dirname(file));
    return true;
  }
}
