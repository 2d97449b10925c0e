// Poly1305 (RFC 8439 §2.5) with five 26-bit limbs and 64-bit products, after
// Andrew Moon's public-domain poly1305-donna (poly1305-donna-32.h): with
// h < 2^131 and r limbs < 2^26 (s = 5r < 2^29), every product sum stays below
// 2^58, so one carry pass per block keeps the limbs bounded. No branch or index
// depends on the key or the message; the final reduction selects by mask.

// @ts-ignore: decorator
@inline const M26: u32 = 0x3ffffff;
/** The 2^128 bit added to every full 16-byte block (RFC 8439 §2.5.1). */
// @ts-ignore: decorator
@inline export const HIBIT: u32 = 1 << 24;

/**
 * The state lives in a fixed block of linear memory (u32 words: h0..h4 at 0,
 * r0..r4 at 20, pad0..pad3 at 40) so that the stitched ChaCha20+Poly1305 loop in
 * chacha-core.ts can load it into locals too.
 */
export const POLY_STATE: usize = memory.data(64, 16);

/** Clamps r (key bytes 0..15) and keeps s (bytes 16..31) for the final addition (§2.5.1). */
export function polyInit(key: usize): void {
  const st = POLY_STATE;
  store<u32>(st, load<u32>(key, 0) & 0x3ffffff, 20);
  store<u32>(st, (load<u32>(key, 3) >> 2) & 0x3ffff03, 24);
  store<u32>(st, (load<u32>(key, 6) >> 4) & 0x3ffc0ff, 28);
  store<u32>(st, (load<u32>(key, 9) >> 6) & 0x3f03fff, 32);
  store<u32>(st, (load<u32>(key, 12) >> 8) & 0x00fffff, 36);
  memory.fill(st, 0, 20);
  memory.copy(st + 40, key + 16, 16);
}

/** Absorbs `blocks` 16-byte blocks at m; hibit is HIBIT for full blocks, 0 for a padded final block. */
export function polyBlocks(m: usize, blocks: usize, hibit: u32): void {
  const st = POLY_STATE;
  const R0 = <u64>load<u32>(st, 20), R1 = <u64>load<u32>(st, 24), R2 = <u64>load<u32>(st, 28);
  const R3 = <u64>load<u32>(st, 32), R4 = <u64>load<u32>(st, 36);
  const S1 = R1 * 5, S2 = R2 * 5, S3 = R3 * 5, S4 = R4 * 5;
  let a0 = load<u32>(st, 0), a1 = load<u32>(st, 4), a2 = load<u32>(st, 8), a3 = load<u32>(st, 12), a4 = load<u32>(st, 16);
  const end = m + (blocks << 4);
  while (m < end) {
    a0 += load<u32>(m, 0) & M26;
    a1 += (load<u32>(m, 3) >> 2) & M26;
    a2 += (load<u32>(m, 6) >> 4) & M26;
    a3 += (load<u32>(m, 9) >> 6) & M26;
    a4 += (load<u32>(m, 12) >> 8) | hibit;
    const b0 = <u64>a0, b1 = <u64>a1, b2 = <u64>a2, b3 = <u64>a3, b4 = <u64>a4;
    let d0 = b0 * R0 + b1 * S4 + b2 * S3 + b3 * S2 + b4 * S1;
    let d1 = b0 * R1 + b1 * R0 + b2 * S4 + b3 * S3 + b4 * S2;
    let d2 = b0 * R2 + b1 * R1 + b2 * R0 + b3 * S4 + b4 * S3;
    let d3 = b0 * R3 + b1 * R2 + b2 * R1 + b3 * R0 + b4 * S4;
    let d4 = b0 * R4 + b1 * R3 + b2 * R2 + b3 * R1 + b4 * R0;
    d1 += d0 >> 26; a0 = <u32>d0 & M26;
    d2 += d1 >> 26; a1 = <u32>d1 & M26;
    d3 += d2 >> 26; a2 = <u32>d2 & M26;
    d4 += d3 >> 26; a3 = <u32>d3 & M26;
    const c = <u32>(d4 >> 26); a4 = <u32>d4 & M26;
    a0 += c * 5;
    a1 += a0 >> 26; a0 &= M26;
    m += 16;
  }
  store<u32>(st, a0, 0); store<u32>(st, a1, 4); store<u32>(st, a2, 8); store<u32>(st, a3, 12); store<u32>(st, a4, 16);
}

/** Final reduction mod 2^130 - 5, adds s mod 2^128 and writes the 16-byte tag (§2.5.1). */
export function polyFinish(tag: usize): void {
  const st = POLY_STATE;
  let a0 = load<u32>(st, 0), a1 = load<u32>(st, 4), a2 = load<u32>(st, 8), a3 = load<u32>(st, 12), a4 = load<u32>(st, 16);
  const p0 = load<u32>(st, 40), p1 = load<u32>(st, 44), p2 = load<u32>(st, 48), p3 = load<u32>(st, 52);
  let c: u32;
  c = a1 >> 26; a1 &= M26; a2 += c;
  c = a2 >> 26; a2 &= M26; a3 += c;
  c = a3 >> 26; a3 &= M26; a4 += c;
  c = a4 >> 26; a4 &= M26; a0 += c * 5;
  c = a0 >> 26; a0 &= M26; a1 += c;
  // g = h + 5 - 2^130; use g when it does not borrow (h >= p).
  let g0 = a0 + 5; c = g0 >> 26; g0 &= M26;
  let g1 = a1 + c; c = g1 >> 26; g1 &= M26;
  let g2 = a2 + c; c = g2 >> 26; g2 &= M26;
  let g3 = a3 + c; c = g3 >> 26; g3 &= M26;
  const g4 = a4 + c - (1 << 26);
  const useG = (g4 >> 31) - 1; // all ones when g4 did not go negative
  const useH = ~useG;
  a0 = (a0 & useH) | (g0 & useG);
  a1 = (a1 & useH) | (g1 & useG);
  a2 = (a2 & useH) | (g2 & useG);
  a3 = (a3 & useH) | (g3 & useG);
  a4 = (a4 & useH) | (g4 & useG);
  const w0 = a0 | (a1 << 26);
  const w1 = (a1 >> 6) | (a2 << 20);
  const w2 = (a2 >> 12) | (a3 << 14);
  const w3 = (a3 >> 18) | (a4 << 8);
  let f = <u64>w0 + p0; store<u32>(tag, <u32>f, 0);
  f = <u64>w1 + p1 + (f >> 32); store<u32>(tag, <u32>f, 4);
  f = <u64>w2 + p2 + (f >> 32); store<u32>(tag, <u32>f, 8);
  f = <u64>w3 + p3 + (f >> 32); store<u32>(tag, <u32>f, 12);
  // Wipe the per-message state.
  memory.fill(st, 0, 64);
}
