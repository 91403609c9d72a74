/* A non-blocking connect, as node, npm and every asynchronous client make it: connect() answers
 * EINPROGRESS, then the program waits for the socket to become writable and reads SO_ERROR.
 * The server listens on 127.0.0.1:0 (loopback only).
 * Usage: e2e_net_async */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "e2e_util.h"

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

  int client = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (client < 0) Die("socket");
  long r = Res(connect(client, (struct sockaddr*)&a, sizeof a));
  Report("EV kind=net.connect family=%d address=127.0.0.1 port=%u result=%ld", AF_INET, port, r);
  if (r != -EINPROGRESS && r != 0) Die("connect");
  struct pollfd p = {client, POLLOUT, 0};
  if (poll(&p, 1, 10000) != 1) Die("poll");
  int err = -1;
  len = sizeof err;
  if (getsockopt(client, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) Die("SO_ERROR");
  printf("connected: connect returned %ld, SO_ERROR %d\n", r, err);
  fflush(stdout);
  close(client);
  close(server);
  return 0;
}
