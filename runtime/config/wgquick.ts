/**
 * wg-quick(8) `.conf` files: an INI-like text with one `[Interface]` and any
 * number of `[Peer]` sections. Keys are case-insensitive; list values are
 * comma-separated; `#` starts a comment. wg-quick-only keys (DNS, Table,
 * PreUp/PostUp/..., SaveConfig, FwMark) are accepted and ignored, since tfw
 * manages its own interface; MTU is honoured.
 */
import { ConfigError } from '../errors.js';

const INTERFACE_KEYS: Record<string, string> = {
  privatekey: 'privateKey',
  listenport: 'listenPort',
  address: 'address',
  mtu: 'mtu',
};
const PEER_KEYS: Record<string, string> = {
  publickey: 'publicKey',
  endpoint: 'endpoint',
  allowedips: 'allowedIPs',
  persistentkeepalive: 'persistentKeepalive',
  presharedkey: 'presharedKey',
};
const IGNORED = new Set(['dns', 'table', 'preup', 'postup', 'predown', 'postdown', 'saveconfig', 'fwmark']);
const NUMERIC = new Set(['listenPort', 'mtu', 'persistentKeepalive']);
const LISTS = new Set(['address', 'allowedIPs']);

/**
 * Parses wg-quick text into the plain config object (not yet validated: pass it
 * to `validateOverlayConfig`). Throws `ConfigError` naming `line N` for syntax
 * errors and unknown keys. `name` defaults to the file's base name, as wg-quick
 * names the interface after the file.
 */
export function parseWgQuick(text: string, name?: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (name) out.name = name;
  const peers: Record<string, unknown>[] = [];
  let section: Record<string, unknown> | null = null;
  let keys: Record<string, string> = {};
  let sawInterface = false;
  text.split(/\r?\n/).forEach((rawLine, i) => {
    const line = rawLine.replace(/#.*$/, '').trim();
    const where = `line ${i + 1}`;
    if (!line) return;
    const head = /^\[\s*(\w+)\s*\]$/.exec(line);
    if (head) {
      const s = head[1].toLowerCase();
      if (s === 'interface') {
        if (sawInterface) throw new ConfigError(where, 'a second [Interface] section; expected exactly one');
        sawInterface = true;
        section = out;
        keys = INTERFACE_KEYS;
      } else if (s === 'peer') {
        section = {};
        peers.push(section);
        keys = PEER_KEYS;
      } else throw new ConfigError(where, `unknown section [${head[1]}]; expected [Interface] or [Peer]`);
      return;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || !section) throw new ConfigError(where, `expected "Key = Value" inside [Interface] or [Peer], got ${JSON.stringify(rawLine.trim())}`);
    const k = line.slice(0, eq).trim().toLowerCase();
    const v = line.slice(eq + 1).trim();
    const field = keys[k];
    if (!field) {
      if (IGNORED.has(k) && keys === INTERFACE_KEYS) return;
      throw new ConfigError(where, `unknown key ${line.slice(0, eq).trim()}; expected one of ${Object.keys(keys).join(', ')}`);
    }
    if (LISTS.has(field)) {
      const items = v.split(',').map((s) => s.trim()).filter(Boolean);
      section[field] = [...((section[field] as string[] | undefined) ?? []), ...items];
    } else if (NUMERIC.has(field)) {
      section[field] = field === 'persistentKeepalive' && v === 'off' ? 0 : /^\d+$/.test(v) ? Number(v) : v;
    } else section[field] = v;
  });
  if (!sawInterface) throw new ConfigError('Interface', 'missing [Interface] section');
  out.peers = peers;
  return out;
}

/** Renders a config as wg-quick text (for `wg setconf`-style tools and tests). */
export function toWgQuick(cfg: {
  privateKey: string;
  listenPort?: number;
  address?: string[];
  peers: { publicKey: string; endpoint?: string; allowedIPs?: string[]; persistentKeepalive?: number; presharedKey?: string }[];
}): string {
  const lines = ['[Interface]', `PrivateKey = ${cfg.privateKey}`];
  if (cfg.listenPort !== undefined) lines.push(`ListenPort = ${cfg.listenPort}`);
  if (cfg.address?.length) lines.push(`Address = ${cfg.address.join(', ')}`);
  for (const p of cfg.peers) {
    lines.push('', '[Peer]', `PublicKey = ${p.publicKey}`);
    if (p.presharedKey) lines.push(`PresharedKey = ${p.presharedKey}`);
    if (p.endpoint) lines.push(`Endpoint = ${p.endpoint}`);
    if (p.allowedIPs?.length) lines.push(`AllowedIPs = ${p.allowedIPs.join(', ')}`);
    if (p.persistentKeepalive) lines.push(`PersistentKeepalive = ${p.persistentKeepalive}`);
  }
  return `${lines.join('\n')}\n`;
}
