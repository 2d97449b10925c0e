/*
 * JS bindings of the C AEAD kernel (chacha20poly1305.c). Lengths are checked
 * here once per call; the kernels then run on the caller's buffers.
 *
 * JS: aeadSeal(alg, key, nonce, plaintext, aad|null, out) -> bytes written
 *     aeadOpen(alg, key, nonce, sealed, aad|null, out) -> plaintext length | -1
 *     aeadSealBatch(alg, keys, nonces, bufs, sizes, count) -> count
 *     aeadOpenBatch(alg, keys, nonces, bufs, sizes, count) -> number verified
 *     chacha20(key, nonce12, counter, in, out); hchacha20(key, nonce16, out32);
 *     poly1305(key32, msg, out16)
 *     aeadIsa() -> 'avx512' | 'avx2' | 'neon' | 'portable' (the kernel in use)
 *     aeadSetIsa(name) -> the kernel now in use ('auto' = the best this CPU runs;
 *       a kernel this CPU lacks gives 'portable'); for tests and benches
 * alg: 0 = ChaCha20-Poly1305 (12-byte nonce), 1 = XChaCha20-Poly1305 (24-byte).
 */
#include "chacha20poly1305.h"
#include "napi_util.h"

#include <stdlib.h>
#include <string.h>

#define CODE "ERR_OUT_OF_RANGE"

static int get_alg(napi_env env, napi_value v, size_t *nonce_len) {
  int64_t alg;
  if (tfw_get_int(env, v, "alg", &alg)) return -1;
  if (alg != 0 && alg != 1) {
    tfw_throw(env, CODE, "alg: expected 0 (chacha20-poly1305) or 1 (xchacha20-poly1305), got %lld", (long long)alg);
    return -1;
  }
  *nonce_len = alg ? 24 : 12;
  return (int)alg;
}

static int check_len(napi_env env, const char *field, size_t got, size_t want) {
  if (got == want) return 0;
  tfw_throw(env, CODE, "%s: expected %zu bytes, got %zu", field, want, got);
  return -1;
}

/* out must either be the input memory itself or not overlap it. */
static int check_alias(napi_env env, const uint8_t *in, size_t inlen, const uint8_t *out, size_t outlen) {
  if (in == out || inlen == 0 || out + outlen <= in || in + inlen <= out) return 0;
  tfw_throw(env, CODE, "out: must be the input's memory (in place) or not overlap it");
  return -1;
}

static napi_value seal_open(napi_env env, napi_callback_info info, int open) {
  size_t argc = 6;
  napi_value argv[6];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  size_t nl, kl, nnl, il, al, ol;
  uint8_t *key, *nonce, *in, *aad, *out;
  int alg = get_alg(env, argv[0], &nl);
  if (alg < 0) return NULL;
  if (tfw_get_bytes(env, argv[1], "key", &key, &kl) || check_len(env, "key", kl, 32)) return NULL;
  if (tfw_get_bytes(env, argv[2], "nonce", &nonce, &nnl) || check_len(env, "nonce", nnl, nl)) return NULL;
  if (tfw_get_bytes(env, argv[3], open ? "sealed" : "plaintext", &in, &il)) return NULL;
  if (tfw_get_bytes_opt(env, argv[4], "aad", &aad, &al)) return NULL;
  if (tfw_get_bytes(env, argv[5], "out", &out, &ol)) return NULL;
  napi_value ret;
  if (!open) {
    if (ol < il + 16) return tfw_throw(env, CODE, "out: expected at least %zu bytes (plaintext + 16), got %zu", il + 16, ol);
    if (check_alias(env, in, il, out, il + 16)) return NULL;
    if (alg) tfw_xaead_seal(key, nonce, in, il, aad, al, out);
    else tfw_aead_seal(key, nonce, in, il, aad, al, out);
    napi_create_int32(env, (int32_t)(il + 16), &ret);
    return ret;
  }
  if (il < 16) return tfw_throw(env, CODE, "sealed: expected at least 16 bytes (the tag), got %zu", il);
  if (ol < il - 16) return tfw_throw(env, CODE, "out: expected at least %zu bytes (sealed - 16), got %zu", il - 16, ol);
  if (check_alias(env, in, il, out, il - 16)) return NULL;
  int rc = alg ? tfw_xaead_open(key, nonce, in, il - 16, aad, al, out) : tfw_aead_open(key, nonce, in, il - 16, aad, al, out);
  napi_create_int32(env, rc == 0 ? (int32_t)(il - 16) : -1, &ret);
  return ret;
}

