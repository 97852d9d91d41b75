/*
 * N-API glue of the native relay: creating and destroying a relay (worker threads, shared counter slots,
 * the thread-safe function), opening and closing legs, and the small configuration calls the TypeScript
 * NativeRelayLeg makes. Everything here runs on the JavaScript thread.
 */
#include "relay.h"
#include "dtls.h"
#include "netlink.h"

/* ---- N-API glue ---- */

#define CHECK(call)                                                                                      \
  do {                                                                                                   \
    if ((call) != napi_ok) {                                                                             \
      napi_throw_error(env, NULL, "sipmedia native relay: " #call " failed");                          \
      return NULL;                                                                                       \
    }                                                                                                    \
  } while (0)

static napi_value ret_int(napi_env env, int64_t v) {
  napi_value r;
  napi_create_int64(env, v, &r);
  return r;
}

static napi_value ret_bool(napi_env env, int v) {
  napi_value r;
  napi_get_boolean(env, v != 0, &r);
  return r;
}

static dp_t *get_dp(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) {
    napi_throw_type_error(env, NULL, "not a native relay handle");
    return NULL;
  }
  dp_t *dp = p;
  if (dp->destroyed) {
    napi_throw_error(env, NULL, "native relay destroyed");
    return NULL;
  }
  return dp;
}

static int get_u32(napi_env env, napi_value v, uint32_t *out) {
  return napi_get_value_uint32(env, v, out) == napi_ok;
}

/* A live leg's slot from an argument, or NULL (nothing thrown: callers treat it as a no-op). */
static leg_t *get_leg(napi_env env, dp_t *dp, napi_value v, uint32_t *slot_out) {
  uint32_t slot;
  if (!get_u32(env, v, &slot) || slot >= dp->capacity) return NULL;
  leg_t *l = &dp->legs[slot];
  if (l->fd < 0 || LOAD(&l->closed)) return NULL;
  *slot_out = slot;
  return l;
}

/* [address, port] of a socket address (IPv6 with its %scope when it has one). */
static napi_value addr_js(napi_env env, const addr_t *a) {
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  uint16_t port;
  if (a->sa.sa_family == AF_INET) {
    inet_ntop(AF_INET, &a->v4.sin_addr, buf, sizeof buf);
    port = ntohs(a->v4.sin_port);
  } else {
    inet_ntop(AF_INET6, &a->v6.sin6_addr, buf, INET6_ADDRSTRLEN);
    port = ntohs(a->v6.sin6_port);
    if (a->v6.sin6_scope_id) {
      char ifn[IF_NAMESIZE];
      size_t n = strlen(buf);
      if (if_indextoname(a->v6.sin6_scope_id, ifn)) snprintf(buf + n, sizeof buf - n, "%%%s", ifn);
      else snprintf(buf + n, sizeof buf - n, "%%%u", a->v6.sin6_scope_id);
    }
  }
  napi_value r, s, p;
  if (napi_create_array_with_length(env, 2, &r) != napi_ok) return NULL;
  napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &s);
  napi_create_uint32(env, port, &p);
  napi_set_element(env, r, 0, s);
  napi_set_element(env, r, 1, p);
  return r;
}

