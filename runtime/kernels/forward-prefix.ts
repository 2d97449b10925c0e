/**
 * Address and prefix parsing for the forward kernel: IPv4 dotted quads (RFC 791),
 * IPv6 text forms (RFC 4291 section 2.2, including `::` and an embedded dotted
 * quad), prefixes in CIDR notation (RFC 4632 / RFC 4291 section 2.3).
 */
import { TfwError } from '../errors.js';

export type Family = 'ipv4' | 'ipv6';

/** Thrown for a malformed address or prefix; the message names the value and the expected form. */
export class PrefixError extends TfwError {
  readonly value: string;
  constructor(field: string, value: unknown, expected: string) {
    super('ERR_TFW_PREFIX', `${field}: expected ${expected}, got ${JSON.stringify(value)}`);
    this.value = String(value);
  }
}

/** Thrown for a next hop outside 0..65535. */
export class NextHopError extends TfwError {
  constructor(value: unknown) {
    super('ERR_TFW_NEXT_HOP', `nextHop: expected an integer 0..65535, got ${JSON.stringify(value)}`);
  }
}

/** A parsed prefix: `bytes` in network order with host bits cleared, `length` in bits. */
export interface Prefix {
  family: Family;
  bytes: Uint8Array;
  length: number;
}

const EXPECT = {
  ipv4: 'an IPv4 address like 192.0.2.1',
  ipv6: 'an IPv6 address like 2001:db8::1',
};
const EXPECT_PREFIX = {
  ipv4: 'an IPv4 prefix like 10.0.0.0/8 (length 0..32)',
  ipv6: 'an IPv6 prefix like 2001:db8::/32 (length 0..128)',
};

/**
 * Parses a dotted quad into `out[at..at+4)`; false when malformed. Decimal only,
 * no leading zeros (avoids inet_aton's octal reading). Hand-rolled: route files
 * hold a million lines.
 */
function parse4Into(s: string, out: Uint8Array, at: number): boolean {
  let part = 0;
  let digits = 0;
  let v = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; // '.' ends the last part
    if (c === 46) {
      if (digits === 0 || part > 3) return false;
      out[at + part++] = v;
      v = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && v === 0) return false; // leading zero
      v = v * 10 + (c - 48);
      if (++digits > 3 || v > 255) return false;
    } else {
      return false;
    }
  }
  return part === 4;
}

function parse6Into(s: string, out: Uint8Array): boolean {
  if (s.length < 2 || s.length > 45 || !/^[0-9a-fA-F:.]+$/.test(s)) return false;
  let body = s;
  let quad: Uint8Array | null = null;
  if (s.includes('.')) {
    // An embedded dotted quad stands for the last two groups (RFC 4291 section 2.2, form 3).
    const at = s.lastIndexOf(':');
    quad = new Uint8Array(4);
    if (at === -1 || !parse4Into(s.slice(at + 1), quad, 0)) return false;
    body = `${s.slice(0, at + 1)}0:0`;
  }
  const dbl = body.indexOf('::');
  if (dbl !== -1 && body.indexOf('::', dbl + 1) !== -1) return false;
  const split = (part: string): string[] => (part === '' ? [] : part.split(':'));
  let groups: string[];
  if (dbl === -1) {
    groups = body.split(':');
    if (groups.length !== 8) return false;
  } else {
    const left = split(body.slice(0, dbl));
    const right = split(body.slice(dbl + 2));
    if (left.length + right.length > 7) return false;
    groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  }
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(groups[i])) return false;
    const w = parseInt(groups[i], 16);
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  }
  if (quad) out.set(quad, 12);
  return true;
}

/**
 * Parses an address of `family` to network-order bytes (4 or 16).
 * @throws PrefixError naming `field` when malformed
 */
