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
  /* Answer with counter records instead of the raw dump. */
  int records;
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

/*
 * Counter records: a dump of the streams map (NFT_MSG_NEWSETELEM answers) reduced to fixed 24-byte records,
 * so the event loop reads three numbers per stream instead of walking nested attributes:
 *   [0] the element's id, [8] packets, [16] bytes (little-endian doubles, exact below 2^53).
 * The id is the decimal number in the element's comment (userdata TLV 0, as nft shows it), which the daemon
 * writes when it adds the element. Elements without an id or a `counter` expression are left out.
 */
#define RECORD 24
#define NFT_NEWSETELEM ((10 << 8) | 12)

/* Data [*from, *to) of the first attribute of `type` in [from, to); 0 when there is none. */
static int attr_find(const uint8_t *b, size_t from, size_t to, uint16_t type, size_t *s, size_t *e) {
  size_t off = from;
  while (off + 4 <= to) {
    uint16_t len, t;
    memcpy(&len, b + off, 2);
    memcpy(&t, b + off + 2, 2);
    if (len < 4 || off + len > to) return 0;
    if ((t & 0x3fff) == type) {
      *s = off + 4;
      *e = off + len;
      return 1;
    }
    off += (len + 3u) & ~3u;
  }
  return 0;
}

static uint64_t be64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
  return v;
}

/* A `counter` expression in [from, to): its packets and bytes. */
static int counter_at(const uint8_t *b, size_t from, size_t to, uint64_t *packets, uint64_t *bytes) {
  size_t ns, ne, ds, de, bs, bend, ps, pe;
  if (!attr_find(b, from, to, 1, &ns, &ne) || ne - ns != 8 || memcmp(b + ns, "counter", 8) != 0) return 0;
  if (!attr_find(b, from, to, 2, &ds, &de)) return 0;
  if (!attr_find(b, ds, de, 1, &bs, &bend) || !attr_find(b, ds, de, 2, &ps, &pe)) return 0;
  if (bend - bs != 8 || pe - ps != 8) return 0;
  *bytes = be64(b + bs);
  *packets = be64(b + ps);
  return 1;
}

/* The id in a userdata area [from, to): a comment TLV (type 0, length, text ending in NUL) of 1-16 digits. */
static int element_id(const uint8_t *b, size_t from, size_t to, uint64_t *id) {
  size_t off = from;
  while (off + 2 <= to) {
    uint8_t type = b[off], len = b[off + 1];
    if (off + 2 + len > to) return 0;
    if (type == 0) {
      const uint8_t *v = b + off + 2;
      if (len < 2 || len > 17 || v[len - 1] != 0) return 0;
      uint64_t n = 0;
      for (int i = 0; i < len - 1; i++) {
        if (v[i] < '0' || v[i] > '9') return 0;
        n = n * 10 + (uint64_t)(v[i] - '0');
      }
      *id = n;
      return 1;
    }
    off += 2u + len;
  }
  return 0;
}

/* One element in [from, to): a record at out, or 0. */
static int element_record(const uint8_t *b, size_t from, size_t to, uint8_t *out) {
  size_t us, ue, xs, xe;
  uint64_t id = 0, packets = 0, bytes = 0;
  if (!attr_find(b, from, to, 6, &us, &ue) || !element_id(b, us, ue, &id)) return 0;
  /* One expression (NFTA_SET_ELEM_EXPR), or a list of them (NFTA_SET_ELEM_EXPRESSIONS). */
  int found = attr_find(b, from, to, 7, &xs, &xe) && counter_at(b, xs, xe, &packets, &bytes);
  if (!found && attr_find(b, from, to, 11, &xs, &xe)) {
    size_t off = xs;
    while (!found && off + 4 <= xe) {
      uint16_t len;
      memcpy(&len, b + off, 2);
      if (len < 4 || off + len > xe) break;
      found = counter_at(b, off + 4, off + len, &packets, &bytes);
      off += (len + 3u) & ~3u;
    }
  }
  if (!found) return 0;
  /* As doubles, JavaScript's numbers. */
  double d[3] = {(double)id, (double)packets, (double)bytes};
  memcpy(out, d, sizeof d);
  return 1;
}

