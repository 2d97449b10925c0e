// IPv4 FIB: DIR-24-8 (P. Gupta, S. Lin, N. McKeown, "Routing Lookups in Hardware at
// Memory Access Speeds", INFOCOM 1998), with the per-entry prefix depth that DPDK's
// rte_lpm keeps so that single prefixes are inserted and deleted in place.
//
// tbl24: 2^24 u32 entries indexed by the top 24 address bits (64 MiB, allocated at
// the first insert). tbl8 groups: 256 u32 entries for the last 8 bits, one group per
// /24 that holds a prefix longer than /24 (1 KiB each, allocated on demand, freed
// when they become uniform again). A lookup reads one or two entries.
//
// Entry (u32): bit 31 VALID, bit 30 EXT (tbl24 only: bits 0..23 = group address >> 10),
// bits 24..29 depth (prefix length 0..32 of the route that wrote it), bits 0..15
// next hop. 0 = no route.
import { blockAlloc, blockAllocZeroed, blockFree } from './alloc';

const VALID: u32 = 0x80000000;
const EXT: u32 = 0x40000000;
const TBL24_BYTES: usize = 1 << 26;

let tbl24: usize = 0;
let groups: u32 = 0;

// @ts-ignore: decorator
@inline function depthOf(e: u32): u32 {
  return (e >>> 24) & 0x3f;
}
// @ts-ignore: decorator
@inline function groupOf(e: u32): usize {
  return (<usize>(e & 0xffffff)) << 10;
}

/** Bytes held by the IPv4 tables (tbl24 + tbl8 groups). */
export function v4Bytes(): u64 {
  return (tbl24 != 0 ? <u64>TBL24_BYTES : 0) + (<u64>groups << 10);
}

/** Number of tbl8 groups in use. */
export function v4Groups(): u32 {
  return groups;
}

function ensureTbl24(): bool {
  if (tbl24 != 0) return true;
  tbl24 = blockAllocZeroed(TBL24_BYTES);
  return tbl24 != 0;
}

/** Overwrites group entries [start, start+count) whose depth is <= `depth` (or invalid). */
function groupWrite(g: usize, start: u32, count: u32, depth: u32, ne: u32): void {
  for (let j: u32 = 0; j < count; j++) {
    const p = g + ((<usize>(start + j)) << 2);
    const e = load<u32>(p);
    if ((e & VALID) == 0 || depthOf(e) <= depth) store<u32>(p, ne);
  }
}

/**
 * Inserts (or replaces) prefix `ip`/`depth` -> `nh`. `ip` has its host bits cleared.
 * Returns 0, or -1 when memory is exhausted (table unchanged).
 */
export function v4Insert(ip: u32, depth: u32, nh: u32): i32 {
  if (!ensureTbl24()) return -1;
  const ne = VALID | (depth << 24) | (nh & 0xffff);
  if (depth <= 24) {
    const start = ip >>> 8;
    const count: u32 = (<u32>1) << (24 - depth);
    for (let i: u32 = 0; i < count; i++) {
      const p = tbl24 + ((<usize>(start + i)) << 2);
      const e = load<u32>(p);
      if (e & EXT) groupWrite(groupOf(e), 0, 256, depth, ne);
      else if ((e & VALID) == 0 || depthOf(e) <= depth) store<u32>(p, ne);
    }
    return 0;
  }
  const p = tbl24 + ((<usize>(ip >>> 8)) << 2);
  const e = load<u32>(p);
  let g: usize;
  if (e & EXT) {
    g = groupOf(e);
  } else {
    g = blockAlloc(1024);
    if (g == 0) return -1;
    groups++;
    for (let j: usize = 0; j < 256; j++) store<u32>(g + (j << 2), e);
    store<u32>(p, EXT | <u32>(g >> 10));
  }
  groupWrite(g, ip & 0xff, (<u32>1) << (32 - depth), depth, ne);
  return 0;
}

