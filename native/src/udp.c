/*
 * UDP socket owned by the addon, with batched receive and send: recvmmsg(2) and
 * sendmmsg(2) move up to UDP_CHUNK datagrams per syscall into/out of caller
 * buffers. Endpoints travel as fixed 20-byte records (no strings, no objects):
 *
 *   bytes 0..15  address (IPv4: bytes 0..3, rest zero; IPv6: 16 bytes)
 *   bytes 16..17 port, network byte order
 *   byte  18     family: 4, 6 (0 = unset)
 *   byte  19     reserved, zero
 *
 * A dual-stack AF_INET6 socket (IPV6_V6ONLY = 0, RFC 4291 section 2.5.5.2
 * mapped addresses) reports IPv4 peers as family 4 and sends to family-4
 * endpoints through ::ffff:a.b.c.d.
 *
 * JS: udpOpen(host|null, port, reuseAddr, rcvbuf, sndbuf, gso) -> [fd, port, family]
 *     udpRecvBatch(fd, bufs, sizes, endpoints) -> n
 *     udpSendBatch(fd, family, bufs, sizes, endpoints, count) -> consumed
 */
#define _GNU_SOURCE
#include "napi_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define CODE "ERR_TFW_UDP"
#define UDP_CHUNK 64
#define EP_BYTES 20

static const uint8_t V4MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/*
 * UDP GSO (UDP_SEGMENT, Linux 4.18+): a run of consecutive datagrams to the same
 * endpoint with the same size (the last may be shorter) goes down the stack as
 * one message and is cut into datagrams at the device (or on loopback at the
 * receiving socket), which saves most of the per-datagram send cost. The wire
 * format is unchanged. When the kernel or route refuses GSO (EIO, EINVAL:
 * e.g. gso size above the path MTU) the run is resent datagram by datagram.
 */
#define GSO_MAX_SEGS 64
#define GSO_MAX_BYTES 65000
#define GSO_FDS 4096
/* GSO failures per fd (reset by udpOpen): after GSO_MAX_FAILS, e.g. a route whose
 * MTU is below the segment size, the fd stops trying; one bad endpoint (port 0:
 * EINVAL) does not turn it off at once. */
#define GSO_MAX_FAILS 4
static unsigned char gso_fail[GSO_FDS];

static void gso_reset(int fd) {
  if (fd >= 0 && fd < GSO_FDS) gso_fail[fd] = 0;
}


static void set_bufsize(int fd, int opt_force, int opt, int bytes) {
  if (bytes <= 0) return;
  /* SO_*BUFFORCE (CAP_NET_ADMIN) ignores net.core.*mem_max; fall back otherwise. */
  if (setsockopt(fd, SOL_SOCKET, opt_force, &bytes, sizeof bytes) < 0) setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);
}

