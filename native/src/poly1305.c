/*
 * Poly1305 one-time authenticator (RFC 8439 section 2.5), scalar 64-bit:
 * h and r in three limbs of 44, 44 and 42 bits with unsigned __int128
 * products (the limb split described for the 64-bit poly1305-donna, public
 * domain; code written here), so 64-bit targets only (x64, arm64). Two blocks
 * per step as (h + m1) r^2 + m2 r, the same value as two Horner steps with a
 * shorter multiply dependency chain. 2^130 = 5 (mod p) folds the products past
 * 2^130 back in with factor 5 (the *20 = 5 << 2 multiples for the 44-bit
 * shift). With tfw_poly_use_simd(1), runs of POLY_SIMD_MIN bytes and more go
 * to the 4-lane AVX2 kernel (poly1305_x86.c), which needs r^1..r^4. No branch
 * or index depends on the key or the message (lengths only).
 */
#include "poly1305.h"

#include <string.h>

#include "aead_simd.h"
#include "chacha20poly1305.h"

typedef unsigned __int128 u128;

static inline uint64_t ld64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}
static inline void st64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static int poly_simd;
void tfw_poly_use_simd(int on) { poly_simd = on; }

#define M44 0xfffffffffffULL
#define M42 0x3ffffffffffULL

/* Carries the 128-bit column sums d0..d2 of a product into 44/44/42-bit limbs h (the carry out of
 * the top limb folds back times 5, as 2^130 = 5 mod 2^130-5); h[1] may reach 2^44. */
static inline void carry44(u128 d0, u128 d1, u128 d2, uint64_t h[3]) {
  uint64_t c = (uint64_t)(d0 >> 44);
  h[0] = (uint64_t)d0 & M44;
  d1 += c;
  c = (uint64_t)(d1 >> 44);
  h[1] = (uint64_t)d1 & M44;
  d2 += c;
  c = (uint64_t)(d2 >> 42);
  h[2] = (uint64_t)d2 & M42;
  h[0] += c * 5;
  h[1] += h[0] >> 44;
  h[0] &= M44;
}

/* c = a * b mod 2^130-5 on 44/44/42-bit limbs (a, b carried; c carried, c[1] may reach 2^44). */
static void mul44(const uint64_t a[3], const uint64_t b[3], uint64_t c[3]) {
  uint64_t s1 = b[1] * (5 << 2), s2 = b[2] * (5 << 2);
  u128 d0 = (u128)a[0] * b[0] + (u128)a[1] * s2 + (u128)a[2] * s1;
  u128 d1 = (u128)a[0] * b[1] + (u128)a[1] * b[0] + (u128)a[2] * s2;
  u128 d2 = (u128)a[0] * b[2] + (u128)a[1] * b[1] + (u128)a[2] * b[0];
  carry44(d0, d1, d2, c);
}

void tfw_poly_init(tfw_poly *p, const uint8_t key[32]) {
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
    const uint64_t r[3] = {p->r0, p->r1, p->r2};
    uint64_t q[3];
    mul44(r, r, q);
    p->q0 = q[0];
    p->q1 = q[1];
    p->q2 = q[2];
    p->t1 = q[1] * (5 << 2);
    p->t2 = q[2] * (5 << 2);
  }
  p->pad0 = ld64(key + 16);
  p->pad1 = ld64(key + 24);
  p->pw_ready = 0;
}

/* 44/44/42-bit limbs -> five 26-bit limbs of the same value (each under 2^27). */
static void to26(const uint64_t a[3], uint32_t l[5]) {
  l[0] = (uint32_t)(a[0] & 0x3ffffff);
  l[1] = (uint32_t)((a[0] >> 26) + ((a[1] & 0xff) << 18));
  l[2] = (uint32_t)((a[1] >> 8) & 0x3ffffff);
  l[3] = (uint32_t)((a[1] >> 34) + ((a[2] & 0xffff) << 10));
  l[4] = (uint32_t)(a[2] >> 16);
}

/* r^1..r^4 for the 4-lane SIMD Poly1305 (aead_simd.h). */
static void poly_powers(tfw_poly *p) {
  uint64_t r1[3] = {p->r0, p->r1, p->r2}, r2[3] = {p->q0, p->q1, p->q2}, r3[3], r4[3];
  mul44(r2, r1, r3);
  mul44(r2, r2, r4);
  to26(r1, p->pw[0]);
  to26(r2, p->pw[1]);
  to26(r3, p->pw[2]);
  to26(r4, p->pw[3]);
  p->pw_ready = 1;
}

/* Full blocks from this many bytes on go to the SIMD kernel (its set-up, r^3 and r^4, costs about 4 blocks). */
#define POLY_SIMD_MIN 256

/* Absorbs len/16 full blocks; hibit = 1<<40 for full blocks (the 2^128 bit), 0 for a padded final one. */
void tfw_poly_blocks(tfw_poly *p, const uint8_t *m, size_t len, uint64_t hibit) {
  if (poly_simd && hibit && len >= POLY_SIMD_MIN) {
    if (!p->pw_ready) poly_powers(p);
    uint64_t h[3] = {p->h0, p->h1, p->h2};
    size_t done = tfw_poly1305_avx2(h, (const uint32_t(*)[5])p->pw, m, len);
    p->h0 = h[0];
    p->h1 = h[1];
    p->h2 = h[2];
    m += done;
    len -= done;
  }
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
    uint64_t h[3];
    carry44(d0, d1, d2, h);
    h0 = h[0];
    h1 = h[1];
    h2 = h[2];
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
    uint64_t h[3];
    carry44(d0, d1, d2, h);
    h0 = h[0];
    h1 = h[1];
    h2 = h[2];
    m += 16;
    len -= 16;
  }
  p->h0 = h0;
  p->h1 = h1;
  p->h2 = h2;
}

/* Absorbs data zero-padded to a multiple of 16 (the AEAD's pad16). */
void tfw_poly_padded(tfw_poly *p, const uint8_t *m, size_t len) {
  size_t full = len & ~(size_t)15;
  tfw_poly_blocks(p, m, full, 1ULL << 40);
  if (len > full) {
    uint8_t b[16] = {0};
    memcpy(b, m + full, len - full);
    tfw_poly_blocks(p, b, 16, 1ULL << 40);
  }
}

void tfw_poly_finish(tfw_poly *p, uint8_t tag[16]) {
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
  tfw_aead_isa(); /* the kernel choice, which sets poly_simd, happens once */
  tfw_poly p;
  tfw_poly_init(&p, key);
  size_t full = len & ~(size_t)15;
  tfw_poly_blocks(&p, msg, full, 1ULL << 40);
  if (len > full) {
    uint8_t b[16] = {0};
    memcpy(b, msg + full, len - full);
    b[len - full] = 1; /* section 2.5.1: the 0x01 byte after a short final block */
    tfw_poly_blocks(&p, b, 16, 0);
  }
  tfw_poly_finish(&p, tag);
  memset(&p, 0, sizeof p);
}

