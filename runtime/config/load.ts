/**
 * Reading the overlay config from a file or bytes: YAML or JSON (yaml parses
 * both), CBOR (what images carry, `/etc/tfw/config.cbor`) and wg-quick `.conf`.
 * The format is chosen by extension, then by content.
 */
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { decode, encode } from 'cbor-x';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors.js';
import { validateOverlayConfig, type OverlayConfig, type OverlayConfigInput } from './schema.js';
import { parseWgQuick } from './wgquick.js';

export type ConfigFormat = 'yaml' | 'json' | 'cbor' | 'wg-quick';

/** Guesses the format from a file name, else from the first bytes. */
export function detectFormat(bytes: Uint8Array, fileName = ''): ConfigFormat {
  const ext = extname(fileName).toLowerCase();
  if (ext === '.cbor') return 'cbor';
  if (ext === '.conf') return 'wg-quick';
  if (ext === '.json') return 'json';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  // CBOR maps start with major type 5 (0xa0-0xbf); text configs start with printable ASCII.
  if (bytes.length && bytes[0] >= 0xa0 && bytes[0] <= 0xbf) return 'cbor';
  const text = Buffer.from(bytes.subarray(0, 4096)).toString('utf8');
  if (/^\s*(#.*\n\s*)*\[(interface|peer)\]/im.test(text)) return 'wg-quick';
  return text.trimStart().startsWith('{') ? 'json' : 'yaml';
}

/**
 * Parses config bytes into the object they hold, without validating it.
 * Throws `ConfigError` (field `config`) for syntax errors, with the parser's message.
 */
export function parseConfigObject(bytes: Uint8Array, format: ConfigFormat, fileName = ''): unknown {
  try {
    if (format === 'cbor') return decode(bytes);
    const text = Buffer.from(bytes).toString('utf8');
    if (format === 'wg-quick') return parseWgQuick(text, fileName ? basename(fileName, extname(fileName)) : undefined);
    if (format === 'json') return JSON.parse(text);
    return parseYaml(text);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError('config', `cannot parse ${fileName || 'input'} as ${format}: ${(err as Error).message.split('\n')[0]}`);
  }
}

/**
 * Parses and validates config bytes. Throws `ConfigError` for syntax errors
 * (field `config`, with the parser's message) and invalid fields.
 */
export function parseConfig(bytes: Uint8Array, format: ConfigFormat, fileName = ''): OverlayConfig {
  return validateOverlayConfig(parseConfigObject(bytes, format, fileName));
}

/**
 * Reads and parses a config file (YAML, JSON, CBOR or wg-quick) without
 * validating it, for callers that complete it first (the image runtime adds an
 * ephemeral `privateKey` when an image carries none). Throws `ConfigError`.
 */
export function readConfigObject(file: string): unknown {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new ConfigError('config', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseConfigObject(bytes, detectFormat(bytes, file), file);
}

/** Reads, parses and validates a config file (YAML, JSON, CBOR or wg-quick). */
export function loadConfig(file: string): OverlayConfig {
  return validateOverlayConfig(readConfigObject(file));
}

/**
 * Validates a config and encodes it as CBOR (RFC 8949) for images; keys keep
 * their wg(8) names and defaults are filled in, so the image needs no schema
 * knowledge to read it. Deterministic: same input object, same bytes.
 */
export function compileConfig(input: OverlayConfigInput | OverlayConfig): Uint8Array {
  const cfg = validateOverlayConfig(input);
  return new Uint8Array(encode(JSON.parse(JSON.stringify(cfg))));
}
