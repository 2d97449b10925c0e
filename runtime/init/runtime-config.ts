/**
 * Reading the overlay config the image carries (/etc/tfw/config.cbor) or a host
 * file (YAML, JSON), with the checks the runtime needs before it starts. Field
 * names follow wg(8), see "Overlay config" in ARCHITECTURE.md.
 */
import { readFileSync } from 'node:fs';
import { decode } from 'cbor-x/decode';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors.js';

/** The overlay config fields the runtime checks before starting (names as in wg(8)). */
export interface RuntimeConfig {
  name: string;
  listenPort: number;
  peers: unknown[];
  [key: string]: unknown;
}

/**
 * Reads a config file: CBOR (`.cbor`, as images carry it), JSON or YAML.
 * Throws ConfigError naming the field for a wrong shape.
 */
export function readRuntimeConfig(path: string): RuntimeConfig {
  let raw: unknown;
  try {
    const bytes = readFileSync(path);
    if (path.endsWith('.cbor')) raw = decode(bytes);
    else if (path.endsWith('.json')) raw = JSON.parse(bytes.toString('utf8'));
    else raw = parseYaml(bytes.toString('utf8'));
  } catch (err) {
    throw new ConfigError('config', `cannot read ${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError('config', `expected a mapping in ${path}, got ${JSON.stringify(raw)}`);
  const c = { name: 'tfw0', listenPort: 51820, peers: [], ...(raw as Record<string, unknown>) } as RuntimeConfig;
  if (typeof c.name !== 'string' || !/^[A-Za-z0-9_.-]{1,15}$/.test(c.name)) throw new ConfigError('name', `expected an interface name of 1-15 characters, got ${JSON.stringify(c.name)}`);
  if (!Number.isInteger(c.listenPort) || c.listenPort < 0 || c.listenPort > 65535) throw new ConfigError('listenPort', `expected a port 0-65535, got ${JSON.stringify(c.listenPort)}`);
  if (!Array.isArray(c.peers)) throw new ConfigError('peers', `expected a list, got ${JSON.stringify(c.peers)}`);
  return c;
}
