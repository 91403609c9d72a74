/* Name resolution as every glibc program does it: getaddrinfo with AI_ADDRCONFIG opens and binds a
 * NETLINK_ROUTE socket to list the machine's addresses. Then the same bind made directly.
 * Neither is a server.
 * Usage: e2e_netlink */
#include <linux/netlink.h>
#include <netdb.h>
#include <sys/socket.h>

#include "e2e_util.h"

int main(void) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
  int g = getaddrinfo("localhost", "80", &hints, &res);
  printf("getaddrinfo: %d\n", g);
  fflush(stdout);
  if (res != NULL) freeaddrinfo(res);

  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (s < 0) Die("socket");
  struct sockaddr_nl nl;
  memset(&nl, 0, sizeof nl);
  nl.nl_family = AF_NETLINK;
  long r = Res(bind(s, (struct sockaddr*)&nl, sizeof nl));
  Report("EV kind=net.bind family=%d result=%ld", AF_NETLINK, r);
  close(s);
  return 0;
}
