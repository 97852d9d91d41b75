/*
 * sipmedia native relay: the userspace RTP/RTCP fast path in C, driven from TypeScript over N-API.
 *
 * Shape (like mediasoup's worker and rtpengine's media threads): TypeScript owns calls and decides where
 * packets go; worker threads own the packets. The addon creates, binds and closes the media sockets; each
 * socket belongs to one worker's epoll set. Per packet a worker does endpoint learning (latch / off /
 * handover), strict source, RFC 5761 RTCP demultiplexing, counting and forwarding out of the sink leg's
 * socket, with recvmmsg/sendmmsg and no allocation. No JavaScript runs per packet, except for legs with
 * per-packet duties ("tapped"): their packets are handed to JavaScript, which runs the duties and sends.
 *
 * Memory shared with JavaScript: one ArrayBuffer of fixed-size slots, one per leg, holding the counters
 * (written only by the worker that owns the leg) and the endpoint generation / confirmed flag. JavaScript
 * reads them without calls; it changes a leg's configuration through small calls below.
 *
 * Concurrency rules:
 * - Configuration words (flags, sinks, generation, closed) are single atomics.
 * - A leg's endpoint is a seqlock: writers (JavaScript, or the owning worker learning) serialise on one
 *   mutex; readers (any worker sending to the leg, the owner comparing sources) retry on a torn read.
 * - Closing is synchronous: the leg is marked closed and removed from epoll, then the JavaScript thread
 *   waits until every worker has left the batch it was in (a per-worker counter, odd while busy), so no
 *   worker still holds the socket's fd or the slot when the fd is closed and the slot is reused.
 * - Events for JavaScript (endpoint learned, packets of tapped legs) go through one per-worker queue,
 *   bounded, drained by a thread-safe function that is signalled at most once per drain.
 */
#ifndef SIPMEDIA_RELAY_H
#define SIPMEDIA_RELAY_H
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <node_api.h>

#include "g722.h"
#include "srtp.h"

#define MAX_THREADS 64
#define RECV_BATCH 32       /* datagrams per recvmmsg */
#define EPOLL_BATCH 64      /* ready sockets per epoll_wait */
#define PKT_BUF 16384       /* larger datagrams are counted as errors and dropped */
#define QUEUE_MAX 8192      /* pending items for JavaScript per worker; beyond: tapped packets dropped */
#define SOCKET_BUFFER (256 * 1024)
#define SEQ_TRIES 10000
#define CLOSE_WAIT_NS (1000LL * 1000 * 1000)
#define XTABLES 8           /* distinct payload conversion tables (PCMU->PCMA and back need two) */

enum { LEARN_LATCH = 0, LEARN_OFF = 1, LEARN_HANDOVER = 2 };
/* Item kinds as JavaScript sees them: an RTP packet, an endpoint change, an RTCP packet. */
/* ITEM_PACKET_OTHER: a packet that is not RTP (first byte 0-63: STUN, DTLS) of a leg with other_js set. */
enum { ITEM_PACKET = 0, ITEM_ENDPOINT = 1, ITEM_PACKET_RTCP = 2, ITEM_PACKET_OTHER = 3 };

/* Shared with JavaScript: 12 doubles = 96 bytes per slot. Index layout mirrored in slots.ts. */
typedef struct {
  double rtp_packets, rtp_bytes, rtp_errors;
  double rtcp_packets, rtcp_bytes, rtcp_errors;
  double dropped;
  double last_packet; /* ms since the epoch */
  int32_t ep_gen;     /* bumped on every endpoint change */
  int32_t confirmed;  /* the endpoint was learned from a packet */
  int32_t pad[6];
} shared_slot_t;

typedef union {
  struct sockaddr sa;
  struct sockaddr_in v4;
  struct sockaddr_in6 v6;
} addr_t;

