/*
 * AES-256-GCM for Mycelium's end-to-end boxes (runtime/overlay/mycelium/seal.ts),
 * by calling the OpenSSL libcrypto that is already in the Node process: Node's
 * official binary exports the EVP_* symbols, Debian's Node links libcrypto.so.3.
 * Nothing is linked (-lcrypto) and no OpenSSL header is needed: every function
 * is looked up once at init with dlsym(RTLD_DEFAULT); if one is missing, no gcm*
 * function is exported and seal.ts uses node:crypto. AES and GHASH are
 * OpenSSL's; this file only moves bytes between the caller's buffers and EVP.
 *
 * Box layout (threefoldtech/mycelium mycelium/src/crypto.rs): ciphertext |
 * tag (16) | nonce (12), no associated data.
 *
 * JS:
 *   gcmKey(key): an external holding one encrypt and one decrypt EVP context
 *     with the 32-byte key schedule done once; freed by the finalizer. Throws
 *     for a key that is not 32 bytes or when OpenSSL refuses it.
 *   gcmSeal(k, header, packet, out, off): seals header | packet (the plaintext,
 *     from two buffers) straight into out[off..): ciphertext, then the tag; the
 *     nonce is read from out[off + ptLen + 16 .. + 12), written there by the
 *     caller. Returns the box length (ptLen + 28), or -1 when OpenSSL fails.
 *     Throws for an `out` too short or inputs that overlap the output.
 *   gcmOpen(k, buf, off, len): opens the box buf[off..off+len) in place: the
 *     ciphertext is overwritten by the plaintext, which is returned as its
 *     length (len - 28). A tag that does not verify (or a box shorter than 28
 *     bytes, or an OpenSSL failure) returns -1 and zeroes the bytes the
 *     unverified plaintext was written over, so they cannot be delivered.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "napi_util.h"

#define CODE "ERR_OUT_OF_RANGE"
#define TAG_BYTES 16
#define NONCE_BYTES 12
#define MAGIC 0x67636d32u /* "gcm2" */

/*
 * The few EVP declarations used, as OpenSSL declares them (include/openssl/evp.h,
 * OpenSSL 1.1 and 3.x; the ctrl codes are stable ABI): contexts and ciphers are
 * opaque pointers here.
 */
typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;
typedef struct evp_cipher_st EVP_CIPHER;
typedef struct engine_st ENGINE;
#define EVP_CTRL_GCM_GET_TAG 0x10 /* = EVP_CTRL_AEAD_GET_TAG */
#define EVP_CTRL_GCM_SET_TAG 0x11 /* = EVP_CTRL_AEAD_SET_TAG */

static struct {
  EVP_CIPHER_CTX *(*ctx_new)(void);
  void (*ctx_free)(EVP_CIPHER_CTX *);
  const EVP_CIPHER *(*aes_256_gcm)(void);
  int (*enc_init)(EVP_CIPHER_CTX *, const EVP_CIPHER *, ENGINE *, const unsigned char *key, const unsigned char *iv);
  int (*enc_update)(EVP_CIPHER_CTX *, unsigned char *out, int *outl, const unsigned char *in, int inl);
  int (*enc_final)(EVP_CIPHER_CTX *, unsigned char *out, int *outl);
  int (*dec_init)(EVP_CIPHER_CTX *, const EVP_CIPHER *, ENGINE *, const unsigned char *key, const unsigned char *iv);
  int (*dec_update)(EVP_CIPHER_CTX *, unsigned char *out, int *outl, const unsigned char *in, int inl);
  int (*dec_final)(EVP_CIPHER_CTX *, unsigned char *out, int *outl);
  int (*ctrl)(EVP_CIPHER_CTX *, int type, int arg, void *ptr);
} evp;

