#include "format/key_file.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "format/sys.h"
#include "format/unique_fd.h"

namespace agenttrace {
namespace {

std::string RandomSuffix() {
  uint8_t r[8];
  size_t got = 0;
  while (got < sizeof r) {
    ssize_t n = ::getrandom(r + got, sizeof r - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::to_string(::getpid());  // only a name: uniqueness is checked by O_EXCL
    }
    got += static_cast<size_t>(n);
  }
  return BytesToHex(r, sizeof r);
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<bool> CreateKeyFile(const std::string& path, std::string_view data, std::string_view what) {
  const std::string w(what);
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) return false;
  std::string tmp = path + ".tmp." + RandomSuffix();
  {
    UniqueFd fd(
        RetryEintr([&] { return ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600); }));
    if (!fd.valid()) return Status::FromErrno("create " + w + " " + tmp, errno);
    Status s = ::fchmod(fd.get(), 0600) == 0 ? Status::Ok() : Status::FromErrno("chmod " + tmp, errno);
    if (s.ok()) s = WriteAll(fd.get(), data, "write " + w + " " + tmp);
    if (s.ok() && ::fsync(fd.get()) != 0) s = Status::FromErrno("fsync " + tmp, errno);
    if (!s.ok()) {
      ::unlink(tmp.c_str());
      return s;
    }
  }
  int rc = ::link(tmp.c_str(), path.c_str());
  int err = errno;
  ::unlink(tmp.c_str());
  if (rc != 0) {
    if (err == EEXIST) return false;
    return Status::FromErrno("create " + w + " " + path, err);
  }
  return true;
}

Result<std::string> ReadPrivateKeyFile(const std::string& path, size_t max_bytes, std::string_view what) {
  const std::string w(what);
  UniqueFd fd(RetryEintr([&] { return ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC); }));
  if (!fd.valid()) {
    int err = errno;
    if (err == ELOOP) return Status::InvalidArgument(w + " " + path + " is a symlink; give the file itself");
    return Status::FromErrno("open " + w + " " + path, err);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno("stat " + w + " " + path, errno);
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(w + " " + path + " is not a regular file");
  if (st.st_uid != ::geteuid()) {
    return Status::InvalidArgument(w + " " + path + " belongs to uid " + std::to_string(st.st_uid) +
                                   ", not to this user");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::InvalidArgument(w + " " + path + " has mode " + mode +
                                   ": others may have read it; make it owner-only (chmod 600) or, if it may "
                                   "have leaked, replace it");
  }
  std::string out;
  char buf[512];
  for (;;) {
    ssize_t n = RetryEintr([&] { return ::read(fd.get(), buf, sizeof buf); });
    if (n < 0) return Status::FromErrno("read " + w + " " + path, errno);
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      return Status::InvalidArgument(w + " " + path + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<std::string> UserConfigDir() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/agenttrace";
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] == '/') return std::string(home) + "/.config/agenttrace";
  return Status::InvalidArgument("neither $XDG_CONFIG_HOME nor $HOME is set: no per-user key directory");
}

Status EnsurePrivateDir(const std::string& dir) {
  if (dir.empty()) return Status::InvalidArgument("empty directory name");
  for (size_t pos = 1;; ++pos) {
    pos = dir.find('/', pos);
    std::string part = dir.substr(0, pos);
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) return Status::FromErrno("create " + part, errno);
    if (pos == std::string::npos) break;
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return Status::FromErrno("stat " + dir, errno);
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument(dir + " is not a directory");
  return Status::Ok();
}

std::string BytesToHex(const uint8_t* bytes, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    s.push_back(kHex[bytes[i] >> 4]);
    s.push_back(kHex[bytes[i] & 0xF]);
  }
  return s;
}

bool ParseHexInto(std::string_view hex, uint8_t* out, size_t n) {
  if (hex.size() != 2 * n) return false;
  for (size_t i = 0; i < n; ++i) {
    int hi = HexDigit(hex[2 * i]), lo = HexDigit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

}  // namespace agenttrace
