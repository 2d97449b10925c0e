/**
 * The WireGuard cross-platform userspace API (https://www.wireguard.com/xplatform/,
 * "Configuration Protocol"; reference: wireguard-go device/uapi.go), so the
 * stock `wg show` and `wg set` work on tfw's interface. A Unix socket
 * `<dir>/<name>.sock` (dir /var/run/wireguard, where wg(8) looks, or
 * `TFW_UAPI_DIR`) takes, per connection, any number of operations:
 *
 * - `get=1\n\n` -> `key=value` lines (keys in hex, as the protocol wants),
 *   then `errno=0\n\n`.
 * - `set=1\n` + `key=value` lines + `\n` -> `errno=0\n\n`, or `errno=-E\n\n`
 *   (negative errno, as wireguard-go answers) when a line is refused.
 *
 * Unlike wireguard-go, a `set` is checked whole before anything changes: the
 * new peer list goes through the runtime's config schema and is applied with
 * the overlay's `reload` (kept peers keep their sessions), so a refused set
 * changes nothing. The private key and listen port cannot change while
 * running (the overlay needs a restart for them): setting the running value
 * is accepted, another one is refused with EINVAL.
 */
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { formatCidr, maskCidr, parseCidr } from '../config/ip.js';
import { validateOverlayConfig, type OverlayConfig, type PeerConfig } from '../config/schema.js';
import { TfwError } from '../errors.js';
import type { Overlay } from '../overlay/index.js';
import { publicKeyFromPrivate } from '../overlay/wireguard/keys.js';

/** Where wg(8) looks for userspace interfaces. */
export const UAPI_DIR = '/var/run/wireguard';
/** errno values of the protocol's `errno=` line (Linux numbering, sent negated as wireguard-go's ipc does). */
const EIO = 5, EINVAL = 22, EPROTO = 71;
/** A set request larger than this is refused (a peer is ~200 bytes; room for thousands). */
const MAX_REQUEST = 1 << 20;

/** A failed UAPI operation or a UAPI socket that cannot be reached; `errno` is the protocol's (positive). */
export class UapiError extends TfwError {
  readonly errno: number;
  constructor(errno: number, message: string) {
    super('ERR_TFW_UAPI', message);
    this.errno = errno;
  }
}

/** The socket path for interface `name`: `<TFW_UAPI_DIR or /var/run/wireguard>/<name>.sock`. */
export const uapiSocketPath = (name: string, dir = process.env.TFW_UAPI_DIR || UAPI_DIR): string => join(dir, `${name}.sock`);

const canonicalCidr = (c: string): string => formatCidr(maskCidr(parseCidr(c)!));

/**
 * The `get` answer for a running overlay (without the trailing `errno=0`):
 * device keys first, then per peer public_key, preshared_key,
 * protocol_version, endpoint (when known), last_handshake_time_sec/nsec,
 * tx_bytes, rx_bytes, persistent_keepalive_interval and allowed_ip lines
 * (masked CIDRs), as wireguard-go's IpcGetOperation writes them.
 */
export function uapiGetText(overlay: Overlay, listenPort: number): string {
  const d = overlay.device;
  const out = [`private_key=${Buffer.from(d.local.privateKey).toString('hex')}`, `listen_port=${listenPort}`];
  for (const p of d.peers.values()) {
    out.push(`public_key=${Buffer.from(p.publicKey).toString('hex')}`);
    out.push(`preshared_key=${Buffer.from(p.handshake.presharedKey).toString('hex')}`);
    out.push('protocol_version=1');
    if (p.endpoint && p.endpoint.toString()) out.push(`endpoint=${p.endpoint.toString()}`);
    // lastHandshake is Unix ms: seconds and the nanoseconds left over.
    out.push(`last_handshake_time_sec=${Math.floor(p.lastHandshake / 1000)}`, `last_handshake_time_nsec=${(p.lastHandshake % 1000) * 1e6}`);
    out.push(`tx_bytes=${p.txBytes}`, `rx_bytes=${p.rxBytes}`, `persistent_keepalive_interval=${p.persistentKeepalive}`);
    for (const a of p.allowedIPs) out.push(`allowed_ip=${canonicalCidr(a)}`);
  }
  return `${out.join('\n')}\n`;
}

