{
  "targets": [
    {
      "target_name": "tfw",
      "sources": [
        "src/addon.c",
        "src/napi_util.c",
        "src/io.c",
        "src/poll.c",
        "src/tun.c",
        "src/udp.c",
        "src/aead_napi.c",
        "src/chacha20poly1305.c",
        "src/chacha20_x86.c",
        "src/chacha20_neon.c",
        "src/poly1305.c",
        "src/poly1305_x86.c",
        "src/rs_napi.c",
        "src/rs.c",
        "src/rs_x86.c",
        "src/rs_neon.c",
        "src/forward_napi.c",
        "src/fib_arena.c",
        "src/fib4.c",
        "src/fib6.c",
        "src/fib6_lookup.c",
        "src/classify.c",
        "src/xxh64_napi.c",
        "src/gcm_napi.c"
      ],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=gnu11", "-O3", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags!": ["-O2"],
      "ldflags": ["-Wl,--as-needed"]
    }
  ]
}