static napi_value aead_seal(napi_env env, napi_callback_info info) { return seal_open(env, info, 0); }
static napi_value aead_open(napi_env env, napi_callback_info info) { return seal_open(env, info, 1); }

static napi_value batch(napi_env env, napi_callback_info info, int open) {
  size_t argc = 6;
  napi_value argv[6];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  size_t nl, kl, nnl, nsizes;
  uint8_t *keys, *nonces;
  int32_t *sizes;
  int64_t count;
  int alg = get_alg(env, argv[0], &nl);
  if (alg < 0) return NULL;
  if (tfw_get_bytes(env, argv[1], "keys", &keys, &kl) || tfw_get_bytes(env, argv[2], "nonces", &nonces, &nnl)) return NULL;
  uint32_t nbufs = 0;
  if (napi_get_array_length(env, argv[3], &nbufs) != napi_ok)
    return tfw_throw(env, "ERR_INVALID_ARG_TYPE", "bufs: expected an array of Uint8Array");
  if (tfw_get_i32(env, argv[4], "sizes", &sizes, &nsizes) || tfw_get_int(env, argv[5], "count", &count)) return NULL;
  if (count < 0 || (uint64_t)count > nbufs || (uint64_t)count > nsizes)
    return tfw_throw(env, CODE, "count: expected 0..%zu (bufs and sizes length), got %lld", nbufs < nsizes ? (size_t)nbufs : nsizes,
                     (long long)count);
  if (kl != 32 && kl < (size_t)count * 32)
    return tfw_throw(env, CODE, "keys: expected 32 bytes or count*32 = %lld bytes, got %zu", (long long)count * 32, kl);
  if (nnl < (size_t)count * nl) return tfw_throw(env, CODE, "nonces: expected count*%zu = %lld bytes, got %zu", nl, (long long)count * (long long)nl, nnl);
  int ok = 0;
  for (int64_t i = 0; i < count; i++) {
    napi_value v;
    uint8_t *p;
    size_t cap;
    if (napi_get_element(env, argv[3], (uint32_t)i, &v) != napi_ok || tfw_get_bytes(env, v, "bufs[i]", &p, &cap)) return NULL;
    const uint8_t *k = kl == 32 ? keys : keys + 32 * i;
    const uint8_t *n = nonces + nl * i;
    int32_t sz = sizes[i];
    if (!open) {
      if (sz < 0 || (size_t)sz + 16 > cap)
        return tfw_throw(env, CODE, "sizes[%lld]: expected 0..%zu (bufs[%lld].byteLength - 16), got %d", (long long)i,
                         cap >= 16 ? cap - 16 : 0, (long long)i, sz);
      if (alg) tfw_xaead_seal(k, n, p, (size_t)sz, NULL, 0, p);
      else tfw_aead_seal(k, n, p, (size_t)sz, NULL, 0, p);
      sizes[i] = sz + 16;
      ok++;
    } else {
      if (sz > 0 && (size_t)sz > cap)
        return tfw_throw(env, CODE, "sizes[%lld]: expected 16..%zu (bufs[%lld].byteLength), got %d", (long long)i, cap, (long long)i, sz);
      if (sz < 16) {
        sizes[i] = -1;
        continue;
      }
      int rc = alg ? tfw_xaead_open(k, n, p, (size_t)sz - 16, NULL, 0, p) : tfw_aead_open(k, n, p, (size_t)sz - 16, NULL, 0, p);
      sizes[i] = rc == 0 ? sz - 16 : -1;
      if (rc == 0) ok++;
    }
  }
  napi_value ret;
  napi_create_int32(env, ok, &ret);
  return ret;
}

static napi_value aead_seal_batch(napi_env env, napi_callback_info info) { return batch(env, info, 0); }
static napi_value aead_open_batch(napi_env env, napi_callback_info info) { return batch(env, info, 1); }

