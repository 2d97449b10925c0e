/**
 * Sequence-number arithmetic modulo 2^16 (RFC 8966 §3.2.1): s1 is earlier than s2
 * when 0 < ((s2 - s1) mod 2^16) < 32768.
 */

/** (s + n) mod 2^16. */
export function seqnoAdd(s: number, n: number): number {
  return (s + n) & 0xffff;
}

/** True when a is strictly earlier than b (modulo 2^16). */
export function seqnoLess(a: number, b: number): boolean {
  const d = (b - a) & 0xffff;
  return d !== 0 && d < 0x8000;
}

/** Signed distance b - a in (-32768, 32768]: how far b is ahead of a. */
export function seqnoDistance(a: number, b: number): number {
  const d = (b - a) & 0xffff;
  return d > 0x8000 ? d - 0x10000 : d;
}
