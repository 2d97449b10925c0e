/* Reed-Solomon GF(2^8) (poly 0x11d) matrix-times-shards kernels. */
#ifndef TFW_RS_H
#define TFW_RS_H
#include <stddef.h>
#include <stdint.h>

/* Split-nibble tables: for each (row r, input j) 32 bytes: 16 of c*x for x < 16, then 16 of c*(x<<4). */
typedef size_t (*tfw_rs_kernel)(const uint8_t *tbl, int rows, int k, const uint8_t *const *in, uint8_t *const *out,
                                size_t len);

extern uint8_t tfw_gf_mul[256][256];
void tfw_rs_init(void);
/* outputs[r] = sum_j matrix[r*k+j] * inputs[j] over len bytes; tbl has rows*k*32 bytes of scratch. */
void tfw_rs_encode(const uint8_t *matrix, int rows, int k, const uint8_t *const *in, uint8_t *const *out, size_t len,
                   uint8_t *tbl);
/* Selects the ISA ("avx2", "ssse3", "neon", "scalar", or "auto"); returns the one in use. */
const char *tfw_rs_set_isa(const char *name);
const char *tfw_rs_isa(void);

size_t tfw_rs_ssse3(const uint8_t *tbl, int rows, int k, const uint8_t *const *in, uint8_t *const *out, size_t len);
size_t tfw_rs_avx2(const uint8_t *tbl, int rows, int k, const uint8_t *const *in, uint8_t *const *out, size_t len);
size_t tfw_rs_neon(const uint8_t *tbl, int rows, int k, const uint8_t *const *in, uint8_t *const *out, size_t len);
#endif
