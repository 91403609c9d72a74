/* File names that are not UTF-8: a Latin-1 name (byte 0xe9), a name with a literal backslash, and a
 * symlink whose text holds the byte 0xff. Each is reported percent-encoded (%XX) since the export
 * carries them in the escaped form of docs/format.md; the test decodes both sides.
 * Usage: e2e_names DIR */
#include <fcntl.h>

#include "e2e_util.h"

static void Encode(const char* s, char* out, size_t size) {
  size_t n = 0;
  for (; *s && n + 4 < size; ++s) {
    unsigned char c = (unsigned char)*s;
    if (c >= 0x80 || c == '%' || c == '\\' || c <= 0x20) {
      n += (size_t)snprintf(out + n, size - n, "%%%02x", c);
    } else {
      out[n++] = (char)c;
    }
  }
  out[n] = '\0';
}

int main(int argc, char** argv) {
  if (argc != 2) Die("usage");
  char path[4096], enc[4096], enc2[4096];
  FORMAT(path, "%s/r\xe9sum\xe9.txt", argv[1]);
  long r = Res(open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644));
  Encode(path, enc, sizeof enc);
  Report("EV kind=file.open rawpath=%s result=%ld", enc, r);
  if (r >= 0) close((int)r);

  FORMAT(path, "%s/back\\slash.txt", argv[1]);
  r = Res(open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644));
  Encode(path, enc, sizeof enc);
  Report("EV kind=file.open rawpath=%s result=%ld", enc, r);
  if (r >= 0) close((int)r);

  FORMAT(path, "%s/link", argv[1]);
  const char* text = "target-\xff";
  r = Res(symlink(text, path));
  Encode(text, enc, sizeof enc);
  Encode(path, enc2, sizeof enc2);
  Report("EV kind=file.symlink rawpath=%s rawpath2=%s result=%ld", enc, enc2, r);
  return 0;
}
