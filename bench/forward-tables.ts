/**
 * Route tables and destinations for the forward benchmarks (bench/forward.bench.ts
 * and the portable suite bench/kernels/forward.ts): random prefixes with a
 * realistic length mix, deterministic per seed, as 32-bit words, lengths, next
 * hops and text; destinations inside the table's prefixes.
 */
/** xorshift32: deterministic and cheap. */
export function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/** IPv4 length mix: ~60% /24, ~35% /16-/23, ~2% /8-/15, ~3% /25-/32. */
export function len4(r: () => number): number {
  const k = r() % 100;
  if (k < 60) return 24;
  if (k < 95) return 16 + (r() % 8);
  if (k < 97) return 8 + (r() % 8);
  return 25 + (r() % 8);
}
/** IPv6 length mix: ~50% /48, ~30% /32, rest /29-/64 (/29, /36, /40, /44, /56, /64). */
export function len6(r: () => number): number {
  const k = r() % 100;
  if (k < 50) return 48;
  if (k < 80) return 32;
  return [29, 36, 40, 44, 56, 64][r() % 6];
}

export interface Table {
  bits: 32 | 128;
  words: Uint32Array; // per prefix: 1 or 4 words
  lens: Uint8Array;
  nhs: Uint16Array;
  text: string[];
}

export function genTable(bits: 32 | 128, n: number, seed: number): Table {
  const r = rng(seed);
  const w = bits / 32;
  const words = new Uint32Array(n * w);
  const lens = new Uint8Array(n);
  const nhs = new Uint16Array(n);
  const text: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < n; ) {
    const len = bits === 32 ? len4(r) : len6(r);
    const v = new Uint32Array(w);
    for (let j = 0; j < w; j++) v[j] = r();
    if (bits === 32) v[0] = ((1 + (v[0] % 223)) << 24 | (v[0] & 0xffffff)) >>> 0; // 1.0.0.0 - 223.255.255.255
    else v[0] = (0x20000000 | (v[0] & 0x1fffffff)) >>> 0; // 2000::/3
    for (let j = 0; j < w; j++) {
      const keep = Math.max(0, Math.min(32, len - 32 * j));
      v[j] = keep === 0 ? 0 : (v[j] & (0xffffffff << (32 - keep))) >>> 0;
    }
    const t = bits === 32
      ? `${v[0] >>> 24}.${(v[0] >>> 16) & 255}.${(v[0] >>> 8) & 255}.${v[0] & 255}/${len}`
      : `${Array.from(v, (x) => `${(x >>> 16).toString(16)}:${(x & 0xffff).toString(16)}`).join(':')}/${len}`;
    if (seen.has(t)) continue;
    seen.add(t);
    words.set(v, i * w);
    lens[i] = len;
    nhs[i] = r() & 0xffff;
    text.push(t);
    i++;
  }
  return { bits, words, lens, nhs, text };
}

/** Destinations: `random` inside random table prefixes (random host bits), `repeated` 256 of them cycled. */
export function genAddrs(t: Table, n: number, pattern: 'random' | 'repeated', seed: number): { bytes: Uint8Array; words: Uint32Array } {
  const r = rng(seed);
  const w = t.bits / 32;
  const words = new Uint32Array(n * w);
  const distinct = pattern === 'random' ? n : 256;
  for (let i = 0; i < distinct; i++) {
    const p = r() % t.lens.length;
    const len = t.lens[p];
    for (let j = 0; j < w; j++) {
      const keep = Math.max(0, Math.min(32, len - 32 * j));
      const mask = keep === 0 ? 0 : (0xffffffff << (32 - keep)) >>> 0;
      words[i * w + j] = ((t.words[p * w + j] & mask) | (r() & ~mask)) >>> 0;
    }
  }
  for (let i = distinct; i < n; i++) words.copyWithin(i * w, (i % distinct) * w, (i % distinct) * w + w);
  const bytes = new Uint8Array(n * w * 4);
  const dv = new DataView(bytes.buffer);
  for (let i = 0; i < words.length; i++) dv.setUint32(i * 4, words[i], false);
  return { bytes, words };
}
