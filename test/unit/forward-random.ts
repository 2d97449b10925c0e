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
