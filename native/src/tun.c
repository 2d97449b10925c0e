/*
 * Linux TUN devices (Documentation/networking/tuntap.rst): open /dev/net/tun,
 * TUNSETIFF with IFF_TUN | IFF_NO_PI (raw IP packets, no 4-byte packet-info
 * header), optional IFF_MULTI_QUEUE; MTU via SIOCSIFMTU and link up via
 * SIOCSIFFLAGS (netdevice(7)). The fd is non-blocking: batched reads stop at
 * EAGAIN. Read/write of packet batches live in io.c (shared with any fd).
 *
 * JS: tunOpen(name, multiQueue) -> [fd, name]; tunSetMtu(name, mtu); tunUp(name);
 *     tunGetMtu(name) -> mtu.
 */
#define _GNU_SOURCE
#include "napi_util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define CODE "ERR_TFW_TUN"

static int get_name(napi_env env, napi_value v, char name[IFNAMSIZ]) {
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, name, IFNAMSIZ, &n) != napi_ok) {
    tfw_throw(env, "ERR_INVALID_ARG_TYPE", "name: expected a string");
    return -1;
  }
  size_t full = 0;
  napi_get_value_string_utf8(env, v, NULL, 0, &full);
  if (full >= IFNAMSIZ) {
    tfw_throw(env, CODE, "name: expected at most %d bytes, got %zu", IFNAMSIZ - 1, full);
    return -1;
  }
  return 0;
}

static const char *perm_hint(int err) {
  return (err == EPERM || err == EACCES) ? " (needs CAP_NET_ADMIN)" : "";
}

static napi_value tun_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[IFNAMSIZ] = {0};
  if (get_name(env, argv[0], name)) return NULL;
  bool mq = false;
  if (argc > 1) napi_get_value_bool(env, argv[1], &mq);

  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return tfw_throw_errno(env, CODE, "open /dev/net/tun", e, perm_hint(e));
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (mq ? IFF_MULTI_QUEUE : 0);
  memcpy(ifr.ifr_name, name, strlen(name));
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    char what[64];
    snprintf(what, sizeof what, "TUNSETIFF %s", name[0] ? name : "(auto)");
    return tfw_throw_errno(env, CODE, what, e,
                           perm_hint(e)[0] ? perm_hint(e)
                           : e == EINVAL   ? " (name taken by a non-TUN link, or multi-queue flag mismatch)"
                           : e == EBUSY    ? " (already open by another process without multi-queue)"
                                           : "");
  }
  napi_value out, vfd, vname;
  napi_create_array_with_length(env, 2, &out);
  napi_create_int32(env, fd, &vfd);
  napi_create_string_utf8(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ), &vname);
  napi_set_element(env, out, 0, vfd);
  napi_set_element(env, out, 1, vname);
  return out;
}

/* ioctl on a throw-away datagram socket: the usual carrier for SIOC*IF* requests. */
static int if_ioctl(unsigned long req, struct ifreq *ifr) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  int rc = ioctl(s, req, ifr);
  int e = errno;
  close(s);
  errno = e;
  return rc;
}

/* argv[0] (the interface name) into a zeroed ifreq; -1 with a JS exception pending on a bad name. */
static int named_ifreq(napi_env env, napi_value arg, struct ifreq *ifr) {
  char name[IFNAMSIZ] = {0};
  if (get_name(env, arg, name)) return -1;
  memset(ifr, 0, sizeof *ifr);
  memcpy(ifr->ifr_name, name, strlen(name));
  return 0;
}

/* if_ioctl(req); on failure throws "<what> <ifname><detail>: <strerror>" (set requests hint at
 * CAP_NET_ADMIN) and returns -1. */
static int ifreq_ioctl(napi_env env, unsigned long req, const char *what, struct ifreq *ifr, const char *detail,
                       bool set) {
  if (if_ioctl(req, ifr) == 0) return 0;
  int e = errno;
  char msg[64];
  snprintf(msg, sizeof msg, "%s %.*s%s", what, IFNAMSIZ, ifr->ifr_name, detail);
  tfw_throw_errno(env, CODE, msg, e, set ? perm_hint(e) : NULL);
  return -1;
}

static napi_value tun_set_mtu(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct ifreq ifr;
  if (named_ifreq(env, argv[0], &ifr)) return NULL;
  int64_t mtu;
  if (tfw_get_int(env, argv[1], "mtu", &mtu)) return NULL;
  if (mtu < 68 || mtu > 65535) return tfw_throw(env, CODE, "mtu: expected 68..65535 bytes, got %lld", (long long)mtu);
  ifr.ifr_mtu = (int)mtu;
  char detail[16];
  snprintf(detail, sizeof detail, " %d", (int)mtu);
  ifreq_ioctl(env, SIOCSIFMTU, "SIOCSIFMTU", &ifr, detail, true);
  return NULL;
}

static napi_value tun_get_mtu(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct ifreq ifr;
  if (named_ifreq(env, argv[0], &ifr) || ifreq_ioctl(env, SIOCGIFMTU, "SIOCGIFMTU", &ifr, "", false)) return NULL;
  napi_value v;
  napi_create_int32(env, ifr.ifr_mtu, &v);
  return v;
}

static napi_value tun_up(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct ifreq ifr;
  if (named_ifreq(env, argv[0], &ifr) || ifreq_ioctl(env, SIOCGIFFLAGS, "SIOCGIFFLAGS", &ifr, "", false)) return NULL;
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  ifreq_ioctl(env, SIOCSIFFLAGS, "SIOCSIFFLAGS", &ifr, " up", true);
  return NULL;
}

napi_value tfw_init_tun(napi_env env, napi_value exports) {
  tfw_export(env, exports, "tunOpen", tun_open);
  tfw_export(env, exports, "tunSetMtu", tun_set_mtu);
  tfw_export(env, exports, "tunGetMtu", tun_get_mtu);
  tfw_export(env, exports, "tunUp", tun_up);
  return exports;
}
