/*
 * JS bindings of the forward kernel in C (fib4.c DIR-24-8, fib6.c Poptrie,
 * classify.c). One handle (an external) owns one arena with an IPv4 and an
 * IPv6 table and a local set; the finalizer unmaps it. Packets, descriptors,
 * verdicts and address batches are caller typed arrays, read and written in
 * place (no copy). The TS side is runtime/kernels/forward-native.ts.
 *
 * JS: fwdCreate() -> handle
 *     fwdV4Insert(h, addr, len, nh) -> 0 | -1 (out of memory)
 *     fwdV4Delete(h, addr, len, coverNh, coverLen)
 *     fwdV4Lookup(h, addr) -> nh | -1;  fwdV4LookupBatch(h, addrs, count, out)
 *     fwdV6Insert(h, bytes16, len, nh, isNew) -> 0 | -1
 *     fwdV6Delete(h, bytes16, len) -> 1 | 0 | -1
 *     fwdV6Lookup(h, bytes16) -> nh | -1;  fwdV6LookupBatch(h, addrs, count, out)
 *     fwdV6Begin(h), fwdV6Commit(h) -> 0 | -1
 *     fwdBytes(h, 4 | 6) -> bytes of that table
 *     fwdSetLocal(h, 4 | 6, bytes (n x 4 | 16), lengths (n bytes))
 *     fwdClassify(h, pool, desc Uint32Array, count, verdicts Uint32Array)
 * addr: host-order u32; len: prefix length; host bits must be clear.
 */
#include "classify.h"
#include "fib.h"
#include "napi_util.h"

#include <stdlib.h>

#define CODE "ERR_OUT_OF_RANGE"
#define MAGIC 0x7466772d66696221ull /* "tfw-fib!" */

typedef struct {
  uint64_t magic;
  tfw_fib *f;
  int64_t reported; /* bytes announced to V8 with napi_adjust_external_memory */
} fwd_handle;

static void finalize(napi_env env, void *data, void *hint) {
  fwd_handle *h = data;
  int64_t ignored;
  if (h->reported) napi_adjust_external_memory(env, -h->reported, &ignored);
  h->magic = 0;
  fib_destroy(h->f);
  free(h);
}

/* Tells V8 about the arena's mapped size, so that dropped tables are collected. */
static void account(napi_env env, fwd_handle *h) {
  int64_t now = (int64_t)h->f->cap, ignored;
  if (now != h->reported) {
    napi_adjust_external_memory(env, now - h->reported, &ignored);
    h->reported = now;
  }
}

static napi_value fwd_create(napi_env env, napi_callback_info info) {
  fwd_handle *h = calloc(1, sizeof *h);
  tfw_fib *f = h ? fib_create() : NULL;
  if (!f) {
    free(h);
    return tfw_throw(env, "ERR_TFW_FORWARD_MEMORY", "forward: out of memory while creating the tables");
  }
  h->magic = MAGIC;
  h->f = f;
  napi_value ext;
  if (napi_create_external(env, h, finalize, NULL, &ext) != napi_ok) {
    fib_destroy(f);
    free(h);
    tfw_rethrow_last(env, "napi_create_external");
    return NULL;
  }
  account(env, h);
  return ext;
}

/* Reads the handle and `want` more arguments into argv[1..]. NULL with an exception pending. */
static fwd_handle *args(napi_env env, napi_callback_info info, napi_value *argv, size_t want) {
  size_t argc = TFW_MAX_ARGS;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    tfw_rethrow_last(env, "napi_get_cb_info");
    return NULL;
  }
  if (argc < want + 1) {
    tfw_throw(env, "ERR_INVALID_ARG_TYPE", "forward: expected %zu arguments, got %zu", want + 1, argc);
    return NULL;
  }
  napi_valuetype t;
  void *data = NULL;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external || napi_get_value_external(env, argv[0], &data) != napi_ok ||
      !data || ((fwd_handle *)data)->magic != MAGIC) {
    tfw_throw(env, "ERR_INVALID_ARG_TYPE", "handle: expected a forward table handle from fwdCreate");
    return NULL;
  }
  return data;
}

