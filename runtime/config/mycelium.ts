/**
 * The `mycelium:` config section: a Mycelium-dialect node beside (or instead
 * of) the WireGuard overlay, on the same X25519 key (runtime/overlay/mycelium).
 *
 *   mycelium:
 *     listen: ["tcp://0.0.0.0:9651"]   # where peers connect (default tcp://[::]:9651)
 *     peers: ["tcp://HOST:9651"]      # kept linked, known by address not key
 *     discovery: true                 # link-local beacons, UDP [ff02::cafe]:9650
 *     tun: mycelium                   # the TUN it routes 400::/7 to (default "mycelium");
 *                                     # unused when the WireGuard overlay runs: both share its TUN
 *     overWireGuard: true             # also link to each WireGuard peer with persistentKeepalive, or heard
 *                                     # speaking Babel, at tcp://[<its address>]:9651
 *                                     # through its tunnel (default true; docs/overlay.md
 *                                     # "Mycelium over WireGuard links")
 *
 * `mycelium: false` turns the node off. Without the section, a `mesh: true`
 * config still runs one, over the WireGuard links only (`myceliumFor`):
 * end to end by default in a mesh, so relays never hold the keys (issue 14;
 * docs/overlay.md "End to end by default in a mesh").
 *
 * `validateMyceliumConfig` throws ConfigError naming `mycelium.<field>` with
 * the value and what was expected, or returns null when the section is absent
 * or `false`.
 */
import { ConfigError } from '../errors.js';
import { parseTcpEndpoint, type TcpEndpoint } from '../overlay/mycelium/endpoint.js';

/** The port the mesh default listens on (on the node's overlay address) and peers are dialled at through their tunnels (overlay/index.ts syncDials): Mycelium's default. */
export const MESH_MYCELIUM_PORT = 9651;

export interface MyceliumConfig {
  listen: TcpEndpoint[];
  peers: TcpEndpoint[];
  discovery: boolean;
  tun: string;
  /**
   * When the node shares the WireGuard overlay's TUN: each WireGuard peer is
   * also dialled as a Mycelium peer at its overlay address, port 9651,
   * through its tunnel (default true).
   */
  overWireGuard: boolean;
}

const FIELDS = ['listen', 'peers', 'discovery', 'tun', 'overWireGuard'];

function endpoints(v: unknown, field: string, dflt: string[]): TcpEndpoint[] {
  if (v === undefined) return dflt.map((s) => parseTcpEndpoint(s, field));
  if (typeof v === 'string') v = [v];
  if (!Array.isArray(v)) throw new ConfigError(field, `expected a list of "tcp://HOST:PORT", got ${JSON.stringify(v)}`);
  return v.map((s, i) => parseTcpEndpoint(s, `${field}.${i}`));
}

/**
 * Checks the raw `mycelium` value of a parsed config: a mapping gives the
 * section's config; absent (undefined / null) and `false` (the opt-out) give
 * null. Throws ConfigError('mycelium') for any other non-mapping value.
 */
export function validateMyceliumConfig(raw: unknown): MyceliumConfig | null {
  if (raw === undefined || raw === null || raw === false) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError('mycelium', `expected a mapping with listen, peers, discovery, or false, got ${JSON.stringify(raw)}`);
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!FIELDS.includes(k)) throw new ConfigError(`mycelium.${k}`, `unknown field (expected one of ${FIELDS.join(', ')})`);
  if (r.discovery !== undefined && typeof r.discovery !== 'boolean') throw new ConfigError('mycelium.discovery', `expected true or false, got ${JSON.stringify(r.discovery)}`);
  if (r.overWireGuard !== undefined && typeof r.overWireGuard !== 'boolean') throw new ConfigError('mycelium.overWireGuard', `expected true or false, got ${JSON.stringify(r.overWireGuard)}`);
  const tun = r.tun ?? 'mycelium';
  if (typeof tun !== 'string' || !/^[A-Za-z0-9_.-]{1,15}$/.test(tun)) throw new ConfigError('mycelium.tun', `expected an interface name of 1-15 characters [A-Za-z0-9_.-], got ${JSON.stringify(tun)}`);
  return {
    listen: endpoints(r.listen, 'mycelium.listen', ['tcp://[::]:9651']),
    peers: endpoints(r.peers, 'mycelium.peers', []),
    discovery: (r.discovery as boolean | undefined) ?? true,
    tun,
    overWireGuard: (r.overWireGuard as boolean | undefined) ?? true,
  };
}

/**
 * The Mycelium node a config runs beside its WireGuard overlay: the
 * `mycelium:` section when there is one (validateMyceliumConfig); without it
 * and with `mesh: true`, the mesh default: listening on the node's own overlay
 * address `address` (IPv6 text, address.ts overlayAddress) port 9651 and
 * nowhere else (no public address: a default opens no port on a router's WAN),
 * no TCP peers, no discovery, linked over the WireGuard tunnels only. Null with
 * `mycelium: false` or without the section and without mesh. Throws
 * ConfigError as validateMyceliumConfig does.
 */
export function myceliumFor(raw: unknown, overlay: { mesh: boolean; address: string }): MyceliumConfig | null {
  const section = validateMyceliumConfig(raw);
  if (section || raw === false || !overlay.mesh) return section;
  return {
    listen: [parseTcpEndpoint(`tcp://[${overlay.address}]:${MESH_MYCELIUM_PORT}`, 'mycelium.listen')],
    peers: [],
    discovery: false,
    tun: 'mycelium',
    overWireGuard: true,
  };
}
