/*
 * RTP load generator for the relay benchmark (built by bench/run.mjs with `cc -O2`).
 *
 * Plays both parties of N calls through a media proxy on loopback: every call sends 50 packets/s (20 ms, 172
 * bytes: RTP header + 160 bytes of payload) in each direction. The payload carries the stream number, the
 * sequence number and the send time (CLOCK_MONOTONIC), so the receiver measures loss and one-way latency.
 *
 * Calls share a few sockets per side (the proxy does not care that two calls' parties have the same address),
 * which lets one sendmmsg/recvmmsg move a batch of packets for many calls.
 *
 * Protocol with the harness (stdin/stdout, one line each):
 *   out: "A <port>..." and "B <port>..."  local ports of the A-side and B-side sockets (call i uses [i % S])
 *   in:  "<pa> <pb>" per call              proxy port A sends to, proxy port B sends to (0: skip the call)
 *   in:  "GO"
 *   out: "MEASURE_START", "MEASURE_END"    when the measured window opens and closes
 *   out: one JSON object with the results, after draining
 *
 * Usage: loadgen <calls> <warmup_ms> <measure_ms> [sockets_per_side] [pps_per_stream] [target_ip]
 *
 * LOADGEN_TRANSCODE=1: the calls are transcoded to PCMA, so B sends PT 8 (A sends PT 0, or LOADGEN_A_PT), and
 * payloads arrive converted
 * (a transcoder may also re-time and re-number): every RTP packet arriving in the measured window counts as
 * received, loss is taken from the totals and latency is not measured.
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PKT_LEN 172
#define BATCH 64
#define MAX_SOCK 64
#define MAGIC 0x53504d42u /* "SPMB" */
#define FINE_BUCKETS 100000 /* 1 us each, up to 100 ms */
#define COARSE_BUCKETS 10000 /* 1 ms each, up to 10 s */
#define TICK_NS 500000LL /* sends due within the same half millisecond go out in one batch */
#define DRAIN_MS 500

typedef struct {
  uint32_t seq;
  uint32_t ssrc;
  uint32_t last_rx_seq;
  uint64_t sent;
  uint64_t received;
} stream_t;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint32_t fine[FINE_BUCKETS];
static uint32_t coarse[COARSE_BUCKETS + 1];
static uint64_t lat_count;
static int64_t lat_max_ns;

static void record_latency(int64_t ns) {
  if (ns < 0) ns = 0;
  if (ns > lat_max_ns) lat_max_ns = ns;
  int64_t us = ns / 1000;
  if (us < FINE_BUCKETS) fine[us]++;
  else {
    int64_t ms = us / 1000;
    coarse[ms < COARSE_BUCKETS ? ms : COARSE_BUCKETS]++;
  }
  lat_count++;
}

/* Latency (us) below which a fraction q of the samples fall. */
static double percentile_us(double q) {
  if (lat_count == 0) return -1;
  uint64_t want = (uint64_t)(q * (double)lat_count);
  if (want >= lat_count) want = lat_count - 1;
  uint64_t acc = 0;
  for (int i = 0; i < FINE_BUCKETS; i++) {
    acc += fine[i];
    if (acc > want) return i;
  }
  for (int i = 0; i <= COARSE_BUCKETS; i++) {
    acc += coarse[i];
    if (acc > want) return (double)i * 1000.0;
  }
  return (double)lat_max_ns / 1000.0;
}

static int open_socket(const char *ip, uint16_t *port_out) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  int sz = 8 * 1024 * 1024;
  /* FORCE works as root and ignores rmem_max; fall back to the ordinary option otherwise. */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) != 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  inet_pton(AF_INET, ip, &a.sin_addr);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) return -1;
  socklen_t len = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &len);
  *port_out = ntohs(a.sin_port);
  return fd;
}

