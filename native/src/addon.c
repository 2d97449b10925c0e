/*
 * tfw N-API addon (NAPI_VERSION 8: loads in Node 18 and 20): TUN devices,
 * batched UDP, readiness polling on libuv's loop, and C versions of the AEAD
 * and Reed-Solomon kernels, of the forward kernel (FIB + classifier) and of
 * XXH64 (storage checksums), and AES-256-GCM through the OpenSSL already in
 * the process (Mycelium boxes). The TypeScript side is runtime/kernels/native.ts.
 */
#include "napi_util.h"

/* forward_napi.c: the forward kernel (FIB + classifier) in C. */
napi_value tfw_init_forward(napi_env env, napi_value exports);
/* xxh64_napi.c: XXH64 for the storage checksums. */
napi_value tfw_init_xxh64(napi_env env, napi_value exports);
/* gcm_napi.c: AES-256-GCM from the process's libcrypto (Mycelium boxes); absent without it. */
napi_value tfw_init_gcm(napi_env env, napi_value exports);

static napi_value init(napi_env env, napi_value exports) {
  tfw_init_io(env, exports);
  tfw_init_poll(env, exports);
  tfw_init_tun(env, exports);
  tfw_init_udp(env, exports);
  tfw_init_aead(env, exports);
  tfw_init_rs(env, exports);
  tfw_init_forward(env, exports);
  tfw_init_xxh64(env, exports);
  tfw_init_gcm(env, exports);
  napi_value v;
  napi_create_uint32(env, 1, &v);
  napi_set_named_property(env, exports, "abiVersion", v);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
