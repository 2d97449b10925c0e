/*
 * Batch packet classifier: parse IPv4 (RFC 791) / IPv6 (RFC 8200), decide
 * local / forward / drop, decrement TTL or hop limit and patch the IPv4 header
 * checksum incrementally (RFC 1624, eqn. 3). Every read is checked against the
 * packet's own length and every descriptor against the pool, so any input
 * yields a verdict. Mirrors wasm/forward/classify.ts check for check.
 *
 * Verdict: word0 = action | reason << 8 | version << 16 | headerLength << 24,
 *          word1 = nextHop | flags << 16.
 */
#include "classify.h"

enum { ACTION_FORWARD = 1, ACTION_LOCAL = 2, ACTION_DROP = 3 };
enum {
  R_DESCRIPTOR = 1, R_TRUNCATED, R_BAD_VERSION, R_BAD_IHL, R_BAD_LENGTH, R_BAD_CHECKSUM,
  R_BAD_OPTIONS, R_BAD_FRAGMENT, R_TTL_EXPIRED, R_NO_ROUTE, R_BAD_EXT_HEADER
};
enum { FLAG_FRAGMENT = 1, FLAG_OPTIONS = 2, FLAG_TRAILING = 4 };

void fib_set_local4(tfw_fib *f, uint32_t i, uint32_t addr, uint32_t mask, uint32_t count) {
  if (i < FIB_MAX_LOCAL) {
    f->local4[i * 2] = addr & mask;
    f->local4[i * 2 + 1] = mask;
  }
  f->local4_count = count <= FIB_MAX_LOCAL ? count : FIB_MAX_LOCAL;
}

void fib_set_local6(tfw_fib *f, uint32_t i, uint64_t hi, uint64_t lo, uint64_t mhi, uint64_t mlo, uint32_t count) {
  if (i < FIB_MAX_LOCAL) {
    uint64_t *e = f->local6 + i * 4;
    e[0] = hi & mhi, e[1] = lo & mlo, e[2] = mhi, e[3] = mlo;
  }
  f->local6_count = count <= FIB_MAX_LOCAL ? count : FIB_MAX_LOCAL;
}

static int is_local4(const tfw_fib *f, uint32_t a) {
  for (uint32_t i = 0; i < f->local4_count; i++)
    if ((a & f->local4[i * 2 + 1]) == f->local4[i * 2]) return 1;
  return 0;
}

static int is_local6(const tfw_fib *f, uint64_t hi, uint64_t lo) {
  for (uint32_t i = 0; i < f->local6_count; i++) {
    const uint64_t *e = f->local6 + i * 4;
    if ((hi & e[2]) == e[0] && (lo & e[3]) == e[1]) return 1;
  }
  return 0;
}

static inline void put(uint32_t *out, uint32_t w0, uint32_t w1) {
  out[0] = w0;
  out[1] = w1;
}
/* Writes the verdict and leaves the per-packet function. */
#define RET(w0, w1) \
  do {                \
    put(out, w0, w1); \
    return;           \
  } while (0)

static inline uint32_t be16(const uint8_t *p) { return ((uint32_t)p[0] << 8) | p[1]; }
static inline uint32_t drop(uint32_t reason, uint32_t version, uint32_t hl) {
  return ACTION_DROP | (reason << 8) | (version << 16) | (hl << 24);
}

/* One's-complement sum (RFC 1071) of len bytes (even), folded to 16 bits. */
static uint32_t csum(const uint8_t *p, uint32_t len) {
  uint32_t s = 0;
  for (uint32_t i = 0; i < len; i += 2) s += be16(p + i);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return s;
}

