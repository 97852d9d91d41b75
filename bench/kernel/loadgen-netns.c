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
 * Usage: loadgen-netns <ns_a> <ns_b> <addr_a> <addr_b> <target_a> <target_b> <loadgen arguments...>
 *        (loadgen arguments: calls warmup_ms measure_ms sockets_per_side [pps_per_stream]; its ip is ignored)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
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

static int kn_socket(int domain, int type, int proto) {
  int side = kn_created++ < kn_per_side ? 0 : 1;
  if (setns(kn_ns[side], CLONE_NEWNET) != 0) {
    perror("loadgen-netns: setns");
    exit(1);
  }
  int fd = socket(domain, type, proto);
  if (fd >= 0 && fd < KN_MAX_FD) kn_side[fd] = (unsigned char)side;
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
  memcpy(dst, &kn_target[kn_pton++ % 2], sizeof(struct in_addr));
  return 1;
}

#define socket(d, t, p) kn_socket(d, t, p)
#define bind(f, a, l) kn_bind(f, a, l)
#define inet_pton(af, s, d) kn_inet_pton(af, s, d)
#define main loadgen_main
#include "../loadgen.c"
#undef main
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
  return loadgen_main(argc - 6, argv + 6);
}