static void drain_js(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)context;
  worker_t *w = data;
  pthread_mutex_lock(&w->qlock);
  item_t *it = w->qhead;
  w->qhead = w->qtail = NULL;
  w->qcount = 0;
  w->notify_pending = 0;
  pthread_mutex_unlock(&w->qlock);
  dp_t *dp = w->dp;
  while (it) {
    item_t *next = it->next;
    if (it->kind == ITEM_ENDPOINT && it->slot < dp->capacity && LOAD(&dp->legs[it->slot].gen) == it->gen)
      STORE(&dp->legs[it->slot].event_pending, 0);
    if (env && js_cb && !dp->destroyed) {
      napi_value argv[5], undef;
      napi_get_undefined(env, &undef);
      argv[4] = undef;
      uint32_t kind = it->kind != ITEM_PACKET ? it->kind
                      : it->is_rtcp == 2  ? ITEM_PACKET_OTHER
                      : it->is_rtcp       ? ITEM_PACKET_RTCP
                                          : ITEM_PACKET;
      napi_create_uint32(env, kind, &argv[0]);
      napi_create_uint32(env, it->slot, &argv[1]);
      napi_create_uint32(env, it->gen, &argv[2]);
      if (kind == ITEM_PACKET_OTHER && it->len >= sizeof(addr_t)) {
        /* The sender's address came in front of the packet: (kind, slot, gen, packet, [address, port]). */
        void *copy;
        addr_t from;
        memcpy(&from, it->data, sizeof from);
        napi_create_buffer_copy(env, it->len - sizeof(addr_t), it->data + sizeof(addr_t), &copy, &argv[3]);
        napi_value f = addr_js(env, &from);
        if (f) argv[4] = f;
      } else if (it->kind == ITEM_PACKET) {
        void *copy;
        napi_create_buffer_copy(env, it->len, it->data, &copy, &argv[3]);
      } else {
        argv[3] = undef;
      }
      napi_value r;
      if (napi_call_function(env, undef, js_cb, 5, argv, &r) != napi_ok) {
        /* A throwing callback must not stop the drain; the exception is reported as uncaught. */
        bool pending = false;
        napi_is_exception_pending(env, &pending);
        if (pending) {
          napi_value e;
          napi_get_and_clear_last_exception(env, &e);
          napi_fatal_exception(env, e);
        }
      }
    }
    free(it);
    it = next;
  }
}

static void stop_workers(dp_t *dp) {
  STORE(&dp->stop, 1);
  for (int i = 0; i < dp->nthreads; i++) {
    worker_t *w = &dp->workers[i];
    uint64_t one = 1;
    if (w->wakefd >= 0) {
      ssize_t r = write(w->wakefd, &one, sizeof one);
      (void)r;
    }
  }
  for (int i = 0; i < dp->nthreads; i++) {
    worker_t *w = &dp->workers[i];
    if (w->started) pthread_join(w->thread, NULL);
    w->started = 0;
  }
}

/* env is NULL at process teardown: then only threads and sockets are stopped, Node finalises the rest. */
static void destroy_dp(dp_t *dp, napi_env env) {
  if (dp->destroyed) return;
  stop_workers(dp);
  dp->destroyed = 1;
  for (uint32_t s = 0; s < dp->capacity; s++) {
    if (dp->legs[s].fd >= 0) close(dp->legs[s].fd);
    dp->legs[s].fd = -1;
  }
  for (int i = 0; i < dp->nthreads; i++) {
    worker_t *w = &dp->workers[i];
    if (w->epfd >= 0) close(w->epfd);
    if (w->wakefd >= 0) close(w->wakefd);
    w->epfd = w->wakefd = -1;
    item_t *it = w->qhead;
    while (it) {
      item_t *n = it->next;
      free(it);
      it = n;
    }
    w->qhead = w->qtail = NULL;
    free(w->bufs);
    w->bufs = NULL;
  }
  if (env && dp->tsfn) {
    napi_release_threadsafe_function(dp->tsfn, napi_tsfn_abort);
    dp->tsfn = NULL;
  }
  if (env && dp->shared_ref) {
    napi_delete_reference(env, dp->shared_ref);
    dp->shared_ref = NULL;
  }
  if (!env) return;
  for (uint32_t i = 0; i < dp->capacity; i++) {
    free(dp->legs[i].g722);
    dp->legs[i].g722 = NULL;
    srtp_free(dp->legs[i].srtp_rx);
    srtp_free(dp->legs[i].srtp_tx);
    dp->legs[i].srtp_rx = dp->legs[i].srtp_tx = NULL;
  }
  dp->capacity = 0;
  free(dp->legs);
  dp->legs = NULL;
  free(dp->free_slots);
  dp->free_slots = NULL;
}

static void cleanup_hook(void *arg) {
  dp_t *dp = arg;
  destroy_dp(dp, NULL);
}

