/*
 * ChaCha20-Poly1305 AEAD (RFC 8439) and XChaCha20-Poly1305
 * (draft-irtf-cfrg-xchacha-03), portable C: the addon's AEAD kernel, giving
 * byte-identical results to the wasm kernel and node:crypto.
 *
 * - ChaCha20 (RFC 8439 section 2.3/2.4): four blocks at a time with GCC vector
 *   extensions (one 32-bit lane per block: SSE2 on x64, NEON on arm64), scalar
 *   for the tail. The 32-bit block counter wraps as in section 2.4.
 * - Poly1305 (section 2.5): 44/44/42-bit limbs with 128-bit products, two
 *   blocks per step with r^2 to shorten the multiply dependency chain.
 * - AEAD construction (section 2.8): one-time key from block 0, encryption from
 *   block 1, MAC over aad || pad16 || ciphertext || pad16 || le64 lengths.
 * - HChaCha20 (xchacha draft section 2.2): 20 rounds without the final
 *   addition, output words 0..3 and 12..15.
 */
#include "chacha20poly1305.h"

#include <string.h>

typedef uint32_t u32x4 __attribute__((vector_size(16)));
typedef unsigned __int128 u128;

static inline uint32_t ld32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t ld64(const uint8_t *p) { return (uint64_t)ld32(p) | (uint64_t)ld32(p + 4) << 32; }
static inline void st32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}
static inline void st64(uint8_t *p, uint64_t v) {
  st32(p, (uint32_t)v);
  st32(p + 4, (uint32_t)(v >> 32));
}

#define ROTL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))
/* Quarter round, RFC 8439 section 2.1. */
#define QR(a, b, c, d)                                                                     \
  a += b; d ^= a; d = ROTL(d, 16);                                                         \
  c += d; b ^= c; b = ROTL(b, 12);                                                         \
  a += b; d ^= a; d = ROTL(d, 8);                                                          \
  c += d; b ^= c; b = ROTL(b, 7);
#define DOUBLE_ROUND(x)                                                                    \
  QR(x[0], x[4], x[8], x[12]) QR(x[1], x[5], x[9], x[13])                                  \
  QR(x[2], x[6], x[10], x[14]) QR(x[3], x[7], x[11], x[15])                                \
  QR(x[0], x[5], x[10], x[15]) QR(x[1], x[6], x[11], x[12])                                \
  QR(x[2], x[7], x[8], x[13]) QR(x[3], x[4], x[9], x[14])

/* Initial state, section 2.3: constants "expand 32-byte k", key, counter, nonce. */
static void init_state(uint32_t s[16], const uint8_t key[32], const uint8_t nonce[12], uint32_t counter) {
  s[0] = 0x61707865;
  s[1] = 0x3320646e;
  s[2] = 0x79622d32;
  s[3] = 0x6b206574;
  for (int i = 0; i < 8; i++) s[4 + i] = ld32(key + 4 * i);
  s[12] = counter;
  s[13] = ld32(nonce);
  s[14] = ld32(nonce + 4);
  s[15] = ld32(nonce + 8);
}

static void block1(const uint32_t s[16], uint8_t out[64]) {
  uint32_t x[16];
  memcpy(x, s, sizeof x);
  for (int i = 0; i < 10; i++) {
    DOUBLE_ROUND(x)
  }
  for (int i = 0; i < 16; i++) st32(out + 4 * i, x[i] + s[i]);
}

static void block4(const uint32_t s[16], uint8_t out[256]) {
  u32x4 x[16], o[16];
  for (int i = 0; i < 16; i++) x[i] = (u32x4){s[i], s[i], s[i], s[i]};
  x[12] += (u32x4){0, 1, 2, 3};
  memcpy(o, x, sizeof o);
  for (int i = 0; i < 10; i++) {
    DOUBLE_ROUND(x)
  }
  for (int i = 0; i < 16; i++) {
    x[i] += o[i];
    for (int l = 0; l < 4; l++) st32(out + 64 * l + 4 * i, x[i][l]);
  }
}

#if defined(__x86_64__)
typedef uint32_t u32x8 __attribute__((vector_size(32)));
/* Eight blocks at once in 256-bit lanes (AVX2), chosen at run time. */
__attribute__((target("avx2"))) static void block8_avx2(const uint32_t s[16], uint8_t out[512]) {
  u32x8 x[16], o[16];
  for (int i = 0; i < 16; i++) x[i] = (u32x8){s[i], s[i], s[i], s[i], s[i], s[i], s[i], s[i]};
  x[12] += (u32x8){0, 1, 2, 3, 4, 5, 6, 7};
  memcpy(o, x, sizeof o);
  for (int i = 0; i < 10; i++) {
    DOUBLE_ROUND(x)
  }
  for (int i = 0; i < 16; i++) {
    x[i] += o[i];
    for (int l = 0; l < 8; l++) st32(out + 64 * l + 4 * i, x[i][l]);
  }
}
static int have_avx2 = -1;
#endif