/* Integer argument in [lo, hi]. */
static int get_range(napi_env env, napi_value v, const char *field, int64_t lo, int64_t hi, int64_t *out) {
  if (tfw_get_int(env, v, field, out)) return -1;
  if (*out < lo || *out > hi) {
    tfw_throw(env, CODE, "%s: expected an integer %lld..%lld, got %lld", field, (long long)lo, (long long)hi, (long long)*out);
    return -1;
  }
  return 0;
}

static napi_value num(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

static int check_host4(napi_env env, uint32_t addr, uint32_t len) {
  uint32_t mask = len == 0 ? 0 : 0xffffffffu << (32 - len);
  if (addr & ~mask) {
    tfw_throw(env, CODE, "addr: expected host bits clear below /%u, got 0x%08x", len, addr);
    return -1;
  }
  return 0;
}

static int get_v6(napi_env env, napi_value v, uint64_t *hi, uint64_t *lo) {
  uint8_t *b;
  size_t n;
  if (tfw_get_bytes(env, v, "bytes", &b, &n)) return -1;
  if (n != 16) {
    tfw_throw(env, CODE, "bytes: expected 16 bytes (an IPv6 address), got %zu", n);
    return -1;
  }
  *hi = fib_be64(b);
  *lo = fib_be64(b + 8);
  return 0;
}

static void mask6(uint32_t len, uint64_t *mhi, uint64_t *mlo) {
  *mhi = len == 0 ? 0 : len >= 64 ? ~0ull : ~0ull << (64 - len);
  *mlo = len <= 64 ? 0 : len == 128 ? ~0ull : ~0ull << (128 - len);
}

static napi_value fwd_v4_insert(napi_env env, napi_callback_info info) {
  napi_value argv[TFW_MAX_ARGS];
  fwd_handle *h = args(env, info, argv, 3);
  int64_t addr, len, nh;
  if (!h || get_range(env, argv[1], "addr", 0, 0xffffffffll, &addr) || get_range(env, argv[2], "length", 0, 32, &len) ||
      get_range(env, argv[3], "nextHop", 0, 65535, &nh) || check_host4(env, (uint32_t)addr, (uint32_t)len))
    return NULL;
  int r = fib4_insert(h->f, (uint32_t)addr, (uint32_t)len, (uint32_t)nh);
  account(env, h);
  return num(env, r);
}

static napi_value fwd_v4_delete(napi_env env, napi_callback_info info) {
  napi_value argv[TFW_MAX_ARGS];
  fwd_handle *h = args(env, info, argv, 4);
  int64_t addr, len, cnh, clen;
  if (!h || get_range(env, argv[1], "addr", 0, 0xffffffffll, &addr) || get_range(env, argv[2], "length", 0, 32, &len) ||
      get_range(env, argv[3], "coverNextHop", -1, 65535, &cnh) || get_range(env, argv[4], "coverLength", 0, 32, &clen) ||
      check_host4(env, (uint32_t)addr, (uint32_t)len))
    return NULL;
  fib4_delete(h->f, (uint32_t)addr, (uint32_t)len, (int32_t)cnh, (uint32_t)clen);
  return NULL;
}

static napi_value fwd_v4_lookup(napi_env env, napi_callback_info info) {
  napi_value argv[TFW_MAX_ARGS];
  fwd_handle *h = args(env, info, argv, 1);
  int64_t addr;
  if (!h || get_range(env, argv[1], "addr", 0, 0xffffffffll, &addr)) return NULL;
  return num(env, fib4_lookup(h->f, (uint32_t)addr));
}

static napi_value lookup_batch(napi_env env, napi_callback_info info, int v6) {
  napi_value argv[TFW_MAX_ARGS];
  fwd_handle *h = args(env, info, argv, 3);
  uint8_t *addrs;
  size_t alen, olen;
  int32_t *out;
  int64_t count;
  if (!h || tfw_get_bytes(env, argv[1], "addrs", &addrs, &alen) || get_range(env, argv[2], "count", 0, 0xffffffffll, &count) ||
      tfw_get_i32(env, argv[3], "out", &out, &olen))
    return NULL;
  size_t width = v6 ? 16 : 4;
  if ((uint64_t)count * width > alen) return tfw_throw(env, CODE, "addrs: expected at least %lld bytes (count x %zu), got %zu", (long long)count * (long long)width, width, alen);
  if ((uint64_t)count > olen) return tfw_throw(env, CODE, "out: expected at least %lld entries, got %zu", (long long)count, olen);
  if (v6) fib6_lookup_batch(h->f, addrs, (uint32_t)count, out);
  else fib4_lookup_batch(h->f, addrs, (uint32_t)count, out);
  return NULL;
}
static napi_value fwd_v4_lookup_batch(napi_env env, napi_callback_info info) { return lookup_batch(env, info, 0); }
static napi_value fwd_v6_lookup_batch(napi_env env, napi_callback_info info) { return lookup_batch(env, info, 1); }

static napi_value fwd_v6_insert(napi_env env, napi_callback_info info) {
  napi_value argv[TFW_MAX_ARGS];
  fwd_handle *h = args(env, info, argv, 4);
  uint64_t hi, lo, mhi, mlo;
  int64_t len, nh;
  bool is_new;
  if (!h || get_v6(env, argv[1], &hi, &lo) || get_range(env, argv[2], "length", 0, 128, &len) ||
      get_range(env, argv[3], "nextHop", 0, 65535, &nh))
    return NULL;
  if (napi_get_value_bool(env, argv[4], &is_new) != napi_ok) return tfw_throw(env, "ERR_INVALID_ARG_TYPE", "isNew: expected a boolean");
  mask6((uint32_t)len, &mhi, &mlo);
  if ((hi & ~mhi) || (lo & ~mlo)) return tfw_throw(env, CODE, "bytes: expected host bits clear below /%lld", (long long)len);
  int r = fib6_insert(h->f, hi, lo, (uint32_t)len, (int32_t)nh, is_new);
  account(env, h);
  return num(env, r);
}

static napi_value fwd_v6_delete(napi_env env, napi_callback_info info) {
  napi_value argv[TFW_MAX_ARGS];
  fwd_handle *h = args(env, info, argv, 2);
  uint64_t hi, lo, mhi, mlo;
  int64_t len;
  if (!h || get_v6(env, argv[1], &hi, &lo) || get_range(env, argv[2], "length", 0, 128, &len)) return NULL;
  mask6((uint32_t)len, &mhi, &mlo);
  if ((hi & ~mhi) || (lo & ~mlo)) return tfw_throw(env, CODE, "bytes: expected host bits clear below /%lld", (long long)len);
  int r = fib6_delete(h->f, hi, lo, (uint32_t)len);
  account(env, h);
  return num(env, r);
}

static napi_value fwd_v6_lookup(napi_env env, napi_callback_info info) {
  napi_value argv[TFW_MAX_ARGS];
  fwd_handle *h = args(env, info, argv, 1);
  uint64_t hi, lo;
  if (!h || get_v6(env, argv[1], &hi, &lo)) return NULL;
  return num(env, fib6_lookup(h->f, hi, lo));
}

static napi_value fwd_v6_begin(napi_env env, napi_callback_info info) {
  napi_value argv[TFW_MAX_ARGS];
  fwd_handle *h = args(env, info, argv, 0);
  if (!h) return NULL;
  int r = fib6_begin(h->f);
  account(env, h);
  return num(env, r);
}

static napi_value fwd_v6_commit(napi_env env, napi_callback_info info) {
  napi_value argv[TFW_MAX_ARGS];
  fwd_handle *h = args(env, info, argv, 0);
  if (!h) return NULL;
  int r = fib6_commit(h->f);
  account(env, h);
  return num(env, r);
}

static napi_value fwd_bytes(napi_env env, napi_callback_info info) {
  napi_value argv[TFW_MAX_ARGS];
  fwd_handle *h = args(env, info, argv, 1);
  int64_t fam;
  if (!h || get_range(env, argv[1], "family", 4, 6, &fam)) return NULL;
  if (fam == 5) return tfw_throw(env, CODE, "family: expected 4 or 6, got 5");
  return num(env, (double)(fam == 4 ? fib4_bytes(h->f) : fib6_bytes(h->f)));
}

static napi_value fwd_set_local(napi_env env, napi_callback_info info) {
  napi_value argv[TFW_MAX_ARGS];
  fwd_handle *h = args(env, info, argv, 3);
  int64_t fam;
  uint8_t *bytes, *lens;
  size_t blen, n;
  if (!h || get_range(env, argv[1], "family", 4, 6, &fam) || tfw_get_bytes(env, argv[2], "bytes", &bytes, &blen) ||
      tfw_get_bytes(env, argv[3], "lengths", &lens, &n))
    return NULL;
  size_t width = fam == 4 ? 4 : 16;
  if (fam == 5) return tfw_throw(env, CODE, "family: expected 4 or 6, got 5");
  if (n > FIB_MAX_LOCAL) return tfw_throw(env, CODE, "lengths: expected at most %u entries, got %zu", FIB_MAX_LOCAL, n);
  if (blen != n * width) return tfw_throw(env, CODE, "bytes: expected %zu bytes (%zu entries x %zu), got %zu", n * width, n, width, blen);
  for (size_t i = 0; i < n; i++)
    if (lens[i] > width * 8) return tfw_throw(env, CODE, "lengths[%zu]: expected 0..%zu, got %u", i, width * 8, lens[i]);
  if (fam == 4) {
    if (n == 0) fib_set_local4(h->f, 0, 0, 0, 0);
    for (size_t i = 0; i < n; i++) {
      uint32_t m = lens[i] == 0 ? 0 : 0xffffffffu << (32 - lens[i]);
      fib_set_local4(h->f, (uint32_t)i, fib_be32(bytes + 4 * i), m, (uint32_t)n);
    }
  } else {
    if (n == 0) fib_set_local6(h->f, 0, 0, 0, 0, 0, 0);
    for (size_t i = 0; i < n; i++) {
      uint64_t mhi, mlo;
      mask6(lens[i], &mhi, &mlo);
      fib_set_local6(h->f, (uint32_t)i, fib_be64(bytes + 16 * i), fib_be64(bytes + 16 * i + 8), mhi, mlo, (uint32_t)n);
    }
  }
  return NULL;
}

static napi_value fwd_classify(napi_env env, napi_callback_info info) {
  napi_value argv[TFW_MAX_ARGS];
  fwd_handle *h = args(env, info, argv, 4);
  uint8_t *pool, *desc, *verd;
  size_t plen, dlen, vlen;
  int64_t count;
  if (!h || tfw_get_bytes(env, argv[1], "pool", &pool, &plen) || tfw_get_bytes(env, argv[2], "descriptors", &desc, &dlen) ||
      get_range(env, argv[3], "count", 0, 0xffffffffll, &count) || tfw_get_bytes(env, argv[4], "verdicts", &verd, &vlen))
    return NULL;
  if ((uint64_t)count * 8 > dlen) return tfw_throw(env, CODE, "descriptors: expected at least %lld bytes (count x 8), got %zu", (long long)count * 8, dlen);
  if ((uint64_t)count * 8 > vlen) return tfw_throw(env, CODE, "verdicts: expected at least %lld bytes (count x 8), got %zu", (long long)count * 8, vlen);
  if (((uintptr_t)desc | (uintptr_t)verd) & 3) return tfw_throw(env, CODE, "descriptors/verdicts: expected 4-byte aligned views (Uint32Array)");
  fib_classify(h->f, pool, plen, (const uint32_t *)desc, (uint32_t)count, (uint32_t *)verd);
  return NULL;
}

napi_value tfw_init_forward(napi_env env, napi_value exports) {
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
      {"fwdCreate", fwd_create},         {"fwdV4Insert", fwd_v4_insert},   {"fwdV4Delete", fwd_v4_delete},
      {"fwdV4Lookup", fwd_v4_lookup},    {"fwdV4LookupBatch", fwd_v4_lookup_batch},
      {"fwdV6Insert", fwd_v6_insert},    {"fwdV6Delete", fwd_v6_delete},   {"fwdV6Lookup", fwd_v6_lookup},
      {"fwdV6LookupBatch", fwd_v6_lookup_batch},
      {"fwdV6Begin", fwd_v6_begin},      {"fwdV6Commit", fwd_v6_commit},   {"fwdBytes", fwd_bytes},
      {"fwdSetLocal", fwd_set_local},    {"fwdClassify", fwd_classify},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
    if (tfw_export(env, exports, fns[i].name, fns[i].fn)) return NULL;
  return exports;
}
