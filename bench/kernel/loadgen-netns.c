/*
 * bench/loadgen.c with its two parties in two network namespaces (built by bench/kernel.mjs with `cc -O2`).
 *
 * loadgen.c is included unchanged; three of its calls are wrapped so that:
 *   - its first `sockets_per_side` sockets (the A side) are created in namespace A and bound to A's address,
 *     the others (the B side) in namespace B bound to B's address (a socket stays in the namespace it was
 *     created in, so one process can own both ends: setns(2) before each socket(2));
 *   - the destination of every A-side stream is target_a and of every B-side stream target_b (loadgen fills
 *     the destinations with inet_pton in call order, A's then B's, after binding all its sockets).
 * Everything else (schedule, batching, latency histogram, the stdin/stdout protocol) is loadgen.c's own.
 * loadgen's gen_drops reads /proc/net/udp of the namespace the process ends in (B): B's sockets only.
 *
 * Paired mode (environment LOADGEN_PAIRED_MS=<phase length>, optionally LOADGEN_RELAY_PID=<pid>): the send
 * schedule alternates between phases of that length. In a `relay` phase packets go where loadgen sends them
 * (the relay); in a `direct` phase every socket sends to another socket of its own side in its own namespace
 * (each packet sent, delivered and received once, as through a relay, with no relay). The generator's exact
 * CPU time (CLOCK_PROCESS_CPUTIME_ID: the scheduler's clock, which includes the softirq run in its system
 * calls, where the kernel path's forwarding happens) and, given its PID, the relay's (every thread's
 * schedstat), with the packets received, are summed per phase over loadgen's measured window and printed as
 * one more JSON line after loadgen's: `{"paired":{...}}`. Phases interleave every few hundred milliseconds,
 * so the machine's slow drifts (other tenants, the host) fall on both alike: the relay's cost per packet is
 * the relay phases' minus the direct phases', with no baseline taken from another run.
 * Two relays at once (LOADGEN_RELAY_PID=<pid>,<pid>; each port line then carries the second relay's two ports
 * after loadgen's two): the phases rotate relay 1, relay 2, direct, so both relays meet the same machine.
 * A relay near its limit has a backlog that crosses phase boundaries, so (1) a packet is booked to the phase
 * it was sent in (the send time is in its payload), whenever it arrives; (2) the first LOADGEN_PAIRED_GUARD_MS
 * of every phase are booked apart (a guard book per phase) and left out of the generator's figures, so a
 * backlog shorter than that never lands in the next phase's books; (3) a relay's own run time is also
 * reported over its whole phase plus the guard after it (`relay_ext_cpu_s`, with `received_all`: its packets
 * sent in the whole phase), where it drains its backlog. That counts its fixed per-second work over a
 * (phase + guard) / phase larger share of time: against it, slightly.
 *
 * Usage: loadgen-netns <ns_a> <ns_b> <addr_a> <addr_b> <target_a> <target_b> <loadgen arguments...>
 *        (loadgen arguments: calls warmup_ms measure_ms sockets_per_side [pps_per_stream]; its ip is ignored)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <stddef.h>
#include <math.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define KN_MAX_FD 4096

static int kn_per_side;         /* sockets per side, loadgen's argv[4] */
static int kn_created, kn_bound; /* sockets made and bound so far */
static int kn_pton;              /* destination inet_pton calls so far */
static int kn_ns[2];             /* namespace fds: A, B */
static struct in_addr kn_addr[2], kn_target[2];
static unsigned char kn_side[KN_MAX_FD];

#define KN_MAX_SIDE 64             /* loadgen's MAX_SOCK: it refuses more sockets per side */
static int kn_fd[2 * KN_MAX_SIDE]; /* socket fds in creation order: A's, then B's */