/*
 * The records of a dump answer (malloc'd, *out_len bytes; NULL and 0 when there are none). A netlink
 * error in the answer is returned as -errno with no records.
 */
static int counter_records(const uint8_t *b, size_t n, uint8_t **out, size_t *out_len) {
  size_t count = 0, cap = 0, off = 0;
  uint8_t *recs = NULL;
  *out = NULL;
  *out_len = 0;
  while (off + sizeof(struct nlmsghdr) <= n) {
    const struct nlmsghdr *h = (const struct nlmsghdr *)(b + off);
    uint32_t len = h->nlmsg_len;
    if (len < sizeof *h || len > n - off) break;
    if (h->nlmsg_type == NLMSG_ERROR && len >= sizeof *h + 4) {
      int32_t e;
      memcpy(&e, b + off + sizeof *h, 4);
      if (e < 0) {
        free(recs);
        return e;
      }
    } else if (h->nlmsg_type == NFT_NEWSETELEM && len >= sizeof *h + 4) {
      size_t body = off + sizeof *h, ls, le;
      if (attr_find(b, body + 4, off + len, 3, &ls, &le)) {
        size_t e = ls;
        while (e + 4 <= le) {
          uint16_t alen, t;
          memcpy(&alen, b + e, 2);
          memcpy(&t, b + e + 2, 2);
          if (alen < 4 || e + alen > le) break;
          if ((t & 0x3fff) == 1) {
            if (count == cap) {
              size_t c = cap ? cap * 2 : 256;
              uint8_t *q = realloc(recs, c * RECORD);
              if (!q) {
                free(recs);
                return -ENOMEM;
              }
              recs = q;
              cap = c;
            }
            if (element_record(b, e + 4, e + alen, recs + count * RECORD)) count++;
          }
          e += (alen + 3u) & ~3u;
        }
      }
    }
    off += NLMSG_ALIGN(len);
  }
  *out = recs;
  *out_len = count * RECORD;
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
  if (r->records && !r->err) {
    uint8_t *recs;
    size_t len;
    int e = counter_records(r->reply, r->reply_len, &recs, &len);
    free(r->reply);
    r->reply = recs;
    r->reply_len = len;
    r->err = e;
  }
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
 * netlinkRequest(fd, request: Buffer, dump: boolean, records?: boolean) -> Promise<Buffer>: sends `request`;
 * for a dump, reads until the kernel ends it; otherwise collects the acks and errors the batch produced. With
 * `records`, a set element dump is answered as counter records (parsed on the thread pool; a netlink error
 * rejects). Requests on one fd must not overlap (the caller queues them).
 */
static napi_value js_request(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], promise, name;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) return NULL;
  request_t *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  bool records = false;
  if (argc >= 4) napi_get_value_bool(env, argv[3], &records);
  r->records = records;
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

/* nftCounterRecords(dump: Buffer) -> Buffer of records, or a negative errno (the parser, for tests). */
static napi_value js_counter_records(napi_env env, napi_callback_info info) {
  size_t argc = 1, len = 0, out_len;
  napi_value argv[1], result;
  void *p;
  uint8_t *recs;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_buffer_info(env, argv[0], &p, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "nftCounterRecords(Buffer)");
    return NULL;
  }
  int e = counter_records(p, len, &recs, &out_len);
  if (e) return ret_int(env, e);
  void *copy;
  if (napi_create_buffer_copy(env, out_len, out_len ? recs : "", &copy, &result) != napi_ok) result = NULL;
  free(recs);
  return result;
}

void netlink_register(napi_env env, napi_value exports) {
  struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"netlinkOpen", js_open},
             {"netlinkClose", js_close},
             {"netlinkRequest", js_request},
             {"nftCounterRecords", js_counter_records}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) == napi_ok)
      napi_set_named_property(env, exports, fns[i].name, f);
  }
}
