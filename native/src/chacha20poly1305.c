/*
 * ChaCha20-Poly1305 AEAD (RFC 8439) and XChaCha20-Poly1305
 * (draft-irtf-cfrg-xchacha-03): the addon's AEAD kernel, giving byte-identical
 * results to the wasm kernel and node:crypto. Portable C here; the SIMD
 * kernels (aead_simd.h) are picked at run time by tfw_aead_set_isa.
 *
 * - ChaCha20 (RFC 8439 section 2.3/2.4): portable four blocks at a time with
 *   GCC vector extensions (one 32-bit lane per block), one block for tails;
 *   "avx512" 16 and "avx2" 8 blocks per step (chacha20_x86.c, CPUID via
 *   __builtin_cpu_supports), "neon" 4 (chacha20_neon.c, baseline on AArch64).
 *   The 32-bit block counter wraps as in section 2.4.
 * - Poly1305 (section 2.5): poly1305.c (scalar, 44-bit limbs) and
 *   poly1305_x86.c (AVX2, 4 lanes), the latter switched on with the x86
 *   ChaCha20 kernels.
 * - AEAD construction (section 2.8): one-time key from block 0, encryption from
 *   block 1, MAC over aad || pad16 || ciphertext || pad16 || le64 lengths.
 * - HChaCha20 (xchacha draft section 2.2): 20 rounds without the final
 *   addition, output words 0..3 and 12..15.
 */
#include "chacha20poly1305.h"
#include "aead_simd.h"
#include "poly1305.h"

#include <string.h>

typedef uint32_t u32x4 __attribute__((vector_size(16)));

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

/* ---- Kernel choice (aead_simd.h): NULL = the portable code above ---- */
static tfw_chacha20_kernel kernel;
static tfw_chacha20_ks4 ks4 = block4;
static const char *kernel_name = "portable";
static int kernel_chosen;

const char *tfw_aead_set_isa(const char *name) {
  int any = strcmp(name, "auto") == 0;
  kernel = NULL;
  ks4 = block4;
  kernel_name = "portable";
  tfw_poly_use_simd(0);
#if defined(__x86_64__)
  __builtin_cpu_init();
  if ((any || strcmp(name, "avx512") == 0) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")) {
    kernel = tfw_chacha20_avx512;
    ks4 = tfw_chacha20_ks4_avx512;
    kernel_name = "avx512";
    tfw_poly_use_simd(1); /* their CPUs have AVX2 */
  } else if ((any || strcmp(name, "avx2") == 0) && __builtin_cpu_supports("avx2")) {
    kernel = tfw_chacha20_avx2;
    ks4 = tfw_chacha20_ks4_avx2;
    kernel_name = "avx2";
    tfw_poly_use_simd(1); /* their CPUs have AVX2 */
  }
#elif defined(__aarch64__)
  if (any || strcmp(name, "neon") == 0) {
    kernel = tfw_chacha20_neon;
    ks4 = tfw_chacha20_ks4_neon;
    kernel_name = "neon";
  }
#endif
  kernel_chosen = 1;
  return kernel_name;
}

const char *tfw_aead_isa(void) {
  if (!kernel_chosen) tfw_aead_set_isa("auto");
  return kernel_name;
}

/* XORs the keystream from block s[12] on (s[12] advances): the kernel's groups, then 4 blocks at a
 * time, a last single block alone (one 4-block step costs about as much as 1-2 single blocks). */
static void chacha_xor_from(uint32_t s[16], const uint8_t *in, uint8_t *out, size_t len) {
  uint8_t ks[256];
  if (kernel && len > TFW_CHACHA20_TAIL_MAX) {
    size_t done = kernel(s, in, out, len);
    s[12] += (uint32_t)(done / 64);
    in += done;
    out += done;
    len -= done;
  }
  while (len > 64) {
    size_t n = len < 256 ? len : 256;
    ks4(s, ks);
    tfw_xor_bytes(out, in, ks, n);
    s[12] += 4;
    in += n;
    out += n;
    len -= n;
  }
  if (len > 0) {
    block1(s, ks);
    tfw_xor_bytes(out, in, ks, len);
    s[12] += 1;
  }
  memset(ks, 0, sizeof ks);
}