/* create(threads, capacity, callback) -> [handle, sharedArrayBuffer] */
static napi_value js_create(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t threads, capacity;
  if (argc < 3 || !get_u32(env, argv[0], &threads) || !get_u32(env, argv[1], &capacity) || threads < 1 ||
      threads > MAX_THREADS || capacity < 2 || capacity > (1u << 22)) {
    napi_throw_range_error(env, NULL, "create(threads 1..64, capacity 2..4194304, callback)");
    return NULL;
  }
  dp_t *dp = calloc(1, sizeof *dp);
  if (!dp) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  dp->env = env;
  dp->capacity = capacity;
  dp->nthreads = (int)threads;
  pthread_mutex_init(&dp->ep_lock, NULL);
  dp->legs = calloc(capacity, sizeof(leg_t));
  dp->free_slots = malloc(sizeof(uint32_t) * capacity);
  napi_value ab;
  void *mem = NULL;
  if (!dp->legs || !dp->free_slots ||
      napi_create_arraybuffer(env, sizeof(shared_slot_t) * capacity, &mem, &ab) != napi_ok) {
    free(dp->legs);
    free(dp->free_slots);
    free(dp);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  dp->shared = mem;
  /* ArrayBuffer memory is zeroed by V8 (lazily, for large buffers): untouched slots cost no RSS. */
  napi_create_reference(env, ab, 1, &dp->shared_ref);
  for (uint32_t i = 0; i < capacity; i++) {
    dp->legs[i].fd = -1;
    dp->free_slots[i] = capacity - 1 - i; /* pop from the end: slot 0 first */
  }
  dp->free_count = capacity;
  napi_value name;
  napi_create_string_utf8(env, "sipmedia-relay", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[2], NULL, name, 0, 1, NULL, NULL, NULL, drain_js,
                                      &dp->tsfn) != napi_ok) {
    destroy_dp(dp, env);
    napi_throw_error(env, NULL, "cannot create thread-safe function");
    return NULL;
  }
  /* The relay must not keep the process alive by itself. */
  napi_unref_threadsafe_function(env, dp->tsfn);
  for (int i = 0; i < dp->nthreads; i++) {
    worker_t *w = &dp->workers[i];
    w->dp = dp;
    w->index = i;
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->bufs = malloc((size_t)RECV_BATCH * PKT_BUF);
    pthread_mutex_init(&w->qlock, NULL);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
    if (w->epfd < 0 || w->wakefd < 0 || !w->bufs || epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &ev) < 0 ||
        pthread_create(&w->thread, NULL, worker_main, w) != 0) {
      dp->nthreads = i + 1;
      destroy_dp(dp, env);
      napi_throw_error(env, NULL, "cannot start relay worker");
      return NULL;
    }
    w->started = 1;
  }
  napi_add_env_cleanup_hook(env, cleanup_hook, dp);
  napi_value handle, result;
  CHECK(napi_create_external(env, dp, NULL, NULL, &handle));
  CHECK(napi_create_array_with_length(env, 2, &result));
  napi_set_element(env, result, 0, handle);
  napi_set_element(env, result, 1, ab);
  return result;
}

static napi_value js_destroy(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *p = NULL;
  if (argc < 1 || napi_get_value_external(env, argv[0], &p) != napi_ok || !p) return NULL;
  dp_t *dp = p;
  if (!dp->destroyed) {
    napi_remove_env_cleanup_hook(env, cleanup_hook, dp);
    destroy_dp(dp, env);
  }
  return NULL;
}