static inline void xor_bytes(uint8_t *out, const uint8_t *in, const uint8_t *ks, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t a, b;
    memcpy(&a, in + i, 8);
    memcpy(&b, ks + i, 8);
    a ^= b;
    memcpy(out + i, &a, 8);
  }
  for (; i < n; i++) out[i] = in[i] ^ ks[i];
}

void tfw_chacha20_xor(const uint8_t key[32], const uint8_t nonce[12], uint32_t counter, const uint8_t *in, uint8_t *out,
                      size_t len) {
  uint32_t s[16];
  uint8_t ks[256];
  init_state(s, key, nonce, counter);
#if defined(__x86_64__)
  if (have_avx2 < 0) have_avx2 = __builtin_cpu_supports("avx2");
  if (have_avx2 && len >= 512) {
    uint8_t ks8[512];
    while (len >= 512) {
      block8_avx2(s, ks8);
      xor_bytes(out, in, ks8, 512);
      s[12] += 8;
      in += 512;
      out += 512;
      len -= 512;
    }
  }
#endif
  while (len >= 256) {
    block4(s, ks);
    xor_bytes(out, in, ks, 256);
    s[12] += 4;
    in += 256;
    out += 256;
    len -= 256;
  }
  while (len > 0) {
    block1(s, ks);
    size_t n = len < 64 ? len : 64;
    xor_bytes(out, in, ks, n);
    s[12] += 1;
    in += n;
    out += n;
    len -= n;
  }
}

void tfw_hchacha20(const uint8_t key[32], const uint8_t nonce[16], uint8_t out[32]) {
  uint32_t x[16];
  init_state(x, key, nonce + 4, ld32(nonce)); /* words 12..15 = the 16-byte nonce */
  for (int i = 0; i < 10; i++) {
    DOUBLE_ROUND(x)
  }
  for (int i = 0; i < 4; i++) {
    st32(out + 4 * i, x[i]);
    st32(out + 16 + 4 * i, x[12 + i]);
  }
}

/* ---- Poly1305 (RFC 8439 section 2.5), 44/44/42-bit limbs ---- */
typedef struct {
  uint64_t r0, r1, r2, s1, s2, h0, h1, h2, pad0, pad1;
  uint64_t q0, q1, q2, t1, t2; /* r^2 (partially reduced) and its *20 multiples */
} poly;

#define M44 0xfffffffffffULL
#define M42 0x3ffffffffffULL

static void poly_init(poly *p, const uint8_t key[32]) {
  uint64_t t0 = ld64(key), t1 = ld64(key + 8);
  /* r clamped per section 2.5.1 */
  p->r0 = t0 & 0xffc0fffffffULL;
  p->r1 = ((t0 >> 44) | (t1 << 20)) & 0xfffffc0ffffULL;
  p->r2 = (t1 >> 24) & 0x00ffffffc0fULL;
  p->s1 = p->r1 * (5 << 2);
  p->s2 = p->r2 * (5 << 2);
  p->h0 = p->h1 = p->h2 = 0;
  /* r^2 for two-block steps: h = (h + m1) * r^2 + m2 * r (same value as two Horner steps). */
  {
    uint64_t r0 = p->r0, r1 = p->r1, r2 = p->r2, s1 = p->s1, s2 = p->s2;
    u128 d0 = (u128)r0 * r0 + (u128)r1 * s2 + (u128)r2 * s1;
    u128 d1 = (u128)r0 * r1 + (u128)r1 * r0 + (u128)r2 * s2;
    u128 d2 = (u128)r0 * r2 + (u128)r1 * r1 + (u128)r2 * r0;
    uint64_t c = (uint64_t)(d0 >> 44), q0 = (uint64_t)d0 & M44, q1, q2;
    d1 += c;
    c = (uint64_t)(d1 >> 44);
    q1 = (uint64_t)d1 & M44;
    d2 += c;
    c = (uint64_t)(d2 >> 42);
    q2 = (uint64_t)d2 & M42;
    q0 += c * 5;
    c = q0 >> 44;
    q0 &= M44;
    q1 += c;
    p->q0 = q0;
    p->q1 = q1;
    p->q2 = q2;
    p->t1 = q1 * (5 << 2);
    p->t2 = q2 * (5 << 2);
  }
  p->pad0 = ld64(key + 16);
  p->pad1 = ld64(key + 24);
}