export function parseAddress(family: Family, text: string, field = 'address'): Uint8Array {
  const out = new Uint8Array(family === 'ipv4' ? 4 : 16);
  const ok = typeof text === 'string' && (family === 'ipv4' ? parse4Into(text, out, 0) : parse6Into(text, out));
  if (!ok) throw new PrefixError(field, text, EXPECT[family]);
  return out;
}

/**
 * Parses `address/length` (a bare address means a host prefix: /32 or /128).
 * Host bits set below the length are accepted and cleared: `10.1.2.3/8` is `10.0.0.0/8`.
 * @throws PrefixError naming `field` and the value when malformed
 */
export function parsePrefix(family: Family, text: string, field = 'prefix'): Prefix {
  const max = family === 'ipv4' ? 32 : 128;
  if (typeof text !== 'string') throw new PrefixError(field, text, EXPECT_PREFIX[family]);
  const slash = text.indexOf('/');
  let length = max;
  let addr = text;
  if (slash !== -1) {
    const l = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(l) || Number(l) > max) throw new PrefixError(field, text, EXPECT_PREFIX[family]);
    length = Number(l);
    addr = text.slice(0, slash);
  }
  const bytes = new Uint8Array(max / 8);
  const ok = family === 'ipv4' ? parse4Into(addr, bytes, 0) : parse6Into(addr, bytes);
  if (!ok) throw new PrefixError(field, text, EXPECT_PREFIX[family]);
  maskInPlace(bytes, length);
  return { family, bytes, length };
}

const SCRATCH4 = new Uint8Array(4);

/**
 * IPv4 fast path of parsePrefix without allocation: returns `address * 64 + length`
 * (address host-order with host bits cleared), exact in a double.
 * @throws PrefixError naming `field` and the value when malformed
 */
export function parsePrefix4(text: string, field = 'prefix'): number {
  if (typeof text !== 'string') throw new PrefixError(field, text, EXPECT_PREFIX.ipv4);
  const slash = text.indexOf('/');
  let length = 32;
  if (slash !== -1) {
    length = 0;
    const digits = text.length - slash - 1;
    if (digits < 1 || digits > 2 || (digits === 2 && text.charCodeAt(slash + 1) === 48)) throw new PrefixError(field, text, EXPECT_PREFIX.ipv4);
    for (let i = slash + 1; i < text.length; i++) {
      const c = text.charCodeAt(i) - 48;
      if (c < 0 || c > 9) throw new PrefixError(field, text, EXPECT_PREFIX.ipv4);
      length = length * 10 + c;
    }
    if (length > 32) throw new PrefixError(field, text, EXPECT_PREFIX.ipv4);
  }
  if (!parse4Into(slash === -1 ? text : text.slice(0, slash), SCRATCH4, 0)) throw new PrefixError(field, text, EXPECT_PREFIX.ipv4);
  const a = ((SCRATCH4[0] << 24) | (SCRATCH4[1] << 16) | (SCRATCH4[2] << 8) | SCRATCH4[3]) >>> 0;
  const m = length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
  return ((a & m) >>> 0) * 64 + length;
}

/** Clears the bits of `bytes` past the first `length` bits. */
export function maskInPlace(bytes: Uint8Array, length: number): void {
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, length - 8 * i));
    bytes[i] &= (0xff00 >> keep) & 0xff;
  }
}

/** Family of a prefix or address string by its form (':' = IPv6). */
export function familyOf(text: string): Family {
  return typeof text === 'string' && text.includes(':') ? 'ipv6' : 'ipv4';
}

/** Formats network-order bytes (4 or 16) as text; IPv6 with `::` for the longest zero run (RFC 5952). */
export function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((bytes[2 * i] << 8) | bytes[2 * i + 1]);
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(w);
  return `${hex(w.slice(0, best))}::${hex(w.slice(best + bestLen))}`;
}

/** Validates a next hop id. @throws NextHopError */
export function checkNextHop(nh: unknown): number {
  if (typeof nh !== 'number' || !Number.isInteger(nh) || nh < 0 || nh > 65535) throw new NextHopError(nh);
  return nh;
}