/* Parses "IP" or "IP%scope" with a port into a sockaddr; returns 0 on failure. */
static int parse_addr(const char *s, uint32_t port, addr_t *a) {
  memset(a, 0, sizeof *a);
  if (port > 65535) return 0;
  if (inet_pton(AF_INET, s, &a->v4.sin_addr) == 1) {
    a->v4.sin_family = AF_INET;
    a->v4.sin_port = htons((uint16_t)port);
    return 1;
  }
  char buf[128];
  size_t n = strlen(s);
  if (n >= sizeof buf) return 0;
  memcpy(buf, s, n + 1);
  char *pct = strchr(buf, '%');
  uint32_t scope = 0;
  if (pct) {
    *pct = 0;
    const char *z = pct + 1;
    char *end;
    unsigned long v = strtoul(z, &end, 10);
    if (*z && !*end) scope = (uint32_t)v;
    else scope = if_nametoindex(z);
  }
  if (inet_pton(AF_INET6, buf, &a->v6.sin6_addr) != 1) return 0;
  a->v6.sin6_family = AF_INET6;
  a->v6.sin6_port = htons((uint16_t)port);
  a->v6.sin6_scope_id = scope;
  return 1;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t size) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok) return 0;
  return len < size - 1;
}

/* open(h, address, port, isRtcp, worker) -> gen * 2^22 + slot, or -errno. Binding is synchronous. */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) return ret_int(env, -EINVAL);
  dp_t *dp = get_dp(env, argv[0]);
  if (!dp) return NULL;
  char host[128];
  uint32_t port;
  bool is_rtcp = false;
  uint32_t worker;
  addr_t a;
  if (!get_string(env, argv[1], host, sizeof host) || !get_u32(env, argv[2], &port) ||
      napi_get_value_bool(env, argv[3], &is_rtcp) != napi_ok || !get_u32(env, argv[4], &worker) ||
      !parse_addr(host, port, &a))
    return ret_int(env, -EINVAL);
  if (dp->free_count == 0) return ret_int(env, -ENOSPC);
  int fd = socket(a.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ret_int(env, -errno);
  int one = 1, size = SOCKET_BUFFER;
  if (a.sa.sa_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, &a.sa, addr_len(&a)) < 0) {
    int e = errno;
    close(fd);
    return ret_int(env, -e);
  }
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  uint32_t slot = dp->free_slots[--dp->free_count];
  leg_t *l = &dp->legs[slot];
  shared_slot_t *c = &dp->shared[slot];
  int32_t keep_gen = c->ep_gen;
  memset(c, 0, sizeof *c);
  c->ep_gen = keep_gen + 1;
  pthread_mutex_lock(&dp->ep_lock);
  __atomic_store_n(&l->seq, l->seq + 2, __ATOMIC_RELEASE);
  l->has_ep = 0;
  pthread_mutex_unlock(&dp->ep_lock);
  l->fd = fd;
  l->family = a.sa.sa_family;
  l->is_rtcp = is_rtcp ? 1 : 0;
  l->learning = LEARN_LATCH;
  l->strict = l->blocked = l->tapped = l->other_js = 0;
  STORE(&l->xcode, 0);
  l->event_pending = 0;
  STORE(&l->sink, 0);
  STORE(&l->rtcp_sink, 0);
  l->worker = (int)(worker % (uint32_t)dp->nthreads);
  uint32_t gen = (LOAD(&l->gen) + 1) & 0x3fffffffu; /* 30 bits: slot and gen fit in a double exactly */
  if (gen == 0) gen = 1;
  STORE(&l->gen, gen);
  STORE(&l->closed, 0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = ((uint64_t)gen << 32) | (slot + 1)};
  if (epoll_ctl(dp->workers[l->worker].epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
    int e = errno;
    STORE(&l->closed, 1);
    close(fd);
    l->fd = -1;
    dp->free_slots[dp->free_count++] = slot;
    return ret_int(env, -e);
  }
  return ret_int(env, ((int64_t)gen << 22) | slot);
}

