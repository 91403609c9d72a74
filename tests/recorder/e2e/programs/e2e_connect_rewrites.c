/* Connects whose destination the kernel itself rewrites, which the recorder must not take for a
 * TOCTOU race: a TCP connect to 0.0.0.0 (Linux connects to loopback) and, where IPv6 is available, an
 * IPv4 destination on a UDP IPv6 socket (its peer reads back v4-mapped). Loopback only.
 * Usage: e2e_connect_rewrites
 * Output: "EV" lines for each connect, and "PEER address=A port=P" as the kernel reports it. */
#include "e2e_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static void ReportPeer(int s) {
  struct sockaddr_storage peer;
  socklen_t len = sizeof peer;
  char text[INET6_ADDRSTRLEN] = "?";
  unsigned port = 0;
  if (getpeername(s, (struct sockaddr*)&peer, &len) != 0) Die("getpeername");
  if (peer.ss_family == AF_INET) {
    struct sockaddr_in* in = (struct sockaddr_in*)&peer;
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    port = ntohs(in->sin_port);
  } else if (peer.ss_family == AF_INET6) {
    struct sockaddr_in6* in6 = (struct sockaddr_in6*)&peer;
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    port = ntohs(in6->sin6_port);
  }
  Report("PEER address=%s port=%u", text, port);
}

int main(void) {
  int server = socket(AF_INET, SOCK_STREAM, 0);
  if (server < 0) Die("socket");
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(server, (struct sockaddr*)&a, sizeof a) != 0 || listen(server, 4) != 0) Die("bind/listen");
  socklen_t len = sizeof a;
  if (getsockname(server, (struct sockaddr*)&a, &len) != 0) Die("getsockname");
  unsigned port = ntohs(a.sin_port);

  int c = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in any = a;
  any.sin_addr.s_addr = htonl(INADDR_ANY);
  long r = Res(connect(c, (struct sockaddr*)&any, sizeof any));
  Report("EV kind=net.connect family=%d address=0.0.0.0 port=%u result=%ld", AF_INET, port, r);
  if (r == 0) ReportPeer(c);
  close(c);

  int u = socket(AF_INET6, SOCK_DGRAM, 0);
  if (u >= 0) {
    r = Res(connect(u, (struct sockaddr*)&a, sizeof a));
    Report("EV kind=net.connect family=%d address=127.0.0.1 port=%u result=%ld", AF_INET, port, r);
    if (r == 0) ReportPeer(u);
    close(u);
  }
  close(server);
  return 0;
}
