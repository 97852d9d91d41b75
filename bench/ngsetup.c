/*
 * ng call-setup driver for the benchmark (built by bench/run.mjs with `cc -O2`).
 *
 * Plays Kamailio's part: offer then answer per call over ng/UDP, timing each round trip with
 * CLOCK_MONOTONIC. A C client keeps the driver's own pauses (a Node client's garbage collection and JIT)
 * out of the relay's latency figures.
 *
 * Modes:
 *   seq    calls one at a time: offer, reply, answer, reply, next call (rate and round-trip percentiles)
 *   paced  call i's offer is sent at t0 + i / rate, its answer as soon as the offer's reply arrives; many
 *          calls in flight (offer latency under a fixed setup rate)
 *   warm   like seq, and each call is deleted after its answer (JIT warm-up; the relay is left without calls)
 *
 * Usage: ngsetup <mode> <ng_port> <calls> <rate_per_s> <call_id_prefix>
 * Output: one JSON object on stdout. Exit status 0 unless the arguments or the socket are wrong.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CALLS 100000
#define TIMEOUT_NS (2000LL * 1000 * 1000)
#define BUF 65536

enum { ST_IDLE, ST_OFFER, ST_ANSWER, ST_DELETE, ST_DONE, ST_FAILED };

typedef struct {
  int state;
  int64_t sent_ns, first_ns;
  double offer_us, answer_us;
} call_t;

static call_t *calls;
static int fd;
static struct sockaddr_in relay;
static const char *prefix;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The party's SDP: what the benchmark's Node client sends (PCMU + telephone-event). */
static int party_sdp(char *out, size_t size, int port, char party) {
  return snprintf(out, size,
                  "v=0\r\no=%c 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                  "m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
                  "a=sendrecv\r\n",
                  party, port);
}

/* Cookie "<pid>.<call>_<state>" ties a reply to its call and step and is never reused (ng proxies answer a
 * repeated cookie from their cache); keys in bencode order. */
static void send_step(int i, int state) {
  char msg[2048], sdp[512], id[96];
  int idlen = snprintf(id, sizeof id, "%s-%d", prefix, i);
  int n = 0;
  if (state == ST_DELETE) {
    n = snprintf(msg, sizeof msg, "%d.%d_%d d7:call-id%d:%s7:command6:delete8:from-tag5:a-tage", (int)getpid(), i,
                 state, idlen, id);
  } else {
    int offer = state == ST_OFFER;
    int port = (offer ? 20000 : 22000) + (i % 1000) * 2;
    int slen = party_sdp(sdp, sizeof sdp, port, offer ? 'a' : 'b');
    n = snprintf(msg, sizeof msg, "%d.%d_%d d7:call-id%d:%s7:command%d:%s8:from-tag5:a-tag3:sdp%d:%s%se",
                 (int)getpid(), i, state, idlen, id, offer ? 5 : 6, offer ? "offer" : "answer", slen, sdp,
                 offer ? "" : "6:to-tag5:b-tag");
  }
  calls[i].state = state;
  calls[i].sent_ns = now_ns();
  if (state == ST_OFFER) calls[i].first_ns = calls[i].sent_ns;
  sendto(fd, msg, (size_t)n, 0, (struct sockaddr *)&relay, sizeof relay);
}

