/* SSSE3 and AVX2 split-nibble GF(2^8) kernels (PSHUFB), and GFNI kernels
 * (GF2P8AFFINEQB with one bit matrix per coefficient, AVX-512 and AVX2
 * widths), see rs.c. Up to four output rows share each load of an input
 * vector. Returns the bytes done (the caller does the rest in scalar). */
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
/* GFNI kernels. tbl holds one GF2P8AFFINEQB matrix per coefficient (rs.h);
 * _mm*_gf2p8affine_epi64_epi8(x, A, 0) is A_c x per byte, i.e. c*x. */

/* With more than GROUP output rows the inputs are read once per group of
 * rows: go through the length in blocks of BLOCK bytes so that k input blocks
 * stay in L2 (k = 256 x 8 KiB = 2 MiB at worst, 80 KiB for k = 10) between
 * groups. With <= GROUP rows one pass streams everything once. */
#define BLOCK 8192

/* out[r0..r0+NR)[b..end) for NR constant: 128 bytes (two vectors) per step,
 * then 64, then (AVX-512BW masked loads/stores, which neither fault on nor
 * write the bytes outside the mask) whatever is left, to the byte. */
#define GFNI512_ROWS(NR)                                                                                              \
  static inline __attribute__((always_inline, target("gfni,avx512f,avx512bw"))) void gfni512_rows##NR(                \
      const uint64_t *mat, int k, const uint8_t *const *in, uint8_t *const *out, size_t b, size_t end) {             \
    for (; b + 128 <= end; b += 128) {                                                                               \
      __m512i a0[NR], a1[NR];                                                                                        \
      for (int q = 0; q < NR; q++) a0[q] = a1[q] = _mm512_setzero_si512();                                           \
      for (int j = 0; j < k; j++) {                                                                                  \
        __m512i x0 = _mm512_loadu_si512((const void *)(in[j] + b));                                                   \
        __m512i x1 = _mm512_loadu_si512((const void *)(in[j] + b + 64));                                              \
        for (int q = 0; q < NR; q++) {                                                                               \
          __m512i m = _mm512_set1_epi64((long long)mat[(size_t)q * k + j]);                                          \
          a0[q] = _mm512_xor_si512(a0[q], _mm512_gf2p8affine_epi64_epi8(x0, m, 0));                                  \
          a1[q] = _mm512_xor_si512(a1[q], _mm512_gf2p8affine_epi64_epi8(x1, m, 0));                                  \
        }                                                                                                            \
      }                                                                                                              \
      for (int q = 0; q < NR; q++) {                                                                                 \
        _mm512_storeu_si512((void *)(out[q] + b), a0[q]);                                                            \
        _mm512_storeu_si512((void *)(out[q] + b + 64), a1[q]);                                                       \
      }                                                                                                              \
    }                                                                                                                \
    while (b < end) {                                                                                                \
      __mmask64 km = end - b >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << (end - b)) - 1;                                \
      __m512i a0[NR];                                                                                                \
      for (int q = 0; q < NR; q++) a0[q] = _mm512_setzero_si512();                                                  \
      for (int j = 0; j < k; j++) {                                                                                  \
        __m512i x0 = _mm512_maskz_loadu_epi8(km, (const void *)(in[j] + b));                                          \
        for (int q = 0; q < NR; q++)                                                                                 \
          a0[q] = _mm512_xor_si512(                                                                                  \
              a0[q], _mm512_gf2p8affine_epi64_epi8(x0, _mm512_set1_epi64((long long)mat[(size_t)q * k + j]), 0));    \
      }                                                                                                              \
      for (int q = 0; q < NR; q++) _mm512_mask_storeu_epi8((void *)(out[q] + b), km, a0[q]);                         \
      b += end - b >= 64 ? 64 : end - b;                                                                             \
    }                                                                                                                \
  }
GFNI512_ROWS(1)
GFNI512_ROWS(2)
GFNI512_ROWS(3)
GFNI512_ROWS(4)

__attribute__((target("gfni,avx512f,avx512bw"))) size_t tfw_rs_gfni_avx512(const uint8_t *tbl, int rows, int k,
                                                                         const uint8_t *const *in, uint8_t *const *out,
                                                                         size_t len) {
  const uint64_t *mat = (const uint64_t *)tbl;
  /* A first, masked, step up to out[0]'s next 64-byte boundary: shards usually
   * share their offset mod 64 (malloc/mmap), and unaligned 64-byte loads and
   * stores, each touching two cache lines, halved the speed on the EPYC these
   * were measured on (docs/native.md). */
  size_t head = (size_t)(-(uintptr_t)out[0] & 63);
  size_t step = rows <= GROUP ? len : BLOCK;
  for (size_t b = 0, end; b < len; b = end) {
    end = b == 0 && head ? head : b + step;
    if (end > len) end = len;
    for (int r0 = 0; r0 < rows; r0 += GROUP) {
      const uint64_t *m = mat + (size_t)r0 * k;
      switch (rows - r0) {
      case 1: gfni512_rows1(m, k, in, out + r0, b, end); break;
      case 2: gfni512_rows2(m, k, in, out + r0, b, end); break;
      case 3: gfni512_rows3(m, k, in, out + r0, b, end); break;
      default: gfni512_rows4(m, k, in, out + r0, b, end); break;
      }
    }
  }
  return len;
}

/* The same with 32-byte AVX2 vectors: 64 bytes (two vectors) per step, then
 * 32, then 16 (VEX-encoded 128-bit GF2P8AFFINEQB); returns the bytes done. */
