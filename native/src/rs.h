/* Reed-Solomon GF(2^8) (poly 0x11d) matrix-times-shards kernels. */
#ifndef TFW_RS_H
#define TFW_RS_H
#include <stddef.h>
#include <stdint.h>

/* Tables, one slot per (row r, input j), built per call by tfw_rs_encode:
 * - split-nibble kernels (SSSE3, AVX2, NEON): 32 bytes at tbl + (r*k+j)*32, 16 of c*x for x < 16, then 16 of
 *   c*(x<<4);
 * - GFNI kernels: one 8x8 GF(2) bit matrix, a uint64_t at tbl + (r*k+j)*8, in the GF2P8AFFINEQB layout (rs.c). */
typedef size_t (*tfw_rs_kernel)(const uint8_t *tbl, int rows, int k, const uint8_t *const *in, uint8_t *const *out,
                                size_t len);

extern uint8_t tfw_gf_mul[256][256];
void tfw_rs_init(void);
/* outputs[r] = sum_j matrix[r*k+j] * inputs[j] over len bytes; tbl has rows*k*32 bytes of scratch (8-byte
 * aligned). */
void tfw_rs_encode(const uint8_t *matrix, int rows, int k, const uint8_t *const *in, uint8_t *const *out, size_t len,
                   uint8_t *tbl);
/* Selects the ISA ("gfni-avx512", "gfni-avx2", "avx2", "ssse3", "neon", "scalar", or "auto" for the best the CPU
 * runs); a name the CPU lacks (or an unknown one) gives "scalar". Returns the one in use. */
const char *tfw_rs_set_isa(const char *name);
const char *tfw_rs_isa(void);
/* The 8x8 GF(2) matrix of x -> c*x for GF2P8AFFINEQB: byte 7-i holds row i, bit j of it = bit i of c*2^j (rs.c). */
uint64_t tfw_gf_affine(uint8_t c);

size_t tfw_rs_ssse3(const uint8_t *tbl, int rows, int k, const uint8_t *const *in, uint8_t *const *out, size_t len);
size_t tfw_rs_avx2(const uint8_t *tbl, int rows, int k, const uint8_t *const *in, uint8_t *const *out, size_t len);
size_t tfw_rs_gfni_avx2(const uint8_t *tbl, int rows, int k, const uint8_t *const *in, uint8_t *const *out, size_t len);
size_t tfw_rs_gfni_avx512(const uint8_t *tbl, int rows, int k, const uint8_t *const *in, uint8_t *const *out,
                          size_t len);
size_t tfw_rs_neon(const uint8_t *tbl, int rows, int k, const uint8_t *const *in, uint8_t *const *out, size_t len);
#endif
