/*
 * Reed-Solomon arithmetic over GF(2^8) with the polynomial 0x11d
 * (x^8 + x^4 + x^3 + x^2 + 1, generator 2), as used by klauspost/reedsolomon,
 * Backblaze JavaReedSolomon and ISA-L. Matrix-agnostic: the caller supplies the
 * (encoding or decoding) matrix; this computes outputs = matrix x inputs.
 *
 * SIMD kernels use the split-nibble method: c*x = T_lo[x & 15] ^ T_hi[x >> 4],
 * each 16-entry table looked up with PSHUFB (SSSE3/AVX2) or TBL (NEON) for 16
 * or 32 bytes at once (Plank, Greenan, Miller, "Screaming Fast Galois Field
 * Arithmetic Using Intel SIMD Instructions", FAST'13). The ISA is picked at run
 * time (__builtin_cpu_supports on x86; NEON is baseline on AArch64); a scalar
 * 64 KiB product table handles tails and CPUs without SIMD.
 */
#include "rs.h"

#include <string.h>

uint8_t tfw_gf_mul[256][256];
static tfw_rs_kernel kernel;
static const char *kernel_name = "scalar";

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
  kernel = NULL;
  kernel_name = "scalar";
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if ((any || strcmp(name, "avx2") == 0) && __builtin_cpu_supports("avx2")) {
    kernel = tfw_rs_avx2;
    kernel_name = "avx2";
  } else if ((any || strcmp(name, "ssse3") == 0) && __builtin_cpu_supports("ssse3")) {
    kernel = tfw_rs_ssse3;
    kernel_name = "ssse3";
  }
#elif defined(__aarch64__)
  if (any || strcmp(name, "neon") == 0) {
    kernel = tfw_rs_neon;
    kernel_name = "neon";
  }
#endif
  return kernel_name;
}

const char *tfw_rs_isa(void) { return kernel_name; }

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
  size_t done = 0;
  if (kernel && len >= 16) {
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
    done = kernel(tbl, rows, k, in, out, len);
  }
  if (done < len) scalar(matrix, rows, k, in, out, done, len);
}
