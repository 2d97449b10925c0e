/*
 * JS bindings of the Reed-Solomon kernel (rs.c).
 *
 * JS: rsEncode(matrix, rows, inputs, outputs, len): outputs[r][0..len) =
 *       XOR_j matrix[r*k+j] * inputs[j][0..len), k = inputs.length
 *     rsIsa() -> 'gfni-avx512' | 'gfni-avx2' | 'avx2' | 'ssse3' | 'neon' | 'scalar'
 *     rsSetIsa(name) -> the ISA now in use (tests force each path; 'auto' resets)
 */
#include "napi_util.h"
#include "rs.h"

#include <stdlib.h>
#include <string.h>

#define CODE "ERR_OUT_OF_RANGE"

/* Per-thread scratch for the nibble tables (32 bytes per coefficient; the GFNI matrices take 8 of them), grown
 * (rarely) to the largest rows*k*32 seen. */
static __thread uint8_t *scratch;
static __thread size_t scratch_len;

static int get_shards(napi_env env, napi_value arr, const char *field, uint8_t **ptrs, uint32_t *count, size_t len) {
  if (napi_get_array_length(env, arr, count) != napi_ok) {
    tfw_throw(env, "ERR_INVALID_ARG_TYPE", "%s: expected an array of Uint8Array", field);
    return -1;
  }
  if (*count < 1 || *count > 256) {
    tfw_throw(env, CODE, "%s: expected 1..256 shards, got %u", field, *count);
    return -1;
  }
  for (uint32_t i = 0; i < *count; i++) {
    napi_value v;
    size_t l;
    if (napi_get_element(env, arr, i, &v) != napi_ok || tfw_get_bytes(env, v, field, &ptrs[i], &l)) return -1;
    if (l < len) {
      tfw_throw(env, CODE, "%s[%u]: expected at least %zu bytes (len), got %zu", field, i, len, l);
      return -1;
    }
  }
  return 0;
}

static napi_value rs_encode(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *matrix;
  size_t ml;
  int64_t rows, len;
  if (tfw_get_bytes(env, argv[0], "matrix", &matrix, &ml) || tfw_get_int(env, argv[1], "rows", &rows) ||
      tfw_get_int(env, argv[4], "len", &len))
    return NULL;
  if (rows < 1 || rows > 256) return tfw_throw(env, CODE, "rows: expected 1..256, got %lld", (long long)rows);
  if (len < 0) return tfw_throw(env, CODE, "len: expected >= 0 bytes, got %lld", (long long)len);
  uint8_t *in[256], *out[256];
  uint32_t k, nout;
  if (get_shards(env, argv[2], "inputs", in, &k, (size_t)len) || get_shards(env, argv[3], "outputs", out, &nout, (size_t)len))
    return NULL;
  if (nout < rows) return tfw_throw(env, CODE, "outputs: expected %lld shards (rows), got %u", (long long)rows, nout);
  if (ml != (size_t)rows * k)
    return tfw_throw(env, CODE, "matrix: expected rows*k = %lld*%u = %lld bytes, got %zu", (long long)rows, k, (long long)rows * k, ml);
  for (int64_t r = 0; r < rows; r++)
    for (uint32_t j = 0; j < k; j++)
      if (len > 0 && out[r] < in[j] + len && in[j] < out[r] + len)
        return tfw_throw(env, CODE, "outputs[%lld]: must not overlap inputs[%u]", (long long)r, j);
  size_t need = (size_t)rows * k * 32;
  if (need > scratch_len) {
    uint8_t *p = realloc(scratch, need);
    if (!p) return tfw_throw(env, "ERR_TFW_NATIVE", "rsEncode: out of memory for %zu bytes of tables", need);
    scratch = p;
    scratch_len = need;
  }
  tfw_rs_encode(matrix, (int)rows, (int)k, (const uint8_t *const *)in, out, (size_t)len, scratch);
  return NULL;
}

static napi_value rs_isa(napi_env env, napi_callback_info info) {
  napi_value v;
  napi_create_string_utf8(env, tfw_rs_isa(), NAPI_AUTO_LENGTH, &v);
  return v;
}

static napi_value rs_set_isa(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[16] = {0};
  size_t n;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &n) != napi_ok)
    return tfw_throw(env, "ERR_INVALID_ARG_TYPE", "isa: expected a string");
  napi_value v;
  napi_create_string_utf8(env, tfw_rs_set_isa(name), NAPI_AUTO_LENGTH, &v);
  return v;
}

napi_value tfw_init_rs(napi_env env, napi_value exports) {
  tfw_rs_init();
  tfw_export(env, exports, "rsEncode", rs_encode);
  tfw_export(env, exports, "rsIsa", rs_isa);
  tfw_export(env, exports, "rsSetIsa", rs_set_isa);
  return exports;
}
