/*
 * ChaCha20 (RFC 8439 sections 2.1-2.4) on x86-64 with AVX2 (8 blocks per
 * step) and AVX-512F (16 blocks per step), chosen at run time by
 * chacha20poly1305.c; the contract is in aead_simd.h.
 *
 * Layout ("vertical", one block per 32-bit lane): vector x[i] holds state word
 * i of 8 (16) consecutive blocks whose counters differ by the lane number, so
 * the quarter rounds of section 2.1 run unchanged on whole vectors. Rotations
 * by 16 and 8 are byte shuffles (VPSHUFB) on AVX2, the others two shifts and
 * an OR; AVX-512F has a rotate (VPROLD, Intel SDM vol. 2). After the 20 rounds
 * and the final addition of the input state (section 2.3), a 4x4 transpose of
 * 32-bit words inside each 128-bit lane (UNPCKL/HDQ, UNPCKL/HQDQ) and a
 * transpose of 128-bit lanes (VPERM2I128 / VSHUFI32X4) turn the words back
 * into 64-byte blocks, XORed into the message with unaligned loads and stores.
 */
#include "aead_simd.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define AVX2 __attribute__((target("avx2")))
#define AVX512 __attribute__((target("avx512f")))

/* ---- AVX2: 8 blocks ---- */

AVX2 static inline __m256i rol16_256(__m256i x) {
  const __m256i m = _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11,
                                     8, 9, 14, 15, 12, 13);
  return _mm256_shuffle_epi8(x, m);
}
AVX2 static inline __m256i rol8_256(__m256i x) {
  const __m256i m = _mm256_setr_epi8(3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14, 3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9,
                                     10, 15, 12, 13, 14);
  return _mm256_shuffle_epi8(x, m);
}
#define ROL256(x, n) _mm256_or_si256(_mm256_slli_epi32(x, n), _mm256_srli_epi32(x, 32 - (n)))

/* Quarter round (section 2.1) on 8 blocks. */
#define QR8(a, b, c, d)                                                                                 \
  a = _mm256_add_epi32(a, b); d = rol16_256(_mm256_xor_si256(d, a));                                   \
  c = _mm256_add_epi32(c, d); b = _mm256_xor_si256(b, c); b = ROL256(b, 12);                           \
  a = _mm256_add_epi32(a, b); d = rol8_256(_mm256_xor_si256(d, a));                                    \
  c = _mm256_add_epi32(c, d); b = _mm256_xor_si256(b, c); b = ROL256(b, 7);

