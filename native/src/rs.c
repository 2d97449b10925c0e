/*
 * Reed-Solomon arithmetic over GF(2^8) with the polynomial 0x11d
 * (x^8 + x^4 + x^3 + x^2 + 1, generator 2), as used by klauspost/reedsolomon,
 * Backblaze JavaReedSolomon and ISA-L. Matrix-agnostic: the caller supplies the
 * (encoding or decoding) matrix; this computes outputs = matrix x inputs.
 *
 * SIMD kernels use the split-nibble method: c*x = T_lo[x & 15] ^ T_hi[x >> 4],
 * each 16-entry table looked up with PSHUFB (SSSE3/AVX2) or TBL (NEON) for 16
 * or 32 bytes at once (Plank, Greenan, Miller, "Screaming Fast Galois Field
 * Arithmetic Using Intel SIMD Instructions", FAST'13).
 *
 * GFNI kernels (rs_x86.c) use that y = c*x is linear over GF(2) in the bits of
 * x, whatever the field polynomial: y = A_c x for an 8x8 bit matrix A_c whose
 * column j is c*2^j. GF2P8AFFINEQB (Intel SDM vol. 2, "GF2P8AFFINEQB -- Galois
 * Field Affine Transformation") computes, per byte x, bit i of the result as
 * parity(A.byte[7-i] AND x) XOR imm8.bit[i], A being the 64-bit lane of the
 * matrix operand; so byte 7-i of A_c is row i (bit j set iff bit i of c*2^j is
 * set) and imm8 = 0. (GFNI's GF2P8MULB multiplies modulo 0x11b, the AES
 * polynomial, so it cannot be used for 0x11d.) One instruction multiplies 32
 * or 64 bytes by one coefficient.
 *
 * The ISA is picked at run time (__builtin_cpu_supports on x86, best first:
 * gfni-avx512, gfni-avx2, avx2, ssse3; NEON is baseline on AArch64); a scalar
 * 64 KiB product table handles tails and CPUs without SIMD.
 */
#include "rs.h"

#include <string.h>

uint8_t tfw_gf_mul[256][256];
/* One kernel choice, swapped as a whole (one pointer) so that an encode on
 * another thread never pairs a kernel with the other kind of table. */
struct isa {
  const char *name;
  tfw_rs_kernel kernel; /* NULL: scalar only */
  int affine;           /* takes GF2P8AFFINEQB bit matrices instead of nibble tables (rs.h) */
};
static const struct isa ISA_SCALAR = {"scalar", NULL, 0};
#if defined(__x86_64__) || defined(__i386__)
static const struct isa ISA_GFNI_AVX512 = {"gfni-avx512", tfw_rs_gfni_avx512, 1};
static const struct isa ISA_GFNI_AVX2 = {"gfni-avx2", tfw_rs_gfni_avx2, 1};
static const struct isa ISA_AVX2 = {"avx2", tfw_rs_avx2, 0};
static const struct isa ISA_SSSE3 = {"ssse3", tfw_rs_ssse3, 0};
#elif defined(__aarch64__)
static const struct isa ISA_NEON = {"neon", tfw_rs_neon, 0};
#endif
static const struct isa *volatile cur = &ISA_SCALAR;

void tfw_rs_init(void) {
  uint8_t exp[512], log[256] = {0};
  unsigned x = 1;
  for (int i = 0; i < 255; i++) {
    exp[i] = (uint8_t)x;
    log[x] = (uint8_t)i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  for (int i = 255; i < 512; i++) exp[i] = exp[i - 255];
  for (int a = 0; a < 256; a++)
    for (int b = 0; b < 256; b++) tfw_gf_mul[a][b] = (a && b) ? exp[log[a] + log[b]] : 0;
  tfw_rs_set_isa("auto");
}

const char *tfw_rs_set_isa(const char *name) {
  int any = strcmp(name, "auto") == 0;
  const struct isa *pick = &ISA_SCALAR;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  int gfni = __builtin_cpu_supports("gfni");
  if ((any || strcmp(name, "gfni-avx512") == 0) && gfni && __builtin_cpu_supports("avx512f") &&
      __builtin_cpu_supports("avx512bw"))
    pick = &ISA_GFNI_AVX512;
  else if ((any || strcmp(name, "gfni-avx2") == 0) && gfni && __builtin_cpu_supports("avx2"))
    pick = &ISA_GFNI_AVX2;
  else if ((any || strcmp(name, "avx2") == 0) && __builtin_cpu_supports("avx2"))
    pick = &ISA_AVX2;
  else if ((any || strcmp(name, "ssse3") == 0) && __builtin_cpu_supports("ssse3"))
    pick = &ISA_SSSE3;
#elif defined(__aarch64__)
  if (any || strcmp(name, "neon") == 0) pick = &ISA_NEON;
#endif
  cur = pick;
  return pick->name;
}

const char *tfw_rs_isa(void) { return cur->name; }

uint64_t tfw_gf_affine(uint8_t c) {
  uint64_t a = 0;
  for (int j = 0; j < 8; j++) {
    uint8_t col = tfw_gf_mul[c][1 << j]; /* column j: c * 2^j */
    for (int i = 0; i < 8; i++)
      if (col >> i & 1) a |= (uint64_t)1 << (8 * (7 - i) + j);
  }
  return a;
}

static void scalar(const uint8_t *matrix, int rows, int k, const uint8_t *const *in, uint8_t *const *out, size_t from,
                   size_t len) {
  for (int r = 0; r < rows; r++) {
    uint8_t *o = out[r];
    const uint8_t *m0 = tfw_gf_mul[matrix[(size_t)r * k]];
    for (size_t b = from; b < len; b++) o[b] = m0[in[0][b]];
    for (int j = 1; j < k; j++) {
      const uint8_t *mj = tfw_gf_mul[matrix[(size_t)r * k + j]];
      const uint8_t *ij = in[j];
      for (size_t b = from; b < len; b++) o[b] ^= mj[ij[b]];
    }
  }
}

void tfw_rs_encode(const uint8_t *matrix, int rows, int k, const uint8_t *const *in, uint8_t *const *out, size_t len,
                   uint8_t *tbl) {
  const struct isa *isa = cur;
  size_t done = 0;
  if (isa->kernel && len >= 16 && isa->affine) {
    uint64_t *a = (uint64_t *)tbl;
    for (size_t i = 0; i < (size_t)rows * k; i++) a[i] = tfw_gf_affine(matrix[i]);
    done = isa->kernel(tbl, rows, k, in, out, len);
  } else if (isa->kernel && len >= 16) {
    for (int r = 0; r < rows; r++) {
      for (int j = 0; j < k; j++) {
        const uint8_t *m = tfw_gf_mul[matrix[(size_t)r * k + j]];
        uint8_t *t = tbl + ((size_t)r * k + j) * 32;
        for (int x = 0; x < 16; x++) {
          t[x] = m[x];
          t[16 + x] = m[x << 4];
        }
      }
    }
    done = isa->kernel(tbl, rows, k, in, out, len);
  }
  if (done < len) scalar(matrix, rows, k, in, out, done, len);
}