static void classify4(const tfw_fib *f, uint8_t *p, uint32_t len, uint32_t *out) {
  if (len < 20) RET(drop(R_TRUNCATED, 4, 0), 0);
  uint32_t ihl = p[0] & 15u;
  if (ihl < 5) RET(drop(R_BAD_IHL, 4, 0), 0);
  uint32_t hl = ihl << 2;
  if (hl > len) RET(drop(R_BAD_IHL, 4, hl), 0);
  uint32_t total = be16(p + 2);
  if (total < hl || total > len) RET(drop(R_BAD_LENGTH, 4, hl), 0);
  uint32_t flags = total < len ? FLAG_TRAILING : 0;
  if (csum(p, hl) != 0xffff) RET(drop(R_BAD_CHECKSUM, 4, hl), flags << 16);
  if (hl > 20) {
    flags |= FLAG_OPTIONS;
    /* RFC 791 options: 0 = end of list, 1 = no-op, others type, length (>= 2), data. */
    uint32_t o = 20;
    while (o < hl) {
      uint32_t t = p[o];
      if (t == 0) break;
      if (t == 1) {
        o++;
        continue;
      }
      if (o + 1 >= hl) RET(drop(R_BAD_OPTIONS, 4, hl), flags << 16);
      uint32_t ol = p[o + 1];
      if (ol < 2 || o + ol > hl) RET(drop(R_BAD_OPTIONS, 4, hl), flags << 16);
      o += ol;
    }
  }
  uint32_t frag = be16(p + 6);
  if (frag & 0x3fff) {
    flags |= FLAG_FRAGMENT;
    if (((frag & 0x1fff) << 3) + total - hl > 65535) RET(drop(R_BAD_FRAGMENT, 4, hl), flags << 16);
  }
  uint32_t dst = fib_be32(p + 16);
  if (is_local4(f, dst)) RET(ACTION_LOCAL | (4u << 16) | (hl << 24), flags << 16);
  int32_t nh = fib4_lookup(f, dst);
  if (nh < 0) RET(drop(R_NO_ROUTE, 4, hl), flags << 16);
  uint32_t ttl = p[8];
  if (ttl <= 1) RET(drop(R_TTL_EXPIRED, 4, hl), (uint32_t)nh | (flags << 16));
  /* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), m = the TTL/protocol word. */
  uint32_t m = be16(p + 8);
  uint32_t m2 = m - 0x100;
  uint32_t hc = be16(p + 10);
  uint32_t s = (~hc & 0xffff) + (~m & 0xffff) + m2;
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  uint32_t hc2 = ~s & 0xffff;
  p[8] = (uint8_t)(ttl - 1);
  p[10] = (uint8_t)(hc2 >> 8);
  p[11] = (uint8_t)hc2;
  put(out, ACTION_FORWARD | (4u << 16) | (hl << 24), (uint32_t)nh | (flags << 16));
}

static void classify6(const tfw_fib *f, uint8_t *p, uint32_t len, uint32_t *out) {
  if (len < 40) RET(drop(R_TRUNCATED, 6, 0), 0);
  uint32_t plen = be16(p + 4);
  uint32_t end = 40 + plen;
  /* A zero payload length with a Jumbo Payload option (RFC 2675) is not supported: dropped. */
  if (end > len || (plen == 0 && p[6] == 0)) RET(drop(R_BAD_LENGTH, 6, 40), 0);
  uint32_t flags = end < len ? FLAG_TRAILING : 0;
  /* The extension headers a router may meet before the upper layer (RFC 8200 4.1). */
  uint32_t nxt = p[6], o = 40;
  for (int n = 0; n < 8 && (nxt == 0 || nxt == 43 || nxt == 44 || nxt == 60); n++) {
    flags |= FLAG_OPTIONS;
    if (o + 8 > end) RET(drop(R_BAD_EXT_HEADER, 6, 40), flags << 16);
    uint32_t next = p[o];
    if (nxt == 44) {
      flags |= FLAG_FRAGMENT;
      o += 8;
    } else {
      uint32_t el = ((uint32_t)p[o + 1] + 1) << 3;
      if (o + el > end) RET(drop(R_BAD_EXT_HEADER, 6, 40), flags << 16);
      o += el;
    }
    nxt = next;
  }
  uint64_t hi = fib_be64(p + 24), lo = fib_be64(p + 32);
  if (is_local6(f, hi, lo)) RET(ACTION_LOCAL | (6u << 16) | (40u << 24), flags << 16);
  int32_t nh = fib6_lookup(f, hi, lo);
  if (nh < 0) RET(drop(R_NO_ROUTE, 6, 40), flags << 16);
  uint32_t hop = p[7];
  if (hop <= 1) RET(drop(R_TTL_EXPIRED, 6, 40), (uint32_t)nh | (flags << 16));
  p[7] = (uint8_t)(hop - 1);
  put(out, ACTION_FORWARD | (6u << 16) | (40u << 24), (uint32_t)nh | (flags << 16));
}

void fib_classify(const tfw_fib *f, uint8_t *pool, uint64_t pool_len, const uint32_t *desc, uint32_t n, uint32_t *out) {
  for (uint32_t i = 0; i < n; i++) {
    uint32_t off = desc[2 * i], len = desc[2 * i + 1];
    uint32_t *o = out + 2 * i;
    if ((uint64_t)off + len > pool_len) {
      put(o, drop(R_DESCRIPTOR, 0, 0), 0);
      continue;
    }
    if (len == 0) {
      put(o, drop(R_TRUNCATED, 0, 0), 0);
      continue;
    }
    uint8_t *p = pool + off;
    uint32_t v = p[0] >> 4;
    if (v == 4) classify4(f, p, len, o);
    else if (v == 6) classify6(f, p, len, o);
    else put(o, drop(R_BAD_VERSION, 0, 0), 0);
  }
}