/* Absorbs len/16 full blocks; hibit = 1<<40 for full blocks (the 2^128 bit), 0 for a padded final one. */
static void poly_blocks(poly *p, const uint8_t *m, size_t len, uint64_t hibit) {
  uint64_t r0 = p->r0, r1 = p->r1, r2 = p->r2, s1 = p->s1, s2 = p->s2;
  uint64_t h0 = p->h0, h1 = p->h1, h2 = p->h2;
  uint64_t q0 = p->q0, q1 = p->q1, q2 = p->q2, t1 = p->t1, t2 = p->t2;
  while (len >= 32) {
    uint64_t a0 = ld64(m), a1 = ld64(m + 8), b0 = ld64(m + 16), b1 = ld64(m + 24);
    h0 += a0 & M44;
    h1 += ((a0 >> 44) | (a1 << 20)) & M44;
    h2 += ((a1 >> 24) & M42) | hibit;
    uint64_t g0 = b0 & M44, g1 = ((b0 >> 44) | (b1 << 20)) & M44, g2 = ((b1 >> 24) & M42) | hibit;
    u128 d0 = (u128)h0 * q0 + (u128)h1 * t2 + (u128)h2 * t1 + (u128)g0 * r0 + (u128)g1 * s2 + (u128)g2 * s1;
    u128 d1 = (u128)h0 * q1 + (u128)h1 * q0 + (u128)h2 * t2 + (u128)g0 * r1 + (u128)g1 * r0 + (u128)g2 * s2;
    u128 d2 = (u128)h0 * q2 + (u128)h1 * q1 + (u128)h2 * q0 + (u128)g0 * r2 + (u128)g1 * r1 + (u128)g2 * r0;
    uint64_t c = (uint64_t)(d0 >> 44);
    h0 = (uint64_t)d0 & M44;
    d1 += c;
    c = (uint64_t)(d1 >> 44);
    h1 = (uint64_t)d1 & M44;
    d2 += c;
    c = (uint64_t)(d2 >> 42);
    h2 = (uint64_t)d2 & M42;
    h0 += c * 5;
    c = h0 >> 44;
    h0 &= M44;
    h1 += c;
    m += 32;
    len -= 32;
  }
  while (len >= 16) {
    uint64_t t0 = ld64(m), t1 = ld64(m + 8);
    h0 += t0 & M44;
    h1 += ((t0 >> 44) | (t1 << 20)) & M44;
    h2 += ((t1 >> 24) & M42) | hibit;
    u128 d0 = (u128)h0 * r0 + (u128)h1 * s2 + (u128)h2 * s1;
    u128 d1 = (u128)h0 * r1 + (u128)h1 * r0 + (u128)h2 * s2;
    u128 d2 = (u128)h0 * r2 + (u128)h1 * r1 + (u128)h2 * r0;
    uint64_t c = (uint64_t)(d0 >> 44);
    h0 = (uint64_t)d0 & M44;
    d1 += c;
    c = (uint64_t)(d1 >> 44);
    h1 = (uint64_t)d1 & M44;
    d2 += c;
    c = (uint64_t)(d2 >> 42);
    h2 = (uint64_t)d2 & M42;
    h0 += c * 5;
    c = h0 >> 44;
    h0 &= M44;
    h1 += c;
    m += 16;
    len -= 16;
  }
  p->h0 = h0;
  p->h1 = h1;
  p->h2 = h2;
}

/* Absorbs data zero-padded to a multiple of 16 (the AEAD's pad16). */
static void poly_padded(poly *p, const uint8_t *m, size_t len) {
  size_t full = len & ~(size_t)15;
  poly_blocks(p, m, full, 1ULL << 40);
  if (len > full) {
    uint8_t b[16] = {0};
    memcpy(b, m + full, len - full);
    poly_blocks(p, b, 16, 1ULL << 40);
  }
}

static void poly_finish(poly *p, uint8_t tag[16]) {
  uint64_t h0 = p->h0, h1 = p->h1, h2 = p->h2, c;
  /* full carry */
  c = h1 >> 44; h1 &= M44; h2 += c;
  c = h2 >> 42; h2 &= M42; h0 += c * 5;
  c = h0 >> 44; h0 &= M44; h1 += c;
  c = h1 >> 44; h1 &= M44; h2 += c;
  c = h2 >> 42; h2 &= M42; h0 += c * 5;
  c = h0 >> 44; h0 &= M44; h1 += c;
  /* g = h + 5 - 2^130; take g when h >= p (constant time) */
  uint64_t g0 = h0 + 5;
  c = g0 >> 44; g0 &= M44;
  uint64_t g1 = h1 + c;
  c = g1 >> 44; g1 &= M44;
  uint64_t g2 = h2 + c - (1ULL << 42);
  uint64_t mask = (g2 >> 63) - 1;
  h0 = (h0 & ~mask) | (g0 & mask);
  h1 = (h1 & ~mask) | (g1 & mask);
  h2 = (h2 & ~mask) | (g2 & mask);
  /* h + s mod 2^128 */
  uint64_t t0 = p->pad0, t1 = p->pad1;
  h0 += t0 & M44;
  c = h0 >> 44; h0 &= M44;
  h1 += (((t0 >> 44) | (t1 << 20)) & M44) + c;
  c = h1 >> 44; h1 &= M44;
  h2 += ((t1 >> 24) & M42) + c;
  h2 &= M42;
  st64(tag, h0 | (h1 << 44));
  st64(tag + 8, (h1 >> 20) | (h2 << 24));
}

