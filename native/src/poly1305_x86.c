/*
 * Poly1305 (RFC 8439 section 2.5) with AVX2, four blocks per step: the
 * vectorisation of Goll and Gueron ("Vectorization of Poly1305 message
 * authentication code", ITNG 2015), written afresh here. Contract in
 * aead_simd.h; poly1305.c uses it for long runs of full blocks.
 *
 * The accumulator is split over four 64-bit lanes: lane j takes blocks j,
 * j+4, j+8, ... and runs Horner's rule with r^4,
 *     A_j <- (A_j + m_{4k+j}) * r^4,
 * except that the last step multiplies lane j by r^(4-j) instead, so that
 * A_0 + A_1 + A_2 + A_3 = sum_i m_i r^(n-i), the scalar result (the incoming
 * h joins block 0). Numbers mod 2^130-5 are five 26-bit limbs, one limb per
 * vector, so VPMULUDQ (32x32 -> 64-bit, Intel SDM vol. 2) forms the 25
 * partial products; 2^130 = 5 mod p folds limb products past 2^130 back with
 * factor 5 (s_i = 5 r_i). Carries are propagated lazily (two interleaved
 * chains), leaving limbs a little over 2^26, well inside the 64-bit sums
 * (each < 5 * 2^28 * 2^29). No branch or index depends on secret data.
 */
#include "aead_simd.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))
#define M26 0x3ffffffULL
#define M44 0xfffffffffffULL
#define M42 0x3ffffffffffULL

/* h <- h * r mod 2^130-5 per lane (h: five limbs; s[i] = 5 r[i]), lazily carried. */
AVX2 static inline void mul_r(__m256i h[5], const __m256i r[5], const __m256i s[5]) {
#define MUL _mm256_mul_epu32
#define ADD _mm256_add_epi64
  __m256i d0 = ADD(ADD(ADD(MUL(h[0], r[0]), MUL(h[1], s[4])), ADD(MUL(h[2], s[3]), MUL(h[3], s[2]))), MUL(h[4], s[1]));
  __m256i d1 = ADD(ADD(ADD(MUL(h[0], r[1]), MUL(h[1], r[0])), ADD(MUL(h[2], s[4]), MUL(h[3], s[3]))), MUL(h[4], s[2]));
  __m256i d2 = ADD(ADD(ADD(MUL(h[0], r[2]), MUL(h[1], r[1])), ADD(MUL(h[2], r[0]), MUL(h[3], s[4]))), MUL(h[4], s[3]));
  __m256i d3 = ADD(ADD(ADD(MUL(h[0], r[3]), MUL(h[1], r[2])), ADD(MUL(h[2], r[1]), MUL(h[3], r[0]))), MUL(h[4], s[4]));
  __m256i d4 = ADD(ADD(ADD(MUL(h[0], r[4]), MUL(h[1], r[3])), ADD(MUL(h[2], r[2]), MUL(h[3], r[1]))), MUL(h[4], r[0]));
  const __m256i m = _mm256_set1_epi64x((long long)M26);
  __m256i c;
  c = _mm256_srli_epi64(d0, 26); d0 = _mm256_and_si256(d0, m); d1 = ADD(d1, c);
  c = _mm256_srli_epi64(d3, 26); d3 = _mm256_and_si256(d3, m); d4 = ADD(d4, c);
  c = _mm256_srli_epi64(d1, 26); d1 = _mm256_and_si256(d1, m); d2 = ADD(d2, c);
  c = _mm256_srli_epi64(d4, 26); d4 = _mm256_and_si256(d4, m); d0 = ADD(d0, ADD(c, _mm256_slli_epi64(c, 2)));
  c = _mm256_srli_epi64(d2, 26); d2 = _mm256_and_si256(d2, m); d3 = ADD(d3, c);
  c = _mm256_srli_epi64(d0, 26); d0 = _mm256_and_si256(d0, m); d1 = ADD(d1, c);
  c = _mm256_srli_epi64(d3, 26); d3 = _mm256_and_si256(d3, m); d4 = ADD(d4, c);
  h[0] = d0; h[1] = d1; h[2] = d2; h[3] = d3; h[4] = d4;
#undef MUL
#undef ADD
}

