/*
 * Small helpers shared by the tfw addon's C files: argument access, typed-array
 * views and errors that carry a stable `code`, the errno name and the syscall.
 */
#ifndef TFW_NAPI_UTIL_H
#define TFW_NAPI_UTIL_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

/* Bail out of a napi callback when a napi call fails (an exception is pending). */
#define NAPI_CALL(env, call)                                         \
  do {                                                               \
    if ((call) != napi_ok) {                                         \
      tfw_rethrow_last(env, #call);                                  \
      return NULL;                                                   \
    }                                                                \
  } while (0)

#define TFW_MAX_ARGS 8

/* Throws Error(message) with .code. Always returns NULL for `return tfw_throw(...)`. */
napi_value tfw_throw(napi_env env, const char *code, const char *fmt, ...);
/* Throws a system error: "<what>: ENAME (strerror)<hint>" with .code, .errno, .syscall. */
napi_value tfw_throw_errno(napi_env env, const char *code, const char *what, int err, const char *hint);
/* Makes sure an exception is pending after a failed napi call. */
void tfw_rethrow_last(napi_env env, const char *call);
/* Symbolic errno name ("EPERM"), or "E?" when unknown. */
const char *tfw_errno_name(int err);

/* Reads argument i as a typed array (any element type); pointer includes the byte offset. */
int tfw_get_bytes(napi_env env, napi_value v, const char *field, uint8_t **data, size_t *len);
/* Reads an Int32Array. */
int tfw_get_i32(napi_env env, napi_value v, const char *field, int32_t **data, size_t *count);
int tfw_get_int(napi_env env, napi_value v, const char *field, int64_t *out);
/* Element i of a JS array of Uint8Array (packet buffers), as tfw_get_bytes; field "bufs[i]". */
int tfw_get_buf_at(napi_env env, napi_value arr, uint32_t i, uint8_t **data, size_t *len);
/* A packet batch's `bufs` (array of Uint8Array) and `sizes` (Int32Array): *sizes, and *max =
 * min(bufs.length, sizes.length). 0, or -1 with a JS exception pending. */
int tfw_get_batch(napi_env env, napi_value bufs, napi_value sizes, int32_t **sizes_out, size_t *max);
/* Reads an optional typed array: undefined/null give data=NULL, len=0. */
int tfw_get_bytes_opt(napi_env env, napi_value v, const char *field, uint8_t **data, size_t *len);

napi_value tfw_init_io(napi_env env, napi_value exports);
napi_value tfw_init_poll(napi_env env, napi_value exports);
napi_value tfw_init_tun(napi_env env, napi_value exports);
napi_value tfw_init_udp(napi_env env, napi_value exports);
napi_value tfw_init_aead(napi_env env, napi_value exports);
napi_value tfw_init_rs(napi_env env, napi_value exports);

/* Registers a function on exports. */
int tfw_export(napi_env env, napi_value exports, const char *name, napi_callback fn);

#endif