void tfw_poly1305(const uint8_t key[32], const uint8_t *msg, size_t len, uint8_t tag[16]) {
  poly p;
  poly_init(&p, key);
  size_t full = len & ~(size_t)15;
  poly_blocks(&p, msg, full, 1ULL << 40);
  if (len > full) {
    uint8_t b[16] = {0};
    memcpy(b, msg + full, len - full);
    b[len - full] = 1; /* section 2.5.1: the 0x01 byte after a short final block */
    poly_blocks(&p, b, 16, 0);
  }
  poly_finish(&p, tag);
}

/* AEAD MAC, section 2.8: aad || pad16 || ct || pad16 || le64(aadlen) || le64(len). */
static void aead_tag(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad, size_t aadlen, const uint8_t *ct,
                     size_t len, uint8_t tag[16]) {
  uint32_t s[16];
  uint8_t otk[64];
  init_state(s, key, nonce, 0);
  block1(s, otk); /* section 2.6: Poly1305 key = first 32 bytes of block 0 */
  poly p;
  poly_init(&p, otk);
  poly_padded(&p, aad, aadlen);
  poly_padded(&p, ct, len);
  uint8_t lens[16];
  st64(lens, (uint64_t)aadlen);
  st64(lens + 8, (uint64_t)len);
  poly_blocks(&p, lens, 16, 1ULL << 40);
  poly_finish(&p, tag);
  memset(otk, 0, sizeof otk);
}

void tfw_aead_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *pt, size_t len, const uint8_t *aad,
                   size_t aadlen, uint8_t *out) {
  tfw_chacha20_xor(key, nonce, 1, pt, out, len);
  aead_tag(key, nonce, aad, aadlen, out, len, out + len);
}

int tfw_aead_open_keep(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ct, size_t len, const uint8_t *aad,
                       size_t aadlen, uint8_t *out) {
  uint8_t tag[16];
  aead_tag(key, nonce, aad, aadlen, ct, len, tag);
  uint8_t diff = 0; /* constant-time compare */
  for (int i = 0; i < 16; i++) diff |= tag[i] ^ ct[len + i];
  if (diff) return -1;
  tfw_chacha20_xor(key, nonce, 1, ct, out, len);
  return 0;
}

int tfw_aead_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ct, size_t len, const uint8_t *aad,
                  size_t aadlen, uint8_t *out) {
  uint8_t tag[16];
  aead_tag(key, nonce, aad, aadlen, ct, len, tag);
  uint8_t diff = 0; /* constant-time compare */
  for (int i = 0; i < 16; i++) diff |= tag[i] ^ ct[len + i];
  if (diff) {
    memset(out, 0, len);
    return -1;
  }
  tfw_chacha20_xor(key, nonce, 1, ct, out, len);
  return 0;
}

static void xsubkey(const uint8_t key[32], const uint8_t nonce[24], uint8_t sub[32], uint8_t n12[12]) {
  tfw_hchacha20(key, nonce, sub);
  memset(n12, 0, 4);
  memcpy(n12 + 4, nonce + 16, 8);
}

void tfw_xaead_seal(const uint8_t key[32], const uint8_t nonce[24], const uint8_t *pt, size_t len, const uint8_t *aad,
                    size_t aadlen, uint8_t *out) {
  uint8_t sub[32], n12[12];
  xsubkey(key, nonce, sub, n12);
  tfw_aead_seal(sub, n12, pt, len, aad, aadlen, out);
  memset(sub, 0, sizeof sub);
}

int tfw_xaead_open(const uint8_t key[32], const uint8_t nonce[24], const uint8_t *ct, size_t len, const uint8_t *aad,
                   size_t aadlen, uint8_t *out) {
  uint8_t sub[32], n12[12];
  xsubkey(key, nonce, sub, n12);
  int rc = tfw_aead_open(sub, n12, ct, len, aad, aadlen, out);
  memset(sub, 0, sizeof sub);
  return rc;
}
