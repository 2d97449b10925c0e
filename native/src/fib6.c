/*
 * IPv6 FIB: Poptrie (H. Asai, Y. Ohara, "Poptrie: A Compressed Trie with
 * Population Count for Fast and Scalable Software IP Routing Table Lookup",
 * SIGCOMM 2015), node for node the structure of wasm/forward/poptrie6.ts:
 * direct pointing on the top 18 bits, 6-bit strides, 32-byte nodes (vector u64,
 * leafvec u64, base0 u32 leaf array or 0 = two inline leaves at bytes 24..31,
 * base1 u32 inner-node array), INHERIT leaves answered from slot_best.
 *
 * RIB: prefixes up to /18 in `short` (one i32 array per length), longer ones in
 * a list of 32-byte records per slot (next u32, len u32, nh i32, pad, hi u64,
 * lo u64). An update rebuilds the one slot it touches (a binary trie of the
 * slot's prefixes in scratch, leaf-pushed per stride); bulk loads mark slots
 * dirty and fib6_commit rebuilds each once.
 */
#include "fib.h"

#define INLINE_LEAVES 2u
#define SHORT_BYTES (((1u << (FIB_S + 1)) - 1) * 4)
#define REC 32u

static int ensure(tfw_fib *f) {
  if (f->dir) return 1;
  uint32_t dir = fib_block_alloc(f, FIB_SLOTS * 4);
  uint32_t heads = fib_block_alloc(f, FIB_SLOTS * 4);
  uint32_t shortp = fib_block_alloc(f, SHORT_BYTES);
  uint32_t best = fib_block_alloc(f, FIB_SLOTS * 4);
  uint32_t dirty = fib_block_alloc(f, FIB_SLOTS / 8);
  if (!dir || !heads || !shortp || !best || !dirty) {
    fib_block_free(f, dir, FIB_SLOTS * 4);
    fib_block_free(f, heads, FIB_SLOTS * 4);
    fib_block_free(f, shortp, SHORT_BYTES);
    fib_block_free(f, best, FIB_SLOTS * 4);
    fib_block_free(f, dirty, FIB_SLOTS / 8);
    return 0;
  }
  f->dir = dir, f->heads = heads, f->shortp = shortp, f->slot_best = best, f->dirty = dirty;
  uint32_t *d = (uint32_t *)(f->base + dir);
  for (uint32_t i = 0; i < FIB_SLOTS; i++) d[i] = FIB_LEAF;
  memset(f->base + heads, 0, FIB_SLOTS * 4);
  memset(f->base + shortp, 0xff, SHORT_BYTES);
  memset(f->base + best, 0xff, FIB_SLOTS * 4);
  memset(f->base + dirty, 0, FIB_SLOTS / 8);
  f->fixed_bytes = (uint64_t)fib_block_size(FIB_SLOTS * 4) * 3 + fib_block_size(SHORT_BYTES) + fib_block_size(FIB_SLOTS / 8);
  return 1;
}

uint64_t fib6_bytes(const tfw_fib *f) {
  return f->fixed_bytes + f->tree_bytes + f->rec_bytes + (f->scratch ? (uint64_t)fib_block_size(f->scratch_cap * 12) : 0);
}

static inline uint32_t bit_at(uint64_t hi, uint64_t lo, uint32_t i) {
  return i < 64 ? (uint32_t)((hi >> (63 - i)) & 1) : (uint32_t)((lo >> (127 - i)) & 1);
}

/* ---- scratch binary trie: 12-byte nodes (child0, child1, nh), index 0 = null ---- */

static uint32_t scratch_node(tfw_fib *f) {
  uint32_t i = f->scratch_used++;
  uint32_t p = f->scratch + i * 12;
  fib_st64(f, p, 0);
  fib_st32(f, p + 8, (uint32_t)-1);
  return i;
}

