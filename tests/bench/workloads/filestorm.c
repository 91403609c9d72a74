/* File-heavy benchmark workload: creates, writes, reads, renames and deletes many small files.
 * Usage: filestorm DIR [FILES]   (default 2000 files) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void Die(const char* what, const char* path) {
  fprintf(stderr, "filestorm: %s %s: %s\n", what, path, strerror(errno));
  exit(1);
}

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: filestorm DIR [FILES]\n");
    return 2;
  }
  const char* dir = argv[1];
  int files = argc == 3 ? atoi(argv[2]) : 2000;
  char payload[512];
  memset(payload, 'x', sizeof payload);
  char a[4096], b[4096], buf[1024];
  for (int i = 0; i < files; ++i) {
    if (snprintf(a, sizeof a, "%s/f%05d.txt", dir, i) >= (int)sizeof a) Die("path too long", dir);
    int fd = open(a, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) Die("create", a);
    size_t n = 64 + (size_t)(i % 7) * 64;
    if (write(fd, payload, n) != (ssize_t)n) Die("write", a);
    close(fd);
  }
  for (int i = 0; i < files; ++i) {
    snprintf(a, sizeof a, "%s/f%05d.txt", dir, i);
    int fd = open(a, O_RDONLY);
    if (fd < 0) Die("open", a);
    if (read(fd, buf, sizeof buf) <= 0) Die("read", a);
    close(fd);
    snprintf(b, sizeof b, "%s/g%05d.txt", dir, i);
    if (rename(a, b) != 0) Die("rename", a);
  }
  for (int i = 0; i < files; ++i) {
    snprintf(b, sizeof b, "%s/g%05d.txt", dir, i);
    if (unlink(b) != 0) Die("unlink", b);
  }
  return 0;
}