const fail = (errno: number, msg: string): never => {
  throw new UapiError(errno, msg);
};

/** A 64-hex-digit key as base64; refuses anything else with EINVAL naming the key. */
function keyFromHex(key: string, value: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(value)) fail(EINVAL, `${key}: expected 64 hex digits, got ${JSON.stringify(value)}`);
  return Buffer.from(value, 'hex').toString('base64');
}

/**
 * Applies the `key=value` lines of one `set` to a copy of `running` and
 * returns the new config (validated by the runtime's schema), or throws
 * UapiError (EINVAL naming the line's key and value, EPROTO for a line
 * without `=`). `running` is not modified.
 */
export function applySetLines(running: OverlayConfig, lines: string[]): OverlayConfig {
  const peers = new Map<string, PeerConfig>(running.peers.map((p) => [p.publicKey, { ...p, allowedIPs: [...p.allowedIPs] }]));
  const ownPublic = Buffer.from(publicKeyFromPrivate(Buffer.from(running.privateKey, 'base64'))).toString('base64');
  let peer: PeerConfig | null = null; // null while on device lines or on a removed / ignored peer
  let onPeers = false;
  for (const line of lines) {
    const eq = line.indexOf('=');
    if (eq <= 0) fail(EPROTO, `expected key=value, got ${JSON.stringify(line)}`);
    const key = line.slice(0, eq), value = line.slice(eq + 1);
    if (key === 'public_key') {
      onPeers = true;
      const pub = keyFromHex(key, value);
      // wireguard-go ignores a peer with the device's own key (a "dummy" peer).
      if (pub === ownPublic) peer = null;
      else {
        peer = peers.get(pub) ?? { publicKey: pub, allowedIPs: [] };
        peers.set(pub, peer);
      }
      continue;
    }
    if (!onPeers) {
      if (key === 'private_key') {
        if (keyFromHex(key, value) !== running.privateKey) fail(EINVAL, 'private_key: changing the key needs a restart of the runtime');
      } else if (key === 'listen_port') {
        if (!/^\d{1,5}$/.test(value) || Number(value) !== running.listenPort) fail(EINVAL, `listen_port: changing the port needs a restart (running on ${running.listenPort}), got ${JSON.stringify(value)}`);
      } else if (key === 'fwmark') {
        if (value !== '0' && value !== '') fail(EINVAL, `fwmark: tfw does not mark its packets, expected 0, got ${JSON.stringify(value)}`);
      } else if (key === 'replace_peers') {
        if (value !== 'true') fail(EINVAL, `replace_peers: expected true, got ${JSON.stringify(value)}`);
        peers.clear();
      } else fail(EINVAL, `invalid device key ${JSON.stringify(key)}`);
      continue;
    }
    switch (key) {
      case 'update_only':
        if (value !== 'true') fail(EINVAL, `update_only: expected true, got ${JSON.stringify(value)}`);
        if (peer && !running.peers.some((p) => p.publicKey === peer!.publicKey)) {
          peers.delete(peer.publicKey);
          peer = null;
        }
        break;
      case 'remove':
        if (value !== 'true') fail(EINVAL, `remove: expected true, got ${JSON.stringify(value)}`);
        if (peer) peers.delete(peer.publicKey);
        peer = null;
        break;
      case 'preshared_key': {
        const psk = keyFromHex(key, value);
        if (peer) {
          if (/^0{64}$/.test(value)) delete peer.presharedKey;
          else peer.presharedKey = psk;
        }
        break;
      }
      case 'endpoint':
        if (peer) peer.endpoint = value;
        break;
      case 'persistent_keepalive_interval':
        if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) fail(EINVAL, `persistent_keepalive_interval: expected seconds 0-65535, got ${JSON.stringify(value)}`);
        if (peer) peer.persistentKeepalive = Number(value);
        break;
      case 'replace_allowed_ips':
        if (value !== 'true') fail(EINVAL, `replace_allowed_ips: expected true, got ${JSON.stringify(value)}`);
        if (peer) peer.allowedIPs = [];
        break;
      case 'allowed_ip':
        if (!parseCidr(value)) fail(EINVAL, `allowed_ip: expected a CIDR like 10.0.0.2/32, got ${JSON.stringify(value)}`);
        if (peer && !peer.allowedIPs.some((a) => canonicalCidr(a) === canonicalCidr(value))) peer.allowedIPs.push(value);
        break;
      case 'protocol_version':
        if (value !== '1') fail(EINVAL, `protocol_version: expected 1, got ${JSON.stringify(value)}`);
        break;
      default:
        fail(EINVAL, `invalid peer key ${JSON.stringify(key)}`);
    }
  }
  try {
    return validateOverlayConfig({ ...running, peers: [...peers.values()] });
  } catch (err) {
    return fail(EINVAL, (err as Error).message);
  }
}