static napi_value udp_open(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool gso = true;
  if (argc > 5) napi_get_value_bool(env, argv[5], &gso);
  char host[INET6_ADDRSTRLEN + 1] = {0};
  napi_valuetype t;
  napi_typeof(env, argv[0], &t);
  if (t == napi_string) {
    size_t full = 0;
    napi_get_value_string_utf8(env, argv[0], NULL, 0, &full);
    if (full >= sizeof host) return tfw_throw(env, CODE, "host: expected an IPv4 or IPv6 address, got a %zu-byte string", full);
    napi_get_value_string_utf8(env, argv[0], host, sizeof host, &full);
  } else if (t != napi_undefined && t != napi_null) {
    return tfw_throw(env, "ERR_INVALID_ARG_TYPE", "host: expected a string");
  }
  int64_t port, rcvbuf, sndbuf;
  bool reuse = false;
  if (tfw_get_int(env, argv[1], "port", &port)) return NULL;
  if (port < 0 || port > 65535) return tfw_throw(env, CODE, "port: expected 0..65535, got %lld", (long long)port);
  napi_get_value_bool(env, argv[2], &reuse);
  if (tfw_get_int(env, argv[3], "rcvbuf", &rcvbuf) || tfw_get_int(env, argv[4], "sndbuf", &sndbuf)) return NULL;

  struct sockaddr_storage ss;
  socklen_t sl;
  memset(&ss, 0, sizeof ss);
  int family;
  struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
  if (host[0] == 0 || strchr(host, ':')) {
    family = AF_INET6;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    if (host[0] && inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
      return tfw_throw(env, CODE, "host: expected an IPv4 or IPv6 address, got \"%s\"", host);
    sl = sizeof *s6;
  } else {
    family = AF_INET;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
      return tfw_throw(env, CODE, "host: expected an IPv4 or IPv6 address, got \"%s\"", host);
    sl = sizeof *s4;
  }
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return tfw_throw_errno(env, CODE, "socket", errno, NULL);
  int one = 1, zero = 0;
  if (family == AF_INET6) {
    /* Dual stack only for the unspecified address; a specific v6 address stays v6-only. */
    int v6only = IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr) ? zero : one;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  }
  if (reuse) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  set_bufsize(fd, SO_RCVBUFFORCE, SO_RCVBUF, (int)rcvbuf);
  set_bufsize(fd, SO_SNDBUFFORCE, SO_SNDBUF, (int)sndbuf);
  if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
    int e = errno;
    close(fd);
    char what[96];
    snprintf(what, sizeof what, "bind %s%s%s:%lld", family == AF_INET6 ? "[" : "", host[0] ? host : "::",
             family == AF_INET6 ? "]" : "", (long long)port);
    return tfw_throw_errno(env, CODE, what, e, e == EADDRINUSE ? " (port in use)" : "");
  }
  gso_reset(fd);
  if (!gso && fd < GSO_FDS) gso_fail[fd] = GSO_MAX_FAILS;
  sl = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &sl);
  int bound = ntohs(family == AF_INET6 ? s6->sin6_port : s4->sin_port);
  napi_value out, v;
  napi_create_array_with_length(env, 3, &out);
  napi_create_int32(env, fd, &v);
  napi_set_element(env, out, 0, v);
  napi_create_int32(env, bound, &v);
  napi_set_element(env, out, 1, v);
  napi_create_int32(env, family == AF_INET6 ? 6 : 4, &v);
  napi_set_element(env, out, 2, v);
  return out;
}

static void sockaddr_to_ep(const struct sockaddr_storage *ss, uint8_t *ep) {
  memset(ep, 0, EP_BYTES);
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    memcpy(ep, &a->sin_addr, 4);
    memcpy(ep + 16, &a->sin_port, 2);
    ep[18] = 4;
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    const uint8_t *b = a->sin6_addr.s6_addr;
    if (memcmp(b, V4MAPPED, 12) == 0) {
      memcpy(ep, b + 12, 4);
      ep[18] = 4;
    } else {
      memcpy(ep, b, 16);
      ep[18] = 6;
    }
    memcpy(ep + 16, &a->sin6_port, 2);
  }
}

/* Returns the sockaddr length, or 0 when the endpoint cannot be used on this socket. */
static socklen_t ep_to_sockaddr(const uint8_t *ep, int sock_family, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof(struct sockaddr_in6));
  if (sock_family == 4) {
    if (ep[18] != 4) return 0;
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    memcpy(&a->sin_addr, ep, 4);
    memcpy(&a->sin_port, ep + 16, 2);
    return sizeof *a;
  }
  struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
  a->sin6_family = AF_INET6;
  if (ep[18] == 4) {
    memcpy(a->sin6_addr.s6_addr, V4MAPPED, 12);
    memcpy(a->sin6_addr.s6_addr + 12, ep, 4);
  } else if (ep[18] == 6) {
    memcpy(a->sin6_addr.s6_addr, ep, 16);
  } else {
    return 0;
  }
  memcpy(&a->sin6_port, ep + 16, 2);
  return sizeof *a;
}

