/** Shared test helpers: deterministic randomness and environment checks. */
import { randomBytes } from 'node:crypto';

/** True when the suite runs as root (network namespaces, TUN and QEMU tests need it). */
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * Deterministic PRNG (xorshift128+, Vigna 2014) so failing cases can be replayed:
 * set TFW_TEST_SEED to the seed printed by a failing test.
 */
export function prng(seed = Number(process.env.TFW_TEST_SEED ?? 0x7f4a7c15)) {
  let s0 = BigInt.asUintN(64, BigInt(seed) * 0x9e3779b97f4a7c15n + 1n);
  let s1 = BigInt.asUintN(64, s0 ^ 0x6a09e667f3bcc909n);
  const next = (): bigint => {
    let x = s0;
    const y = s1;
    s0 = y;
    x = BigInt.asUintN(64, x ^ (x << 23n));
    s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    return BigInt.asUintN(64, s1 + y);
  };
  return {
    seed,
    /** Uniform integer in [0, n). */
    int(n: number): number {
      return Number(next() % BigInt(n));
    },
    /** n pseudo-random bytes. */
    bytes(n: number): Uint8Array {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i += 8) {
        let v = next();
        for (let j = 0; j < 8 && i + j < n; j++, v >>= 8n) out[i + j] = Number(v & 0xffn);
      }
      return out;
    },
  };
}

/** Cryptographically random bytes (for cross-checks where any input must work). */
export const rand = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/[\s:]/g, ''), 'hex'));