typedef struct {
  int fd;
  uint32_t gen;          /* bumped when the slot is (re)opened; atomic */
  int closed;            /* atomic */
  int worker;
  int family;            /* AF_INET or AF_INET6 */
  uint8_t is_rtcp;
  /* atomic bytes; other_js: packets that are not RTP (STUN, DTLS) go to JavaScript (WebRTC legs) */
  uint8_t learning, strict, blocked, tapped, other_js;
  uint8_t event_pending; /* an endpoint event is queued; atomic */
  uint64_t sink, rtcp_sink; /* (gen << 32) | (slot + 1), 0 = none; atomic */
  uint32_t seq;          /* endpoint seqlock */
  int has_ep;
  addr_t ep;
  /*
   * Payload conversion of forwarded RTP (codec transcode between G.711 laws), one atomic word: bit 0 on,
   * bits 1-7 the payload type converted, 8-14 the one it becomes, 15 events mapped, 16-22 / 23-29 the
   * telephone-event payload type and what it becomes, 30-31 unused. `xtable` (the table's index) is stored
   * before the word and read after it.
   */
  uint32_t xcode;
  uint8_t xtable;
  /* How the payload converts: XMODE_TABLE through xtables[xtable]; XMODE_G722_DECODE G.722 to the law xlaw
   * (0 PCMU, 1 PCMA); XMODE_G722_ENCODE the law xlaw to G.722, with the ADPCM state in g722 (allocated by
   * the first G.722 conversion, freed when the slot closes). Stored before xcode. */
  uint8_t xmode, xlaw;
  struct g722_pair *g722;
  /* SRTP: decrypts what arrives on this leg; encrypts what is sent to its party (atomic pointers; replaced
   * ones are freed after a quiesce, so no worker still uses them). */
  struct srtp_ctx *srtp_rx, *srtp_tx;
} leg_t;

enum { XMODE_TABLE = 0, XMODE_G722_DECODE = 1, XMODE_G722_ENCODE = 2 };

/* One direction's G.722 state: the lower band (decoding or encoding) and the higher band (encoding). */
struct g722_pair {
  g722_band_t low, high;
};

typedef struct item {
  struct item *next;
  uint32_t kind, slot, gen, is_rtcp, len;
  uint8_t data[];
} item_t;

struct dp;

typedef struct {
  struct dp *dp;
  int index;
  int epfd;
  int wakefd;
  pthread_t thread;
  int started;
  uint32_t state; /* odd while handling a batch; atomic */
  pthread_mutex_t qlock;
  item_t *qhead, *qtail;
  uint32_t qcount;
  int notify_pending; /* under qlock */
  /* recv/send scratch */
  struct mmsghdr rmsg[RECV_BATCH];
  struct iovec riov[RECV_BATCH];
  addr_t rfrom[RECV_BATCH];
  struct mmsghdr smsg[RECV_BATCH];
  struct iovec siov[RECV_BATCH];
  addr_t sto[RECV_BATCH];
  int sfd[RECV_BATCH];
  uint8_t *bufs;
} worker_t;

typedef struct dp {
  uint32_t capacity;
  leg_t *legs;
  shared_slot_t *shared;
  napi_ref shared_ref;
  uint32_t *free_slots;
  uint32_t free_count;
  int nthreads;
  int stop; /* atomic */
  int destroyed;
  pthread_mutex_t ep_lock;
  napi_threadsafe_function tsfn;
  napi_env env;
  /* Conversion tables: written once before xtable_count counts them, never changed (workers read them). */
  uint8_t xtables[XTABLES][256];
  uint32_t xtable_count; /* atomic */
  /* G.711 tables from JavaScript (the same ones the JavaScript converters use): encode by sample & 0xffff,
   * decode by byte; [0] PCMU, [1] PCMA. Set once (setLawTables) before any G.722 conversion. */
  uint8_t law_enc[2][65536];
  int16_t law_dec[2][256];
  int law_tables; /* atomic */
  worker_t workers[MAX_THREADS];
} dp_t;

#define LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define RLOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define RSTORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* relay.c: the worker threads and what they share with the glue. */
double now_ms(void);
int ep_read(leg_t *l, addr_t *out);
void ep_write_locked(dp_t *dp, uint32_t slot, const addr_t *a, int has);
socklen_t addr_len(const addr_t *a);
void *worker_main(void *arg);
void transcode_packet(const dp_t *dp, leg_t *l, uint32_t xcode, uint8_t *p, uint32_t len);
int quiesce(dp_t *dp);

#endif