/* Kernel receive-queue drops of our own sockets (so generator-side overflow is not blamed on the proxy). */
static uint64_t own_drops(const uint16_t *ports, int n) {
  FILE *f = fopen("/proc/net/udp", "r");
  if (!f) return 0;
  char line[512];
  uint64_t total = 0;
  if (!fgets(line, sizeof line, f)) {
    fclose(f);
    return 0;
  }
  while (fgets(line, sizeof line, f)) {
    unsigned local_ip, local_port;
    if (sscanf(line, " %*d: %x:%x", &local_ip, &local_port) != 2) continue;
    char *p = line + strlen(line);
    while (p > line && (p[-1] == '\n' || p[-1] == ' ')) p--;
    char *q = p;
    while (q > line && q[-1] != ' ') q--;
    for (int i = 0; i < n; i++)
      if (ports[i] == local_port) total += strtoull(q, NULL, 10);
  }
  fclose(f);
  return total;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s calls warmup_ms measure_ms [sockets_per_side] [pps] [ip]\n", argv[0]);
    return 2;
  }
  int calls = atoi(argv[1]);
  int64_t warmup_ns = atoll(argv[2]) * 1000000LL;
  int64_t measure_ns = atoll(argv[3]) * 1000000LL;
  int nsock = argc > 4 ? atoi(argv[4]) : 8;
  int pps = argc > 5 ? atoi(argv[5]) : 50;
  const char *ip = argc > 6 ? argv[6] : "127.0.0.1";
  if (calls < 1 || calls > 100000 || nsock < 1 || nsock > MAX_SOCK || pps < 1 || pps > 1000) return 2;
  const int transcode = getenv("LOADGEN_TRANSCODE") && atoi(getenv("LOADGEN_TRANSCODE")) == 1;
  const int a_pt = getenv("LOADGEN_A_PT") ? atoi(getenv("LOADGEN_A_PT")) & 0x7f : 0;

  int fds[2 * MAX_SOCK];
  uint16_t ports[2 * MAX_SOCK];
  for (int i = 0; i < 2 * nsock; i++) {
    fds[i] = open_socket(ip, &ports[i]);
    if (fds[i] < 0) {
      perror("socket");
      return 1;
    }
  }
  printf("A");
  for (int i = 0; i < nsock; i++) printf(" %u", ports[i]);
  printf("\nB");
  for (int i = 0; i < nsock; i++) printf(" %u", ports[nsock + i]);
  printf("\n");
  fflush(stdout);

  int nstreams = 2 * calls;
  stream_t *st = calloc((size_t)nstreams, sizeof *st);
  struct sockaddr_in *dst = calloc((size_t)nstreams, sizeof *dst);
  char line[128];
  for (int c = 0; c < calls; c++) {
    unsigned pa = 0, pb = 0;
    if (!fgets(line, sizeof line, stdin) || sscanf(line, "%u %u", &pa, &pb) != 2) {
      fprintf(stderr, "loadgen: bad port line for call %d\n", c);
      return 1;
    }
    for (int d = 0; d < 2; d++) {
      struct sockaddr_in *a = &dst[2 * c + d];
      a->sin_family = AF_INET;
      a->sin_port = htons((uint16_t)(d == 0 ? pa : pb));
      inet_pton(AF_INET, ip, &a->sin_addr);
      st[2 * c + d].ssrc = 0x10000000u + (uint32_t)(2 * c + d);
      st[2 * c + d].last_rx_seq = UINT32_MAX;
    }
  }
  if (!fgets(line, sizeof line, stdin) || strncmp(line, "GO", 2) != 0) {
    fprintf(stderr, "loadgen: expected GO\n");
    return 1;
  }

  /* Send schedule: stream s sends at t0 + s*interval/nstreams + k*interval, i.e. in stream order. */
  const int64_t interval = 1000000000LL / pps;
  const int64_t t0 = now_ns() + 10000000LL;
  const int64_t m_start = t0 + warmup_ns, m_end = m_start + measure_ns, stop_at = m_end, drain_end = m_end + DRAIN_MS * 1000000LL;
  int next = 0;
  int64_t round_base = t0;
  int started = 0, ended = 0;

  static unsigned char sbuf[2 * MAX_SOCK][BATCH][PKT_LEN];
  static struct mmsghdr smsg[2 * MAX_SOCK][BATCH];
  static struct iovec siov[2 * MAX_SOCK][BATCH];
  int scount[2 * MAX_SOCK] = {0};
  static unsigned char rbuf[BATCH][2048];
  static struct mmsghdr rmsg[BATCH];
  static struct iovec riov[BATCH];
  for (int i = 0; i < BATCH; i++) {
    riov[i].iov_base = rbuf[i];
    riov[i].iov_len = sizeof rbuf[i];
    rmsg[i].msg_hdr.msg_iov = &riov[i];
    rmsg[i].msg_hdr.msg_iovlen = 1;
  }
  struct pollfd pfd[2 * MAX_SOCK];
  for (int i = 0; i < 2 * nsock; i++) pfd[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};

  uint64_t sent_total = 0, sent_measured = 0, send_errors = 0, received_measured = 0, received_total = 0;
  uint64_t reordered = 0, foreign = 0, late_sends = 0;
  int64_t max_lag = 0;

  for (;;) {
    int64_t now = now_ns();
    if (!started && now >= m_start) {
      started = 1;
      printf("MEASURE_START\n");
      fflush(stdout);
    }
    if (!ended && now >= m_end) {
      ended = 1;
      printf("MEASURE_END\n");
      fflush(stdout);
    }
    if (now >= drain_end) break;

    /* Queue every send due by now (+ one tick), flush per socket. */
    while (now < stop_at) {
      int64_t due = round_base + (int64_t)next * interval / nstreams;
      if (due > now + TICK_NS) break;
      if (now - due > max_lag) max_lag = now - due;
      if (now - due > 5000000LL) late_sends++;
      int s = next, c = s / 2, d = s % 2;
      int sk = d == 0 ? c % nsock : nsock + c % nsock;
      int k = scount[sk];
      unsigned char *p = sbuf[sk][k];
      stream_t *ss = &st[s];
      uint32_t seq = ss->seq++;
      int64_t ts = now_ns();
      p[0] = 0x80;
      p[1] = transcode ? (d == 1 ? 8 : a_pt) : 0; /* A's codec; PCMA from B when transcoded */
      p[2] = (unsigned char)(seq >> 8);
      p[3] = (unsigned char)seq;
      uint32_t rtpts = htonl(seq * 160), ssrc = htonl(ss->ssrc), magic = MAGIC, sn = (uint32_t)s;
      memcpy(p + 4, &rtpts, 4);
      memcpy(p + 8, &ssrc, 4);
      memcpy(p + 12, &magic, 4);
      memcpy(p + 16, &sn, 4);
      memcpy(p + 20, &seq, 4);
      memcpy(p + 24, &ts, 8);
      siov[sk][k].iov_base = p;
      siov[sk][k].iov_len = PKT_LEN;
      smsg[sk][k].msg_hdr = (struct msghdr){.msg_name = &dst[s], .msg_namelen = sizeof dst[s], .msg_iov = &siov[sk][k], .msg_iovlen = 1};
      if (ts >= m_start && ts < m_end) {
        ss->sent++;
        sent_measured++;
      }
      sent_total++;
      if (++scount[sk] == BATCH) {
        int r = sendmmsg(fds[sk], smsg[sk], BATCH, 0);
        if (r < BATCH) send_errors += (uint64_t)(BATCH - (r < 0 ? 0 : r));
        scount[sk] = 0;
      }
      if (++next == nstreams) {
        next = 0;
        round_base += interval;
      }
    }
    for (int sk = 0; sk < 2 * nsock; sk++) {
      if (scount[sk] == 0) continue;
      int r = sendmmsg(fds[sk], smsg[sk], (unsigned)scount[sk], 0);
      if (r < scount[sk]) send_errors += (uint64_t)(scount[sk] - (r < 0 ? 0 : r));
      scount[sk] = 0;
    }

    /* Wait for packets or the next tick. */
    int64_t wait_ns = TICK_NS;
    struct timespec to = {.tv_sec = 0, .tv_nsec = wait_ns};
    int pr = ppoll(pfd, (nfds_t)(2 * nsock), &to, NULL);
    if (pr <= 0) continue;
    for (int sk = 0; sk < 2 * nsock; sk++) {
      if (!(pfd[sk].revents & POLLIN)) continue;
      for (int rounds = 0; rounds < 64; rounds++) {
        int n = recvmmsg(fds[sk], rmsg, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) break;
        int64_t rx = now_ns();
        for (int i = 0; i < n; i++) {
          unsigned char *p = rbuf[i];
          uint32_t magic, sn, seq;
          int64_t ts;
          if (rmsg[i].msg_len < 32) {
            foreign++;
            continue;
          }
          if (transcode) {
            if ((p[0] & 0xc0) != 0x80) {
              foreign++;
              continue;
            }
            received_total++;
            if (rx >= m_start && rx < m_end) received_measured++;
            continue;
          }
          memcpy(&magic, p + 12, 4);
          memcpy(&sn, p + 16, 4);
          memcpy(&seq, p + 20, 4);
          memcpy(&ts, p + 24, 8);
          if (magic != MAGIC || sn >= (uint32_t)nstreams) {
            foreign++;
            continue;
          }
          received_total++;
          stream_t *ss = &st[sn];
          if (ss->last_rx_seq != UINT32_MAX && seq <= ss->last_rx_seq) reordered++;
          ss->last_rx_seq = seq;
          if (ts >= m_start && ts < m_end) {
            ss->received++;
            received_measured++;
            record_latency(rx - ts);
          }
        }
        if (n < BATCH) break;
      }
    }
  }

  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  double secs = (double)measure_ns / 1e9;
  double loss = sent_measured ? 1.0 - (double)received_measured / (double)sent_measured : 0;
  printf("{\"calls\":%d,\"measure_s\":%.3f,\"sent\":%llu,\"received\":%llu,\"loss\":%.6f,\"pps_offered\":%.1f,"
         "\"pps_forwarded\":%.1f,\"p50_us\":%.0f,\"p99_us\":%.0f,\"p999_us\":%.0f,\"max_us\":%.0f,\"sent_total\":%llu,"
         "\"received_total\":%llu,\"send_errors\":%llu,\"late_sends\":%llu,\"max_send_lag_us\":%.0f,\"reordered\":%llu,"
         "\"foreign\":%llu,\"gen_drops\":%llu,\"gen_cpu_s\":%.3f}\n",
         calls, secs, (unsigned long long)sent_measured, (unsigned long long)received_measured, loss,
         (double)sent_measured / secs, (double)received_measured / secs, percentile_us(0.5), percentile_us(0.99),
         percentile_us(0.999), (double)lat_max_ns / 1000.0, (unsigned long long)sent_total,
         (unsigned long long)received_total, (unsigned long long)send_errors, (unsigned long long)late_sends,
         (double)max_lag / 1000.0, (unsigned long long)reordered, (unsigned long long)foreign,
         (unsigned long long)own_drops(ports, 2 * nsock), cpu);
  fflush(stdout);
  return 0;
}
