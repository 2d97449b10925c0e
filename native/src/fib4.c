/*
 * IPv4 FIB: DIR-24-8 (P. Gupta, S. Lin, N. McKeown, "Routing Lookups in
 * Hardware at Memory Access Speeds", INFOCOM 1998) with the per-entry prefix
 * depth of DPDK's rte_lpm, entry for entry the structure of
 * wasm/forward/dir24.ts (see there and docs/forward.md).
 *
 * tbl24: 2^24 u32 (64 MiB, at the first insert); tbl8 groups of 256 u32 (1 KiB)
 * per /24 holding a longer prefix. Entry: bit 31 VALID, bit 30 EXT (tbl24: bits
 * 0..23 = group offset >> 10), bits 24..29 depth, bits 0..15 next hop.
 */
#include "fib.h"

#define VALID 0x80000000u
#define EXT 0x40000000u
#define TBL24_BYTES (1u << 26)

static inline uint32_t depth_of(uint32_t e) { return (e >> 24) & 0x3f; }
static inline uint32_t group_of(uint32_t e) { return (e & 0xffffff) << 10; }

uint64_t fib4_bytes(const tfw_fib *f) {
  return (f->tbl24 ? (uint64_t)TBL24_BYTES : 0) + ((uint64_t)f->groups << 10);
}

/* Overwrites group entries [start, start+count) whose depth is <= depth (or invalid). */
static void group_write(tfw_fib *f, uint32_t g, uint32_t start, uint32_t count, uint32_t depth, uint32_t ne) {
  uint32_t *t = (uint32_t *)(f->base + g);
  for (uint32_t j = start; j < start + count; j++) {
    uint32_t e = t[j];
    if ((e & VALID) == 0 || depth_of(e) <= depth) t[j] = ne;
  }
}

/* Inserts or replaces ip/depth -> nh (host bits clear). 0, or -1 out of memory (table unchanged). */
int fib4_insert(tfw_fib *f, uint32_t ip, uint32_t depth, uint32_t nh) {
  if (!f->tbl24) {
    f->tbl24 = fib_block_alloc_zeroed(f, TBL24_BYTES);
    if (!f->tbl24) return -1;
  }
  uint32_t ne = VALID | (depth << 24) | (nh & 0xffff);
  if (depth <= 24) {
    uint32_t start = ip >> 8, count = 1u << (24 - depth);
    uint32_t *t24 = (uint32_t *)(f->base + f->tbl24);
    for (uint32_t i = start; i < start + count; i++) {
      uint32_t e = t24[i];
      if (e & EXT) group_write(f, group_of(e), 0, 256, depth, ne);
      else if ((e & VALID) == 0 || depth_of(e) <= depth) t24[i] = ne;
    }
    return 0;
  }
  uint32_t p = f->tbl24 + ((ip >> 8) << 2);
  uint32_t e = fib_ld32(f, p);
  uint32_t g;
  if (e & EXT) {
    g = group_of(e);
  } else {
    g = fib_block_alloc(f, 1024); /* may move f->base */
    if (!g) return -1;
    f->groups++;
    uint32_t *t = (uint32_t *)(f->base + g);
    for (int j = 0; j < 256; j++) t[j] = e;
    fib_st32(f, p, EXT | (g >> 10));
  }
  group_write(f, g, ip & 0xff, 1u << (32 - depth), depth, ne);
  return 0;
}

/* Replaces group entries of exactly `depth` in [start, start+count) by `repl`. */
static void group_replace(tfw_fib *f, uint32_t g, uint32_t start, uint32_t count, uint32_t depth, uint32_t repl) {
  uint32_t *t = (uint32_t *)(f->base + g);
  for (uint32_t j = start; j < start + count; j++) {
    uint32_t e = t[j];
    if ((e & VALID) != 0 && depth_of(e) == depth) t[j] = repl;
  }
}

/* Folds a group back into its tbl24 entry when all 256 entries are equal and not longer than /24. */
static void try_collapse(tfw_fib *f, uint32_t p, uint32_t g) {
  const uint32_t *t = (const uint32_t *)(f->base + g);
  uint32_t first = t[0];
  if ((first & VALID) != 0 && depth_of(first) > 24) return;
  for (int j = 1; j < 256; j++)
    if (t[j] != first) return;
  fib_st32(f, p, first);
  fib_block_free(f, g, 1024);
  f->groups--;
}

/* Deletes ip/depth; its entries take the covering route (cover_nh < 0: none). */
void fib4_delete(tfw_fib *f, uint32_t ip, uint32_t depth, int32_t cover_nh, uint32_t cover_depth) {
  if (!f->tbl24) return;
  uint32_t repl = cover_nh < 0 ? 0 : VALID | (cover_depth << 24) | ((uint32_t)cover_nh & 0xffff);
  if (depth <= 24) {
    uint32_t start = ip >> 8, count = 1u << (24 - depth);
    for (uint32_t i = start; i < start + count; i++) {
      uint32_t p = f->tbl24 + (i << 2);
      uint32_t e = fib_ld32(f, p);
      if (e & EXT) {
        uint32_t g = group_of(e);
        group_replace(f, g, 0, 256, depth, repl);
        try_collapse(f, p, g);
      } else if ((e & VALID) != 0 && depth_of(e) == depth) {
        fib_st32(f, p, repl);
      }
    }
    return;
  }
  uint32_t p = f->tbl24 + ((ip >> 8) << 2);
  uint32_t e = fib_ld32(f, p);
  if ((e & EXT) == 0) return;
  uint32_t g = group_of(e);
  group_replace(f, g, ip & 0xff, 1u << (32 - depth), depth, repl);
  try_collapse(f, p, g);
}

/* Longest-prefix match for host-order `a`: next hop or -1. At most two reads. */
int32_t fib4_lookup(const tfw_fib *f, uint32_t a) {
  if (!f->tbl24) return -1;
  const uint8_t *b = f->base;
  uint32_t e = ((const uint32_t *)(b + f->tbl24))[a >> 8];
  if (e & EXT) e = ((const uint32_t *)(b + group_of(e)))[a & 0xff];
  return (e & VALID) ? (int32_t)(e & 0xffff) : -1;
}

/*
 * n big-endian 4-byte addresses -> n results. All tbl24 reads first
 * (independent loads the CPU overlaps), then the tbl8 reads that are needed.
 */
void fib4_lookup_batch(const tfw_fib *f, const uint8_t *addrs, uint32_t n, int32_t *out) {
  if (!f->tbl24) {
    for (uint32_t i = 0; i < n; i++) out[i] = -1;
    return;
  }
  const uint8_t *b = f->base;
  const uint32_t *t24 = (const uint32_t *)(b + f->tbl24);
  uint32_t *o = (uint32_t *)out;
  for (uint32_t i = 0; i < n; i++) o[i] = t24[fib_be32(addrs + 4 * i) >> 8];
  for (uint32_t i = 0; i < n; i++) {
    uint32_t e = o[i];
    if (e & EXT) e = ((const uint32_t *)(b + group_of(e)))[addrs[4 * i + 3]];
    out[i] = (e & VALID) ? (int32_t)(e & 0xffff) : -1;
  }
}