/* Frees the subtree under node `np` (not the node itself). */
static void free_tree(tfw_fib *f, uint32_t np) {
  uint64_t vec = fib_ld64(f, np);
  uint32_t nodes = (uint32_t)__builtin_popcountll(vec);
  uint32_t leaves = (uint32_t)__builtin_popcountll(fib_ld64(f, np + 8));
  uint32_t b1 = fib_ld32(f, np + 20);
  for (uint32_t i = 0; i < nodes; i++) free_tree(f, b1 + i * FIB_NODE);
  if (nodes) {
    f->tree_bytes -= fib_block_size(nodes * FIB_NODE);
    fib_block_free(f, b1, nodes * FIB_NODE);
  }
  if (leaves > INLINE_LEAVES) {
    f->tree_bytes -= fib_block_size(leaves << 2);
    fib_block_free(f, fib_ld32(f, np + 16), leaves << 2);
  }
}

/* Leaf-pushes the scratch trie under r over 6 bits into staging row `row` (64 x (node, nh)). */
static void expand(tfw_fib *f, uint32_t *row, uint32_t r, uint32_t k, uint32_t idx, int32_t best) {
  if (r == 0) {
    uint32_t span = 1u << (6 - k), from = idx << (6 - k);
    for (uint32_t c = 0; c < span; c++) {
      row[(from + c) * 2] = 0;
      row[(from + c) * 2 + 1] = (uint32_t)best;
    }
    return;
  }
  uint32_t rp = f->scratch + r * 12;
  int32_t nh = fib_ldi32(f, rp + 8);
  if (nh >= 0) best = nh;
  uint32_t c0 = fib_ld32(f, rp), c1 = fib_ld32(f, rp + 4);
  if (k == 6) {
    row[idx * 2] = (c0 | c1) ? r : 0;
    row[idx * 2 + 1] = (uint32_t)best;
    return;
  }
  expand(f, row, c0, k + 1, idx << 1, best);
  expand(f, row, c1, k + 1, (idx << 1) | 1, best);
}

/* Builds node `np` for scratch node r at tree level `level`. 0: out of memory. */
static int build_node(tfw_fib *f, uint32_t np, uint32_t r, uint32_t level, int32_t best) {
  uint32_t *row = f->stage + level * 128;
  expand(f, row, r, 0, 0, best);
  uint64_t vec = 0, lv = 0;
  uint32_t nodes = 0, leaves = 0;
  int32_t prev = 0;
  int have_prev = 0;
  for (uint32_t c = 0; c < 64; c++) {
    if (row[c * 2] != 0) {
      vec |= 1ull << c;
      nodes++;
    } else {
      int32_t v = (int32_t)row[c * 2 + 1];
      if (!have_prev || v != prev) {
        lv |= 1ull << c;
        leaves++;
        prev = v;
        have_prev = 1;
      }
    }
  }
  uint32_t b0 = 0, b1 = 0;
  if (leaves > INLINE_LEAVES) {
    b0 = fib_block_alloc(f, leaves << 2);
    if (!b0) return 0;
    f->tree_bytes += fib_block_size(leaves << 2);
  }
  {
    /* Few runs (common on the path to a long prefix) stay in the node: one read less. */
    uint32_t la = b0 ? b0 : np + 24, j = 0;
    for (uint32_t c = 0; c < 64; c++)
      if ((lv >> c) & 1) fib_st32(f, la + ((j++) << 2), row[c * 2 + 1]);
  }
  if (nodes) {
    b1 = fib_block_alloc(f, nodes * FIB_NODE);
    if (!b1) return 0;
    f->tree_bytes += fib_block_size(nodes * FIB_NODE);
  }
  fib_st64(f, np, vec);
  fib_st64(f, np + 8, lv);
  fib_st32(f, np + 16, b0);
  fib_st32(f, np + 20, b1);
  if (nodes) {
    /* Children are built after this row is consumed: deeper levels use other rows. */
    uint32_t j = 0;
    for (uint32_t c = 0; c < 64; c++) {
      if ((vec >> c) & 1) {
        uint32_t child = b1 + (j++) * FIB_NODE;
        memset(f->base + child, 0, FIB_NODE);
        if (!build_node(f, child, row[c * 2], level + 1, (int32_t)row[c * 2 + 1])) return 0;
      }
    }
  }
  return 1;
}

