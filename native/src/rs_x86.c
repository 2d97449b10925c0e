/* SSSE3 and AVX2 split-nibble GF(2^8) kernels (PSHUFB), see rs.c. Up to four
 * output rows share each load of an input vector. Returns the bytes done. */
#include "rs.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define GROUP 4

__attribute__((target("ssse3"))) size_t tfw_rs_ssse3(const uint8_t *tbl, int rows, int k, const uint8_t *const *in,
                                                     uint8_t *const *out, size_t len) {
  size_t n = len & ~(size_t)15;
  const __m128i mask = _mm_set1_epi8(0x0f);
  for (int r0 = 0; r0 < rows; r0 += GROUP) {
    int nr = rows - r0 < GROUP ? rows - r0 : GROUP;
    for (size_t b = 0; b < n; b += 16) {
      __m128i acc[GROUP] = {_mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128()};
      for (int j = 0; j < k; j++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(in[j] + b));
        __m128i lo = _mm_and_si128(x, mask);
        __m128i hi = _mm_and_si128(_mm_srli_epi64(x, 4), mask);
        for (int q = 0; q < nr; q++) {
          const uint8_t *t = tbl + ((size_t)(r0 + q) * k + j) * 32;
          __m128i pl = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)t), lo);
          __m128i ph = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(t + 16)), hi);
          acc[q] = _mm_xor_si128(acc[q], _mm_xor_si128(pl, ph));
        }
      }
      for (int q = 0; q < nr; q++) _mm_storeu_si128((__m128i *)(out[r0 + q] + b), acc[q]);
    }
  }
  return n;
}

__attribute__((target("avx2"))) size_t tfw_rs_avx2(const uint8_t *tbl, int rows, int k, const uint8_t *const *in,
                                                   uint8_t *const *out, size_t len) {
  size_t n = len & ~(size_t)31;
  const __m256i mask = _mm256_set1_epi8(0x0f);
  for (int r0 = 0; r0 < rows; r0 += GROUP) {
    int nr = rows - r0 < GROUP ? rows - r0 : GROUP;
    for (size_t b = 0; b < n; b += 32) {
      __m256i acc[GROUP] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
      for (int j = 0; j < k; j++) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(in[j] + b));
        __m256i lo = _mm256_and_si256(x, mask);
        __m256i hi = _mm256_and_si256(_mm256_srli_epi64(x, 4), mask);
        for (int q = 0; q < nr; q++) {
          const uint8_t *t = tbl + ((size_t)(r0 + q) * k + j) * 32;
          __m256i tl = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)t));
          __m256i th = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(t + 16)));
          acc[q] = _mm256_xor_si256(acc[q], _mm256_xor_si256(_mm256_shuffle_epi8(tl, lo), _mm256_shuffle_epi8(th, hi)));
        }
      }
      for (int q = 0; q < nr; q++) _mm256_storeu_si256((__m256i *)(out[r0 + q] + b), acc[q]);
    }
  }
  /* a 16-byte step for the rest */
  if (len - n >= 16) {
    const uint8_t *in2[256];
    uint8_t *out2[256];
    for (int j = 0; j < k; j++) in2[j] = in[j] + n;
    for (int r = 0; r < rows; r++) out2[r] = out[r] + n;
    n += tfw_rs_ssse3(tbl, rows, k, in2, out2, len - n);
  }
  return n;
}
#else
size_t tfw_rs_ssse3(const uint8_t *tbl, int rows, int k, const uint8_t *const *in, uint8_t *const *out, size_t len) { return 0; }
size_t tfw_rs_avx2(const uint8_t *tbl, int rows, int k, const uint8_t *const *in, uint8_t *const *out, size_t len) { return 0; }
#endif
