/* ChaCha20, HChaCha20, Poly1305 and the AEADs built from them (RFC 8439,
 * draft-irtf-cfrg-xchacha-03). Portable C11 + GCC vector extensions. */
#ifndef TFW_CHACHA20POLY1305_H
#define TFW_CHACHA20POLY1305_H
#include <stddef.h>
#include <stdint.h>

void tfw_chacha20_xor(const uint8_t key[32], const uint8_t nonce[12], uint32_t counter, const uint8_t *in, uint8_t *out,
                      size_t len);
void tfw_hchacha20(const uint8_t key[32], const uint8_t nonce[16], uint8_t out[32]);
void tfw_poly1305(const uint8_t key[32], const uint8_t *msg, size_t len, uint8_t tag[16]);

/* out = ciphertext (len bytes) || tag (16 bytes); out may equal pt. */
void tfw_aead_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *pt, size_t len, const uint8_t *aad,
                   size_t aadlen, uint8_t *out);
/* ct has len bytes followed by the tag; returns 0 and writes pt, or -1 (out zeroed). out may equal ct. */
int tfw_aead_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ct, size_t len, const uint8_t *aad,
                  size_t aadlen, uint8_t *out);
/* As tfw_aead_open, but a failed packet leaves out untouched. */
int tfw_aead_open_keep(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ct, size_t len, const uint8_t *aad,
                       size_t aadlen, uint8_t *out);
/* XChaCha20-Poly1305: 24-byte nonce -> HChaCha20 subkey + 12-byte nonce 0^4 || nonce[16..24]. */
void tfw_xaead_seal(const uint8_t key[32], const uint8_t nonce[24], const uint8_t *pt, size_t len, const uint8_t *aad,
                    size_t aadlen, uint8_t *out);
int tfw_xaead_open(const uint8_t key[32], const uint8_t nonce[24], const uint8_t *ct, size_t len, const uint8_t *aad,
                   size_t aadlen, uint8_t *out);
/* ChaCha20 kernel: "avx512", "avx2" (x86-64, by CPUID), "neon" (AArch64) or "portable"; "auto"
 * picks the best this CPU runs. A name this CPU cannot run gives "portable". Returns the one in use. */
const char *tfw_aead_set_isa(const char *name);
const char *tfw_aead_isa(void);
#endif