static int32_t short_best(const tfw_fib *f, uint32_t s) {
  for (int l = (int)FIB_S; l >= 0; l--) {
    int32_t v = fib_ldi32(f, f->shortp + (uint32_t)(((1u << l) - 1 + (s >> (FIB_S - (uint32_t)l))) << 2));
    if (v >= 0) return v;
  }
  return -1;
}

/* Rebuilds the subtree of top-18-bit slot s from the RIB. 0: out of memory. */
static int rebuild_slot(tfw_fib *f, uint32_t s) {
  int32_t best = fib_ldi32(f, f->slot_best + (s << 2));
  uint32_t dp = f->dir + (s << 2);
  uint32_t old = fib_ld32(f, dp);
  uint32_t head = fib_ld32(f, f->heads + (s << 2));
  uint32_t nv = FIB_LEAF | (uint32_t)(best + 1);
  if (head) {
    /* Scratch capacity: one node per bit of each prefix below /18, plus the root. */
    uint32_t need = 1;
    for (uint32_t r = head; r; r = fib_ld32(f, r)) need += fib_ld32(f, r + 4) - FIB_S;
    need += 1;
    if (need > f->scratch_cap) {
      if (f->scratch) fib_block_free(f, f->scratch, f->scratch_cap * 12);
      uint32_t cap = 1024;
      while (cap < need) cap <<= 1;
      f->scratch = fib_block_alloc(f, cap * 12);
      f->scratch_cap = f->scratch ? cap : 0;
      if (!f->scratch) return 0;
    }
    f->scratch_used = 1;
    uint32_t root = scratch_node(f);
    for (uint32_t r = head; r; r = fib_ld32(f, r)) {
      uint32_t len = fib_ld32(f, r + 4);
      uint64_t hi = fib_ld64(f, r + 16), lo = fib_ld64(f, r + 24);
      uint32_t n = root;
      for (uint32_t i = FIB_S; i < len; i++) {
        uint32_t slot = f->scratch + n * 12 + (bit_at(hi, lo, i) << 2);
        uint32_t next = fib_ld32(f, slot);
        if (!next) {
          next = scratch_node(f);
          fib_st32(f, slot, next);
        }
        n = next;
      }
      fib_st32(f, f->scratch + n * 12 + 8, fib_ld32(f, r + 8));
    }
    uint32_t np = fib_block_alloc(f, FIB_NODE);
    if (!np) return 0;
    f->tree_bytes += fib_block_size(FIB_NODE);
    /* Leaves under no prefix longer than /18 say INHERIT: the lookup reads slot_best. */
    if (!build_node(f, np, root, 0, FIB_INHERIT)) return 0;
    nv = np;
  }
  fib_st32(f, dp, nv);
  if ((old & FIB_LEAF) == 0) {
    free_tree(f, old);
    f->tree_bytes -= fib_block_size(FIB_NODE);
    fib_block_free(f, old, FIB_NODE);
  }
  return 1;
}

static int touch(tfw_fib *f, uint32_t s) {
  if (f->bulk) {
    f->base[f->dirty + (s >> 3)] |= (uint8_t)(1u << (s & 7));
    return 1;
  }
  return rebuild_slot(f, s);
}

/* A prefix up to /18 changed: recompute slot_best and the leaf dir entries of its slots. */
static void update_short(tfw_fib *f, uint64_t hi, uint32_t len) {
  uint32_t first = (uint32_t)(hi >> (64 - FIB_S)), count = 1u << (FIB_S - len);
  for (uint32_t k = 0; k < count; k++) {
    uint32_t s = first + k;
    int32_t b = short_best(f, s);
    fib_st32(f, f->slot_best + (s << 2), (uint32_t)b);
    uint32_t dp = f->dir + (s << 2);
    if (fib_ld32(f, dp) & FIB_LEAF) fib_st32(f, dp, FIB_LEAF | (uint32_t)(b + 1));
  }
}

