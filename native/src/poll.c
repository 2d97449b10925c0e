/*
 * Readiness notification on libuv's loop: a uv_poll_t watches a file descriptor
 * (TUN or UDP socket) and calls a JS function when it becomes readable. libuv's
 * poll is level-triggered, so the callback fires again while data remains; the
 * JS side drains with readBatch/recvBatch. Nothing blocks the loop.
 *
 * JS: pollStart(fd, cb) -> handle; pollStop(handle); pollRef(handle, bool).
 */
#include "napi_util.h"

#include <stdlib.h>
#include <uv.h>

typedef struct {
  uv_poll_t handle;
  napi_env env;
  napi_ref cb;
  napi_async_context ctx;
  int active;    /* uv_poll started, not stopped */
  int closed;    /* uv_close done (handle memory unused by libuv) */
  int finalized; /* JS external collected */
} tfw_poll;

static void maybe_free(tfw_poll *p) {
  if (p->closed && p->finalized) free(p);
}

static void on_close(uv_handle_t *h) {
  tfw_poll *p = (tfw_poll *)h->data;
  p->closed = 1;
  maybe_free(p);
}

static void release(tfw_poll *p) {
  if (!p->active) return;
  p->active = 0;
  uv_poll_stop(&p->handle);
  if (p->cb) napi_delete_reference(p->env, p->cb);
  if (p->ctx) napi_async_destroy(p->env, p->ctx);
  p->cb = NULL;
  p->ctx = NULL;
  uv_close((uv_handle_t *)&p->handle, on_close);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  (void)events;
  tfw_poll *p = (tfw_poll *)h->data;
  if (!p->active) return;
  napi_env env = p->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn, recv, arg, result;
  napi_get_reference_value(env, p->cb, &fn);
  napi_get_global(env, &recv);
  if (status < 0) {
    napi_value msg;
    napi_create_string_utf8(env, uv_strerror(status), NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &arg);
  } else {
    napi_get_null(env, &arg);
  }
  if (fn && napi_make_callback(env, p->ctx, recv, fn, 1, &arg, &result) == napi_pending_exception) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
  napi_close_handle_scope(env, scope);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  tfw_poll *p = (tfw_poll *)data;
  p->finalized = 1;
  if (p->active) release(p);
  else if (!p->closed && !p->handle.data) p->closed = 1; /* never initialised */
  maybe_free(p);
}

static napi_value poll_start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t fd;
  if (tfw_get_int(env, argv[0], "fd", &fd)) return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[1], &t);
  if (t != napi_function) return tfw_throw(env, "ERR_INVALID_ARG_TYPE", "callback: expected a function");
  uv_loop_t *loop;
  NAPI_CALL(env, napi_get_uv_event_loop(env, &loop));
  tfw_poll *p = calloc(1, sizeof *p);
  if (!p) return tfw_throw(env, "ERR_TFW_NATIVE", "pollStart: out of memory");
  p->env = env;
  int rc = uv_poll_init(loop, &p->handle, (int)fd);
  if (rc < 0) {
    free(p);
    return tfw_throw(env, "ERR_TFW_NATIVE", "uv_poll_init(fd %d): %s", (int)fd, uv_strerror(rc));
  }
  p->handle.data = p;
  napi_value name, ext;
  napi_create_string_utf8(env, "tfw:poll", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &p->ctx);
  napi_create_reference(env, argv[1], 1, &p->cb);
  p->active = 1;
  rc = uv_poll_start(&p->handle, UV_READABLE, on_poll);
  if (rc < 0) {
    release(p);
    p->finalized = 1; /* no external: free on close */
    return tfw_throw(env, "ERR_TFW_NATIVE", "uv_poll_start(fd %d): %s", (int)fd, uv_strerror(rc));
  }
  NAPI_CALL(env, napi_create_external(env, p, finalize, NULL, &ext));
  return ext;
}

static tfw_poll *get_poll(napi_env env, napi_value v) {
  void *data = NULL;
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_external || napi_get_value_external(env, v, &data) != napi_ok) {
    tfw_throw(env, "ERR_INVALID_ARG_TYPE", "handle: expected a poll handle from pollStart");
    return NULL;
  }
  return (tfw_poll *)data;
}

static napi_value poll_stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tfw_poll *p = get_poll(env, argv[0]);
  if (p) release(p);
  return NULL;
}

static napi_value poll_ref(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tfw_poll *p = get_poll(env, argv[0]);
  if (!p) return NULL;
  bool on = true;
  napi_get_value_bool(env, argv[1], &on);
  if (p->active) {
    if (on) uv_ref((uv_handle_t *)&p->handle);
    else uv_unref((uv_handle_t *)&p->handle);
  }
  return NULL;
}

napi_value tfw_init_poll(napi_env env, napi_value exports) {
  tfw_export(env, exports, "pollStart", poll_start);
  tfw_export(env, exports, "pollStop", poll_stop);
  tfw_export(env, exports, "pollRef", poll_ref);
  return exports;
}