/* Paired mode: phases 0..kn_nrel-1 go through relay 0 (and relay 1), phase kn_nrel is direct. */
static int64_t kn_phase_ns;        /* 0: off */
static int kn_nrel = 1;            /* relays compared in one run: 1, or 2 (LOADGEN_RELAY_PID=pid,pid) */
static int kn_pids[2];
/* Books: phase q's first kn_guard_ns go to book KN_GUARD0 + q, the rest to book q. kn_phase is the open book. */
#define KN_GUARD0 4
#define KN_BOOKS 8
#define KN_MAGIC 0x53504d42u /* loadgen.c's MAGIC: its packets carry the send time at offset 24 */
static int64_t kn_guard_ns;
static int kn_measuring, kn_phase = -1;
static int64_t kn_first_ns, kn_mark_cpu, kn_mark_rel[2];
static int64_t kn_cpu[KN_BOOKS], kn_relcpu[KN_BOOKS][2], kn_recv[KN_BOOKS], kn_sent[KN_BOOKS], kn_switches;
/* The measured window: packets sent in it are counted, whenever they arrive. */
static int64_t kn_win_start, kn_win_end = INT64_MAX;
static struct sockaddr_in kn_alt[KN_MAX_FD]; /* a fd's destination in a direct phase */
static int kn_alt_ready;
/* The second relay's ports, from the port lines' third and fourth numbers, and its destinations by stream. */
static unsigned *kn_q;
static int kn_qn, kn_qcap;
static struct sockaddr_in *kn_dst2;
static char *kn_dst_base; /* loadgen's dst[] array: a message's msg_name - this = its stream */
/* Per cycle (every phase once): each relay's ns per packet minus the direct phase's. */
static int64_t kn_cyc_cost[KN_BOOKS], kn_cyc_recv[KN_BOOKS];
static double kn_cyc_n[2], kn_cyc_sum[2], kn_cyc_sq[2];