static napi_value chacha20(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *key, *nonce, *in, *out;
  size_t kl, nl, il, ol;
  int64_t counter;
  if (tfw_get_bytes(env, argv[0], "key", &key, &kl) || check_len(env, "key", kl, 32)) return NULL;
  if (tfw_get_bytes(env, argv[1], "nonce", &nonce, &nl) || check_len(env, "nonce", nl, 12)) return NULL;
  if (tfw_get_int(env, argv[2], "counter", &counter)) return NULL;
  if (counter < 0 || counter > 0xffffffffLL) return tfw_throw(env, CODE, "counter: expected 0..2^32-1, got %lld", (long long)counter);
  if (tfw_get_bytes(env, argv[3], "input", &in, &il) || tfw_get_bytes(env, argv[4], "out", &out, &ol)) return NULL;
  if (ol < il) return tfw_throw(env, CODE, "out: expected at least %zu bytes, got %zu", il, ol);
  if (check_alias(env, in, il, out, il)) return NULL;
  tfw_chacha20_xor(key, nonce, (uint32_t)counter, in, out, il);
  return NULL;
}

static napi_value hchacha20(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *key, *nonce, *out;
  size_t kl, nl, ol;
  if (tfw_get_bytes(env, argv[0], "key", &key, &kl) || check_len(env, "key", kl, 32)) return NULL;
  if (tfw_get_bytes(env, argv[1], "nonce16", &nonce, &nl) || check_len(env, "nonce16", nl, 16)) return NULL;
  if (tfw_get_bytes(env, argv[2], "out", &out, &ol)) return NULL;
  if (ol < 32) return tfw_throw(env, CODE, "out: expected at least 32 bytes, got %zu", ol);
  tfw_hchacha20(key, nonce, out);
  return NULL;
}

static napi_value poly1305(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *key, *msg, *out;
  size_t kl, ml, ol;
  if (tfw_get_bytes(env, argv[0], "key", &key, &kl) || check_len(env, "key", kl, 32)) return NULL;
  if (tfw_get_bytes(env, argv[1], "message", &msg, &ml) || tfw_get_bytes(env, argv[2], "out", &out, &ol)) return NULL;
  if (ol < 16) return tfw_throw(env, CODE, "out: expected at least 16 bytes, got %zu", ol);
  tfw_poly1305(key, msg, ml, out);
  return NULL;
}

/*
 * Packet-pool batch (the AeadPacketPool contract of runtime/kernels/aead-pool.ts):
 * mem[base..] holds a descriptor of 14 u32 (absolute addresses within mem):
 * slotsBase, slotBytes, slots, keysBase, keys, entries, then the addresses of
 * the entry arrays slot, offset, length, aadOffset, aadLength, key (u32 each),
 * nonce (12 bytes each), status (u8 each). Entry i: packet at slot[i] bytes
 * [offset, offset+length), AAD at [aadOffset, +aadLength) of the same slot.
 * Seal: in place, tag appended, length += 16. Open: verify, then decrypt in
 * place, length -= 16; a failed packet keeps its bytes. Status 0 ok, 1 auth,
 * 2 invalid entry. Returns the number of failures.
 */
static __thread uint8_t *aad_copy;
static __thread size_t aad_copy_len;