static napi_value udp_recv_batch(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t fd;
  if (tfw_get_int(env, argv[0], "fd", &fd)) return NULL;
  int32_t *sizes;
  size_t max, eplen;
  uint8_t *eps;
  if (tfw_get_batch(env, argv[1], argv[2], &sizes, &max)) return NULL;
  if (tfw_get_bytes(env, argv[3], "endpoints", &eps, &eplen)) return NULL;
  if (eplen / EP_BYTES < max) max = eplen / EP_BYTES;

  struct mmsghdr msgs[UDP_CHUNK];
  struct iovec iov[UDP_CHUNK];
  struct sockaddr_storage addrs[UDP_CHUNK];
  size_t done = 0;
  while (done < max) {
    size_t k = max - done < UDP_CHUNK ? max - done : UDP_CHUNK;
    for (size_t j = 0; j < k; j++) {
      uint8_t *p;
      size_t cap;
      if (tfw_get_buf_at(env, argv[1], (uint32_t)(done + j), &p, &cap)) return NULL;
      iov[j].iov_base = p;
      iov[j].iov_len = cap;
      memset(&msgs[j], 0, sizeof msgs[j]);
      msgs[j].msg_hdr.msg_name = &addrs[j];
      msgs[j].msg_hdr.msg_namelen = sizeof addrs[j];
      msgs[j].msg_hdr.msg_iov = &iov[j];
      msgs[j].msg_hdr.msg_iovlen = 1;
    }
    int r;
    do r = recvmmsg((int)fd, msgs, (unsigned)k, MSG_DONTWAIT, NULL); while (r < 0 && errno == EINTR);
    if (r < 0) {
      int e = errno;
      if (e == EAGAIN || e == EWOULDBLOCK) break;
      if (done > 0) break;
      /* ICMP errors queued on the socket (ECONNREFUSED, ...) are per-peer: skip them. */
      if (e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH) continue;
      return tfw_throw_errno(env, CODE, "recvmmsg", e, NULL);
    }
    for (int j = 0; j < r; j++) {
      sizes[done + j] = (int32_t)msgs[j].msg_len;
      sockaddr_to_ep(&addrs[j], eps + (done + j) * EP_BYTES);
    }
    done += (size_t)r;
    if ((size_t)r < k) break;
  }
  napi_value out;
  napi_create_uint32(env, (uint32_t)done, &out);
  return out;
}