void tfw_chacha20_xor(const uint8_t key[32], const uint8_t nonce[12], uint32_t counter, const uint8_t *in, uint8_t *out,
                      size_t len) {
  uint32_t s[16];
  init_state(s, key, nonce, counter);
  if (!kernel_chosen) tfw_aead_set_isa("auto");
  chacha_xor_from(s, in, out, len);
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

/* AEAD MAC, section 2.8: aad || pad16 || ct || pad16 || le64(aadlen) || le64(len), keyed by otk. */
static void aead_tag(const uint8_t otk[32], const uint8_t *aad, size_t aadlen, const uint8_t *ct, size_t len, uint8_t tag[16]) {
  tfw_poly p;
  tfw_poly_init(&p, otk);
  tfw_poly_padded(&p, aad, aadlen);
  tfw_poly_padded(&p, ct, len);
  uint8_t lens[16];
  st64(lens, (uint64_t)aadlen);
  st64(lens + 8, (uint64_t)len);
  tfw_poly_blocks(&p, lens, 16, 1ULL << 40);
  tfw_poly_finish(&p, tag);
  memset(&p, 0, sizeof p);
}

/* Blocks 0..3 in one 4-block step: block 0 gives the Poly1305 key (section 2.6: its first 32 bytes),
 * blocks 1..3 the first 192 bytes of keystream; s is left at block 4. */
static void first_group(uint32_t s[16], const uint8_t key[32], const uint8_t nonce[12], uint8_t ks[256]) {
  init_state(s, key, nonce, 0);
  if (!kernel_chosen) tfw_aead_set_isa("auto");
  ks4(s, ks);
  s[12] = 4;
}

void tfw_aead_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *pt, size_t len, const uint8_t *aad,
                   size_t aadlen, uint8_t *out) {
  uint32_t s[16];
  uint8_t ks[256];
  first_group(s, key, nonce, ks);
  size_t n = len < 192 ? len : 192;
  tfw_xor_bytes(out, pt, ks + 64, n);
  chacha_xor_from(s, pt + n, out + n, len - n);
  aead_tag(ks, aad, aadlen, out, len, out + len);
  memset(ks, 0, sizeof ks);
}

/* Verifies, then decrypts; a failed packet is zeroed (zero_failed) or left as it was. */
static int aead_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ct, size_t len, const uint8_t *aad,
                     size_t aadlen, uint8_t *out, int zero_failed) {
  uint32_t s[16];
  uint8_t ks[256], tag[16];
  first_group(s, key, nonce, ks);
  aead_tag(ks, aad, aadlen, ct, len, tag);
  uint8_t diff = 0; /* constant-time compare */
  for (int i = 0; i < 16; i++) diff |= tag[i] ^ ct[len + i];
  if (diff) {
    if (zero_failed) memset(out, 0, len);
    memset(ks, 0, sizeof ks);
    return -1;
  }
  size_t n = len < 192 ? len : 192;
  tfw_xor_bytes(out, ct, ks + 64, n);
  chacha_xor_from(s, ct + n, out + n, len - n);
  memset(ks, 0, sizeof ks);
  return 0;
}

int tfw_aead_open_keep(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ct, size_t len, const uint8_t *aad,
                       size_t aadlen, uint8_t *out) {
  return aead_open(key, nonce, ct, len, aad, aadlen, out, 0);
}

int tfw_aead_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ct, size_t len, const uint8_t *aad,
                  size_t aadlen, uint8_t *out) {
  return aead_open(key, nonce, ct, len, aad, aadlen, out, 1);
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
