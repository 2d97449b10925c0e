/*
 * Batched packet I/O on a non-blocking packet fd (TUN): one read()/write() per
 * packet, looping inside one JS call so a batch costs one JS->C crossing.
 * Buffers are caller-owned Uint8Array views (also views of wasm memory: the
 * pointer napi returns already includes the view's byte offset).
 *
 * JS: readBatch(fd, bufs, sizes) -> n   reads until EAGAIN or n == min(bufs, sizes);
 *       sizes[i] = bytes of packet i.
 *     writeBatch(fd, bufs, sizes, count) -> consumed   writes bufs[i][0..sizes[i]);
 *       stops at EAGAIN (consumed < count); a packet the kernel refuses (EINVAL,
 *       EMSGSIZE, ...) gets sizes[i] = -errno and the batch goes on.
 *     closeFd(fd).
 */
#include "napi_util.h"

#include <errno.h>
#include <unistd.h>

#define CODE "ERR_TFW_IO"

static napi_value read_batch(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t fd;
  if (tfw_get_int(env, argv[0], "fd", &fd)) return NULL;
  int32_t *sizes;
  size_t max;
  if (tfw_get_batch(env, argv[1], argv[2], &sizes, &max)) return NULL;
  size_t n = 0;
  for (; n < max; n++) {
    uint8_t *p;
    size_t cap;
    if (tfw_get_buf_at(env, argv[1], (uint32_t)n, &p, &cap)) return NULL;
    ssize_t r;
    do r = read((int)fd, p, cap); while (r < 0 && errno == EINTR);
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (n > 0) break; /* report what we have; the error repeats on the next call */
      return tfw_throw_errno(env, CODE, "read", errno, NULL);
    }
    sizes[n] = (int32_t)r;
  }
  napi_value out;
  napi_create_uint32(env, (uint32_t)n, &out);
  return out;
}

static napi_value write_batch(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t fd, count;
  if (tfw_get_int(env, argv[0], "fd", &fd)) return NULL;
  int32_t *sizes;
  size_t max;
  if (tfw_get_batch(env, argv[1], argv[2], &sizes, &max)) return NULL;
  if (tfw_get_int(env, argv[3], "count", &count)) return NULL;
  if (count < 0 || (size_t)count > max)
    return tfw_throw(env, "ERR_OUT_OF_RANGE", "count: expected 0..%zu (bufs and sizes length), got %lld", max,
                     (long long)count);
  int64_t i = 0;
  for (; i < count; i++) {
    uint8_t *p;
    size_t cap;
    if (tfw_get_buf_at(env, argv[1], (uint32_t)i, &p, &cap)) return NULL;
    if (sizes[i] < 0 || (size_t)sizes[i] > cap)
      return tfw_throw(env, "ERR_OUT_OF_RANGE", "sizes[%lld]: expected 0..%zu (bufs[%lld].byteLength), got %d",
                       (long long)i, cap, (long long)i, sizes[i]);
    ssize_t r;
    do r = write((int)fd, p, (size_t)sizes[i]); while (r < 0 && errno == EINTR);
    if (r < 0) {
      int e = errno;
      if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) break;
      if (e == EBADF || e == EBADFD || e == EFAULT) return tfw_throw_errno(env, CODE, "write", e, NULL);
      sizes[i] = -e;
    }
  }
  napi_value out;
  napi_create_uint32(env, (uint32_t)i, &out);
  return out;
}

static napi_value close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t fd;
  if (tfw_get_int(env, argv[0], "fd", &fd)) return NULL;
  if (close((int)fd) < 0 && errno != EINTR) return tfw_throw_errno(env, CODE, "close", errno, NULL);
  return NULL;
}

napi_value tfw_init_io(napi_env env, napi_value exports) {
  tfw_export(env, exports, "readBatch", read_batch);
  tfw_export(env, exports, "writeBatch", write_batch);
  tfw_export(env, exports, "closeFd", close_fd);
  return exports;
}
