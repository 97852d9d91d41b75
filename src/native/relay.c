/*
 * The worker side of the native relay: each worker thread waits on its epoll set and, per ready socket,
 * receives a batch with recvmmsg, does learning / strict source / RFC 5761 demultiplexing / counting, and
 * forwards with sendmmsg. Packets of tapped legs and endpoint changes are queued for JavaScript.
 */
#include "relay.h"

double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)(ts.tv_nsec / 1000000);
}

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- endpoint seqlock ---- */

/* Copies the endpoint; returns 1 when there is one. A reader never waits on a lock. */
int ep_read(leg_t *l, addr_t *out) {
  for (int i = 0; i < SEQ_TRIES; i++) {
    uint32_t s1 = __atomic_load_n(&l->seq, __ATOMIC_ACQUIRE);
    if (s1 & 1) continue;
    int has = l->has_ep;
    memcpy(out, (const void *)&l->ep, sizeof *out);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&l->seq, __ATOMIC_RELAXED) == s1) return has;
  }
  return 0;
}

/* Caller holds dp->ep_lock. */
void ep_write_locked(dp_t *dp, uint32_t slot, const addr_t *a, int has) {
  leg_t *l = &dp->legs[slot];
  __atomic_store_n(&l->seq, l->seq + 1, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  l->has_ep = has;
  if (has) memcpy((void *)&l->ep, a, sizeof *a);
  __atomic_store_n(&l->seq, l->seq + 1, __ATOMIC_RELEASE);
  __atomic_add_fetch(&dp->shared[slot].ep_gen, 1, __ATOMIC_SEQ_CST);
}

static int same_addr(const addr_t *a, const addr_t *b) {
  if (a->sa.sa_family != b->sa.sa_family) return 0;
  if (a->sa.sa_family == AF_INET)
    return a->v4.sin_port == b->v4.sin_port && a->v4.sin_addr.s_addr == b->v4.sin_addr.s_addr;
  return a->v6.sin6_port == b->v6.sin6_port && a->v6.sin6_scope_id == b->v6.sin6_scope_id &&
         memcmp(&a->v6.sin6_addr, &b->v6.sin6_addr, 16) == 0;
}

socklen_t addr_len(const addr_t *a) {
  return a->sa.sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

/* ---- queue to JavaScript ---- */

/* Queues an item; returns 0 when the queue is full (the caller counts a drop). */
/* `from` (ITEM_PACKET_OTHER only): the sender's address goes in front of the packet (see drain_js). */
static int enqueue(worker_t *w, uint32_t kind, uint32_t slot, uint32_t gen, int is_rtcp, const addr_t *from,
                   const uint8_t *data, uint32_t len) {
  pthread_mutex_lock(&w->qlock);
  if (w->qcount >= QUEUE_MAX && kind == ITEM_PACKET) {
    pthread_mutex_unlock(&w->qlock);
    return 0;
  }
  pthread_mutex_unlock(&w->qlock);
  uint32_t pre = from ? (uint32_t)sizeof(addr_t) : 0;
  item_t *it = malloc(sizeof(item_t) + pre + len);
  if (!it) return 0;
  it->next = NULL;
  it->kind = kind;
  it->slot = slot;
  it->gen = gen;
  it->is_rtcp = (uint32_t)is_rtcp;
  it->len = pre + len;
  if (pre) memcpy(it->data, from, pre);
  if (len) memcpy(it->data + pre, data, len);
  pthread_mutex_lock(&w->qlock);
  if (w->qtail) w->qtail->next = it;
  else w->qhead = it;
  w->qtail = it;
  w->qcount++;
  pthread_mutex_unlock(&w->qlock);
  return 1;
}

/* After a batch: wake JavaScript once if items are waiting and no wake-up is outstanding. */
static void notify(worker_t *w) {
  int call = 0;
  pthread_mutex_lock(&w->qlock);
  if (w->qhead && !w->notify_pending) {
    w->notify_pending = 1;
    call = 1;
  }
  pthread_mutex_unlock(&w->qlock);
  if (call && napi_call_threadsafe_function(w->dp->tsfn, w, napi_tsfn_nonblocking) != napi_ok) {
    pthread_mutex_lock(&w->qlock);
    w->notify_pending = 0;
    pthread_mutex_unlock(&w->qlock);
  }
}

/* ---- the fast path ---- */

static leg_t *resolve_sink(dp_t *dp, uint64_t ref) {
  if (ref == 0) return NULL;
  uint32_t slot = (uint32_t)(ref & 0xffffffffu) - 1;
  uint32_t gen = (uint32_t)(ref >> 32);
  if (slot >= dp->capacity) return NULL;
  leg_t *o = &dp->legs[slot];
  if (LOAD(&o->gen) != gen || LOAD(&o->closed)) return NULL;
  return o;
}

static void flush_sends(worker_t *w, int n) {
  int i = 0;
  for (int guard = 0; i < n && guard < 2 * RECV_BATCH; guard++) {
    int j = i + 1;
    while (j < n && w->sfd[j] == w->sfd[i]) j++;
    int r = sendmmsg(w->sfd[i], &w->smsg[i], (unsigned)(j - i), MSG_DONTWAIT);
    /* r < j - i: the packet at i + r failed (e.g. ICMP unreachable reported late); skip it, send the rest. */
    if (r < 0) i++;
    else if (r < j - i) i += r + 1;
    else i = j;
  }
}

/*
 * Converts one RTP packet in place when its payload type is the one to convert: every payload byte through
 * the table (CSRCs, header extension and padding left alone), then the payload type; a telephone-event
 * packet only gets its payload type mapped. Malformed packets pass unchanged.
 */
void transcode_packet(const dp_t *dp, leg_t *l, uint32_t xcode, uint8_t *p, uint32_t len) {
  if (len < 12) return;
  uint8_t pt = p[1] & 0x7f;
  if (pt == ((xcode >> 1) & 0x7f)) {
    uint32_t off = 12 + 4u * (p[0] & 0x0f);
    if ((p[0] & 0x10) && len >= off + 4) off += 4 + 4u * (((uint32_t)p[off + 2] << 8) | p[off + 3]);
    else if (p[0] & 0x10) return;
    uint32_t end = len;
    if (p[0] & 0x20) {
      uint8_t pad = p[len - 1];
      if (pad == 0 || pad > len) return;
      end = len - pad;
    }
    if (off > end) return;
    uint8_t mode = LOAD(&l->xmode), law = LOAD(&l->xlaw) & 1;
    struct g722_pair *g = l->g722;
    if (mode == XMODE_TABLE) {
      const uint8_t *t = dp->xtables[LOAD(&l->xtable)];
      for (uint32_t i = off; i < end; i++) p[i] = t[p[i]];
    } else if (mode == XMODE_G722_DECODE && g) {
      const uint8_t *enc = dp->law_enc[law];
      for (uint32_t i = off; i < end; i++) p[i] = enc[(uint16_t)g722_decode_low(&g->low, p[i])];
    } else if (mode == XMODE_G722_ENCODE && g) {
      const int16_t *dec = dp->law_dec[law];
      for (uint32_t i = off; i < end; i++) p[i] = g722_encode(&g->low, &g->high, dec[p[i]]);
    } else {
      return;
    }
    p[1] = (uint8_t)((p[1] & 0x80) | ((xcode >> 8) & 0x7f));
  } else if ((xcode & 0x8000) && pt == ((xcode >> 16) & 0x7f)) {
    p[1] = (uint8_t)((p[1] & 0x80) | ((xcode >> 23) & 0x7f));
  }
}

static void handle_leg(worker_t *w, uint32_t slot, uint32_t gen) {
  dp_t *dp = w->dp;
  if (slot >= dp->capacity) return;
  leg_t *l = &dp->legs[slot];
  if (LOAD(&l->gen) != gen || LOAD(&l->closed)) return;
  shared_slot_t *c = &dp->shared[slot];
  for (int i = 0; i < RECV_BATCH; i++) {
    w->riov[i].iov_base = w->bufs + (size_t)i * PKT_BUF;
    w->riov[i].iov_len = PKT_BUF;
    w->rmsg[i].msg_hdr.msg_name = &w->rfrom[i];
    w->rmsg[i].msg_hdr.msg_namelen = sizeof(addr_t);
    w->rmsg[i].msg_hdr.msg_iov = &w->riov[i];
    w->rmsg[i].msg_hdr.msg_iovlen = 1;
    w->rmsg[i].msg_hdr.msg_control = NULL;
    w->rmsg[i].msg_hdr.msg_controllen = 0;
    w->rmsg[i].msg_hdr.msg_flags = 0;
  }
  int n = recvmmsg(l->fd, w->rmsg, RECV_BATCH, MSG_DONTWAIT, NULL);
  if (n <= 0) return;
  double now = now_ms();
  addr_t ep;
  int has_ep = ep_read(l, &ep);
  int learning = RLOAD(&l->learning), strict = RLOAD(&l->strict);
  int blocked = RLOAD(&l->blocked), tapped = RLOAD(&l->tapped), other_js = RLOAD(&l->other_js);
  uint32_t xcode = LOAD(&l->xcode);
  srtp_ctx_t *rx = LOAD(&l->srtp_rx);
  int queued = 0, sends = 0;
  for (int i = 0; i < n; i++) {
    const uint8_t *p = w->riov[i].iov_base;
    uint32_t len = w->rmsg[i].msg_len;
    addr_t *src = &w->rfrom[i];
    if (src->sa.sa_family != l->family) {
      c->dropped++;
      continue;
    }
    if (other_js && len >= 1 && p[0] < 64 && !(w->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC)) {
      /* STUN or DTLS (RFC 7983) on a WebRTC leg, from any source: ICE checks come from each of the party's
         candidates, so JavaScript answers them where they came from and decides what moves the endpoint. */
      c->last_packet = now;
      c->rtp_packets++;
      c->rtp_bytes += len;
      if (enqueue(w, ITEM_PACKET, slot, gen, 2, src, p, len)) queued = 1;
      else c->dropped++;
      continue;
    }
    int confirmed = RLOAD(&c->confirmed);
    if (!confirmed || !has_ep) {
      if (learning != LEARN_OFF) {
        pthread_mutex_lock(&dp->ep_lock);
        ep_write_locked(dp, slot, src, 1);
        STORE(&c->confirmed, 1);
        pthread_mutex_unlock(&dp->ep_lock);
        ep = *src;
        has_ep = 1;
        if (!LOAD(&l->event_pending)) {
          STORE(&l->event_pending, 1);
          if (!enqueue(w, ITEM_ENDPOINT, slot, gen, 0, NULL, NULL, 0)) STORE(&l->event_pending, 0);
          queued = 1;
        }
      } else if (strict && (!has_ep || !same_addr(&ep, src))) {
        c->dropped++;
        continue;
      }
    } else if (!same_addr(&ep, src)) {
      if (strict) {
        c->dropped++;
        continue;
      }
      if (learning == LEARN_HANDOVER) {
        pthread_mutex_lock(&dp->ep_lock);
        ep_write_locked(dp, slot, src, 1);
        pthread_mutex_unlock(&dp->ep_lock);
        ep = *src;
        if (!LOAD(&l->event_pending)) {
          STORE(&l->event_pending, 1);
          if (!enqueue(w, ITEM_ENDPOINT, slot, gen, 0, NULL, NULL, 0)) STORE(&l->event_pending, 0);
          queued = 1;
        }
      }
    }
    c->last_packet = now;
    /* RFC 5761: on an RTP port, payload types 64-95 with the marker bit (second byte 192-223) are RTCP. */
    int is_rtcp = l->is_rtcp || (len >= 2 && p[1] >= 192 && p[1] <= 223);
    if (is_rtcp) {
      c->rtcp_packets++;
      c->rtcp_bytes += len;
    } else {
      c->rtp_packets++;
      c->rtp_bytes += len;
    }
    if (len < 4 || (p[0] & 0xc0) != 0x80 || (w->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC)) {
      if (is_rtcp) c->rtcp_errors++;
      else c->rtp_errors++;
      c->dropped++;
      continue;
    }
    if (blocked) {
      c->dropped++;
      continue;
    }
    if (rx) {
      /* SRTP from this party: authenticated and decrypted before anything else sees it. */
      int plain = is_rtcp ? srtp_unprotect_rtcp(rx, (uint8_t *)p, len) : srtp_unprotect_rtp(rx, (uint8_t *)p, len);
      if (plain < 0) {
        if (is_rtcp) c->rtcp_errors++;
        else c->rtp_errors++;
        c->dropped++;
        continue;
      }
      len = (uint32_t)plain;
    }
    if (tapped) {
      if (enqueue(w, ITEM_PACKET, slot, gen, is_rtcp, NULL, p, len)) queued = 1;
      else c->dropped++;
      continue;
    }
    leg_t *out = resolve_sink(dp, RLOAD(is_rtcp && !l->is_rtcp ? &l->rtcp_sink : &l->sink));
    if (!out || !ep_read(out, &w->sto[sends])) {
      c->dropped++;
      continue;
    }
    if ((xcode & 1) && !is_rtcp) transcode_packet(dp, l, xcode, (uint8_t *)p, len);
    srtp_ctx_t *tx = LOAD(&out->srtp_tx);
    if (tx) {
      int sealed = is_rtcp ? srtp_protect_rtcp(tx, (uint8_t *)p, len, PKT_BUF) : srtp_protect_rtp(tx, (uint8_t *)p, len, PKT_BUF);
      if (sealed < 0) {
        c->dropped++;
        continue;
      }
      len = (uint32_t)sealed;
    }
    w->sfd[sends] = out->fd;
    w->siov[sends].iov_base = (void *)p;
    w->siov[sends].iov_len = len;
    struct msghdr *h = &w->smsg[sends].msg_hdr;
    h->msg_name = &w->sto[sends];
    h->msg_namelen = addr_len(&w->sto[sends]);
    h->msg_iov = &w->siov[sends];
    h->msg_iovlen = 1;
    h->msg_control = NULL;
    h->msg_controllen = 0;
    h->msg_flags = 0;
    sends++;
  }
  if (sends) flush_sends(w, sends);
  if (queued) notify(w);
}

void *worker_main(void *arg) {
  worker_t *w = arg;
  struct epoll_event evs[EPOLL_BATCH];
  /* Named so `ps -L`/`top -H` show which thread relays (and tests can tell it from Node's own threads). */
  pthread_setname_np(pthread_self(), "sipmedia-relay");
  while (!LOAD(&w->dp->stop)) {
    /* No timeout: stopping writes the wake-up eventfd, and an idle worker should not wake at all. */
    int n = epoll_wait(w->epfd, evs, EPOLL_BATCH, -1);
    __atomic_add_fetch(&w->state, 1, __ATOMIC_SEQ_CST); /* odd: busy */
    for (int i = 0; i < n; i++) {
      uint64_t d = evs[i].data.u64;
      if (d == 0) {
        uint64_t v;
        ssize_t r = read(w->wakefd, &v, sizeof v);
        (void)r;
        continue;
      }
      handle_leg(w, (uint32_t)(d & 0xffffffffu) - 1, (uint32_t)(d >> 32));
    }
    __atomic_add_fetch(&w->state, 1, __ATOMIC_SEQ_CST); /* even: idle */
  }
  return NULL;
}

/* Waits until no worker can still be using state that was valid before this call. */
int quiesce(dp_t *dp) {
  int64_t deadline = mono_ns() + CLOSE_WAIT_NS;
  for (int i = 0; i < dp->nthreads; i++) {
    worker_t *w = &dp->workers[i];
    uint32_t s = LOAD(&w->state);
    if (!(s & 1)) continue;
    while (LOAD(&w->state) == s) {
      if (mono_ns() > deadline) return 0;
      sched_yield();
    }
  }
  return 1;
}