static napi_value udp_send_batch(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t fd, fam, count;
  if (tfw_get_int(env, argv[0], "fd", &fd) || tfw_get_int(env, argv[1], "family", &fam)) return NULL;
  int32_t *sizes;
  size_t max, eplen;
  uint8_t *eps;
  if (tfw_get_batch(env, argv[2], argv[3], &sizes, &max)) return NULL;
  if (tfw_get_bytes(env, argv[4], "endpoints", &eps, &eplen)) return NULL;
  if (tfw_get_int(env, argv[5], "count", &count)) return NULL;
  if (eplen / EP_BYTES < max) max = eplen / EP_BYTES;
  if (count < 0 || (size_t)count > max)
    return tfw_throw(env, "ERR_OUT_OF_RANGE", "count: expected 0..%zu (bufs, sizes and endpoints length), got %lld", max,
                     (long long)count);

  /* Validate every packet once, up front, so nothing is sent from a bad batch. */
  static __thread struct iovec piov[1024];
  size_t n = (size_t)count;
  for (size_t i = 0; i < n; i++) {
    uint8_t *p;
    size_t cap;
    if (tfw_get_buf_at(env, argv[2], (uint32_t)i, &p, &cap)) return NULL;
    if (sizes[i] < 0 || (size_t)sizes[i] > cap)
      return tfw_throw(env, "ERR_OUT_OF_RANGE", "sizes[%zu]: expected 0..%zu (bufs[%zu].byteLength), got %d", i, cap, i,
                       sizes[i]);
    if (i < 1024) {
      piov[i].iov_base = p;
      piov[i].iov_len = (size_t)sizes[i];
    }
  }
  int use_gso = fd >= 0 && fd < GSO_FDS && gso_fail[fd] < GSO_MAX_FAILS;

  struct mmsghdr msgs[UDP_CHUNK];
  struct sockaddr_storage addrs[UDP_CHUNK];
  size_t first[UDP_CHUNK], last[UDP_CHUNK];
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } ctl[UDP_CHUNK];
  struct iovec one[UDP_CHUNK]; /* for packets past the first 1024 */
  size_t i = 0;                /* next packet to send */
  while (i < n) {
    size_t k = 0, scan = i;
    while (scan < n && k < UDP_CHUNK) {
      socklen_t sl = ep_to_sockaddr(eps + scan * EP_BYTES, (int)fam, &addrs[k]);
      if (sl == 0) {
        if (k == 0) { /* unusable endpoint and nothing pending: consume it */
          sizes[scan] = -EAFNOSUPPORT;
          i = ++scan;
          continue;
        }
        break; /* send what we have first, keep order */
      }
      /* Extend a GSO run: same endpoint, same size, last one may be shorter. */
      size_t end = scan + 1;
      if (use_gso && scan < 1024 && sizes[scan] > 0) {
        size_t seg = (size_t)sizes[scan], total = seg;
        while (end < n && end < 1024 && end - scan < GSO_MAX_SEGS && sizes[end] > 0 && (size_t)sizes[end] <= seg &&
               total + (size_t)sizes[end] <= GSO_MAX_BYTES && memcmp(eps + end * EP_BYTES, eps + scan * EP_BYTES, 19) == 0) {
          total += (size_t)sizes[end];
          if ((size_t)sizes[end++] < seg) break;
        }
      }
      struct msghdr *h = &msgs[k].msg_hdr;
      memset(&msgs[k], 0, sizeof msgs[k]);
      h->msg_name = &addrs[k];
      h->msg_namelen = sl;
      if (scan < 1024) {
        h->msg_iov = &piov[scan];
        h->msg_iovlen = end - scan;
      } else {
        uint8_t *p;
        size_t cap;
        if (tfw_get_buf_at(env, argv[2], (uint32_t)scan, &p, &cap)) return NULL;
        one[k].iov_base = p;
        one[k].iov_len = (size_t)sizes[scan];
        h->msg_iov = &one[k];
        h->msg_iovlen = 1;
      }
      if (end - scan > 1) {
        h->msg_control = ctl[k].buf;
        h->msg_controllen = sizeof ctl[k].buf;
        struct cmsghdr *cm = CMSG_FIRSTHDR(h);
        cm->cmsg_level = SOL_UDP;
        cm->cmsg_type = UDP_SEGMENT;
        cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t gs = (uint16_t)sizes[scan];
        memcpy(CMSG_DATA(cm), &gs, sizeof gs);
      }
      first[k] = scan;
      last[k] = end - 1;
      k++;
      scan = end;
    }
    if (k == 0) continue;
    int r;
    do r = sendmmsg((int)fd, msgs, (unsigned)k, MSG_DONTWAIT); while (r < 0 && errno == EINTR);
    if (r < 0) {
      int e = errno;
      if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) break;
      if (e == EBADF || e == ENOTSOCK || e == EFAULT) return tfw_throw_errno(env, CODE, "sendmmsg", e, NULL);
      if (last[0] > first[0] && (e == EIO || e == EINVAL || e == EMSGSIZE || e == ENOPROTOOPT || e == EOPNOTSUPP)) {
        if (gso_fail[fd] < GSO_MAX_FAILS) gso_fail[fd]++; /* retry this call datagram by datagram */
        use_gso = 0;
        continue;
      }
      /* The first message was refused (EMSGSIZE, ENETUNREACH, EACCES, ...): mark it, go on. */
      for (size_t j = first[0]; j <= last[0]; j++) sizes[j] = -e;
      i = last[0] + 1;
      continue;
    }
    i = last[r - 1] + 1;
  }
  napi_value out;
  napi_create_uint32(env, (uint32_t)i, &out);
  return out;
}

napi_value tfw_init_udp(napi_env env, napi_value exports) {
  tfw_export(env, exports, "udpOpen", udp_open);
  tfw_export(env, exports, "udpRecvBatch", udp_recv_batch);
  tfw_export(env, exports, "udpSendBatch", udp_send_batch);
  return exports;
}