/* Adds blocks 0..3 of m (64 bytes) to lanes 0, 2, 1, 3 (the order UNPCKLQDQ leaves them in), 2^128 bit set. */
AVX2 static inline void add_blocks(__m256i h[5], const uint8_t *m) {
  const __m256i v0 = _mm256_loadu_si256((const __m256i *)m), v1 = _mm256_loadu_si256((const __m256i *)(m + 32));
  const __m256i lo = _mm256_unpacklo_epi64(v0, v1), hi = _mm256_unpackhi_epi64(v0, v1); /* bits 0..63, 64..127 */
  const __m256i mask = _mm256_set1_epi64x((long long)M26);
  h[0] = _mm256_add_epi64(h[0], _mm256_and_si256(lo, mask));
  h[1] = _mm256_add_epi64(h[1], _mm256_and_si256(_mm256_srli_epi64(lo, 26), mask));
  h[2] = _mm256_add_epi64(h[2], _mm256_and_si256(_mm256_or_si256(_mm256_srli_epi64(lo, 52), _mm256_slli_epi64(hi, 12)), mask));
  h[3] = _mm256_add_epi64(h[3], _mm256_and_si256(_mm256_srli_epi64(hi, 14), mask));
  h[4] = _mm256_add_epi64(h[4], _mm256_or_si256(_mm256_srli_epi64(hi, 40), _mm256_set1_epi64x(1 << 24)));
}

AVX2 static inline uint64_t lane_sum(__m256i v) {
  __m128i x = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  return (uint64_t)_mm_cvtsi128_si64(_mm_add_epi64(x, _mm_unpackhi_epi64(x, x)));
}

AVX2 size_t tfw_poly1305_avx2(uint64_t h[3], const uint32_t pw[4][5], const uint8_t *m, size_t len) {
  size_t n = len / 64;
  if (n == 0) return 0;
  /* h (44/44/42) -> 26-bit limbs, value-preserving (additions, not masks, on the top pieces) */
  uint64_t h0 = h[0], h1 = h[1], h2 = h[2];
  __m256i a[5], r[5], s[5], fr[5], fs[5];
  const uint64_t l[5] = {h0 & M26, (h0 >> 26) + ((h1 & 0xff) << 18), (h1 >> 8) & M26, (h1 >> 34) + ((h2 & 0xffff) << 10), h2 >> 16};
  for (int i = 0; i < 5; i++) {
    a[i] = _mm256_set_epi64x(0, 0, 0, (long long)l[i]);
    r[i] = _mm256_set1_epi64x(pw[3][i]);
    s[i] = _mm256_set1_epi64x(5 * (long long)pw[3][i]);
    /* lanes hold blocks 0, 2, 1, 3 of each group: last multipliers r^4, r^2, r^3, r^1 */
    fr[i] = _mm256_set_epi64x(pw[0][i], pw[2][i], pw[1][i], pw[3][i]);
    fs[i] = _mm256_set_epi64x(5 * (long long)pw[0][i], 5 * (long long)pw[2][i], 5 * (long long)pw[1][i], 5 * (long long)pw[3][i]);
  }
  for (size_t k = 0; k + 1 < n; k++) {
    add_blocks(a, m + 64 * k);
    mul_r(a, r, s);
  }
  add_blocks(a, m + 64 * (n - 1));
  mul_r(a, fr, fs);
  /* sum the lanes (each limb sum < 2^30) and repack into 44/44/42-bit limbs, carried */
  uint64_t L0 = lane_sum(a[0]), L1 = lane_sum(a[1]), L2 = lane_sum(a[2]), L3 = lane_sum(a[3]), L4 = lane_sum(a[4]);
  unsigned __int128 t = (unsigned __int128)L0 + ((unsigned __int128)L1 << 26);
  h0 = (uint64_t)t & M44;
  t = (t >> 44) + ((unsigned __int128)L2 << 8) + ((unsigned __int128)L3 << 34);
  h1 = (uint64_t)t & M44;
  t = (t >> 44) + ((unsigned __int128)L4 << 16);
  h2 = (uint64_t)t & M42;
  h0 += (uint64_t)(t >> 42) * 5;
  h1 += h0 >> 44;
  h0 &= M44;
  h[0] = h0;
  h[1] = h1;
  h[2] = h2;
  return 64 * n;
}
#else
size_t tfw_poly1305_avx2(uint64_t h[3], const uint32_t pw[4][5], const uint8_t *m, size_t len) { return 0; }
#endif
