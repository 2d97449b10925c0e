/*
 * The forward kernel's arena and block allocator, the C twin of
 * wasm/forward/alloc.ts: power-of-two size classes (16 B .. 1 GiB) with free
 * lists, fresh blocks from a bump pointer. The arena is one private anonymous
 * mapping grown with mremap (pages are committed by the kernel only when
 * written, and fresh pages read as zero, like fresh wasm memory), so a 64 MiB
 * tbl24 costs resident memory only where routes are. Blocks up to 4 KiB are
 * aligned to their size, larger ones to 4 KiB (tbl8 groups are named by
 * offset >> 10). Nothing is allocated per lookup or packet.
 */
#define _GNU_SOURCE
#include "fib.h"

#include <stdlib.h>
#include <sys/mman.h>

#define MIN_CLASS 4u
#define HEAP_BASE 64u            /* offset 0 is null; keep a small gap like wasm's data */
#define MAX_END 0x80000000ull    /* entries use bit 31 as a flag */
#define INITIAL_CAP (1u << 20)

static uint32_t class_of(uint32_t bytes) {
  uint32_t k = bytes <= 1 ? 0 : 32u - (uint32_t)__builtin_clz(bytes - 1);
  return k < MIN_CLASS ? MIN_CLASS : k;
}

uint32_t fib_block_size(uint32_t bytes) { return 1u << class_of(bytes); }

tfw_fib *fib_create(void) {
  tfw_fib *f = calloc(1, sizeof *f);
  if (!f) return NULL;
  void *m = mmap(NULL, INITIAL_CAP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) {
    free(f);
    return NULL;
  }
  f->base = m;
  f->cap = INITIAL_CAP;
  f->top = HEAP_BASE;
  return f;
}

void fib_destroy(tfw_fib *f) {
  if (!f) return;
  munmap(f->base, f->cap);
  free(f);
}

/* Maps at least `end` bytes; doubling, so a growing table moves the mapping rarely. */
static int reserve(tfw_fib *f, uint64_t end) {
  if (end <= f->cap) return 0;
  uint64_t cap = f->cap;
  while (cap < end) cap *= 2;
  if (cap > MAX_END) cap = MAX_END;
  void *m = mremap(f->base, f->cap, (size_t)cap, MREMAP_MAYMOVE);
  if (m == MAP_FAILED) {
    m = mremap(f->base, f->cap, (size_t)((end + 4095) & ~4095ull), MREMAP_MAYMOVE);
    if (m == MAP_FAILED) return -1;
    cap = (end + 4095) & ~4095ull;
  }
  f->base = m;
  f->cap = (size_t)cap;
  return 0;
}

uint32_t fib_block_alloc(tfw_fib *f, uint32_t bytes) {
  if (bytes == 0 || bytes > 0x40000000u) return 0;
  uint32_t k = class_of(bytes);
  uint32_t size = 1u << k;
  uint32_t p = f->free_head[k];
  if (p != 0) {
    f->free_head[k] = fib_ld32(f, p);
  } else {
    uint32_t align = size < 4096 ? size : 4096;
    uint64_t start = ((uint64_t)f->top + align - 1) & ~(uint64_t)(align - 1);
    uint64_t end = start + size;
    if (end > MAX_END || reserve(f, end)) return 0;
    p = (uint32_t)start;
    f->top = (uint32_t)end;
  }
  f->live += size;
  return p;
}

uint32_t fib_block_alloc_zeroed(tfw_fib *f, uint32_t bytes) {
  uint32_t k = class_of(bytes);
  int reused = f->free_head[k] != 0;
  uint32_t p = fib_block_alloc(f, bytes);
  if (p != 0 && reused) memset(f->base + p, 0, (size_t)1 << k);
  return p;
}

void fib_block_free(tfw_fib *f, uint32_t p, uint32_t bytes) {
  if (p == 0) return;
  uint32_t k = class_of(bytes);
  fib_st32(f, p, f->free_head[k]);
  f->free_head[k] = p;
  f->live -= (uint64_t)1 << k;
}
