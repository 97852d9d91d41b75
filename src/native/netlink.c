/*
 * A netfilter netlink socket for the kernel offload (src/dataplane/kernel/netlink-session.ts). JavaScript
 * builds every message; this file only moves bytes: open a socket, send one buffer (a batch or a dump
 * request) and hand back everything the kernel answered. The work runs on libuv's thread pool so a large
 * dump does not hold the event loop. A table created with the owner flag belongs to this socket and is
 * dropped by the kernel when the socket closes, which includes the process dying.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netlink.h"

#ifndef NETLINK_NETFILTER
#define NETLINK_NETFILTER 12
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

/* Largest answer kept (a 100,000-element dump is ~15 MB). */
#define MAX_REPLY (64u << 20)
#define RECV_CHUNK (256u << 10)

static napi_value ret_int(napi_env env, int32_t v) {
  napi_value r;
  napi_create_int32(env, v, &r);
  return r;
}

/* netlinkOpen() -> fd >= 0, or -errno. */
static napi_value js_open(napi_env env, napi_callback_info info) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) return ret_int(env, -errno);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  int one = 1, buf = 8 << 20;
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    return ret_int(env, -e);
  }
  /* Acks carry only the header of the message they answer; errors say why (extended ack). */
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  return ret_int(env, fd);
}

/* netlinkClose(fd) */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0)
    return ret_int(env, -EINVAL);
  return ret_int(env, close(fd) == 0 ? 0 : -errno);
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref request_ref;
  int fd;
  int dump;
  const uint8_t *req;
  size_t req_len;
  uint8_t *reply;
  size_t reply_len;
  int err;
} request_t;

static int append(request_t *r, const uint8_t *p, size_t n, size_t *cap) {
  if (r->reply_len + n > MAX_REPLY) return -EMSGSIZE;
  if (r->reply_len + n > *cap) {
    size_t c = *cap ? *cap : RECV_CHUNK;
    while (c < r->reply_len + n) c *= 2;
    uint8_t *q = realloc(r->reply, c);
    if (!q) return -ENOMEM;
    r->reply = q;
    *cap = c;
  }
  memcpy(r->reply + r->reply_len, p, n);
  r->reply_len += n;
  return 0;
}

/* Ends a dump at NLMSG_DONE or an error message; a batch's answers are all queued when sendmsg returns. */
static int dump_finished(const uint8_t *p, size_t n) {
  while (n >= sizeof(struct nlmsghdr)) {
    const struct nlmsghdr *h = (const struct nlmsghdr *)p;
    if (h->nlmsg_len < sizeof *h || h->nlmsg_len > n) return 1;
    if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) return 1;
    size_t step = NLMSG_ALIGN(h->nlmsg_len);
    if (step >= n) break;
    p += step;
    n -= step;
  }
  return 0;
}

static void execute(napi_env env, void *data) {
  request_t *r = data;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  ssize_t s;
  do s = sendto(r->fd, r->req, r->req_len, 0, (struct sockaddr *)&kernel, sizeof kernel);
  while (s < 0 && errno == EINTR);
  if (s < 0) {
    r->err = -errno;
    return;
  }
  size_t cap = 0;
  uint8_t *chunk = malloc(RECV_CHUNK);
  if (!chunk) {
    r->err = -ENOMEM;
    return;
  }
  for (;;) {
    ssize_t n = recv(r->fd, chunk, RECV_CHUNK, r->dump ? 0 : MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (!r->dump && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      r->err = -errno;
      break;
    }
    if (n == 0) break;
    int e = append(r, chunk, (size_t)n, &cap);
    if (e) {
      r->err = e;
      break;
    }
    if (r->dump && dump_finished(chunk, (size_t)n)) break;
  }
  free(chunk);
}

static void free_reply(napi_env env, void *data, void *hint) { free(data); }

static void complete(napi_env env, napi_status status, void *data) {
  request_t *r = data;
  napi_value result;
  if (r->err) {
    napi_value code, msg;
    napi_create_int32(env, r->err, &code);
    napi_create_string_utf8(env, strerror(-r->err), NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &result);
    napi_set_named_property(env, result, "errno", code);
    napi_reject_deferred(env, r->deferred, result);
    free(r->reply);
  } else if (r->reply_len) {
    if (napi_create_external_buffer(env, r->reply_len, r->reply, free_reply, NULL, &result) != napi_ok) {
      free(r->reply);
      napi_create_buffer(env, 0, NULL, &result);
    }
    napi_resolve_deferred(env, r->deferred, result);
  } else {
    free(r->reply);
    napi_create_buffer(env, 0, NULL, &result);
    napi_resolve_deferred(env, r->deferred, result);
  }
  napi_delete_reference(env, r->request_ref);
  napi_delete_async_work(env, r->work);
  free(r);
}

/*
 * netlinkRequest(fd, request: Buffer, dump: boolean) -> Promise<Buffer>: sends `request`; for a dump, reads
 * until the kernel ends it; otherwise collects the acks and errors the batch produced. Requests on one fd must
 * not overlap (the caller queues them).
 */
static napi_value js_request(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], promise, name;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) return NULL;
  request_t *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  bool dump = false;
  void *p;
  int32_t fd;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_buffer_info(env, argv[1], &p, &r->req_len) != napi_ok ||
      napi_get_value_bool(env, argv[2], &dump) != napi_ok || fd < 0) {
    free(r);
    napi_throw_type_error(env, NULL, "netlinkRequest(fd, Buffer, boolean)");
    return NULL;
  }
  r->fd = fd;
  r->dump = dump;
  r->req = p;
  napi_create_reference(env, argv[1], 1, &r->request_ref);
  napi_create_promise(env, &r->deferred, &promise);
  napi_create_string_utf8(env, "sipmedia.netlink", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, execute, complete, r, &r->work);
  napi_queue_async_work(env, r->work);
  return promise;
}

void netlink_register(napi_env env, napi_value exports) {
  struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"netlinkOpen", js_open}, {"netlinkClose", js_close}, {"netlinkRequest", js_request}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) == napi_ok)
      napi_set_named_property(env, exports, fns[i].name, f);
  }
}