/* close(h, slot): the socket is closed and the port free when this returns. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return NULL;
  dp_t *dp = get_dp(env, argv[0]);
  if (!dp) return NULL;
  uint32_t slot;
  leg_t *l = get_leg(env, dp, argv[1], &slot);
  if (!l) return NULL;
  STORE(&l->closed, 1);
  epoll_ctl(dp->workers[l->worker].epfd, EPOLL_CTL_DEL, l->fd, NULL);
  if (!quiesce(dp)) {
    /* A worker is stuck inside one batch for a second: leak the fd and slot rather than risk reuse. */
    return ret_bool(env, 0);
  }
  close(l->fd);
  l->fd = -1;
  free(l->g722);
  l->g722 = NULL;
  srtp_free(l->srtp_rx);
  srtp_free(l->srtp_tx);
  l->srtp_rx = l->srtp_tx = NULL;
  dp->free_slots[dp->free_count++] = slot;
  return ret_bool(env, 1);
}

/* setEndpoint(h, slot, address|null, port) -> ep generation (or -1 when the address does not parse). */
static napi_value js_set_endpoint(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) return ret_int(env, -1);
  dp_t *dp = get_dp(env, argv[0]);
  if (!dp) return NULL;
  uint32_t slot;
  leg_t *l = get_leg(env, dp, argv[1], &slot);
  if (!l) return ret_int(env, -1);
  napi_valuetype t;
  napi_typeof(env, argv[2], &t);
  addr_t a;
  int has = 0;
  char host[128];
  uint32_t port;
  if (t == napi_string && get_string(env, argv[2], host, sizeof host) && get_u32(env, argv[3], &port) &&
      parse_addr(host, port, &a) && a.sa.sa_family == l->family)
    has = 1;
  pthread_mutex_lock(&dp->ep_lock);
  ep_write_locked(dp, slot, &a, has);
  pthread_mutex_unlock(&dp->ep_lock);
  return ret_int(env, LOAD(&dp->shared[slot].ep_gen));
}

/* getEndpoint(h, slot) -> [address, port] | null */
static napi_value js_get_endpoint(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], nul;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_get_null(env, &nul);
  if (argc < 2) return nul;
  dp_t *dp = get_dp(env, argv[0]);
  if (!dp) return NULL;
  uint32_t slot;
  if (!get_u32(env, argv[1], &slot) || slot >= dp->capacity) return nul;
  addr_t a;
  if (!ep_read(&dp->legs[slot], &a)) return nul;
  return addr_js(env, &a);
}

/* configure(h, slot, learning, strict, blocked, tapped, other) */
static napi_value js_configure(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) return NULL;
  dp_t *dp = get_dp(env, argv[0]);
  if (!dp) return NULL;
  uint32_t slot, learning;
  bool strict = false, blocked = false, tapped = false, other = false;
  leg_t *l = get_leg(env, dp, argv[1], &slot);
  if (!l || !get_u32(env, argv[2], &learning) || learning > 2) return NULL;
  napi_get_value_bool(env, argv[3], &strict);
  napi_get_value_bool(env, argv[4], &blocked);
  napi_get_value_bool(env, argv[5], &tapped);
  if (argc >= 7) napi_get_value_bool(env, argv[6], &other);
  STORE(&l->other_js, (uint8_t)other);
  STORE(&l->learning, (uint8_t)learning);
  STORE(&l->strict, (uint8_t)strict);
  STORE(&l->blocked, (uint8_t)blocked);
  STORE(&l->tapped, (uint8_t)tapped);
  return NULL;
}

/* setConfirmed(h, slot, bool) */
static napi_value js_set_confirmed(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) return NULL;
  dp_t *dp = get_dp(env, argv[0]);
  if (!dp) return NULL;
  uint32_t slot;
  bool v = false;
  if (!get_leg(env, dp, argv[1], &slot)) return NULL;
  napi_get_value_bool(env, argv[2], &v);
  STORE(&dp->shared[slot].confirmed, v ? 1 : 0);
  return NULL;
}

static uint64_t sink_ref(napi_env env, dp_t *dp, napi_value v) {
  int32_t s;
  if (napi_get_value_int32(env, v, &s) != napi_ok || s < 0 || (uint32_t)s >= dp->capacity) return 0;
  leg_t *o = &dp->legs[s];
  if (o->fd < 0 || LOAD(&o->closed)) return 0;
  return ((uint64_t)LOAD(&o->gen) << 32) | ((uint32_t)s + 1);
}