export interface UapiOptions {
  overlay: Overlay;
  /**
   * Changes the running config: calls `change` with the config the overlay
   * runs now, applies the checked result live (overlay.reload) and records it
   * (the runtime's ConfigStore.update, which also keeps it on /data).
   */
  update: (change: (running: OverlayConfig) => OverlayConfig) => Promise<OverlayConfig>;
  /** Socket path (default `uapiSocketPath(overlay.name)`). */
  path?: string;
  log: (component: string, message: string) => void;
}

/**
 * Serves the UAPI socket for a running overlay; resolves once listening and
 * logs `tfw: uapi: listening on <path>`. The socket is mode 0600 (a client
 * can change keys and peers); a stale socket file is replaced. Sets are applied one at a time, in order.
 * @throws UapiError (EIO) when the directory or socket cannot be made
 */
export async function startUapi(o: UapiOptions): Promise<{ path: string; close(): Promise<void> }> {
  const path = o.path ?? uapiSocketPath(o.overlay.name);
  let queue: Promise<unknown> = Promise.resolve();
  const serve = (sock: Socket) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', () => sock.destroy());
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_REQUEST) {
        sock.end(`errno=${-EIO}\n\n`);
        return;
      }
      // Complete operations end with a blank line: get=1\n\n, set=1\n...\n\n (an empty set is set=1\n\n).
      let end: number;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const request = buf.slice(0, end).split('\n');
        buf = buf.slice(end + 2);
        queue = queue.then(() => operation(request)).then((answer) => sock.writable && sock.write(answer));
      }
    });
  };

  async function operation(request: string[]): Promise<string> {
    const [op, ...lines] = request;
    try {
      if (op === 'get=1') {
        if (lines.length) fail(EINVAL, 'get: expected a blank line after get=1');
        return `${uapiGetText(o.overlay, o.overlay.status().listenPort)}errno=0\n\n`;
      }
      if (op !== 'set=1') fail(EPROTO, `expected get=1 or set=1, got ${JSON.stringify(op)}`);
      const next = await o.update((running) => applySetLines(running, lines));
      o.log('uapi', `set: ${next.peers.length} peers`);
      return 'errno=0\n\n';
    } catch (err) {
      const errno = err instanceof UapiError ? err.errno : EIO;
      o.log('uapi', `${op ?? '(empty)'} refused: ${(err as Error).message}`);
      return `errno=${-errno}\n\n`;
    }
  }

  let server: Server;
  try {
    mkdirSync(join(path, '..'), { recursive: true, mode: 0o755 });
    if (existsSync(path)) unlinkSync(path);
    server = createServer(serve);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, resolve);
    });
    // Whoever can connect can rekey the router: owner only, as wireguard-go's umask 0077 makes it.
    chmodSync(path, 0o600);
  } catch (err) {
    throw new UapiError(EIO, `uapi: cannot listen on ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  o.log('uapi', `listening on ${path}`);
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        try {
          unlinkSync(path);
        } catch {
          /* already gone */
        }
      }),
  };
}

/** One peer as `wg show <if> dump` prints it (and `tfw show --json`). */
export interface ShowPeer {
  publicKey: string;
  /** base64, null = none. */
  presharedKey: string | null;
  endpoint: string | null;
  allowedIPs: string[];
  /** Unix seconds, 0 = never. */
  latestHandshake: number;
  transferRx: number;
  transferTx: number;
  /** Seconds, 0 = off. */
  persistentKeepalive: number;
}

/** An interface as `wg show <if> dump` prints it; privateKey is null when the source does not give it. */
export interface ShowInterface {
  interface: string;
  privateKey: string | null;
  publicKey: string;
  listenPort: number;
  /** 0 = off. */
  fwmark: number;
  peers: ShowPeer[];
}

const b64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

/**
 * Parses a `get` answer (the protocol's key=value lines) into the fields of
 * `wg show dump`. Throws UapiError with the device's errno when it is not 0.
 */
export function parseUapiGet(name: string, text: string): ShowInterface {
  const iface: ShowInterface = { interface: name, privateKey: null, publicKey: '', listenPort: 0, fwmark: 0, peers: [] };
  let peer: ShowPeer | null = null;
  for (const line of text.split('\n')) {
    if (!line) continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq), v = line.slice(eq + 1);
    if (key === 'errno') {
      if (v !== '0') fail(Math.abs(Number(v)) || EIO, `${name}: the device answered errno=${v}`);
    } else if (key === 'public_key') {
      peer = { publicKey: b64(v), presharedKey: null, endpoint: null, allowedIPs: [], latestHandshake: 0, transferRx: 0, transferTx: 0, persistentKeepalive: 0 };
      iface.peers.push(peer);
    } else if (!peer) {
      if (key === 'private_key') {
        iface.privateKey = b64(v);
        iface.publicKey = Buffer.from(publicKeyFromPrivate(Buffer.from(v, 'hex'))).toString('base64');
      } else if (key === 'listen_port') iface.listenPort = Number(v);
      else if (key === 'fwmark') iface.fwmark = Number(v);
    } else if (key === 'preshared_key') peer.presharedKey = /^0+$/.test(v) ? null : b64(v);
    else if (key === 'endpoint') peer.endpoint = v;
    else if (key === 'allowed_ip') peer.allowedIPs.push(v);
    else if (key === 'last_handshake_time_sec') peer.latestHandshake = Number(v);
    else if (key === 'rx_bytes') peer.transferRx = Number(v);
    else if (key === 'tx_bytes') peer.transferTx = Number(v);
    else if (key === 'persistent_keepalive_interval') peer.persistentKeepalive = Number(v);
  }
  return iface;
}

/**
 * Runs `get=1` on the UAPI socket of interface `name` (at `path`, default
 * `uapiSocketPath(name)`) and parses the answer. Bounded: gives up after
 * `timeoutMs` (default 5000).
 * @throws UapiError: EIO when the socket cannot be reached, or the device's errno
 */
export function uapiGet(name: string, path = uapiSocketPath(name), timeoutMs = 5000): Promise<ShowInterface> {
  return new Promise((resolve, reject) => {
    let text = '';
    const sock = createConnection(path);
    const timer = setTimeout(() => sock.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write('get=1\n\n'));
    sock.on('data', (d: string) => {
      text += d;
      if (/(^|\n)errno=-?\d+\n\n$/.test(text)) sock.end();
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new UapiError(EIO, `${name}: cannot read ${path}: ${err.code ?? err.message} (is the runtime running?)`));
    });
    sock.on('close', () => {
      clearTimeout(timer);
      try {
        if (!/(^|\n)errno=/.test(text)) throw new UapiError(EPROTO, `${name}: ${path} closed without an answer`);
        resolve(parseUapiGet(name, text));
      } catch (err) {
        reject(err);
      }
    });
  });
}