/* Blocks s[12]+counter_add .. +7: x[i] = word i of each block after the final addition. */
AVX2 static inline void blocks8(const uint32_t s[16], uint32_t counter_add, __m256i x[16]) {
  const __m256i ctr = _mm256_add_epi32(_mm256_set1_epi32((int)(s[12] + counter_add)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  for (int i = 0; i < 16; i++) x[i] = _mm256_set1_epi32((int)s[i]);
  x[12] = ctr;
  for (int r = 0; r < 10; r++) {
    QR8(x[0], x[4], x[8], x[12]) QR8(x[1], x[5], x[9], x[13]) QR8(x[2], x[6], x[10], x[14]) QR8(x[3], x[7], x[11], x[15])
    QR8(x[0], x[5], x[10], x[15]) QR8(x[1], x[6], x[11], x[12]) QR8(x[2], x[7], x[8], x[13]) QR8(x[3], x[4], x[9], x[14])
  }
  for (int i = 0; i < 16; i++) x[i] = _mm256_add_epi32(x[i], i == 12 ? ctr : _mm256_set1_epi32((int)s[i]));
}

/* 4x4 transpose of 32-bit words within each 128-bit lane: afterwards a, b, c, d hold, per lane,
 * the four words (of the group) of the lane's 1st, 2nd, 3rd, 4th block. */
AVX2 static inline void tr4_256(__m256i *a, __m256i *b, __m256i *c, __m256i *d) {
  __m256i t0 = _mm256_unpacklo_epi32(*a, *b), t1 = _mm256_unpackhi_epi32(*a, *b);
  __m256i t2 = _mm256_unpacklo_epi32(*c, *d), t3 = _mm256_unpackhi_epi32(*c, *d);
  *a = _mm256_unpacklo_epi64(t0, t2);
  *b = _mm256_unpackhi_epi64(t0, t2);
  *c = _mm256_unpacklo_epi64(t1, t3);
  *d = _mm256_unpackhi_epi64(t1, t3);
}

/* Words -> 8 blocks of 512 bytes: out = in ^ keystream, or out = keystream when in is NULL. */
AVX2 static inline void emit8(__m256i x[16], const uint8_t *in, uint8_t *out) {
  tr4_256(&x[0], &x[1], &x[2], &x[3]);
  tr4_256(&x[4], &x[5], &x[6], &x[7]);
  tr4_256(&x[8], &x[9], &x[10], &x[11]);
  tr4_256(&x[12], &x[13], &x[14], &x[15]);
  for (int j = 0; j < 4; j++) {
    /* block j: words 0..7 from the low lanes of groups 0 and 1, 8..15 of groups 2 and 3; block j+4: high lanes */
    __m256i k[4] = {_mm256_permute2x128_si256(x[j], x[4 + j], 0x20), _mm256_permute2x128_si256(x[8 + j], x[12 + j], 0x20),
                    _mm256_permute2x128_si256(x[j], x[4 + j], 0x31), _mm256_permute2x128_si256(x[8 + j], x[12 + j], 0x31)};
    size_t off[4] = {64 * j, 64 * j + 32, 64 * (j + 4), 64 * (j + 4) + 32};
    for (int q = 0; q < 4; q++) {
      if (in) k[q] = _mm256_xor_si256(k[q], _mm256_loadu_si256((const __m256i *)(in + off[q])));
      _mm256_storeu_si256((__m256i *)(out + off[q]), k[q]);
    }
  }
}

AVX2 size_t tfw_chacha20_avx2(const uint32_t s[16], const uint8_t *in, uint8_t *out, size_t len) {
  __m256i x[16];
  size_t done = 0;
  for (; len - done >= 512; done += 512) {
    blocks8(s, (uint32_t)(done / 64), x);
    emit8(x, in + done, out + done);
  }
  size_t rest = len - done;
  if (rest > TFW_CHACHA20_TAIL_MAX) {
    uint8_t ks[512];
    blocks8(s, (uint32_t)(done / 64), x);
    emit8(x, NULL, ks);
    tfw_xor_bytes(out + done, in + done, ks, rest);
    memset(ks, 0, sizeof ks);
    done = len;
  }
  return done;
}

/* ---- AVX-512F: 16 blocks ---- */

#define QR16(a, b, c, d)                                                                                \
  a = _mm512_add_epi32(a, b); d = _mm512_rol_epi32(_mm512_xor_si512(d, a), 16);                        \
  c = _mm512_add_epi32(c, d); b = _mm512_rol_epi32(_mm512_xor_si512(b, c), 12);                        \
  a = _mm512_add_epi32(a, b); d = _mm512_rol_epi32(_mm512_xor_si512(d, a), 8);                         \
  c = _mm512_add_epi32(c, d); b = _mm512_rol_epi32(_mm512_xor_si512(b, c), 7);

AVX512 static inline void tr4_512(__m512i *a, __m512i *b, __m512i *c, __m512i *d) {
  __m512i t0 = _mm512_unpacklo_epi32(*a, *b), t1 = _mm512_unpackhi_epi32(*a, *b);
  __m512i t2 = _mm512_unpacklo_epi32(*c, *d), t3 = _mm512_unpackhi_epi32(*c, *d);
  *a = _mm512_unpacklo_epi64(t0, t2);
  *b = _mm512_unpackhi_epi64(t0, t2);
  *c = _mm512_unpacklo_epi64(t1, t3);
  *d = _mm512_unpackhi_epi64(t1, t3);
}

AVX512 static void xor16(const uint32_t s[16], uint32_t counter_add, const uint8_t *in, uint8_t *out) {
  const __m512i ctr = _mm512_add_epi32(_mm512_set1_epi32((int)(s[12] + counter_add)),
                                       _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  __m512i x[16];
  for (int i = 0; i < 16; i++) x[i] = _mm512_set1_epi32((int)s[i]);
  x[12] = ctr;
  for (int r = 0; r < 10; r++) {
    QR16(x[0], x[4], x[8], x[12]) QR16(x[1], x[5], x[9], x[13]) QR16(x[2], x[6], x[10], x[14]) QR16(x[3], x[7], x[11], x[15])
    QR16(x[0], x[5], x[10], x[15]) QR16(x[1], x[6], x[11], x[12]) QR16(x[2], x[7], x[8], x[13]) QR16(x[3], x[4], x[9], x[14])
  }
  for (int i = 0; i < 16; i++) x[i] = _mm512_add_epi32(x[i], i == 12 ? ctr : _mm512_set1_epi32((int)s[i]));
  /* group g = words 4g..4g+3; after tr4, x[4g+j] lane L = those words of block 4L+j */
  for (int g = 0; g < 4; g++) tr4_512(&x[4 * g], &x[4 * g + 1], &x[4 * g + 2], &x[4 * g + 3]);
  for (int j = 0; j < 4; j++) {
    /* 4x4 transpose of 128-bit lanes over groups 0..3: result L = block 4L+j, 64 bytes */
    __m512i a = _mm512_shuffle_i32x4(x[j], x[4 + j], _MM_SHUFFLE(2, 0, 2, 0));
    __m512i b = _mm512_shuffle_i32x4(x[j], x[4 + j], _MM_SHUFFLE(3, 1, 3, 1));
    __m512i c = _mm512_shuffle_i32x4(x[8 + j], x[12 + j], _MM_SHUFFLE(2, 0, 2, 0));
    __m512i d = _mm512_shuffle_i32x4(x[8 + j], x[12 + j], _MM_SHUFFLE(3, 1, 3, 1));
    __m512i k[4] = {_mm512_shuffle_i32x4(a, c, _MM_SHUFFLE(2, 0, 2, 0)), _mm512_shuffle_i32x4(b, d, _MM_SHUFFLE(2, 0, 2, 0)),
                    _mm512_shuffle_i32x4(a, c, _MM_SHUFFLE(3, 1, 3, 1)), _mm512_shuffle_i32x4(b, d, _MM_SHUFFLE(3, 1, 3, 1))};
    for (int L = 0; L < 4; L++) {
      size_t off = 64 * (4 * L + j);
      _mm512_storeu_si512((void *)(out + off), _mm512_xor_si512(k[L], _mm512_loadu_si512((const void *)(in + off))));
    }
  }
}

AVX512 size_t tfw_chacha20_avx512(const uint32_t s[16], const uint8_t *in, uint8_t *out, size_t len) {
  size_t done = 0;
  for (; len - done >= 1024; done += 1024) xor16(s, (uint32_t)(done / 64), in + done, out + done);
  if (len - done <= TFW_CHACHA20_TAIL_MAX) return done;
  /* under 16 blocks left: 8 at a time (a 16-block keystream buffer would waste up to 15) */
  uint32_t t[16];
  memcpy(t, s, sizeof t);
  t[12] += (uint32_t)(done / 64);
  done += tfw_chacha20_avx2(t, in + done, out + done, len - done);
  memset(t, 0, sizeof t);
  return done;
}

/* ---- Four blocks in 128-bit vectors: the AEAD's first group (block 0 = the Poly1305 key, section 2.6) and
 * short tails, where 8 or 16 lanes would be mostly wasted. ---- */

/* 4x4 word transpose per group; block j's words 4g..4g+3 go to out + 64j + 16g. */
#define STORE4(x, out)                                                                                          \
  for (int g = 0; g < 4; g++) {                                                                                 \
    __m128i t0 = _mm_unpacklo_epi32(x[4 * g], x[4 * g + 1]), t1 = _mm_unpackhi_epi32(x[4 * g], x[4 * g + 1]);   \
    __m128i t2 = _mm_unpacklo_epi32(x[4 * g + 2], x[4 * g + 3]), t3 = _mm_unpackhi_epi32(x[4 * g + 2], x[4 * g + 3]); \
    _mm_storeu_si128((__m128i *)(out + 16 * g), _mm_unpacklo_epi64(t0, t2));                                     \
    _mm_storeu_si128((__m128i *)(out + 64 + 16 * g), _mm_unpackhi_epi64(t0, t2));                                \
    _mm_storeu_si128((__m128i *)(out + 128 + 16 * g), _mm_unpacklo_epi64(t1, t3));                               \
    _mm_storeu_si128((__m128i *)(out + 192 + 16 * g), _mm_unpackhi_epi64(t1, t3));                               \
  }

#define ROUNDS4(QR)                                                                                             \
  for (int r = 0; r < 10; r++) {                                                                                \
    QR(x[0], x[4], x[8], x[12]) QR(x[1], x[5], x[9], x[13]) QR(x[2], x[6], x[10], x[14]) QR(x[3], x[7], x[11], x[15]) \
    QR(x[0], x[5], x[10], x[15]) QR(x[1], x[6], x[11], x[12]) QR(x[2], x[7], x[8], x[13]) QR(x[3], x[4], x[9], x[14]) \
  }

/* AVX2 CPUs: VEX-encoded SSSE3, rotations by 16 and 8 as PSHUFB. */
#define QR4_AVX2(a, b, c, d)                                                                            \
  a = _mm_add_epi32(a, b); d = _mm_shuffle_epi8(_mm_xor_si128(d, a), r16);                             \
  c = _mm_add_epi32(c, d); b = _mm_xor_si128(b, c); b = _mm_or_si128(_mm_slli_epi32(b, 12), _mm_srli_epi32(b, 20)); \
  a = _mm_add_epi32(a, b); d = _mm_shuffle_epi8(_mm_xor_si128(d, a), r8);                              \
  c = _mm_add_epi32(c, d); b = _mm_xor_si128(b, c); b = _mm_or_si128(_mm_slli_epi32(b, 7), _mm_srli_epi32(b, 25));

AVX2 void tfw_chacha20_ks4_avx2(const uint32_t s[16], uint8_t out[256]) {
  const __m128i r16 = _mm_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
  const __m128i r8 = _mm_setr_epi8(3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14);
  const __m128i ctr = _mm_add_epi32(_mm_set1_epi32((int)s[12]), _mm_setr_epi32(0, 1, 2, 3));
  __m128i x[16];
  for (int i = 0; i < 16; i++) x[i] = _mm_set1_epi32((int)s[i]);
  x[12] = ctr;
  ROUNDS4(QR4_AVX2)
  for (int i = 0; i < 16; i++) x[i] = _mm_add_epi32(x[i], i == 12 ? ctr : _mm_set1_epi32((int)s[i]));
  STORE4(x, out)
}

/* AVX-512VL: VPROLD on 128-bit vectors, one instruction per rotation (shorter dependency chains). */
#define QR4_VL(a, b, c, d)                                                                              \
  a = _mm_add_epi32(a, b); d = _mm_rol_epi32(_mm_xor_si128(d, a), 16);                                 \
  c = _mm_add_epi32(c, d); b = _mm_rol_epi32(_mm_xor_si128(b, c), 12);                                 \
  a = _mm_add_epi32(a, b); d = _mm_rol_epi32(_mm_xor_si128(d, a), 8);                                  \
  c = _mm_add_epi32(c, d); b = _mm_rol_epi32(_mm_xor_si128(b, c), 7);

__attribute__((target("avx512f,avx512vl"))) void tfw_chacha20_ks4_avx512(const uint32_t s[16], uint8_t out[256]) {
  const __m128i ctr = _mm_add_epi32(_mm_set1_epi32((int)s[12]), _mm_setr_epi32(0, 1, 2, 3));
  __m128i x[16];
  for (int i = 0; i < 16; i++) x[i] = _mm_set1_epi32((int)s[i]);
  x[12] = ctr;
  ROUNDS4(QR4_VL)
  for (int i = 0; i < 16; i++) x[i] = _mm_add_epi32(x[i], i == 12 ? ctr : _mm_set1_epi32((int)s[i]));
  STORE4(x, out)
}

#else
void tfw_chacha20_ks4_avx2(const uint32_t s[16], uint8_t out[256]) {}
void tfw_chacha20_ks4_avx512(const uint32_t s[16], uint8_t out[256]) {}
size_t tfw_chacha20_avx2(const uint32_t s[16], const uint8_t *in, uint8_t *out, size_t len) { return 0; }
size_t tfw_chacha20_avx512(const uint32_t s[16], const uint8_t *in, uint8_t *out, size_t len) { return 0; }
#endif
