/**
 * The overlay config (ARCHITECTURE.md, "Overlay config, keys and status"): field
 * names follow wg(8) / wg-quick. `validateOverlayConfig` turns any parsed object
 * (YAML, JSON, CBOR or a wg-quick file) into a checked `OverlayConfig`, or throws
 * `ConfigError` naming the dotted field, the value and the expectation.
 */
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { parseCidr, parseEndpoint, parseListenAddress } from './ip.js';
import { describeIssue } from './issue.js';
import { suggestKey, TOP_LEVEL_KEYS, unknownTopLevelKeys } from './top-level.js';
import { publicKeyFromPrivate } from '../overlay/wireguard/keys.js';
import { validateGatewayConfig } from '../gateway/config.js';
import { validateMyceliumConfig } from './mycelium.js';
import { validateSlicesConfig } from './slices.js';

/** True when `s` is standard base64 (with padding) of exactly 32 bytes, as `wg genkey` prints. */
export function isKey32(s: string): boolean {
  return /^[A-Za-z0-9+/]{43}=$/.test(s) && Buffer.from(s, 'base64').length === 32;
}

const KEY_EXPECT = 'expected base64 of 32 bytes (as `wg genkey` / `tfw keygen` print)';
const key = z.string({ required_error: `required: ${KEY_EXPECT}`, invalid_type_error: KEY_EXPECT }).refine(isKey32, { message: KEY_EXPECT });
const cidr = z.string().refine((s) => parseCidr(s) !== null, { message: 'expected an IPv4 or IPv6 CIDR like 10.0.0.1/24 or fd00::/64' });
const endpoint = z
  .string()
  .refine((s) => parseEndpoint(s) !== null, { message: 'expected host:port or [ipv6]:port with port 1-65535' });
const port = z.number({ invalid_type_error: 'expected an integer port' }).int().min(0).max(65535);

const peer = z
  .object({
    publicKey: key,
    endpoint: endpoint.optional(),
    allowedIPs: z.array(cidr).default([]),
    persistentKeepalive: z.number().int().min(0).max(65535).optional(),
    presharedKey: key.optional(),
  })
  .strict();

const schema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,15}$/, 'expected an interface name of 1-15 characters [A-Za-z0-9_.-]')
      .default('tfw0'),
    privateKey: key,
    listenPort: port.default(51820),
    address: z.array(cidr).default([]),
    mtu: z.number().int().min(1280).max(9000).default(1420),
    mesh: z.boolean().default(false),
    status: z
      .string()
      .refine((s) => parseListenAddress(s) !== null, { message: 'expected host:port, :port or port (port 0-65535), or a Unix socket path starting with / or .' })
      .optional(),
    /** The device API's address (runtime/api/server.ts); images listen on 0.0.0.0:80 without it. */
    api: endpoint.optional(),
    peers: z.array(peer).default([]),
  })
  .strict();

/** The same, with privateKey optional: what an image may carry (the runtime adds an ephemeral key at boot). */
const keylessSchema = schema.extend({ privateKey: key.optional() });

/** One peer, as wg(8) names its fields. */
export type PeerConfig = z.output<typeof peer>;
/** The checked overlay config, defaults filled in. */
export interface OverlayConfig {
  name: string;
  privateKey: string;
  listenPort: number;
  address: string[];
  mtu: number;
  /**
   * Babel routing with peers that are tfw nodes; also runs the Mycelium node over the WireGuard
   * links (end to end) unless the raw config says `mycelium: false` (config/mycelium.ts myceliumFor).
   */
  mesh: boolean;
  status?: string;
  /** Device API address "ADDR:PORT". */
  api?: string;
  peers: PeerConfig[];
}
/** A checked config that may lack its private key (images; see `validateImageOverlayConfig`). */
export type ImageOverlayConfig = Omit<OverlayConfig, 'privateKey'> & { privateKey?: string };
/** The config as a user writes it (defaults optional). */
export type OverlayConfigInput = z.input<typeof schema>;

