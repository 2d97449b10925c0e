/**
 * IP addresses and CIDR prefixes as bytes: the one parser the config, the
 * allowed-IPs table and the overlay address code share.
 */
import { isIP } from 'node:net';

/** A parsed prefix: `bytes` is 4 (IPv4) or 16 (IPv6) bytes with host bits kept as written. */
export interface Cidr {
  bytes: Uint8Array;
  bits: number;
}

/**
 * Parses a textual IPv4 or IPv6 address (no zone, no brackets) to 4 or 16 bytes.
 * Returns null when the text is not an address (never throws).
 */
export function parseIp(text: string): Uint8Array | null {
  const family = isIP(text);
  if (family === 4) return new Uint8Array(text.split('.').map(Number));
  if (family !== 6) return null;
  let head = text;
  let v4: Uint8Array | null = null;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    v4 = parseIp(text.slice(lastColon + 1));
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const [l, r] = head.includes('::') ? head.split('::') : [head, null];
  const left = l ? l.split(':') : [];
  const right = r ? r.split(':') : [];
  const groups = r === null ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  if (v4) out.set(v4, 12);
  return out;
}

/** Formats 4 or 16 address bytes (RFC 5952 canonical form for IPv6). */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i] << 8) | b[i + 1]);
  // Longest run of >= 2 zero groups becomes '::' (RFC 5952 section 4.2).
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hexs = g.map((v) => v.toString(16));
  if (best < 0) return hexs.join(':');
  return `${hexs.slice(0, best).join(':')}::${hexs.slice(best + bestLen).join(':')}`;
}

/** Parses `addr/bits` (or a bare address, meaning /32 or /128). Returns null when malformed. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const bytes = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!bytes) return null;
  const max = bytes.length * 8;
  if (slash < 0) return { bytes, bits: max };
  const bitsText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bitsText)) return null;
  const bits = Number(bitsText);
  if (bits > max) return null;
  return { bytes, bits };
}

/** Returns a copy of the prefix with host bits cleared (as wg(8) does for allowed IPs). */
export function maskCidr(c: Cidr): Cidr {
  const bytes = c.bytes.slice();
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, c.bits - i * 8));
    bytes[i] &= (0xff00 >> keep) & 0xff;
  }
  return { bytes, bits: c.bits };
}

export const formatCidr = (c: Cidr): string => `${formatIp(c.bytes)}/${c.bits}`;

/** A UDP endpoint; `host` is an IP address text without brackets. */
export interface Endpoint {
  host: string;
  port: number;
}

/**
 * Parses `host:port` or `[v6]:port` (wg(8) endpoint syntax). Host names are
 * accepted as written (resolved at start-up); returns null when malformed.
 */
export function parseEndpoint(text: string): Endpoint | null {
  let host: string, portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') return null;
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (isIP(host) !== 6) return null;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon <= 0) return null;
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) return null; // bare IPv6 needs brackets
    if (isIP(host) !== 4 && !/^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/.test(host)) return null;
  }
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port < 1 || port > 65535) return null;
  return { host, port };
}

/** Formats an endpoint as wg(8) shows it: `a.b.c.d:p` or `[v6]:p`. */
export const formatEndpoint = (e: Endpoint): string => (e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`);

/** Where a server listens: a TCP host and port, or a Unix socket path. */
export type ListenAddress = { host: string; port: number } | { path: string };

/**
 * Parses a listen address: `host:port`, `[v6]:port`, `:port` or `port`
 * (host 127.0.0.1), or a Unix socket path starting with `/` or `.`.
 * Returns null for anything else, a port above 65535 included.
 */
export function parseListenAddress(text: string): ListenAddress | null {
  if (text.startsWith('/') || text.startsWith('.')) return { path: text };
  const m = /^(?:(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):)?(\d{1,5})$/.exec(text);
  if (!m || Number(m[3]) > 65535) return null;
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port: Number(m[3]) };
}