/* setSinks(h, slot, sinkSlot|-1, rtcpSinkSlot|-1) */
static napi_value js_set_sinks(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) return NULL;
  dp_t *dp = get_dp(env, argv[0]);
  if (!dp) return NULL;
  uint32_t slot;
  leg_t *l = get_leg(env, dp, argv[1], &slot);
  if (!l) return NULL;
  STORE(&l->sink, sink_ref(env, dp, argv[2]));
  STORE(&l->rtcp_sink, sink_ref(env, dp, argv[3]));
  return NULL;
}

/*
 * send(h, slot, buffer, raw?, address?, port?) -> bool: a packet from JavaScript to the leg's party, out of
 * the leg's socket; encrypted when the leg does SRTP, unless `raw` (STUN and DTLS on a WebRTC leg). With an
 * address (raw only), to that address instead of the party's endpoint (a STUN answer goes where the check
 * came from).
 */
static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) return ret_bool(env, 0);
  dp_t *dp = get_dp(env, argv[0]);
  if (!dp) return NULL;
  uint32_t slot;
  leg_t *l = get_leg(env, dp, argv[1], &slot);
  void *data;
  size_t len;
  if (!l || napi_get_buffer_info(env, argv[2], &data, &len) != napi_ok) return ret_bool(env, 0);
  addr_t a;
  bool raw = false;
  if (argc >= 4) napi_get_value_bool(env, argv[3], &raw);
  if (argc >= 6 && raw) {
    char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    size_t hl;
    uint32_t port;
    if (napi_get_value_string_utf8(env, argv[4], host, sizeof host, &hl) != napi_ok || !get_u32(env, argv[5], &port) ||
        port > 65535 || !parse_addr(host, port, &a) || a.sa.sa_family != l->family)
      return ret_bool(env, 0);
  } else if (!ep_read(l, &a)) {
    return ret_bool(env, 0);
  }
  srtp_ctx_t *tx = raw ? NULL : LOAD(&l->srtp_tx);
  if (tx && len <= 2048) {
    /* Generated packets to an SRTP party are encrypted like forwarded ones. */
    uint8_t buf[2048 + 32];
    memcpy(buf, data, len);
    uint8_t b1 = len > 1 ? buf[1] : 0;
    int rtcp = l->is_rtcp || (b1 >= 192 && b1 <= 223);
    int n = rtcp ? srtp_protect_rtcp(tx, buf, (uint32_t)len, sizeof buf) : srtp_protect_rtp(tx, buf, (uint32_t)len, sizeof buf);
    if (n < 0) return ret_bool(env, 0);
    sendto(l->fd, buf, (size_t)n, MSG_DONTWAIT, &a.sa, addr_len(&a));
    return ret_bool(env, 1);
  }
  if (tx) return ret_bool(env, 0);
  sendto(l->fd, data, len, MSG_DONTWAIT, &a.sa, addr_len(&a));
  return ret_bool(env, 1);
}

/*
 * setSrtp(h, slot, rx: Buffer|null, tx: Buffer|null, tagLen) -> bool: the leg decrypts what its party sends
 * with `rx` and encrypts what is sent to it with `tx` (session key material, SRTP_MATERIAL bytes each;
 * null: none). Fresh contexts (rollover and replay state start over); the old ones are freed once no worker
 * can still be using them.
 */
