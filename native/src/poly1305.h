/* Internal: Poly1305 (RFC 8439 section 2.5) as the AEAD (chacha20poly1305.c) drives it: h and r in
 * 44/44/42-bit limbs, blocks absorbed incrementally. poly1305.c; the AVX2 kernel is poly1305_x86.c. */
#ifndef TFW_POLY1305_H
#define TFW_POLY1305_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t r0, r1, r2, s1, s2, h0, h1, h2, pad0, pad1;
  uint64_t q0, q1, q2, t1, t2; /* r^2 (partially reduced) and its *20 multiples */
  uint32_t pw[4][5];            /* r^1..r^4 in 26-bit limbs for the SIMD kernel, once pw_ready */
  int pw_ready;
} tfw_poly;

/* r (clamped, section 2.5.1) and s from the 32-byte one-time key; h = 0. */
void tfw_poly_init(tfw_poly *p, const uint8_t key[32]);
/* Absorbs len/16 full blocks; hibit = 1<<40 for full blocks (the 2^128 bit), 0 for a padded final one. */
void tfw_poly_blocks(tfw_poly *p, const uint8_t *m, size_t len, uint64_t hibit);
/* Absorbs data zero-padded to a multiple of 16 (the AEAD's pad16, section 2.8). */
void tfw_poly_padded(tfw_poly *p, const uint8_t *m, size_t len);
/* tag = (h mod 2^130-5) + s mod 2^128. */
void tfw_poly_finish(tfw_poly *p, uint8_t tag[16]);
/* 1: long runs of full blocks go to tfw_poly1305_avx2 (the caller checked the CPU has AVX2). */
void tfw_poly_use_simd(int on);
#endif
