/*
 * ChaCha20 (RFC 8439 sections 2.1-2.4) with AArch64 Advanced SIMD (NEON,
 * baseline on every AArch64 CPU): 4 blocks per step, one block per 32-bit lane
 * of each uint32x4_t state word (the layout of chacha20_x86.c; contract in
 * aead_simd.h). Rotation by 16 is REV32 on 16-bit halves; the others are a
 * left shift plus SRI (shift right and insert). A 4x4 transpose per group of
 * four words (TRN1/TRN2 on 32-bit, then 64-bit halves) gives 16-byte pieces
 * of each block, XORed into the message.
 */
#include "aead_simd.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#define ROLN(x, n) vsriq_n_u32(vshlq_n_u32(x, n), x, 32 - (n))
#define ROL16(x) vreinterpretq_u32_u16(vrev32q_u16(vreinterpretq_u16_u32(x)))
#define QR4(a, b, c, d)                                                      \
  a = vaddq_u32(a, b); d = veorq_u32(d, a); d = ROL16(d);                   \
  c = vaddq_u32(c, d); b = veorq_u32(b, c); b = ROLN(b, 12);                \
  a = vaddq_u32(a, b); d = veorq_u32(d, a); d = ROLN(d, 8);                 \
  c = vaddq_u32(c, d); b = veorq_u32(b, c); b = ROLN(b, 7);

/* Four blocks from s[12]+counter_add: out = in ^ keystream, or the keystream when in is NULL. */
static void blocks4(const uint32_t s[16], uint32_t counter_add, const uint8_t *in, uint8_t *out) {
  static const uint32_t lane[4] = {0, 1, 2, 3};
  uint32x4_t x[16], o[16];
  for (int i = 0; i < 16; i++) o[i] = vdupq_n_u32(s[i]);
  o[12] = vaddq_u32(vdupq_n_u32(s[12] + counter_add), vld1q_u32(lane));
  for (int i = 0; i < 16; i++) x[i] = o[i];
  for (int r = 0; r < 10; r++) {
    QR4(x[0], x[4], x[8], x[12]) QR4(x[1], x[5], x[9], x[13]) QR4(x[2], x[6], x[10], x[14]) QR4(x[3], x[7], x[11], x[15])
    QR4(x[0], x[5], x[10], x[15]) QR4(x[1], x[6], x[11], x[12]) QR4(x[2], x[7], x[8], x[13]) QR4(x[3], x[4], x[9], x[14])
  }
  for (int i = 0; i < 16; i++) x[i] = vaddq_u32(x[i], o[i]);
  for (int g = 0; g < 4; g++) {
    uint32x4x2_t p = vtrnq_u32(x[4 * g], x[4 * g + 1]);     /* a0 b0 a2 b2 | a1 b1 a3 b3 */
    uint32x4x2_t q = vtrnq_u32(x[4 * g + 2], x[4 * g + 3]); /* c0 d0 c2 d2 | c1 d1 c3 d3 */
    uint32x4_t blk[4] = {vcombine_u32(vget_low_u32(p.val[0]), vget_low_u32(q.val[0])),
                         vcombine_u32(vget_low_u32(p.val[1]), vget_low_u32(q.val[1])),
                         vcombine_u32(vget_high_u32(p.val[0]), vget_high_u32(q.val[0])),
                         vcombine_u32(vget_high_u32(p.val[1]), vget_high_u32(q.val[1]))};
    for (int j = 0; j < 4; j++) {
      uint8x16_t k = vreinterpretq_u8_u32(blk[j]);
      size_t off = 64 * j + 16 * g;
      if (in) k = veorq_u8(k, vld1q_u8(in + off));
      vst1q_u8(out + off, k);
    }
  }
}

size_t tfw_chacha20_neon(const uint32_t s[16], const uint8_t *in, uint8_t *out, size_t len) {
  size_t done = 0;
  for (; len - done >= 256; done += 256) blocks4(s, (uint32_t)(done / 64), in + done, out + done);
  return done; /* the rest, under 256 bytes, is the caller's (tfw_chacha20_ks4_neon) */
}

void tfw_chacha20_ks4_neon(const uint32_t s[16], uint8_t out[256]) { blocks4(s, 0, NULL, out); }
#else
void tfw_chacha20_ks4_neon(const uint32_t s[16], uint8_t out[256]) {}
size_t tfw_chacha20_neon(const uint32_t s[16], const uint8_t *in, uint8_t *out, size_t len) { return 0; }
#endif
