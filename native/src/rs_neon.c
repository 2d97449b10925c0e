/* NEON split-nibble GF(2^8) kernel (TBL: vqtbl1q_u8), see rs.c. AArch64 only. */
#include "rs.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#define GROUP 4

size_t tfw_rs_neon(const uint8_t *tbl, int rows, int k, const uint8_t *const *in, uint8_t *const *out, size_t len) {
  size_t n = len & ~(size_t)15;
  const uint8x16_t mask = vdupq_n_u8(0x0f);
  for (int r0 = 0; r0 < rows; r0 += GROUP) {
    int nr = rows - r0 < GROUP ? rows - r0 : GROUP;
    for (size_t b = 0; b < n; b += 16) {
      uint8x16_t acc[GROUP] = {vdupq_n_u8(0), vdupq_n_u8(0), vdupq_n_u8(0), vdupq_n_u8(0)};
      for (int j = 0; j < k; j++) {
        uint8x16_t x = vld1q_u8(in[j] + b);
        uint8x16_t lo = vandq_u8(x, mask);
        uint8x16_t hi = vshrq_n_u8(x, 4);
        for (int q = 0; q < nr; q++) {
          const uint8_t *t = tbl + ((size_t)(r0 + q) * k + j) * 32;
          acc[q] = veorq_u8(acc[q], veorq_u8(vqtbl1q_u8(vld1q_u8(t), lo), vqtbl1q_u8(vld1q_u8(t + 16), hi)));
        }
      }
      for (int q = 0; q < nr; q++) vst1q_u8(out[r0 + q] + b, acc[q]);
    }
  }
  return n;
}
#else
size_t tfw_rs_neon(const uint8_t *tbl, int rows, int k, const uint8_t *const *in, uint8_t *const *out, size_t len) { return 0; }
#endif