static int64_t kn_now(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Run time of every thread of a process, ns (the scheduler's clock). */
static int64_t kn_run_ns(int pid) {
  if (!pid) return 0;
  char path[96];
  snprintf(path, sizeof path, "/proc/%d/task", pid);
  DIR *d = opendir(path);
  if (!d) return 0;
  int64_t sum = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    char p2[320];
    snprintf(p2, sizeof p2, "/proc/%d/task/%s/schedstat", pid, e->d_name);
    FILE *f = fopen(p2, "r");
    if (!f) continue;
    long long ns = 0;
    if (fscanf(f, "%lld", &ns) == 1) sum += ns;
    fclose(f);
  }
  closedir(d);
  return sum;
}

/* Closes the running phase's books and opens the next one's; the reading itself is charged to neither. */
static void kn_account(int next) {
  int64_t cpu = kn_now(CLOCK_PROCESS_CPUTIME_ID);
  int64_t rel[2] = {kn_run_ns(kn_pids[0]), kn_nrel > 1 ? kn_run_ns(kn_pids[1]) : 0};
  if (kn_measuring && kn_phase >= 0) {
    int p = kn_phase;
    kn_cpu[p] += cpu - kn_mark_cpu;
    for (int r = 0; r < kn_nrel; r++) kn_relcpu[p][r] += rel[r] - kn_mark_rel[r];
    kn_switches++;
    if (p < KN_GUARD0) kn_cyc_cost[p] += cpu - kn_mark_cpu + (p < kn_nrel ? rel[p] - kn_mark_rel[p] : 0);
    if (p == kn_nrel) {
      for (int r = 0; r < kn_nrel; r++) {
        if (!kn_cyc_recv[r] || !kn_cyc_recv[p]) continue;
        double d = (double)kn_cyc_cost[r] / kn_cyc_recv[r] - (double)kn_cyc_cost[p] / kn_cyc_recv[p];
        kn_cyc_n[r]++;
        kn_cyc_sum[r] += d;
        kn_cyc_sq[r] += d * d;
      }
      memset(kn_cyc_cost, 0, sizeof kn_cyc_cost);
      memset(kn_cyc_recv, 0, sizeof kn_cyc_recv);
    }
  }
  kn_phase = next;
  kn_mark_rel[0] = rel[0];
  kn_mark_rel[1] = rel[1];
  kn_mark_cpu = kn_now(CLOCK_PROCESS_CPUTIME_ID);
}

/* The phase at monotonic time t, and the book a moment then belongs to (its guard book early in a phase). */
static int kn_phase_at(int64_t t) {
  return (int)(((t - kn_first_ns) / kn_phase_ns) % (kn_nrel + 1));
}
static int kn_book_at(int64_t t) {
  int p = kn_phase_at(t);
  return (t - kn_first_ns) % kn_phase_ns < kn_guard_ns ? KN_GUARD0 + p : p;
}

/* The phase now (where packets go), switching books when the book changed. */
static int kn_current_phase(void) {
  int64_t now = kn_now(CLOCK_MONOTONIC);
  if (!kn_first_ns) kn_first_ns = now;
  int b = kn_book_at(now);
  if (b != kn_phase) kn_account(b);
  return kn_phase_at(now);
}

static void kn_prepare_alt(void) {
  for (int i = 0; i < 2 * kn_per_side; i++) {
    int side = i < kn_per_side ? 0 : 1;
    int peer = kn_fd[side * kn_per_side + (i % kn_per_side + 1) % kn_per_side];
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    getsockname(peer, (struct sockaddr *)&sa, &len);
    kn_alt[kn_fd[i]] = sa;
  }
  if (kn_nrel > 1) {
    kn_dst2 = calloc((size_t)(2 * kn_qn + 1), sizeof *kn_dst2);
    for (int s = 0; s < 2 * kn_qn; s++) {
      kn_dst2[s].sin_family = AF_INET;
      kn_dst2[s].sin_addr = kn_target[s % 2];
      kn_dst2[s].sin_port = htons((uint16_t)kn_q[s]);
    }
  }
  kn_alt_ready = 1;
}

static int kn_sendmmsg(int fd, struct mmsghdr *m, unsigned n, int flags) {
  if (!kn_phase_ns) return sendmmsg(fd, m, n, flags);
  if (!kn_alt_ready) kn_prepare_alt();
  int p = kn_current_phase();
  if (p == kn_nrel && fd >= 0 && fd < KN_MAX_FD)
    for (unsigned i = 0; i < n; i++) m[i].msg_hdr.msg_name = &kn_alt[fd];
  else if (p == 1 && kn_dst2)
    for (unsigned i = 0; i < n; i++) {
      long s = ((char *)m[i].msg_hdr.msg_name - kn_dst_base) / (long)sizeof(struct sockaddr_in);
      if (s >= 0 && s < 2L * kn_qn) m[i].msg_hdr.msg_name = &kn_dst2[s];
    }
  int r = sendmmsg(fd, m, n, flags);
  if (r > 0 && kn_measuring) kn_sent[kn_phase] += r; /* the open book: a guard early in a phase */
  return r;
}

static int kn_recvmmsg(int fd, struct mmsghdr *m, unsigned n, int flags, struct timespec *to) {
  int r = recvmmsg(fd, m, n, flags, to);
  if (kn_phase_ns && r > 0) {
    kn_current_phase();
    /* Booked by send time: a packet counts for the phase (and book) it was sent in, if sent in the window. */
    for (int i = 0; i < r; i++) {
      const unsigned char *p = m[i].msg_hdr.msg_iov[0].iov_base;
      uint32_t magic;
      int64_t ts;
      if (m[i].msg_len < 32) continue;
      memcpy(&magic, p + 12, 4);
      memcpy(&ts, p + 24, 8);
      if (magic != KN_MAGIC || !kn_win_start || ts < kn_win_start || ts >= kn_win_end || ts < kn_first_ns) continue;
      int b = kn_book_at(ts);
      kn_recv[b]++;
      kn_cyc_recv[b]++;
    }
  }
  return r;
}

/* A port line may carry the second relay's two ports after loadgen's two (loadgen reads the first two). */
static char *kn_fgets(char *s, int size, FILE *f) {
  char *r = fgets(s, size, f);
  unsigned pa, pb, qa, qb;
  if (r && sscanf(s, "%u %u %u %u", &pa, &pb, &qa, &qb) == 4) {
    if (2 * kn_qn + 2 > kn_qcap) {
      kn_qcap = kn_qcap ? 2 * kn_qcap : 1024;
      kn_q = realloc(kn_q, (size_t)kn_qcap * sizeof *kn_q);
      if (!kn_q) exit(1);
    }
    kn_q[2 * kn_qn] = qa;
    kn_q[2 * kn_qn + 1] = qb;
    kn_qn++;
  }
  return r;
}

/* loadgen's MEASURE_START / MEASURE_END lines open and close the paired books. */
static int kn_printf(const char *fmt, ...) {
  if (kn_phase_ns && !strcmp(fmt, "MEASURE_START\n")) {
    kn_account(kn_phase);
    kn_measuring = 1;
    kn_win_start = kn_now(CLOCK_MONOTONIC);
  } else if (kn_phase_ns && !strcmp(fmt, "MEASURE_END\n")) {
    kn_account(kn_phase);
    kn_measuring = 0;
    kn_win_end = kn_now(CLOCK_MONOTONIC);
  }
  va_list ap;
  va_start(ap, fmt);
  int r = vprintf(fmt, ap);
  va_end(ap);
  return r;
}

/* One phase's totals as JSON; `relay` is the relay whose CPU it reports. */
static void kn_print_phase(const char *name, int p, int relay) {
  /* A relay's phase: its own guard, the rest, and the next phase's guard. */
  int64_t ext = p < kn_nrel ? kn_relcpu[KN_GUARD0 + p][relay] + kn_relcpu[p][relay] +
                                  kn_relcpu[KN_GUARD0 + (p + 1) % (kn_nrel + 1)][relay]
                            : 0;
  printf("\"%s\":{\"gen_cpu_s\":%.6f,\"relay_cpu_s\":%.6f,\"received\":%lld,\"sent\":%lld,"
         "\"relay_ext_cpu_s\":%.6f,\"received_all\":%lld}",
         name, kn_cpu[p] / 1e9, kn_relcpu[p][relay] / 1e9, (long long)kn_recv[p], (long long)kn_sent[p],
         ext / 1e9, (long long)(kn_recv[p] + kn_recv[KN_GUARD0 + p]));
}

static void kn_print_paired(void) {
  double mean[2] = {0, 0}, sd[2] = {0, 0};
  for (int r = 0; r < kn_nrel; r++) {
    double n = kn_cyc_n[r];
    mean[r] = n ? kn_cyc_sum[r] / n : 0;
    sd[r] = n > 1 ? sqrt(fmax(0, (kn_cyc_sq[r] - n * mean[r] * mean[r]) / (n - 1))) : 0;
  }
  printf("{\"paired\":{\"phase_ms\":%lld,\"guard_ms\":%lld,\"switches\":%lld,\"cycles\":%.0f,\"cycle_mean_ns\":%.1f,"
         "\"cycle_sd_ns\":%.1f,",
         (long long)(kn_phase_ns / 1000000), (long long)(kn_guard_ns / 1000000), (long long)kn_switches, kn_cyc_n[0],
         mean[0], sd[0]);
  kn_print_phase("relay", 0, 0);
  if (kn_nrel > 1) {
    printf(",\"cycle2_mean_ns\":%.1f,\"cycle2_sd_ns\":%.1f,", mean[1], sd[1]);
    kn_print_phase("relay2", 1, 1);
  }
  printf(",");
  kn_print_phase("direct", kn_nrel, 0);
  printf("}}\n");
  fflush(stdout);
}

static int kn_socket(int domain, int type, int proto) {
  int idx = kn_created;
  int side = kn_created++ < kn_per_side ? 0 : 1;
  if (setns(kn_ns[side], CLONE_NEWNET) != 0) {
    perror("loadgen-netns: setns");
    exit(1);
  }
  int fd = socket(domain, type, proto);
  if (fd >= 0 && fd < KN_MAX_FD) kn_side[fd] = (unsigned char)side;
  if (idx < 2 * KN_MAX_SIDE) kn_fd[idx] = fd;
  return fd;
}

static int kn_bind(int fd, const struct sockaddr *a, socklen_t len) {
  struct sockaddr_in sa;
  if (len != sizeof sa || fd < 0 || fd >= KN_MAX_FD) return bind(fd, a, len);
  memcpy(&sa, a, sizeof sa);
  sa.sin_addr = kn_addr[kn_side[fd]];
  kn_bound++;
  return bind(fd, (struct sockaddr *)&sa, sizeof sa);
}

static int kn_inet_pton(int af, const char *src, void *dst) {
  /* Before every socket is bound: the bind address (replaced in kn_bind). After: destinations, A then B. */
  if (af != AF_INET || kn_bound < 2 * kn_per_side) return inet_pton(af, src, dst);
  if (kn_pton == 0) kn_dst_base = (char *)dst - offsetof(struct sockaddr_in, sin_addr);
  memcpy(dst, &kn_target[kn_pton++ % 2], sizeof(struct in_addr));
  return 1;
}

#define socket(d, t, p) kn_socket(d, t, p)
#define bind(f, a, l) kn_bind(f, a, l)
#define inet_pton(af, s, d) kn_inet_pton(af, s, d)
#define sendmmsg(f, m, n, fl) kn_sendmmsg(f, m, n, fl)
#define recvmmsg(f, m, n, fl, t) kn_recvmmsg(f, m, n, fl, t)
#define printf(...) kn_printf(__VA_ARGS__)
#define fgets(s, n, f) kn_fgets(s, n, f)
#define main loadgen_main
#include "../loadgen.c"
#undef main
#undef printf
#undef fgets
#undef sendmmsg
#undef recvmmsg
#undef socket
#undef bind
#undef inet_pton

static int open_ns(const char *name) {
  char path[256];
  snprintf(path, sizeof path, "/var/run/netns/%s", name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    perror(path);
    exit(1);
  }
  return fd;
}

static struct in_addr addr(const char *s) {
  struct in_addr a;
  if (inet_pton(AF_INET, s, &a) != 1) {
    fprintf(stderr, "loadgen-netns: bad address %s\n", s);
    exit(2);
  }
  return a;
}

int main(int argc, char **argv) {
  if (argc < 11) {
    fprintf(stderr,
            "usage: %s ns_a ns_b addr_a addr_b target_a target_b calls warmup_ms measure_ms sockets_per_side "
            "[pps]\n",
            argv[0]);
    return 2;
  }
  kn_ns[0] = open_ns(argv[1]);
  kn_ns[1] = open_ns(argv[2]);
  kn_addr[0] = addr(argv[3]);
  kn_addr[1] = addr(argv[4]);
  kn_target[0] = addr(argv[5]);
  kn_target[1] = addr(argv[6]);
  kn_per_side = atoi(argv[10]);
  /* loadgen sees: prog calls warmup measure sockets [pps] */
  argv[6] = argv[0];
  const char *pm = getenv("LOADGEN_PAIRED_MS");
  kn_phase_ns = pm ? atoll(pm) * 1000000LL : 0;
  if (kn_phase_ns < 0) kn_phase_ns = 0;
  const char *gm = getenv("LOADGEN_PAIRED_GUARD_MS");
  kn_guard_ns = gm ? atoll(gm) * 1000000LL : 0;
  if (kn_guard_ns < 0 || kn_guard_ns >= kn_phase_ns) kn_guard_ns = 0;
  const char *rp = getenv("LOADGEN_RELAY_PID");
  if (rp) {
    kn_nrel = sscanf(rp, "%d,%d", &kn_pids[0], &kn_pids[1]) == 2 ? 2 : 1;
    if (kn_nrel == 1) kn_pids[0] = atoi(rp);
  }
  int rc = loadgen_main(argc - 6, argv + 6);
  if (rc == 0 && kn_phase_ns) kn_print_paired();
  return rc;
}
