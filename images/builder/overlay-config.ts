/**
 * The overlay config baked into an image as /etc/tfw/config.cbor (see
 * "Overlay config" in ARCHITECTURE.md). Read and checked with the runtime's own
 * reader and schema (runtime/config: YAML, JSON, CBOR or wg-quick; every field,
 * peers included), except that no key is required or generated at build time, so
 * builds stay reproducible; the runtime creates an ephemeral key at boot when the
 * image carries none. Without a file the defaults apply (`tfw0`, port 51820, no peers).
 */
import { encode } from 'cbor-x';
import { readConfigObject, TOP_LEVEL_KEYS, validateImageOverlayConfig, type ImageOverlayConfig } from '../../runtime/config/index.js';

/**
 * The checked config for an image, defaults filled in; `{}` when `path` is undefined.
 * @throws ConfigError naming the file's problem or the dotted field and what was expected
 */
export function loadOverlayConfig(path: string | undefined): ImageOverlayConfig {
  const raw = path === undefined ? {} : readConfigObject(path);
  const cfg = validateImageOverlayConfig(raw);
  // The gateway sections (lan, wan, firewall) and `mycelium` (a section, or false: the opt-out of the mesh
  // default, config/mycelium.ts), checked above, ride along as written: the image's runtime reads them.
  const out: Record<string, unknown> = { ...cfg };
  for (const k of Object.keys(TOP_LEVEL_KEYS)) if ((TOP_LEVEL_KEYS[k] === 'gateway' || TOP_LEVEL_KEYS[k] === 'mycelium') && (raw as Record<string, unknown>)[k] !== undefined) out[k] = (raw as Record<string, unknown>)[k];
  return out as unknown as ImageOverlayConfig;
}

/** CBOR bytes of the config (cbor-x, map keys in the order given: deterministic). */
export const encodeOverlayConfig = (c: ImageOverlayConfig): Uint8Array => new Uint8Array(encode(JSON.parse(JSON.stringify(c))));