/** Replaces group entries of exactly `depth` in [start, start+count) by `repl`. */
function groupReplace(g: usize, start: u32, count: u32, depth: u32, repl: u32): void {
  for (let j: u32 = 0; j < count; j++) {
    const p = g + ((<usize>(start + j)) << 2);
    const e = load<u32>(p);
    if ((e & VALID) != 0 && depthOf(e) == depth) store<u32>(p, repl);
  }
}

/** Folds a group back into its tbl24 entry when all 256 entries are equal and not longer than /24. */
function tryCollapse(p: usize, g: usize): void {
  const first = load<u32>(g);
  if ((first & VALID) != 0 && depthOf(first) > 24) return;
  for (let j: usize = 1; j < 256; j++) if (load<u32>(g + (j << 2)) != first) return;
  store<u32>(p, first);
  blockFree(g, 1024);
  groups--;
}

/**
 * Deletes prefix `ip`/`depth`; entries it wrote take the covering prefix's route
 * (`coverNh`/`coverDepth`, found by the caller in its RIB; coverNh < 0: none).
 */
export function v4Delete(ip: u32, depth: u32, coverNh: i32, coverDepth: u32): void {
  if (tbl24 == 0) return;
  const repl: u32 = coverNh < 0 ? 0 : VALID | (coverDepth << 24) | (<u32>coverNh & 0xffff);
  if (depth <= 24) {
    const start = ip >>> 8;
    const count: u32 = (<u32>1) << (24 - depth);
    for (let i: u32 = 0; i < count; i++) {
      const p = tbl24 + ((<usize>(start + i)) << 2);
      const e = load<u32>(p);
      if (e & EXT) {
        const g = groupOf(e);
        groupReplace(g, 0, 256, depth, repl);
        tryCollapse(p, g);
      } else if ((e & VALID) != 0 && depthOf(e) == depth) {
        store<u32>(p, repl);
      }
    }
    return;
  }
  const p = tbl24 + ((<usize>(ip >>> 8)) << 2);
  const e = load<u32>(p);
  if ((e & EXT) == 0) return;
  const g = groupOf(e);
  groupReplace(g, ip & 0xff, (<u32>1) << (32 - depth), depth, repl);
  tryCollapse(p, g);
}

/** Longest-prefix match for host-order address `a`: next hop, or -1. Two reads at most. */
// @ts-ignore: decorator
@inline export function v4Lookup(a: u32): i32 {
  let e = load<u32>(tbl24 + ((<usize>(a >>> 8)) << 2));
  if (e & EXT) e = load<u32>(groupOf(e) + ((<usize>(a & 0xff)) << 2));
  return (e & VALID) != 0 ? <i32>(e & 0xffff) : -1;
}

/** True once the table has storage (lookups on an empty table return -1 without reading). */
export function v4Ready(): bool {
  return tbl24 != 0;
}

/**
 * Batch lookup: `n` big-endian 4-byte addresses at `addrs` -> `n` i32 at `out`.
 * Two passes: all tbl24 reads first (independent loads, no branches, so the CPU
 * overlaps their cache misses), then the tbl8 reads for the entries that need one.
 */
export function v4LookupBatch(addrs: usize, n: u32, out: usize): void {
  if (tbl24 == 0) {
    memory.fill(out, 0xff, (<usize>n) << 2);
    return;
  }
  const end = (<usize>n) << 2;
  for (let i: usize = 0; i < end; i += 4) {
    store<u32>(out + i, load<u32>(tbl24 + ((<usize>(bswap<u32>(load<u32>(addrs + i)) >>> 8)) << 2)));
  }
  for (let i: usize = 0; i < end; i += 4) {
    let e = load<u32>(out + i);
    if (e & EXT) e = load<u32>(groupOf(e) + ((<usize>load<u8>(addrs + i, 3)) << 2));
    store<i32>(out + i, (e & VALID) != 0 ? <i32>(e & 0xffff) : -1);
  }
}