#define GFNI256_ROWS(NR)                                                                                              \
  static inline __attribute__((always_inline, target("gfni,avx2"))) void gfni256_rows##NR(                            \
      const uint64_t *mat, int k, const uint8_t *const *in, uint8_t *const *out, size_t b, size_t end) {             \
    for (; b + 64 <= end; b += 64) {                                                                                 \
      __m256i a0[NR], a1[NR];                                                                                        \
      for (int q = 0; q < NR; q++) a0[q] = a1[q] = _mm256_setzero_si256();                                           \
      for (int j = 0; j < k; j++) {                                                                                  \
        __m256i x0 = _mm256_loadu_si256((const __m256i *)(in[j] + b));                                                \
        __m256i x1 = _mm256_loadu_si256((const __m256i *)(in[j] + b + 32));                                           \
        for (int q = 0; q < NR; q++) {                                                                               \
          __m256i m = _mm256_set1_epi64x((long long)mat[(size_t)q * k + j]);                                         \
          a0[q] = _mm256_xor_si256(a0[q], _mm256_gf2p8affine_epi64_epi8(x0, m, 0));                                  \
          a1[q] = _mm256_xor_si256(a1[q], _mm256_gf2p8affine_epi64_epi8(x1, m, 0));                                  \
        }                                                                                                            \
      }                                                                                                              \
      for (int q = 0; q < NR; q++) {                                                                                 \
        _mm256_storeu_si256((__m256i *)(out[q] + b), a0[q]);                                                         \
        _mm256_storeu_si256((__m256i *)(out[q] + b + 32), a1[q]);                                                    \
      }                                                                                                              \
    }                                                                                                                \
    if (b + 32 <= end) {                                                                                             \
      __m256i a0[NR];                                                                                                \
      for (int q = 0; q < NR; q++) a0[q] = _mm256_setzero_si256();                                                   \
      for (int j = 0; j < k; j++) {                                                                                  \
        __m256i x0 = _mm256_loadu_si256((const __m256i *)(in[j] + b));                                                \
        for (int q = 0; q < NR; q++)                                                                                 \
          a0[q] = _mm256_xor_si256(                                                                                  \
              a0[q], _mm256_gf2p8affine_epi64_epi8(x0, _mm256_set1_epi64x((long long)mat[(size_t)q * k + j]), 0));   \
      }                                                                                                              \
      for (int q = 0; q < NR; q++) _mm256_storeu_si256((__m256i *)(out[q] + b), a0[q]);                              \
      b += 32;                                                                                                       \
    }                                                                                                                \
    if (b + 16 <= end) {                                                                                             \
      __m128i a0[NR];                                                                                                \
      for (int q = 0; q < NR; q++) a0[q] = _mm_setzero_si128();                                                      \
      for (int j = 0; j < k; j++) {                                                                                  \
        __m128i x0 = _mm_loadu_si128((const __m128i *)(in[j] + b));                                                   \
        for (int q = 0; q < NR; q++)                                                                                 \
          a0[q] = _mm_xor_si128(a0[q],                                                                               \
                                _mm_gf2p8affine_epi64_epi8(x0, _mm_set1_epi64x((long long)mat[(size_t)q * k + j]), 0)); \
      }                                                                                                              \
      for (int q = 0; q < NR; q++) _mm_storeu_si128((__m128i *)(out[q] + b), a0[q]);                                 \
    }                                                                                                                \
  }
GFNI256_ROWS(1)
GFNI256_ROWS(2)
GFNI256_ROWS(3)
GFNI256_ROWS(4)

__attribute__((target("gfni,avx2"))) size_t tfw_rs_gfni_avx2(const uint8_t *tbl, int rows, int k,
                                                           const uint8_t *const *in, uint8_t *const *out, size_t len) {
  const uint64_t *mat = (const uint64_t *)tbl;
  /* As above, 32-byte aligned stores from out[0]'s first boundary on: bytes
   * [0, 32) are done first, then [head, ...) (the few bytes done twice get the
   * same values: outputs never overlap inputs). BLOCK is a multiple of 64, so
   * only the last block has a 16/32-byte tail; the caller does the last < 16. */
  size_t head = len >= 64 ? (size_t)(-(uintptr_t)out[0] & 31) : 0; /* then n >= head + 32 >= 32 */
  size_t n = head + ((len - head) & ~(size_t)15);
  size_t step = rows <= GROUP ? n : BLOCK;
  for (size_t b = 0, end; b < n; b = b == 0 && head ? head : end) {
    end = b == 0 && head ? 32 : b + step;
    if (end > n) end = n;
    for (int r0 = 0; r0 < rows; r0 += GROUP) {
      const uint64_t *m = mat + (size_t)r0 * k;
      switch (rows - r0) {
      case 1: gfni256_rows1(m, k, in, out + r0, b, end); break;
      case 2: gfni256_rows2(m, k, in, out + r0, b, end); break;
      case 3: gfni256_rows3(m, k, in, out + r0, b, end); break;
      default: gfni256_rows4(m, k, in, out + r0, b, end); break;
      }
    }
  }
  return n;
}
#else
size_t tfw_rs_ssse3(const uint8_t *tbl, int rows, int k, const uint8_t *const *in, uint8_t *const *out, size_t len) { return 0; }
size_t tfw_rs_avx2(const uint8_t *tbl, int rows, int k, const uint8_t *const *in, uint8_t *const *out, size_t len) { return 0; }
size_t tfw_rs_gfni_avx2(const uint8_t *tbl, int rows, int k, const uint8_t *const *in, uint8_t *const *out, size_t len) { return 0; }
size_t tfw_rs_gfni_avx512(const uint8_t *tbl, int rows, int k, const uint8_t *const *in, uint8_t *const *out,
                          size_t len) { return 0; }
#endif
