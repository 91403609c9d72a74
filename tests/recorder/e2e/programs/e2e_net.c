/* Loopback networking: a TCP server on 127.0.0.1:0, a connect to it, and UDP datagrams with a
 * destination through sendto, sendmsg and sendmmsg.
 * Usage: e2e_net */
#include "e2e_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static int BoundSocket(int type, unsigned short* port) {
  int s = socket(AF_INET, type, 0);
  if (s < 0) Die("socket");
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  long r = Res(bind(s, (struct sockaddr*)&a, sizeof a));
  Report("EV kind=net.bind family=%d address=127.0.0.1 result=%ld", AF_INET, r);
  socklen_t len = sizeof a;
  if (getsockname(s, (struct sockaddr*)&a, &len) != 0) Die("getsockname");
  *port = ntohs(a.sin_port);
  return s;
}

int main(void) {
  unsigned short tcp_port = 0, udp_port = 0;
  int server = BoundSocket(SOCK_STREAM, &tcp_port);
  long r = Res(listen(server, 4));
  Report("EV kind=net.listen result=%ld", r);

  int client = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(tcp_port);
  r = Res(connect(client, (struct sockaddr*)&a, sizeof a));
  Report("EV kind=net.connect family=%d address=127.0.0.1 port=%u result=%ld", AF_INET, tcp_port, r);
  int conn = accept(server, NULL, NULL);
  if (conn < 0) Die("accept");

  int receiver = BoundSocket(SOCK_DGRAM, &udp_port);
  int sender = socket(AF_INET, SOCK_DGRAM, 0);
  a.sin_port = htons(udp_port);
  r = Res(sendto(sender, "hello", 5, 0, (struct sockaddr*)&a, sizeof a));
  Report("EV kind=net.send family=%d address=127.0.0.1 port=%u result=%ld", AF_INET, udp_port, r);
  char buf[8];
  if (recv(receiver, buf, sizeof buf, 0) != 5) Die("recv");

  struct iovec iov = {(void*)"sendmsg", 7};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_name = &a;
  msg.msg_namelen = sizeof a;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  r = Res(sendmsg(sender, &msg, 0));
  Report("EV kind=net.send family=%d address=127.0.0.1 port=%u result=%ld", AF_INET, udp_port, r);
  if (recv(receiver, buf, sizeof buf, 0) != 7) Die("recv");

  /* Two datagrams in one call, as glibc's resolver sends its A and AAAA queries. */
  struct mmsghdr mm[2];
  memset(mm, 0, sizeof mm);
  mm[0].msg_hdr = msg;
  mm[1].msg_hdr = msg;
  r = Res(sendmmsg(sender, mm, 2, 0));
  Report("EV kind=net.send family=%d address=127.0.0.1 port=%u flags=2 result=%ld", AF_INET, udp_port, r);
  if (recv(receiver, buf, sizeof buf, 0) != 7 || recv(receiver, buf, sizeof buf, 0) != 7) Die("recv");
  close(conn);
  close(client);
  close(server);
  close(sender);
  close(receiver);
  return 0;
}
