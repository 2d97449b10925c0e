/** Prefix arithmetic shared by the FIB tests (bigint address values, host bits clear). */
import { formatAddress } from '../../runtime/kernels/forward.js';
import type { prng } from '../helpers.js';

export type Rng = ReturnType<typeof prng>;

export interface Route {
  value: bigint; // address bits, host bits clear
  len: number;
  nh: number;
}

/** `v` as `width` big-endian bytes. */
export const toBytes = (v: bigint, width: number): Uint8Array => {
  const b = new Uint8Array(width);
  for (let i = width - 1; i >= 0; i--, v >>= 8n) b[i] = Number(v & 0xffn);
  return b;
};
/** The network mask of a /len in a `bits`-bit address. */
export const maskOf = (len: number, bits: number): bigint => (len === 0 ? 0n : ((1n << BigInt(len)) - 1n) << BigInt(bits - len));
/** A uniformly random `bits`-bit value. */
export const randBig = (rng: Rng, bits: number): bigint => {
  let v = 0n;
  for (const b of rng.bytes(bits / 8)) v = (v << 8n) | BigInt(b);
  return v;
};
/** Standard notation of a route, e.g. `10.0.0.0/8`. */
export const text = (r: { value: bigint; len: number }, bits: number) => `${formatAddress(toBytes(r.value, bits / 8))}/${r.len}`;

/**
 * `n` distinct random routes, 70% extending an earlier one (deep nesting). Root
 * lengths are uniform over 0..bits, or with `rareShort` mostly >= /8 (1 in 50
 * shorter: a /0 rewrites all of DIR-24-8's tbl24, which slows big tables down).
 */
export function genTable(rng: Rng, bits: number, n: number, { rareShort = false } = {}): Route[] {
  const seen = new Set<string>();
  const out: Route[] = [];
  while (out.length < n) {
    let value: bigint;
    let len: number;
    if (out.length > 0 && rng.int(10) < 7) {
      const parent = out[rng.int(out.length)];
      if (parent.len === bits) continue;
      len = Math.min(bits, parent.len + 1 + rng.int(bits === 32 ? 10 : 24));
      value = (parent.value | (randBig(rng, bits) & ~maskOf(parent.len, bits))) & maskOf(len, bits);
    } else {
      len = !rareShort ? rng.int(bits + 1) : rng.int(50) === 0 ? rng.int(8) : 8 + rng.int(bits - 7);
      value = randBig(rng, bits) & maskOf(len, bits);
    }
    const key = `${value}/${len}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ value, len, nh: rng.int(65536) });
  }
  return out;
}

/**
 * `n` lookup addresses: with probability `inside`/10 one inside a random route
 * (its first address, its last, or random host bits), else a random address.
 */
export function genAddresses(rng: Rng, routes: Route[], bits: number, n: number, inside = 7): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const k = rng.int(10);
    if (k < inside && routes.length) {
      const r = routes[rng.int(routes.length)];
      const host = ~maskOf(r.len, bits) & maskOf(bits, bits);
      out.push(k === 0 ? r.value : k === 1 ? r.value | host : r.value | (randBig(rng, bits) & host));
    } else {
      out.push(randBig(rng, bits));
    }
  }
  return out;
}

/** Addresses packed as big-endian `bits`/8-byte records. */
export function packAddresses(addrs: bigint[], bits: number): Uint8Array {
  const w = bits / 8;
  const out = new Uint8Array(addrs.length * w);
  addrs.forEach((a, i) => out.set(toBytes(a, w), i * w));
  return out;
}