static napi_value js_set_srtp(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) return ret_bool(env, 0);
  dp_t *dp = get_dp(env, argv[0]);
  if (!dp) return NULL;
  uint32_t slot, tag_len;
  leg_t *l = get_leg(env, dp, argv[1], &slot);
  if (!l || !get_u32(env, argv[4], &tag_len)) return ret_bool(env, 0);
  srtp_ctx_t *ctx[2] = {NULL, NULL};
  for (int i = 0; i < 2; i++) {
    napi_valuetype t;
    napi_typeof(env, argv[2 + i], &t);
    if (t == napi_null || t == napi_undefined) continue;
    void *m;
    size_t n;
    if (napi_get_buffer_info(env, argv[2 + i], &m, &n) != napi_ok || n != SRTP_MATERIAL ||
        !(ctx[i] = srtp_new(m, (int)tag_len))) {
      srtp_free(ctx[0]);
      srtp_free(ctx[1]);
      return ret_bool(env, 0);
    }
  }
  srtp_ctx_t *old_rx = LOAD(&l->srtp_rx), *old_tx = LOAD(&l->srtp_tx);
  STORE(&l->srtp_rx, ctx[0]);
  STORE(&l->srtp_tx, ctx[1]);
  if (old_rx || old_tx) {
    if (!quiesce(dp)) return ret_bool(env, 1); /* a stuck worker: leak the old contexts rather than free them in use */
    srtp_free(old_rx);
    srtp_free(old_tx);
  }
  return ret_bool(env, 1);
}

/*
 * setBatchPolicy(tid) -> 0 or errno: puts one thread of this process under SCHED_BATCH (same share of the CPU,
 * but its wake-ups never preempt the running thread). Changing to SCHED_BATCH needs no privilege.
 */
static napi_value js_set_batch_policy(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t tid = 0;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &tid) != napi_ok || tid <= 0) return ret_int(env, EINVAL);
  struct sched_param p = {.sched_priority = 0};
  return ret_int(env, sched_setscheduler((pid_t)tid, SCHED_BATCH, &p) == 0 ? 0 : errno);
}

/*
 * setTos(h, slot, tos) -> 0 or errno: the TOS byte (DSCP and ECN) of the packets the leg's socket sends:
 * IP_TOS on IPv4, IPV6_TCLASS on IPv6 (rtpengine's --tos and the ng TOS key).
 */
static napi_value js_set_tos(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) return ret_int(env, EINVAL);
  dp_t *dp = get_dp(env, argv[0]);
  if (!dp) return NULL;
  uint32_t slot, tos;
  leg_t *l = get_leg(env, dp, argv[1], &slot);
  if (!l) return ret_int(env, EBADF);
  if (!get_u32(env, argv[2], &tos) || tos > 255) return ret_int(env, EINVAL);
  int v = (int)tos;
  int r = l->family == AF_INET6 ? setsockopt(l->fd, IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof v)
                                : setsockopt(l->fd, IPPROTO_IP, IP_TOS, &v, sizeof v);
  return ret_int(env, r == 0 ? 0 : errno);
}

/*
 * setTranscode(h, slot, fromPt, toPt, table, evFrom, evTo, mode, law) -> bool: forwarded RTP of payload type
 * fromPt leaves as toPt with its payload converted: mode 0 maps every byte through `table` (256 bytes);
 * mode 1 decodes G.722 and encodes the law `law` (0 PCMU, 1 PCMA), mode 2 the reverse, with fresh ADPCM state
 * (both need setLawTables first). telephone-event evFrom becomes evTo (-1: no mapping). fromPt -1 turns
 * conversion off. False when the leg is gone or the arguments are bad (or more than XTABLES distinct tables
 * are asked for): the caller converts in JavaScript then.
 */