/* Resolves every EVP function; 0 when all are there. */
static int resolve(void) {
  static const char *names[] = {
    "EVP_CIPHER_CTX_new", "EVP_CIPHER_CTX_free", "EVP_aes_256_gcm",
    "EVP_EncryptInit_ex", "EVP_EncryptUpdate", "EVP_EncryptFinal_ex",
    "EVP_DecryptInit_ex", "EVP_DecryptUpdate", "EVP_DecryptFinal_ex",
    "EVP_CIPHER_CTX_ctrl",
  };
  void *f[sizeof names / sizeof names[0]];
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!(f[i] = dlsym(RTLD_DEFAULT, names[i]))) return -1;
  /* Object pointers to function pointers: POSIX dlsym guarantees the conversion. */
  memcpy(&evp.ctx_new, &f[0], sizeof f[0]);
  memcpy(&evp.ctx_free, &f[1], sizeof f[1]);
  memcpy(&evp.aes_256_gcm, &f[2], sizeof f[2]);
  memcpy(&evp.enc_init, &f[3], sizeof f[3]);
  memcpy(&evp.enc_update, &f[4], sizeof f[4]);
  memcpy(&evp.enc_final, &f[5], sizeof f[5]);
  memcpy(&evp.dec_init, &f[6], sizeof f[6]);
  memcpy(&evp.dec_update, &f[7], sizeof f[7]);
  memcpy(&evp.dec_final, &f[8], sizeof f[8]);
  memcpy(&evp.ctrl, &f[9], sizeof f[9]);
  return 0;
}

typedef struct {
  uint32_t magic;
  EVP_CIPHER_CTX *enc;
  EVP_CIPHER_CTX *dec;
} gcm_key;

static void key_free(gcm_key *k) {
  if (!k) return;
  k->magic = 0;
  if (k->enc) evp.ctx_free(k->enc); /* EVP_CIPHER_CTX_free cleanses the key schedule */
  if (k->dec) evp.ctx_free(k->dec);
  free(k);
}

static void finalize(napi_env env, void *data, void *hint) { key_free(data); }

static napi_value gcm_key_new(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *key;
  size_t len;
  if (argc < 1 || tfw_get_bytes(env, argv[0], "key", &key, &len)) return argc < 1 ? tfw_throw(env, "ERR_INVALID_ARG_TYPE", "key: expected a Uint8Array") : NULL;
  if (len != 32) return tfw_throw(env, CODE, "key: expected 32 bytes, got %zu", len);
  gcm_key *k = calloc(1, sizeof *k);
  if (!k) return tfw_throw(env, "ERR_GCM", "gcmKey: out of memory");
  k->magic = MAGIC;
  const EVP_CIPHER *c = evp.aes_256_gcm();
  /* Key only (iv NULL): the schedule is computed here; per packet only the iv is set. */
  if (!c || !(k->enc = evp.ctx_new()) || !(k->dec = evp.ctx_new()) || evp.enc_init(k->enc, c, NULL, key, NULL) != 1 ||
      evp.dec_init(k->dec, c, NULL, key, NULL) != 1) {
    key_free(k);
    return tfw_throw(env, "ERR_GCM", "gcmKey: OpenSSL refused the AES-256-GCM key");
  }
  napi_value ext;
  if (napi_create_external(env, k, finalize, NULL, &ext) != napi_ok) {
    key_free(k);
    tfw_rethrow_last(env, "napi_create_external");
    return NULL;
  }
  return ext;
}

static gcm_key *get_key(napi_env env, napi_value v) {
  napi_valuetype t;
  void *data = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &data) != napi_ok || !data ||
      ((gcm_key *)data)->magic != MAGIC) {
    tfw_throw(env, "ERR_INVALID_ARG_TYPE", "key: expected a key from gcmKey");
    return NULL;
  }
  return data;
}

static napi_value ret_int(napi_env env, int64_t n) {
  napi_value v;
  napi_create_int64(env, n, &v);
  return v;
}

/* True when [a, a+al) and [b, b+bl) share a byte. */
static int overlaps(const uint8_t *a, size_t al, const uint8_t *b, size_t bl) {
  return al && bl && a < b + bl && b < a + al;
}