static uint32_t short_index(uint64_t hi, uint32_t len) {
  return (1u << len) - 1 + (len == 0 ? 0 : (uint32_t)(hi >> (64 - len)));
}

/* Inserts or replaces hi:lo/len -> nh (host bits clear). 0, or -1 out of memory. */
int fib6_insert(tfw_fib *f, uint64_t hi, uint64_t lo, uint32_t len, int32_t nh, int is_new) {
  if (!ensure(f)) return -1;
  if (len <= FIB_S) {
    fib_st32(f, f->shortp + (short_index(hi, len) << 2), (uint32_t)nh);
    update_short(f, hi, len);
    return 0;
  }
  uint32_t s = (uint32_t)(hi >> (64 - FIB_S));
  uint32_t hp = f->heads + (s << 2);
  if (!is_new) {
    for (uint32_t r = fib_ld32(f, hp); r; r = fib_ld32(f, r)) {
      if (fib_ld32(f, r + 4) == len && fib_ld64(f, r + 16) == hi && fib_ld64(f, r + 24) == lo) {
        fib_st32(f, r + 8, (uint32_t)nh);
        return touch(f, s) ? 0 : -1;
      }
    }
  }
  uint32_t rp = fib_block_alloc(f, REC);
  if (!rp) return -1;
  f->rec_bytes += REC;
  fib_st32(f, rp, fib_ld32(f, hp));
  fib_st32(f, rp + 4, len);
  fib_st32(f, rp + 8, (uint32_t)nh);
  fib_st64(f, rp + 16, hi);
  fib_st64(f, rp + 24, lo);
  fib_st32(f, hp, rp);
  return touch(f, s) ? 0 : -1;
}

/* Deletes hi:lo/len: 1 when present, 0 when not, -1 out of memory. */
int fib6_delete(tfw_fib *f, uint64_t hi, uint64_t lo, uint32_t len) {
  if (!f->dir) return 0;
  if (len <= FIB_S) {
    uint32_t p = f->shortp + (short_index(hi, len) << 2);
    if (fib_ldi32(f, p) < 0) return 0;
    fib_st32(f, p, (uint32_t)-1);
    update_short(f, hi, len);
    return 1;
  }
  uint32_t s = (uint32_t)(hi >> (64 - FIB_S));
  uint32_t link = f->heads + (s << 2);
  for (uint32_t r = fib_ld32(f, link); r; r = fib_ld32(f, link)) {
    if (fib_ld32(f, r + 4) == len && fib_ld64(f, r + 16) == hi && fib_ld64(f, r + 24) == lo) {
      fib_st32(f, link, fib_ld32(f, r));
      fib_block_free(f, r, REC);
      f->rec_bytes -= REC;
      return touch(f, s) ? 1 : -1;
    }
    link = r;
  }
  return 0;
}

int fib6_begin(tfw_fib *f) {
  if (!ensure(f)) return -1;
  f->bulk = 1;
  return 0;
}

/* Ends a bulk load: rebuilds every dirty slot once. 0, or -1 out of memory. */
int fib6_commit(tfw_fib *f) {
  f->bulk = 0;
  if (!f->dir) return 0;
  for (uint32_t w = 0; w < FIB_SLOTS / 8; w += 8) {
    uint64_t bits = fib_ld64(f, f->dirty + w);
    if (!bits) continue;
    fib_st64(f, f->dirty + w, 0);
    while (bits) {
      uint32_t b = (uint32_t)__builtin_ctzll(bits);
      bits &= bits - 1;
      if (!rebuild_slot(f, (w << 3) + b)) return -1;
    }
  }
  return 0;
}
