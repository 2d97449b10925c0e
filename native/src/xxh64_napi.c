/*
 * XXH64 for the storage checksums (runtime/storage/checksum.ts), from Debian's
 * libxxhash-dev header compiled in (XXH_INLINE_ALL: no libxxhash.so at run time,
 * and the header is architecture independent, so the arm64 cross build uses it
 * too). Spec: github.com/Cyan4973/xxHash doc/xxhash_spec.md.
 *
 * JS: xxh64(parts, out): out[0..8) = XXH64(seed 0) of the concatenation of the
 *     Uint8Arrays in `parts` (1..64 of them), canonical (big-endian) form. The
 *     bytes are hashed where they lie: nothing is copied or allocated.
 */
#include "napi_util.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#define CODE "ERR_OUT_OF_RANGE"

static int part_at(napi_env env, napi_value parts, uint32_t i, uint8_t **p, size_t *len) {
  napi_value v;
  if (napi_get_element(env, parts, i, &v) != napi_ok) {
    tfw_rethrow_last(env, "parts");
    return -1;
  }
  return tfw_get_bytes(env, v, "parts[i]", p, len);
}

static napi_value xxh64(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *out;
  size_t out_len;
  uint32_t n;
  if (tfw_get_bytes(env, argv[1], "out", &out, &out_len)) return NULL;
  if (out_len < sizeof(XXH64_canonical_t)) return tfw_throw(env, CODE, "out: expected at least 8 bytes, got %zu", out_len);
  if (napi_get_array_length(env, argv[0], &n) != napi_ok) return tfw_throw(env, "ERR_INVALID_ARG_TYPE", "parts: expected an array of Uint8Array");
  if (n < 1 || n > 64) return tfw_throw(env, CODE, "parts: expected 1..64 arrays, got %u", n);
  XXH64_hash_t h;
  uint8_t *p;
  size_t len;
  if (n == 1) {
    if (part_at(env, argv[0], 0, &p, &len)) return NULL;
    h = XXH64(p, len, 0);
  } else {
    XXH64_state_t st;
    XXH64_reset(&st, 0);
    for (uint32_t i = 0; i < n; i++) {
      if (part_at(env, argv[0], i, &p, &len)) return NULL;
      XXH64_update(&st, p, len);
    }
    h = XXH64_digest(&st);
  }
  XXH64_canonicalFromHash((XXH64_canonical_t *)out, h);
  return NULL;
}

napi_value tfw_init_xxh64(napi_env env, napi_value exports) {
  tfw_export(env, exports, "xxh64", xxh64);
  return exports;
}
