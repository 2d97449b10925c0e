/* Internal: the ChaCha20 (RFC 8439 section 2.4) and Poly1305 (section 2.5)
 * SIMD kernels that chacha20poly1305.c picks from at run time
 * (tfw_aead_set_isa).
 *
 * Contract of every ChaCha20 kernel: s is the 16-word initial state (section 2.3) with
 * the block counter in s[12]. It XORs the keystream of blocks s[12],
 * s[12]+1, ... (mod 2^32, as section 2.4) into in -> out (out may equal in)
 * for whole groups of its width (8 blocks = 512 bytes for AVX2, 16 = 1,024 for
 * AVX-512, 4 = 256 for NEON), and for a final partial group of more than
 * TFW_CHACHA20_TAIL_MAX bytes through a keystream buffer. Returns the bytes
 * done; the caller runs the rest (at most TFW_CHACHA20_TAIL_MAX bytes) with
 * the 4-block step below from block s[12] + done/64. */
#ifndef TFW_AEAD_SIMD_H
#define TFW_AEAD_SIMD_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* out[i] = in[i] ^ ks[i] for i < n (out may equal in), 8 bytes at a time: keystream tails. */
static inline void tfw_xor_bytes(uint8_t *out, const uint8_t *in, const uint8_t *ks, size_t n) {
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

typedef size_t (*tfw_chacha20_kernel)(const uint32_t s[16], const uint8_t *in, uint8_t *out, size_t len);

/* Keystream of the four blocks s[12] .. s[12]+3 into out (256 bytes): the AEAD's first group (block 0 is
 * the Poly1305 key, section 2.6) and tails. The portable one is block4 in chacha20poly1305.c. */
typedef void (*tfw_chacha20_ks4)(const uint32_t s[16], uint8_t out[256]);
void tfw_chacha20_ks4_avx2(const uint32_t s[16], uint8_t out[256]);
void tfw_chacha20_ks4_avx512(const uint32_t s[16], uint8_t out[256]); /* AVX-512F + VL */
void tfw_chacha20_ks4_neon(const uint32_t s[16], uint8_t out[256]);

/* Tails up to this many bytes are the caller's (one 4-block step beats a mostly unused wide group). */
#define TFW_CHACHA20_TAIL_MAX 256

size_t tfw_chacha20_avx2(const uint32_t s[16], const uint8_t *in, uint8_t *out, size_t len);
size_t tfw_chacha20_avx512(const uint32_t s[16], const uint8_t *in, uint8_t *out, size_t len);
size_t tfw_chacha20_neon(const uint32_t s[16], const uint8_t *in, uint8_t *out, size_t len);

/* Poly1305 over whole 64-byte groups of full 16-byte blocks (each with the 2^128 bit, section 2.5.1):
 * h (44/44/42-bit limbs, as poly1305.c keeps it, carried) is updated to
 * (((h + m1) r + m2) r + ...) r mod 2^130-5 over len/64*64 bytes, returned.
 * pw[k] = r^(k+1) in five 26-bit limbs, k = 0..3. Needs len >= 64. */
size_t tfw_poly1305_avx2(uint64_t h[3], const uint32_t pw[4][5], const uint8_t *m, size_t len);
#endif
