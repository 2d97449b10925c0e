/* Helpers for the tfw addon: errors with codes, typed-array access. */
#define _GNU_SOURCE
#include "napi_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *tfw_errno_name(int err) {
  const char *n = strerrorname_np(err);
  return n ? n : "E?";
}

static void set_str(napi_env env, napi_value obj, const char *key, const char *val) {
  napi_value s;
  if (napi_create_string_utf8(env, val, NAPI_AUTO_LENGTH, &s) == napi_ok) napi_set_named_property(env, obj, key, s);
}

napi_value tfw_throw(napi_env env, const char *code, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  napi_value m, c, e;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
  if (napi_create_error(env, c, m, &e) == napi_ok) napi_throw(env, e);
  return NULL;
}

napi_value tfw_throw_errno(napi_env env, const char *code, const char *what, int err, const char *hint) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s: %s (%s)%s", what, tfw_errno_name(err), strerror(err), hint ? hint : "");
  napi_value m, c, e, n;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
  if (napi_create_error(env, c, m, &e) != napi_ok) return NULL;
  napi_create_int32(env, err, &n);
  napi_set_named_property(env, e, "errno", n);
  set_str(env, e, "errnoName", tfw_errno_name(err));
  set_str(env, e, "syscall", what);
  napi_throw(env, e);
  return NULL;
}

void tfw_rethrow_last(napi_env env, const char *call) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  tfw_throw(env, "ERR_TFW_NATIVE", "%s failed: %s", call, info && info->error_message ? info->error_message : "unknown");
}

int tfw_get_bytes(napi_env env, napi_value v, const char *field, uint8_t **data, size_t *len) {
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  if (!is_ta) {
    tfw_throw(env, "ERR_INVALID_ARG_TYPE", "%s: expected a Uint8Array (typed array view)", field);
    return -1;
  }
  napi_typedarray_type type;
  size_t length, off;
  void *p;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &type, &length, &p, &ab, &off) != napi_ok) {
    tfw_rethrow_last(env, field);
    return -1;
  }
  size_t el = 1;
  switch (type) {
    case napi_int16_array: case napi_uint16_array: el = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: el = 4; break;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: el = 8; break;
    default: el = 1;
  }
  *data = (uint8_t *)p;
  *len = length * el;
  return 0;
}

int tfw_get_bytes_opt(napi_env env, napi_value v, const char *field, uint8_t **data, size_t *len) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_undefined || t == napi_null) {
    *data = NULL;
    *len = 0;
    return 0;
  }
  return tfw_get_bytes(env, v, field, data, len);
}

int tfw_get_buf_at(napi_env env, napi_value arr, uint32_t i, uint8_t **data, size_t *len) {
  napi_value v;
  if (napi_get_element(env, arr, i, &v) != napi_ok) {
    tfw_rethrow_last(env, "bufs");
    return -1;
  }
  return tfw_get_bytes(env, v, "bufs[i]", data, len);
}

int tfw_get_batch(napi_env env, napi_value bufs, napi_value sizes, int32_t **sizes_out, size_t *max) {
  uint32_t nbufs = 0;
  if (napi_get_array_length(env, bufs, &nbufs) != napi_ok) {
    tfw_throw(env, "ERR_INVALID_ARG_TYPE", "bufs: expected an array of Uint8Array");
    return -1;
  }
  size_t nsizes;
  if (tfw_get_i32(env, sizes, "sizes", sizes_out, &nsizes)) return -1;
  *max = nbufs < nsizes ? nbufs : nsizes;
  return 0;
}

int tfw_get_i32(napi_env env, napi_value v, const char *field, int32_t **data, size_t *count) {
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  napi_typedarray_type type = napi_uint8_array;
  size_t length = 0, off;
  void *p = NULL;
  napi_value ab;
  if (is_ta) napi_get_typedarray_info(env, v, &type, &length, &p, &ab, &off);
  if (!is_ta || type != napi_int32_array) {
    tfw_throw(env, "ERR_INVALID_ARG_TYPE", "%s: expected an Int32Array", field);
    return -1;
  }
  *data = (int32_t *)p;
  *count = length;
  return 0;
}

int tfw_get_int(napi_env env, napi_value v, const char *field, int64_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || d != d || d < -9007199254740991.0 || d > 9007199254740991.0 ||
      (double)(int64_t)d != d) {
    tfw_throw(env, "ERR_INVALID_ARG_TYPE", "%s: expected an integer", field);
    return -1;
  }
  *out = (int64_t)d;
  return 0;
}

int tfw_export(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value f;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f) != napi_ok) return -1;
  return napi_set_named_property(env, exports, name, f) == napi_ok ? 0 : -1;
}