static inline uint32_t rd32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v; /* little-endian hosts only (x64, arm64), as wasm memory */
}
static inline void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static napi_value aead_pool_run(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *mem;
  size_t memlen;
  int64_t base, count;
  bool open = false;
  if (tfw_get_bytes(env, argv[0], "mem", &mem, &memlen) || tfw_get_int(env, argv[1], "base", &base) ||
      tfw_get_int(env, argv[2], "count", &count))
    return NULL;
  napi_get_value_bool(env, argv[3], &open);
  if (base < 0 || (uint64_t)base + 56 > memlen) return tfw_throw(env, CODE, "base: descriptor at %lld does not fit %zu bytes", (long long)base, memlen);
  uint32_t d[14];
  for (int i = 0; i < 14; i++) d[i] = rd32(mem + base + 4 * i);
  uint64_t slotsBase = d[0], B = d[1], S = d[2], keysBase = d[3], K = d[4], N = d[5];
  if (slotsBase + S * B > memlen || keysBase + K * 32 > memlen)
    return tfw_throw(env, CODE, "descriptor: slots or keys outside the %zu-byte memory", memlen);
  for (int i = 6; i < 12; i++)
    if ((uint64_t)d[i] + N * 4 > memlen) return tfw_throw(env, CODE, "descriptor: entry array %d outside the memory", i - 6);
  if ((uint64_t)d[12] + N * 12 > memlen || (uint64_t)d[13] + N > memlen)
    return tfw_throw(env, CODE, "descriptor: nonce/status arrays outside the memory");
  if (count < 0) return tfw_throw(env, CODE, "count: expected >= 0, got %lld", (long long)count);
  uint64_t n = (uint64_t)count < N ? (uint64_t)count : N;
  uint8_t *eSlot = mem + d[6], *eOff = mem + d[7], *eLen = mem + d[8], *eAadOff = mem + d[9], *eAadLen = mem + d[10],
          *eKey = mem + d[11], *eNonce = mem + d[12], *eStatus = mem + d[13];
  int32_t failed = 0;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t slot = rd32(eSlot + 4 * i), off = rd32(eOff + 4 * i), len = rd32(eLen + 4 * i);
    uint64_t aoff = rd32(eAadOff + 4 * i), alen = rd32(eAadLen + 4 * i), k = rd32(eKey + 4 * i);
    uint64_t need = open ? len : len + 16;
    if (slot >= S || k >= K || (open && len < 16) || off + need > B || aoff + alen > B) {
      eStatus[i] = 2;
      failed++;
      continue;
    }
    uint8_t *s = mem + slotsBase + slot * B;
    const uint8_t *key = mem + keysBase + k * 32, *nonce = eNonce + 12 * i;
    const uint8_t *aad = s + aoff;
    /* An AAD overlapping the packet is read before the packet changes (as a copy). */
    if (alen && aoff < off + need && off < aoff + alen) {
      if (alen > aad_copy_len) {
        uint8_t *p = realloc(aad_copy, alen);
        if (!p) return tfw_throw(env, "ERR_TFW_NATIVE", "aeadPoolRun: out of memory");
        aad_copy = p;
        aad_copy_len = alen;
      }
      memcpy(aad_copy, aad, alen);
      aad = aad_copy;
    }
    if (open) {
      if (tfw_aead_open_keep(key, nonce, s + off, len - 16, aad, alen, s + off) < 0) {
        eStatus[i] = 1;
        failed++;
        continue;
      }
      wr32(eLen + 4 * i, (uint32_t)(len - 16));
    } else {
      tfw_aead_seal(key, nonce, s + off, len, aad, alen, s + off);
      wr32(eLen + 4 * i, (uint32_t)(len + 16));
    }
    eStatus[i] = 0;
  }
  napi_value ret;
  napi_create_int32(env, failed, &ret);
  return ret;
}

static napi_value aead_isa(napi_env env, napi_callback_info info) {
  napi_value v;
  napi_create_string_utf8(env, tfw_aead_isa(), NAPI_AUTO_LENGTH, &v);
  return v;
}

static napi_value aead_set_isa(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[16] = {0};
  size_t n;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &n) != napi_ok)
    return tfw_throw(env, "ERR_INVALID_ARG_TYPE", "isa: expected a string");
  static const char *const known[] = {"auto", "avx512", "avx2", "neon", "portable"};
  int ok = 0;
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) ok |= strcmp(name, known[i]) == 0;
  if (!ok) return tfw_throw(env, "ERR_INVALID_ARG_VALUE", "isa: expected auto, avx512, avx2, neon or portable, got '%s'", name);
  napi_value v;
  napi_create_string_utf8(env, tfw_aead_set_isa(name), NAPI_AUTO_LENGTH, &v);
  return v;
}

napi_value tfw_init_aead(napi_env env, napi_value exports) {
  tfw_aead_isa(); /* picks the kernel once, on the loading thread */
  tfw_export(env, exports, "aeadPoolRun", aead_pool_run);
  tfw_export(env, exports, "aeadSeal", aead_seal);
  tfw_export(env, exports, "aeadOpen", aead_open);
  tfw_export(env, exports, "aeadSealBatch", aead_seal_batch);
  tfw_export(env, exports, "aeadOpenBatch", aead_open_batch);
  tfw_export(env, exports, "chacha20", chacha20);
  tfw_export(env, exports, "hchacha20", hchacha20);
  tfw_export(env, exports, "poly1305", poly1305);
  tfw_export(env, exports, "aeadIsa", aead_isa);
  tfw_export(env, exports, "aeadSetIsa", aead_set_isa);
  return exports;
}