static napi_value js_set_transcode(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 9) return ret_bool(env, 0);
  dp_t *dp = get_dp(env, argv[0]);
  if (!dp) return NULL;
  uint32_t slot, mode, law;
  int32_t from, to, ev_from, ev_to;
  leg_t *l = get_leg(env, dp, argv[1], &slot);
  if (!l || napi_get_value_int32(env, argv[2], &from) != napi_ok) return ret_bool(env, 0);
  if (from < 0) {
    STORE(&l->xcode, 0);
    return ret_bool(env, 1);
  }
  if (napi_get_value_int32(env, argv[3], &to) != napi_ok || napi_get_value_int32(env, argv[5], &ev_from) != napi_ok ||
      napi_get_value_int32(env, argv[6], &ev_to) != napi_ok || !get_u32(env, argv[7], &mode) ||
      !get_u32(env, argv[8], &law) || mode > XMODE_G722_ENCODE || law > 1 || from > 127 || to < 0 || to > 127 ||
      ev_from > 127 || ev_to > 127)
    return ret_bool(env, 0);
  uint32_t id = 0;
  if (mode == XMODE_TABLE) {
    void *data;
    size_t tlen;
    if (napi_get_buffer_info(env, argv[4], &data, &tlen) != napi_ok || tlen != 256) return ret_bool(env, 0);
    uint32_t n = LOAD(&dp->xtable_count);
    while (id < n && memcmp(dp->xtables[id], data, 256) != 0) id++;
    if (id == n) {
      if (n == XTABLES) return ret_bool(env, 0);
      memcpy(dp->xtables[n], data, 256);
      STORE(&dp->xtable_count, n + 1);
    }
  } else {
    if (!LOAD(&dp->law_tables)) return ret_bool(env, 0);
    if (!l->g722 && !(l->g722 = calloc(1, sizeof *l->g722))) return ret_bool(env, 0);
    /* Fresh state for a new stream: stop converting, let the workers leave their batch, then reset. */
    STORE(&l->xcode, 0);
    if (!quiesce(dp)) return ret_bool(env, 0);
    g722_band_init(&l->g722->low, 32);
    g722_band_init(&l->g722->high, 8);
  }
  uint32_t word = 1u | (uint32_t)from << 1 | (uint32_t)to << 8;
  if (ev_from >= 0 && ev_to >= 0) word |= 0x8000u | (uint32_t)ev_from << 16 | (uint32_t)ev_to << 23;
  STORE(&l->xtable, (uint8_t)id);
  STORE(&l->xmode, (uint8_t)mode);
  STORE(&l->xlaw, (uint8_t)law);
  STORE(&l->xcode, word);
  return ret_bool(env, 1);
}

/*
 * setLawTables(h, ulawEncode, alawEncode, ulawDecode, alawDecode): the G.711 tables (65536-byte encode
 * tables by sample & 0xffff, 256 x int16 decode tables) G.722 conversions in the workers use, once.
 */
static napi_value js_set_law_tables(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) return ret_bool(env, 0);
  dp_t *dp = get_dp(env, argv[0]);
  if (!dp) return NULL;
  if (LOAD(&dp->law_tables)) return ret_bool(env, 1);
  void *p[4];
  size_t n[4];
  for (int i = 0; i < 4; i++)
    if (napi_get_buffer_info(env, argv[1 + i], &p[i], &n[i]) != napi_ok) return ret_bool(env, 0);
  if (n[0] != 65536 || n[1] != 65536 || n[2] != 512 || n[3] != 512) return ret_bool(env, 0);
  memcpy(dp->law_enc[0], p[0], 65536);
  memcpy(dp->law_enc[1], p[1], 65536);
  memcpy(dp->law_dec[0], p[2], 512);
  memcpy(dp->law_dec[1], p[3], 512);
  g722_tables_init();
  STORE(&dp->law_tables, 1);
  return ret_bool(env, 1);
}

static napi_value init(napi_env env, napi_value exports) {
  struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
      {"create", js_create},           {"destroy", js_destroy},         {"open", js_open},
      {"close", js_close},             {"setEndpoint", js_set_endpoint}, {"getEndpoint", js_get_endpoint},
      {"configure", js_configure},     {"setConfirmed", js_set_confirmed}, {"setSinks", js_set_sinks},
      {"send", js_send},               {"setBatchPolicy", js_set_batch_policy}, {"setTos", js_set_tos},
      {"setTranscode", js_set_transcode}, {"setLawTables", js_set_law_tables}, {"setSrtp", js_set_srtp},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) != napi_ok) return NULL;
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  netlink_register(env, exports);
  dtls_register(env, exports);
  napi_value v;
  napi_create_uint32(env, (uint32_t)sizeof(shared_slot_t), &v);
  napi_set_named_property(env, exports, "slotBytes", v);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
