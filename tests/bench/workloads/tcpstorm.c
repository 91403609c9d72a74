/* Network benchmark workload: many short loopback TCP connections. A forked server on 127.0.0.1
 * (ephemeral port) echoes one byte per connection; the client connects CONNECTIONS times. Loopback only.
 * Usage: tcpstorm [CONNECTIONS]   (default 2000) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void Die(const char* what) {
  fprintf(stderr, "tcpstorm: %s: %s\n", what, strerror(errno));
  exit(1);
}

int main(int argc, char** argv) {
  int connections = argc > 1 ? atoi(argv[1]) : 2000;
  int server = socket(AF_INET, SOCK_STREAM, 0);
  if (server < 0) Die("socket");
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(server, (struct sockaddr*)&addr, sizeof addr) != 0) Die("bind");
  if (listen(server, 128) != 0) Die("listen");
  socklen_t len = sizeof addr;
  if (getsockname(server, (struct sockaddr*)&addr, &len) != 0) Die("getsockname");

  pid_t child = fork();
  if (child < 0) Die("fork");
  if (child == 0) {
    for (int i = 0; i < connections; ++i) {
      int c = accept(server, NULL, NULL);
      if (c < 0) Die("accept");
      char byte;
      if (read(c, &byte, 1) == 1 && write(c, &byte, 1) != 1) Die("server write");
      close(c);
    }
    _exit(0);
  }
  close(server);
  for (int i = 0; i < connections; ++i) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) Die("socket");
    if (connect(s, (struct sockaddr*)&addr, sizeof addr) != 0) Die("connect");
    char byte = 'x';
    if (write(s, &byte, 1) != 1 || read(s, &byte, 1) != 1) Die("client io");
    /* Close with a reset: no TIME_WAIT, so repeated runs do not exhaust the ephemeral ports. */
    struct linger lg = {1, 0};
    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(s);
  }
  int status;
  if (waitpid(child, &status, 0) != child) Die("waitpid");
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
