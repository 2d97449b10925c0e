/*
 * Batch packet classifier of the forward kernel, the C twin of
 * wasm/forward/classify.ts: same checks, same order, same 8-byte verdicts
 * (docs/forward.md "Verdict encoding"), same in-place rewrite of forwarded
 * packets (TTL / hop limit - 1, IPv4 checksum by RFC 1624 eqn. 3).
 */
#ifndef TFW_CLASSIFY_H
#define TFW_CLASSIFY_H

#include "fib.h"

/* Local set entry i of `count` (IPv4: addr and mask host order). */
void fib_set_local4(tfw_fib *f, uint32_t i, uint32_t addr, uint32_t mask, uint32_t count);
void fib_set_local6(tfw_fib *f, uint32_t i, uint64_t hi, uint64_t lo, uint64_t mhi, uint64_t mlo, uint32_t count);

/*
 * Classifies n packets of pool[0..pool_len): desc = n x (offset u32, length u32)
 * relative to pool, out = n x (word0, word1). The pool is caller memory.
 */
void fib_classify(const tfw_fib *f, uint8_t *pool, uint64_t pool_len, const uint32_t *desc, uint32_t n, uint32_t *out);

#endif