static napi_value gcm_seal(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) return tfw_throw(env, "ERR_INVALID_ARG_TYPE", "gcmSeal: expected 5 arguments, got %zu", argc);
  gcm_key *k = get_key(env, argv[0]);
  if (!k) return NULL;
  uint8_t *hdr, *pkt, *out;
  size_t hdr_len, pkt_len, out_len;
  int64_t off;
  if (tfw_get_bytes(env, argv[1], "header", &hdr, &hdr_len) || tfw_get_bytes(env, argv[2], "packet", &pkt, &pkt_len) ||
      tfw_get_bytes(env, argv[3], "out", &out, &out_len) || tfw_get_int(env, argv[4], "off", &off))
    return NULL;
  size_t pt_len = hdr_len + pkt_len;
  if (pt_len > 0x7fffffff - TAG_BYTES - NONCE_BYTES) return tfw_throw(env, CODE, "packet: expected at most 2 GiB, got %zu bytes", pt_len);
  size_t n = pt_len + TAG_BYTES + NONCE_BYTES;
  if (off < 0 || (uint64_t)off > out_len || out_len - (size_t)off < n)
    return tfw_throw(env, CODE, "out: expected %zu bytes from %lld, got %lld", n, (long long)off, (long long)out_len - off);
  uint8_t *ct = out + off;
  /* GCM writes ciphertext as it reads plaintext: an input under the output would be read after it was overwritten. */
  if (overlaps(hdr, hdr_len, ct, n) || overlaps(pkt, pkt_len, ct, n))
    return tfw_throw(env, CODE, "out: expected a box region that does not overlap header or packet");
  int l = 0, l2 = 0, l3 = 0;
  if (evp.enc_init(k->enc, NULL, NULL, NULL, ct + pt_len + TAG_BYTES) != 1 ||
      (hdr_len && evp.enc_update(k->enc, ct, &l, hdr, (int)hdr_len) != 1) ||
      (pkt_len && evp.enc_update(k->enc, ct + l, &l2, pkt, (int)pkt_len) != 1) ||
      (size_t)(l + l2) > pt_len || evp.enc_final(k->enc, ct + l + l2, &l3) != 1 || (size_t)(l + l2 + l3) != pt_len ||
      evp.ctrl(k->enc, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, ct + pt_len) != 1)
    return ret_int(env, -1);
  return ret_int(env, (int64_t)n);
}

static napi_value gcm_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) return tfw_throw(env, "ERR_INVALID_ARG_TYPE", "gcmOpen: expected 4 arguments, got %zu", argc);
  gcm_key *k = get_key(env, argv[0]);
  if (!k) return NULL;
  uint8_t *buf;
  size_t buf_len;
  int64_t off, len;
  if (tfw_get_bytes(env, argv[1], "buf", &buf, &buf_len) || tfw_get_int(env, argv[2], "off", &off) || tfw_get_int(env, argv[3], "len", &len))
    return NULL;
  if (off < 0 || len < 0 || (uint64_t)off > buf_len || (uint64_t)len > buf_len - (size_t)off)
    return tfw_throw(env, CODE, "buf: expected %lld bytes from %lld, got %zu in all", (long long)len, (long long)off, buf_len);
  if (len < TAG_BYTES + NONCE_BYTES || len > 0x7fffffff) return ret_int(env, -1);
  uint8_t *box = buf + off;
  size_t ct_len = (size_t)len - TAG_BYTES - NONCE_BYTES;
  int l = 0, l2 = 0;
  /* In place: OpenSSL's GCM accepts out == in. The tag is checked at Final, after Update wrote the plaintext. */
  if (evp.dec_init(k->dec, NULL, NULL, NULL, box + ct_len + TAG_BYTES) != 1 ||
      evp.ctrl(k->dec, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, box + ct_len) != 1 ||
      (ct_len && evp.dec_update(k->dec, box, &l, box, (int)ct_len) != 1) || (size_t)l > ct_len ||
      evp.dec_final(k->dec, box + l, &l2) != 1 || (size_t)(l + l2) != ct_len) {
    memset(box, 0, ct_len); /* unverified plaintext: never left for anyone to deliver */
    return ret_int(env, -1);
  }
  return ret_int(env, (int64_t)ct_len);
}

napi_value tfw_init_gcm(napi_env env, napi_value exports) {
  if (resolve()) return exports; /* no libcrypto in this process: seal.ts uses node:crypto */
  tfw_export(env, exports, "gcmKey", gcm_key_new);
  tfw_export(env, exports, "gcmSeal", gcm_seal);
  tfw_export(env, exports, "gcmOpen", gcm_open);
  return exports;
}
