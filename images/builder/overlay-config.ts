/**
 * The overlay config baked into an image as /etc/tfw/config.cbor (see
 * "Overlay config" in ARCHITECTURE.md). At build time no key is generated: the
 * default is `{ name: 'tfw0', listenPort: 51820, peers: [] }` so builds stay
 * reproducible; the runtime creates a key on first boot when none is given.
 */
import { readFileSync } from 'node:fs';
import { encode } from 'cbor-x';
import { parse as parseYaml } from 'yaml';
import { TfwError } from '../../runtime/errors.js';
import { ImageConfigError } from './schema.js';

export const DEFAULT_OVERLAY_CONFIG = Object.freeze({ name: 'tfw0', listenPort: 51820, peers: [] as unknown[] });

/** Reads a YAML or JSON overlay config and checks the fields the image needs. */
export function loadOverlayConfig(path: string | undefined): Record<string, unknown> {
  if (!path) return { ...DEFAULT_OVERLAY_CONFIG, peers: [] };
  let obj: unknown;
  try {
    const text = readFileSync(path, 'utf8');
    obj = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new TfwError('ERR_TFW_CONFIG', `${path}: cannot read the overlay config (${(err as Error).message.split('\n')[0]})`);
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new ImageConfigError(path, '', 'expected a mapping of overlay settings');
  const c = { ...DEFAULT_OVERLAY_CONFIG, peers: [], ...(obj as Record<string, unknown>) };
  if (typeof c.name !== 'string' || !/^[A-Za-z0-9_.-]{1,15}$/.test(c.name)) throw new ImageConfigError(path, 'name', `expected an interface name of 1-15 characters, got ${JSON.stringify(c.name)}`);
  if (!Number.isInteger(c.listenPort) || c.listenPort < 0 || c.listenPort > 65535) throw new ImageConfigError(path, 'listenPort', `expected a port 0-65535, got ${JSON.stringify(c.listenPort)}`);
  if (!Array.isArray(c.peers)) throw new ImageConfigError(path, 'peers', `expected a list, got ${JSON.stringify(c.peers)}`);
  return c;
}

/** CBOR bytes of the config (cbor-x, map keys in the order given: deterministic). */
export const encodeOverlayConfig = (c: Record<string, unknown>): Uint8Array => new Uint8Array(encode(c));
