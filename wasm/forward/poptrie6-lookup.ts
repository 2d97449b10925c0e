// IPv6 FIB lookups over the Poptrie built in poptrie6.ts (H. Asai, Y. Ohara,
// SIGCOMM 2015): one lookup, and batches with 16 lookups interleaved.
import { dir, INHERIT, LEAF, NODE, S, slotBest } from './poptrie6';

/** Bits [pos, pos+6) of the 128-bit address (hi, lo), zero past bit 127. */
// @ts-ignore: decorator
@inline function chunk(hi: u64, lo: u64, pos: u32): u32 {
  if (pos <= 58) return <u32>((hi >> (58 - pos)) & 63);
  if (pos >= 64) {
    const q = pos - 64;
    return q <= 58 ? <u32>((lo >> (58 - q)) & 63) : <u32>((lo << (q - 58)) & 63);
  }
  return <u32>(((hi << (pos - 58)) | (lo >> (122 - pos))) & 63);
}

/** Longest-prefix match: next hop or -1. */
// @ts-ignore: decorator
@inline export function v6Lookup(hi: u64, lo: u64): i32 {
  const s = load<u32>(dir + ((<usize>(hi >> (64 - S))) << 2));
  if (s & LEAF) return <i32>(s & 0x1ffff) - 1;
  let node = <usize>s;
  let pos: u32 = S;
  while (true) {
    const bit: u64 = (<u64>1) << chunk(hi, lo, pos);
    const mask = (bit << 1) - 1;
    const vec = load<u64>(node);
    if ((vec & bit) == 0) {
      const lv = load<u64>(node, 8);
      const b0 = <usize>load<u32>(node, 16);
      const v = load<i32>(select<usize>(b0, node + 24, b0 != 0) + ((<usize>popcnt<u64>(lv & mask) - 1) << 2));
      return v != INHERIT ? v : load<i32>(slotBest + ((<usize>(hi >> (64 - S))) << 2));
    }
    node = <usize>load<u32>(node, 20) + (<usize>popcnt<u64>(vec & mask) - 1) * NODE;
    pos += 6;
  }
}

/** True once the table has storage. */
export function v6Ready(): bool {
  return dir != 0;
}

// Lane state for interleaved batch lookups: hi, lo (u64) and node (u32) per lane.
const LANES: u32 = 16;
const LANE_HI: usize = memory.data(16 * 8);
const LANE_LO: usize = memory.data(16 * 8);
const LANE_NODE: usize = memory.data(16 * 4);

/**
 * Batch lookup: `n` 16-byte addresses (network order) at `addrs` -> `n` i32 at `out`.
 * Eight lookups advance level by level in lockstep, so their (independent) node
 * reads overlap in the memory system instead of waiting for one another
 * (the interleaving of G-opt / AMAC-style batched lookups).
 */
export function v6LookupBatch(addrs: usize, n: u32, out: usize): void {
  if (dir == 0) {
    memory.fill(out, 0xff, (<usize>n) << 2);
    return;
  }
  let i: u32 = 0;
  for (; i + LANES <= n; i += LANES) {
    let active: u32 = 0;
    for (let l: u32 = 0; l < LANES; l++) {
      const a = addrs + (<usize>(i + l) << 4);
      const hi = bswap<u64>(load<u64>(a));
      const s = load<u32>(dir + ((<usize>(hi >> (64 - S))) << 2));
      if (s & LEAF) {
        store<i32>(out + (<usize>(i + l) << 2), <i32>(s & 0x1ffff) - 1);
      } else {
        store<u64>(LANE_HI + (<usize>l << 3), hi);
        store<u64>(LANE_LO + (<usize>l << 3), bswap<u64>(load<u64>(a, 8)));
        store<u32>(LANE_NODE + (<usize>l << 2), s);
        active |= 1 << l;
      }
    }
    let pos: u32 = S;
    while (active != 0) {
      let more: u32 = 0;
      let bits = active;
      while (bits != 0) {
        const l = ctz<u32>(bits);
        bits &= bits - 1;
        const node = <usize>load<u32>(LANE_NODE + (<usize>l << 2));
        const bit: u64 = (<u64>1) << chunk(load<u64>(LANE_HI + (<usize>l << 3)), load<u64>(LANE_LO + (<usize>l << 3)), pos);
        const mask = (bit << 1) - 1;
        const vec = load<u64>(node);
        if ((vec & bit) == 0) {
          const lv = load<u64>(node, 8);
          const b0 = <usize>load<u32>(node, 16);
          let v = load<i32>(select<usize>(b0, node + 24, b0 != 0) + ((<usize>popcnt<u64>(lv & mask) - 1) << 2));
          if (v == INHERIT) v = load<i32>(slotBest + ((<usize>(load<u64>(LANE_HI + (<usize>l << 3)) >> (64 - S))) << 2));
          store<i32>(out + (<usize>(i + l) << 2), v);
        } else {
          store<u32>(LANE_NODE + (<usize>l << 2), load<u32>(node, 20) + (<u32>popcnt<u64>(vec & mask) - 1) * <u32>NODE);
          more |= 1 << l;
        }
      }
      active = more;
      pos += 6;
    }
  }
  for (; i < n; i++) {
    const a = addrs + (<usize>i << 4);
    store<i32>(out + (<usize>i << 2), v6Lookup(bswap<u64>(load<u64>(a)), bswap<u64>(load<u64>(a, 8))));
  }
}

