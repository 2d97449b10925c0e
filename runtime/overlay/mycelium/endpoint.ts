/**
 * Mycelium peer endpoints as its CLI and config name them: `tcp://HOST:PORT`
 * with HOST an IPv4 address, a bracketed IPv6 address or a name. `quic://` and
 * `tls://` are Mycelium transports tfw does not speak (Node 18 has no QUIC).
 * Source: threefoldtech/mycelium mycelium/src/endpoint.rs.
 */
import { ConfigError } from '../../errors.js';

/** Mycelium's default TCP port for peer links. */
export const DEFAULT_TCP_PORT = 9651;

export interface TcpEndpoint {
  host: string;
  port: number;
}

/** Parses `tcp://HOST:PORT`; throws ConfigError naming `field` otherwise. */
export function parseTcpEndpoint(text: unknown, field: string): TcpEndpoint {
  if (typeof text !== 'string') throw new ConfigError(field, `expected "tcp://HOST:PORT", got ${JSON.stringify(text)}`);
  const m = /^([a-z]+):\/\/(?:\[([0-9a-fA-F:.%\w]+)\]|([^:[\]/]+)):(\d{1,5})$/.exec(text);
  if (!m) throw new ConfigError(field, `expected "tcp://HOST:PORT" (IPv6 hosts in brackets), got ${JSON.stringify(text)}`);
  if (m[1] !== 'tcp') throw new ConfigError(field, `${m[1]}:// links are not supported (tfw speaks Mycelium over tcp:// only: Node 18, which images carry, has no QUIC), got ${JSON.stringify(text)}`);
  const port = Number(m[4]);
  if (port < 1 || port > 65535) throw new ConfigError(field, `port must be 1..65535, got ${port}`);
  return { host: m[2] ?? m[3], port };
}

export const formatTcpEndpoint = (e: TcpEndpoint): string => (e.host.includes(':') ? `tcp://[${e.host}]:${e.port}` : `tcp://${e.host}:${e.port}`);
