/**
 * Prefixes: parsing and printing `address/length` in standard notation (IPv4
 * dotted quad, IPv6 as RFC 4291 §2.2 / canonical RFC 5952 output), and the Babel
 * wire form of a prefix (RFC 8966 §4.1.3 address encodings, §4.6.9 compression).
 */
import { AE } from './constants.js';
import { BabelPrefixError } from './errors.js';

/** A network prefix: `bytes` is the full address (4 or 16 bytes) with host bits zero. */
export interface Prefix {
  family: 4 | 6;
  bytes: Uint8Array;
  plen: number;
}

function parseIPv4(s: string): Uint8Array | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(parts[i])) return null;
    const v = Number(parts[i]);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

function parseGroups(s: string): number[] | null {
  if (s === '') return [];
  const words: number[] = [];
  const groups = s.split(':');
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i];
    if (i === groups.length - 1 && g.includes('.')) {
      const v4 = parseIPv4(g);
      if (!v4) return null;
      words.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      words.push(parseInt(g, 16));
    }
  }
  return words;
}

function parseIPv6(s: string): Uint8Array | null {
  const dbl = s.indexOf('::');
  let words: number[];
  if (dbl >= 0) {
    if (s.indexOf('::', dbl + 1) >= 0) return null;
    const head = parseGroups(s.slice(0, dbl));
    const tail = parseGroups(s.slice(dbl + 2));
    if (!head || !tail || head.length + tail.length > 7) return null;
    words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseGroups(s);
    if (!all || all.length !== 8) return null;
    words = all;
  }
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/** Prints an IPv6 address canonically (RFC 5952 §4: lower case, longest zero run as `::`). */
export function formatIPv6(b: Uint8Array): string {
  const w: number[] = [];
  for (let i = 0; i < 16; i += 2) w.push((b[i] << 8) | b[i + 1]);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (bestLen < 2) return hex(w);
  return `${hex(w.slice(0, bestStart))}::${hex(w.slice(bestStart + bestLen))}`;
}

/** Prints an address of 4 or 16 bytes. */
export function formatAddress(b: Uint8Array): string {
  return b.length === 4 ? Array.from(b).join('.') : formatIPv6(b);
}

/** Zeroes the bits past `plen` in place and returns `b`. */
export function maskBytes(b: Uint8Array, plen: number): Uint8Array {
  for (let i = 0; i < b.length; i++) {
    const keep = plen - 8 * i;
    if (keep >= 8) continue;
    b[i] &= keep <= 0 ? 0 : (0xff << (8 - keep)) & 0xff;
  }
  return b;
}

/**
 * Parses `address/length` (IPv4 `10.0.0.0/8`, IPv6 `400:1:2:3::/64`).
 * Throws BabelPrefixError naming `field` when the syntax is wrong, the length is out
 * of range (0..32 or 0..128) or host bits past the length are set.
 */
export function parsePrefix(s: string, field = 'prefix'): Prefix {
  if (typeof s !== 'string') throw new BabelPrefixError(field, `expected a string like "400::/64", got ${typeof s}`);
  const slash = s.indexOf('/');
  if (slash < 0) throw new BabelPrefixError(field, `"${s}" has no "/length"; expected address/length`);
  const addr = s.slice(0, slash);
  const lenText = s.slice(slash + 1);
  const v4 = addr.includes(':') ? null : parseIPv4(addr);
  const bytes = v4 ?? (addr.includes(':') ? parseIPv6(addr) : null);
  if (!bytes) throw new BabelPrefixError(field, `"${addr}" is not an IPv4 or IPv6 address in standard notation`);
  const max = bytes.length * 8;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText) || Number(lenText) > max)
    throw new BabelPrefixError(field, `prefix length "${lenText}" in "${s}": expected 0..${max}`);
  const plen = Number(lenText);
  const masked = maskBytes(Uint8Array.from(bytes), plen);
  if (masked.some((v, i) => v !== bytes[i]))
    throw new BabelPrefixError(field, `"${s}" has host bits set past /${plen}; expected ${formatAddress(masked)}/${plen}`);
  return { family: bytes.length === 4 ? 4 : 6, bytes: masked, plen };
}

/** Prints a prefix in standard notation; the result is also the prefix's table key. */
export function formatPrefix(p: Prefix): string {
  return `${formatAddress(p.bytes)}/${p.plen}`;
}

/** The AE used to send a prefix: 1 for IPv4, 2 for IPv6 (§4.1.3). */
export function aeOf(p: Prefix): number {
  return p.family === 4 ? AE.IPv4 : AE.IPv6;
}

/** fe80::/64, implied by AE 3 (§4.1.3). */
const LINK_LOCAL_HEAD = Uint8Array.of(0xfe, 0x80, 0, 0, 0, 0, 0, 0);

/** Full address length of an AE (0 for the wildcard), or -1 for an unknown AE. */
export function aeAddressLength(ae: number): number {
  return ae === AE.Wildcard ? 0 : ae === AE.IPv4 ? 4 : ae === AE.IPv6 || ae === AE.LinkLocalIPv6 ? 16 : -1;
}

/**
 * Octets a prefix of length `plen` occupies on the wire before compression
 * (§4.1.3, §4.6.9): ceil(plen/8) for AE 1 and 2, that minus the implied 8 octets
 * of fe80::/64 for AE 3, 0 for the wildcard. Returns -1 when plen is out of range.
 */
export function prefixWireLength(ae: number, plen: number): number {
  const octets = Math.ceil(plen / 8);
  switch (ae) {
    case AE.Wildcard:
      return plen === 0 ? 0 : -1;
    case AE.IPv4:
      return plen <= 32 ? octets : -1;
    case AE.IPv6:
      return plen <= 128 ? octets : -1;
    case AE.LinkLocalIPv6:
      return plen >= 64 && plen <= 128 ? octets - 8 : -1;
    default:
      return -1;
  }
}

/**
 * Rebuilds the full prefix from its wire octets: `omitted` leading octets come from
 * `defaultPrefix` (§4.6.9), then the wire octets, zero-filled and masked to plen.
 * Returns null when the combination is malformed.
 */
export function expandPrefix(
  ae: number,
  plen: number,
  omitted: number,
  wire: Uint8Array,
  defaultPrefix: Uint8Array | undefined,
): Uint8Array | null {
  const len = aeAddressLength(ae);
  if (len < 0) return null;
  const out = new Uint8Array(len);
  if (ae === AE.LinkLocalIPv6) {
    if (omitted !== 0) return null;
    out.set(LINK_LOCAL_HEAD, 0);
    out.set(wire, 8);
    return maskBytes(out, plen);
  }
  if (omitted > 0) {
    if (!defaultPrefix || defaultPrefix.length !== len || omitted > len) return null;
    out.set(defaultPrefix.subarray(0, omitted), 0);
  }
  if (omitted + wire.length > len) return null;
  out.set(wire, omitted);
  return maskBytes(out, plen);
}

/** Prefix from AE, plen and full bytes (as decoded from a TLV); AE 3 is shown as IPv6. */
export function prefixFromWire(ae: number, plen: number, bytes: Uint8Array): Prefix {
  return { family: ae === AE.IPv4 ? 4 : 6, bytes, plen };
}
