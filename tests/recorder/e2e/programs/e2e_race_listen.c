/* TOCTOU race on listen's socket: listen(2) names no address, so the tracer reads the address of the
 * socket behind the descriptor at the seccomp stop (and decides on it under `run`). A second thread
 * swaps that socket (dup2) between two bound loopback sockets while the main thread listens on the
 * descriptor, so the socket the kernel listens on may differ from the one the tracer read.
 * Usage: e2e_race_listen TRIES
 * Output: "PORTS a b" (the two sockets' ports), then "LISTENED n" (the listens that succeeded). */
#include "e2e_race.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

static int g_socks[2];
static int g_target;
static int g_stop;
static int g_tracer_cpu = -1;

static void* Swap(void* arg) {
  (void)arg;
  PinThread(-g_tracer_cpu - 1);
  /* Bounded: at most ~2^24 swaps even if the main thread never says stop. */
  for (unsigned long i = 0; i < (1ul << 24) && !__atomic_load_n(&g_stop, __ATOMIC_RELAXED); ++i) {
    if (dup2(g_socks[i & 1], g_target) < 0) Die("dup2");
  }
  return NULL;
}

static int Bound(uint16_t* port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) Die("socket");
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, (struct sockaddr*)&a, sizeof a) != 0) Die("bind");
  socklen_t len = sizeof a;
  if (getsockname(s, (struct sockaddr*)&a, &len) != 0) Die("getsockname");
  *port = ntohs(a.sin_port);
  return s;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: e2e_race_listen TRIES\n");
    return 2;
  }
  int tries = atoi(argv[1]);
  uint16_t ports[2];
  g_socks[0] = Bound(&ports[0]);
  g_socks[1] = Bound(&ports[1]);
  Report("PORTS %u %u", ports[0], ports[1]);
  g_target = dup(g_socks[0]);
  if (g_target < 0) Die("dup");
  g_tracer_cpu = TracerCpu(getppid());
  if (g_tracer_cpu >= 0) PinThread(g_tracer_cpu);
  pthread_t t;
  if (pthread_create(&t, NULL, Swap, NULL) != 0) Die("pthread_create");
  int listened = 0;
  for (int i = 0; i < tries; ++i) {
    /* Listening again on a listening socket only changes its backlog: every call succeeds. */
    if (listen(g_target, 16) == 0) ++listened;
  }
  __atomic_store_n(&g_stop, 1, __ATOMIC_RELAXED);
  pthread_join(t, NULL);
  Report("LISTENED %d", listened);
  return 0;
}