/* Handles one reply; returns the call index it completed a step of, or -1. */
static int on_reply(const char *buf, ssize_t len, int delete_after, int *failed) {
  int pid, i, state;
  if (sscanf(buf, "%d.%d_%d ", &pid, &i, &state) != 3 || pid != (int)getpid() || i < 0 || i >= MAX_CALLS || calls[i].state != state) return -1;
  double us = (double)(now_ns() - calls[i].sent_ns) / 1000.0;
  const char *ok = memmem(buf, (size_t)len, "6:result2:ok", 12);
  if (!ok) {
    calls[i].state = ST_FAILED;
    (*failed)++;
    return i;
  }
  if (state == ST_OFFER) {
    calls[i].offer_us = us;
    send_step(i, ST_ANSWER);
  } else if (state == ST_ANSWER) {
    calls[i].answer_us = us;
    if (delete_after) send_step(i, ST_DELETE);
    else calls[i].state = ST_DONE;
  } else {
    calls[i].state = ST_DONE;
  }
  return i;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double q) {
  if (n == 0) return -1;
  int k = (int)(q * n);
  return v[k >= n ? n - 1 : k];
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: ngsetup seq|paced|warm <ng_port> <calls> <rate_per_s> <call_id_prefix>\n");
    return 2;
  }
  const char *mode = argv[1];
  int n = atoi(argv[3]);
  double rate = atof(argv[4]);
  prefix = argv[5];
  int paced = strcmp(mode, "paced") == 0, warm = strcmp(mode, "warm") == 0;
  if (n < 1 || n > MAX_CALLS || (paced && rate <= 0) || (!paced && !warm && strcmp(mode, "seq") != 0)) {
    fprintf(stderr, "ngsetup: bad arguments\n");
    return 2;
  }
  calls = calloc((size_t)n, sizeof *calls);
  fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  int size = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  relay.sin_family = AF_INET;
  relay.sin_port = htons((uint16_t)atoi(argv[2]));
  inet_pton(AF_INET, "127.0.0.1", &relay.sin_addr);
  static char buf[BUF];
  int failed = 0, done = 0, started = 0;
  int64_t t0 = now_ns();
  /* Sequential modes start the next call when the previous one is done; paced ones on the clock. */
  while (done < n) {
    while (done < started && (calls[done].state == ST_DONE || calls[done].state == ST_FAILED)) done++;
    if (done >= n) break;
    int64_t now = now_ns();
    if (paced) {
      while (started < n && now >= t0 + (int64_t)(1e9 * started / rate)) send_step(started++, ST_OFFER);
    } else if (started == done && started < n) {
      send_step(started++, ST_OFFER);
    }
    /* Calls whose step got no reply in time fail (each call is looked at once per loop only while few). */
    for (int i = done; i < started && i < done + 64; i++) {
      int s = calls[i].state;
      if (s >= ST_OFFER && s <= ST_DELETE && now - calls[i].sent_ns > TIMEOUT_NS) {
        calls[i].state = ST_FAILED;
        failed++;
      }
    }
    while (done < started && (calls[done].state == ST_DONE || calls[done].state == ST_FAILED)) done++;
    if (done >= n) break;
    int wait_ms = paced ? 1 : 50;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, wait_ms) <= 0) continue;
    ssize_t len;
    while ((len = recv(fd, buf, sizeof buf - 1, 0)) > 0) {
      buf[len] = 0;
      on_reply(buf, len, warm, &failed);
    }
  }
  double secs = (double)(now_ns() - t0) / 1e9;
  double *o = malloc(sizeof(double) * (size_t)n), *a = malloc(sizeof(double) * (size_t)n);
  int k = 0;
  for (int i = 0; i < n; i++)
    if (calls[i].state == ST_DONE) {
      o[k] = calls[i].offer_us;
      a[k] = calls[i].answer_us;
      k++;
    }
  /* NGSETUP_DUMP=file: one line per call (offer send time as CLOCK_REALTIME ms, offer us, answer us). */
  const char *dump = getenv("NGSETUP_DUMP");
  FILE *df = dump ? fopen(dump, "w") : NULL;
  if (df) {
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    double off_ms = (double)rt.tv_sec * 1e3 + rt.tv_nsec / 1e6 - (double)now_ns() / 1e6;
    for (int i = 0; i < n; i++)
      fprintf(df, "%.3f %.1f %.1f\n", off_ms + (double)calls[i].first_ns / 1e6, calls[i].offer_us, calls[i].answer_us);
    fclose(df);
  }
  qsort(o, (size_t)k, sizeof *o, cmp);
  qsort(a, (size_t)k, sizeof *a, cmp);
  printf("{\"calls\":%d,\"ok\":%d,\"failed\":%d,\"seconds\":%.4f,\"setupsPerS\":%.1f,"
         "\"offerP50Us\":%.1f,\"offerP99Us\":%.1f,\"offerMaxUs\":%.1f,\"answerP50Us\":%.1f,\"answerP99Us\":%.1f}\n",
         n, k, failed, secs, n / secs, pct(o, k, 0.5), pct(o, k, 0.99), k ? o[k - 1] : -1, pct(a, k, 0.5),
         pct(a, k, 0.99));
  return 0;
}