/** Accepts a single string where wg-quick habits put one (`address: 10.0.0.1/24`). */
function listify(v: unknown): unknown {
  return typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v;
}

/**
 * Validates a parsed config object. Throws `ConfigError` whose `field` is the
 * dotted path (`peers.1.endpoint`) and whose message quotes the value and says
 * what was expected. Duplicate peers (same public key) and a peer equal to this
 * node's own key are refused.
 */
export function validateOverlayConfig(input: unknown): OverlayConfig {
  return check(input, true) as OverlayConfig;
}

/**
 * `validateOverlayConfig` for a config baked into an image: the same checks and
 * defaults, but `privateKey` may be missing (builds stay reproducible; the
 * runtime generates an ephemeral key at boot when none is given).
 * @throws ConfigError naming the dotted field
 */
export function validateImageOverlayConfig(input: unknown): ImageOverlayConfig {
  return check(input, false);
}

function check(input: unknown, requireKey: boolean): ImageOverlayConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ConfigError('config', `expected an object (YAML/JSON mapping), got ${Array.isArray(input) ? 'an array' : typeof input}`);
  }
  const raw = { ...(input as Record<string, unknown>) };
  for (const k of unknownTopLevelKeys(raw)) {
    const hint = suggestKey(k);
    throw new ConfigError(k, `unknown top-level field${hint ? `; did you mean ${hint}?` : ''} (expected one of ${Object.keys(TOP_LEVEL_KEYS).join(', ')})`);
  }
  // The gateway sections (lan, wan, firewall) are checked here too, so every reader names their bad fields.
  validateGatewayConfig(raw);
  validateMyceliumConfig(raw.mycelium);
  validateSlicesConfig(raw.slices);
  // An image config may nest the overlay under `overlay:`; the other sections are checked by their own schemas.
  if (typeof raw.overlay === 'object' && raw.overlay !== null && !('privateKey' in raw)) Object.assign(raw, raw.overlay);
  for (const k of Object.keys(raw)) if (TOP_LEVEL_KEYS[k] !== 'overlay') delete raw[k];
  if ('address' in raw) raw.address = listify(raw.address);
  if (Array.isArray(raw.peers)) {
    raw.peers = raw.peers.map((p) =>
      typeof p === 'object' && p !== null && 'allowedIPs' in p ? { ...p, allowedIPs: listify((p as { allowedIPs: unknown }).allowedIPs) } : p,
    );
  }
  const used = requireKey ? schema : keylessSchema;
  const res = used.safeParse(raw);
  if (!res.success) {
    const { path, message } = describeIssue(used, res.error.issues[0], raw);
    throw new ConfigError(path.length ? path.join('.') : 'config', message);
  }
  const d = res.data;
  const own = d.privateKey === undefined ? {} : { privateKey: d.privateKey };
  const cfg: ImageOverlayConfig = { name: d.name, ...own, listenPort: d.listenPort, address: d.address, mtu: d.mtu, mesh: d.mesh, peers: d.peers };
  if (d.status !== undefined) cfg.status = d.status;
  if (d.api !== undefined) cfg.api = d.api;
  const seen = new Map<string, number>();
  const ownPublic = cfg.privateKey === undefined ? undefined : publicKeyOf(cfg.privateKey);
  cfg.peers.forEach((p, i) => {
    const prev = seen.get(p.publicKey);
    if (prev !== undefined) throw new ConfigError(`peers.${i}.publicKey`, `duplicate peer ${p.publicKey} (already peers.${prev})`);
    if (p.publicKey === ownPublic) throw new ConfigError(`peers.${i}.publicKey`, `is this node's own public key; expected another node's key`);
    seen.set(p.publicKey, i);
  });
  return cfg;
}

const publicKeyOf = (b64: string): string => Buffer.from(publicKeyFromPrivate(new Uint8Array(Buffer.from(b64, 'base64')))).toString('base64');
