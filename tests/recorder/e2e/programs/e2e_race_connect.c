/* TOCTOU race on connect's address: a second thread flips the port of the sockaddr between two
 * listening loopback ports while the main thread connects with it, so the address the tracer reads at
 * the seccomp stop may differ from the one the kernel copies. After each connect the program asks the
 * kernel which port it actually reached (getpeername) and reports it.
 * Usage: e2e_race_connect TRIES
 * Output: "PORTS a b", then per try "PEER try=I port=P" (the port really connected to). */
#include "e2e_race.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>


static struct sockaddr_in g_addr;
static uint16_t g_ports[2];  /* network order */
static int g_stop;
static int g_tracer_cpu = -1;

static void* Flip(void* arg) {
  (void)arg;
  PinThread(-g_tracer_cpu - 1);
  /* Bounded: at most ~2^30 stores even if the main thread never says stop. */
  for (unsigned long i = 0; i < (1ul << 30) && !__atomic_load_n(&g_stop, __ATOMIC_RELAXED); ++i) {
    __atomic_store_n(&g_addr.sin_port, g_ports[i & 1], __ATOMIC_RELAXED);
  }
  return NULL;
}

static int Listener(uint16_t* port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (s < 0) Die("socket");
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, (struct sockaddr*)&a, sizeof a) != 0 || listen(s, 64) != 0) Die("bind/listen");
  socklen_t len = sizeof a;
  if (getsockname(s, (struct sockaddr*)&a, &len) != 0) Die("getsockname");
  *port = a.sin_port;
  return s;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: e2e_race_connect TRIES\n");
    return 2;
  }
  int tries = atoi(argv[1]);
  int listeners[2] = {Listener(&g_ports[0]), Listener(&g_ports[1])};
  Report("PORTS %u %u", ntohs(g_ports[0]), ntohs(g_ports[1]));
  g_addr.sin_family = AF_INET;
  g_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  g_addr.sin_port = g_ports[0];
  g_tracer_cpu = TracerCpu(getppid());
  if (g_tracer_cpu >= 0) PinThread(g_tracer_cpu);
  pthread_t t;
  if (pthread_create(&t, NULL, Flip, NULL) != 0) Die("pthread_create");
  for (int i = 0; i < tries; ++i) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) Die("socket");
    if (connect(s, (struct sockaddr*)&g_addr, sizeof g_addr) != 0) Die("connect");
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    if (getpeername(s, (struct sockaddr*)&peer, &len) != 0) Die("getpeername");
    Report("PEER try=%d port=%u", i, ntohs(peer.sin_port));
    close(s);
    for (int k = 0; k < 2; ++k) {  /* keep the backlogs empty */
      int c = accept(listeners[k], NULL, NULL);
      if (c >= 0) close(c);
    }
  }
  __atomic_store_n(&g_stop, 1, __ATOMIC_RELAXED);
  pthread_join(t, NULL);
  return 0;
}
