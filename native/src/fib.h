/*
 * The forward kernel in C: the same data structures as wasm/forward/ (DIR-24-8
 * for IPv4, Poptrie for IPv6, the batch classifier), so lookups, verdicts and
 * memory figures are identical to the wasm engine's.
 *
 * One `tfw_fib` holds both tables in its own arena: one anonymous mapping
 * addressed by 32-bit offsets (offset 0 = null), grown with mremap. Offsets
 * rather than pointers keep the table encodings of the wasm kernel unchanged
 * (DIR-24-8 group address >> 10 in 24 bits, bit 31 flags) and survive the
 * mapping moving when it grows. Offsets stay below 2 GiB, as in wasm.
 */
#ifndef TFW_FIB_H
#define TFW_FIB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FIB_S 18u                        /* Poptrie direct-pointing bits */
#define FIB_SLOTS (1u << FIB_S)
#define FIB_MAX_LOCAL 64u
#define FIB_LANES 16u
#define FIB_LEAF 0x80000000u             /* Poptrie dir entry: leaf, value - 1 = next hop */
#define FIB_INHERIT (-2)                 /* Poptrie leaf: take slot_best[slot] */
#define FIB_NODE 32u                     /* Poptrie node bytes */

typedef struct tfw_fib {
  /* arena (fib_arena.c) */
  uint8_t *base;
  size_t cap;                            /* bytes mapped */
  uint32_t top;                          /* bump pointer (offset) */
  uint32_t free_head[32];                /* free list per power-of-two class */
  uint64_t live;
  /* IPv4 DIR-24-8 (fib4.c) */
  uint32_t tbl24;
  uint32_t groups;
  /* IPv6 Poptrie (fib6.c) */
  uint32_t dir, heads, shortp, slot_best, dirty;
  int bulk;
  uint64_t fixed_bytes, tree_bytes, rec_bytes;
  uint32_t scratch, scratch_cap, scratch_used;
  uint32_t stage[24 * 64 * 2];           /* per-level (rib node, next hop) rows */
  /* local sets (classify.c) */
  uint32_t local4[FIB_MAX_LOCAL * 2];    /* addr & mask, mask */
  uint64_t local6[FIB_MAX_LOCAL * 4];    /* hi & mhi, lo & mlo, mhi, mlo */
  uint32_t local4_count, local6_count;
} tfw_fib;

/* ---- arena access: offsets into f->base (re-read f->base after any allocation) ---- */
static inline uint32_t fib_ld32(const tfw_fib *f, uint32_t off) {
  uint32_t v;
  memcpy(&v, f->base + off, 4);
  return v;
}
static inline int32_t fib_ldi32(const tfw_fib *f, uint32_t off) {
  int32_t v;
  memcpy(&v, f->base + off, 4);
  return v;
}
static inline uint64_t fib_ld64(const tfw_fib *f, uint32_t off) {
  uint64_t v;
  memcpy(&v, f->base + off, 8);
  return v;
}
static inline void fib_st32(tfw_fib *f, uint32_t off, uint32_t v) { memcpy(f->base + off, &v, 4); }
static inline void fib_st64(tfw_fib *f, uint32_t off, uint64_t v) { memcpy(f->base + off, &v, 8); }

/* Big-endian reads from caller memory (packets, address arrays). */
static inline uint32_t fib_be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t fib_be64(const uint8_t *p) { return ((uint64_t)fib_be32(p) << 32) | fib_be32(p + 4); }

/*
 * Poptrie walks are popcount-bound. x86-64's baseline has no POPCNT (GCC calls
 * libgcc's bit-twiddling __popcountdi2 instead), so the hot functions get a
 * POPCNT clone chosen at load time (GCC target_clones, an ifunc). arm64 has CNT.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FIB_POPCNT_CLONES __attribute__((target_clones("popcnt", "default")))
#else
#define FIB_POPCNT_CLONES
#endif

/* fib_arena.c */
tfw_fib *fib_create(void);
void fib_destroy(tfw_fib *f);
uint32_t fib_block_alloc(tfw_fib *f, uint32_t bytes);
uint32_t fib_block_alloc_zeroed(tfw_fib *f, uint32_t bytes);
void fib_block_free(tfw_fib *f, uint32_t p, uint32_t bytes);
uint32_t fib_block_size(uint32_t bytes);

/* fib4.c: DIR-24-8 */
int fib4_insert(tfw_fib *f, uint32_t ip, uint32_t depth, uint32_t nh);
void fib4_delete(tfw_fib *f, uint32_t ip, uint32_t depth, int32_t cover_nh, uint32_t cover_depth);
int32_t fib4_lookup(const tfw_fib *f, uint32_t a);
void fib4_lookup_batch(const tfw_fib *f, const uint8_t *addrs, uint32_t n, int32_t *out);
uint64_t fib4_bytes(const tfw_fib *f);

/* fib6.c / fib6_lookup.c: Poptrie */
int fib6_insert(tfw_fib *f, uint64_t hi, uint64_t lo, uint32_t len, int32_t nh, int is_new);
int fib6_delete(tfw_fib *f, uint64_t hi, uint64_t lo, uint32_t len);
int fib6_begin(tfw_fib *f);
int fib6_commit(tfw_fib *f);
uint64_t fib6_bytes(const tfw_fib *f);
int32_t fib6_lookup(const tfw_fib *f, uint64_t hi, uint64_t lo);
void fib6_lookup_batch(const tfw_fib *f, const uint8_t *addrs, uint32_t n, int32_t *out);

#endif
