/*
 * IPv6 lookups over the Poptrie built by fib6.c (Asai, Ohara, SIGCOMM 2015):
 * one lookup, and batches that walk 16 addresses in lockstep so that their node
 * reads overlap in the memory system (as wasm/forward/poptrie6-lookup.ts does).
 */
#include "fib.h"

/* Bits [pos, pos+6) of the 128-bit address, zero past bit 127. */
static inline uint32_t chunk(uint64_t hi, uint64_t lo, uint32_t pos) {
  if (pos <= 58) return (uint32_t)((hi >> (58 - pos)) & 63);
  if (pos >= 64) {
    uint32_t q = pos - 64;
    return q <= 58 ? (uint32_t)((lo >> (58 - q)) & 63) : (uint32_t)((lo << (q - 58)) & 63);
  }
  return (uint32_t)(((hi << (pos - 58)) | (lo >> (122 - pos))) & 63);
}

/* The answer at a leaf of node `node` for child bit `bit`. */
static inline int32_t leaf_of(const uint8_t *b, uint32_t node, uint64_t mask, uint32_t best_off, uint64_t hi) {
  uint64_t lv;
  uint32_t b0;
  memcpy(&lv, b + node + 8, 8);
  memcpy(&b0, b + node + 16, 4);
  uint32_t la = b0 ? b0 : node + 24;
  int32_t v;
  memcpy(&v, b + la + (((uint32_t)__builtin_popcountll(lv & mask) - 1) << 2), 4);
  if (v == FIB_INHERIT) memcpy(&v, b + best_off + ((uint32_t)(hi >> (64 - FIB_S)) << 2), 4);
  return v;
}

/* Longest-prefix match: next hop or -1. */
FIB_POPCNT_CLONES int32_t fib6_lookup(const tfw_fib *f, uint64_t hi, uint64_t lo) {
  if (!f->dir) return -1;
  const uint8_t *b = f->base;
  uint32_t s;
  memcpy(&s, b + f->dir + ((uint32_t)(hi >> (64 - FIB_S)) << 2), 4);
  if (s & FIB_LEAF) return (int32_t)(s & 0x1ffff) - 1;
  uint32_t node = s, pos = FIB_S;
  for (;;) {
    uint64_t bit = 1ull << chunk(hi, lo, pos);
    uint64_t mask = (bit << 1) - 1;
    uint64_t vec;
    memcpy(&vec, b + node, 8);
    if ((vec & bit) == 0) return leaf_of(b, node, mask, f->slot_best, hi);
    uint32_t b1;
    memcpy(&b1, b + node + 20, 4);
    node = b1 + ((uint32_t)__builtin_popcountll(vec & mask) - 1) * FIB_NODE;
    pos += 6;
  }
}

/* n 16-byte network-order addresses -> n results; 16 lanes interleaved. */
FIB_POPCNT_CLONES void fib6_lookup_batch(const tfw_fib *f, const uint8_t *addrs, uint32_t n, int32_t *out) {
  if (!f->dir) {
    for (uint32_t i = 0; i < n; i++) out[i] = -1;
    return;
  }
  const uint8_t *b = f->base;
  uint64_t lhi[FIB_LANES], llo[FIB_LANES];
  uint32_t lnode[FIB_LANES];
  uint32_t i = 0;
  for (; i + FIB_LANES <= n; i += FIB_LANES) {
    uint32_t active = 0;
    for (uint32_t l = 0; l < FIB_LANES; l++) {
      const uint8_t *a = addrs + ((size_t)(i + l) << 4);
      uint64_t hi = fib_be64(a);
      uint32_t s;
      memcpy(&s, b + f->dir + ((uint32_t)(hi >> (64 - FIB_S)) << 2), 4);
      if (s & FIB_LEAF) {
        out[i + l] = (int32_t)(s & 0x1ffff) - 1;
      } else {
        lhi[l] = hi;
        llo[l] = fib_be64(a + 8);
        lnode[l] = s;
        active |= 1u << l;
      }
    }
    uint32_t pos = FIB_S;
    while (active) {
      uint32_t more = 0, bits = active;
      while (bits) {
        uint32_t l = (uint32_t)__builtin_ctz(bits);
        bits &= bits - 1;
        uint32_t node = lnode[l];
        uint64_t bit = 1ull << chunk(lhi[l], llo[l], pos);
        uint64_t mask = (bit << 1) - 1;
        uint64_t vec;
        memcpy(&vec, b + node, 8);
        if ((vec & bit) == 0) {
          out[i + l] = leaf_of(b, node, mask, f->slot_best, lhi[l]);
        } else {
          uint32_t b1;
          memcpy(&b1, b + node + 20, 4);
          lnode[l] = b1 + ((uint32_t)__builtin_popcountll(vec & mask) - 1) * FIB_NODE;
          more |= 1u << l;
        }
      }
      active = more;
      pos += 6;
    }
  }
  for (; i < n; i++) {
    const uint8_t *a = addrs + ((size_t)i << 4);
    out[i] = fib6_lookup(f, fib_be64(a), fib_be64(a + 8));
  }
}
