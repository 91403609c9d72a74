// Decoders of the network family: connect, bind, listen, and sendto/sendmsg with a destination
// address (UDP, DNS). Socket addresses are read from the tracee with their length bounded by
// sizeof(sockaddr_storage).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "format/unique_fd.h"
#include "recorder/decode.h"

namespace agenttrace {
namespace {

void SockaddrArg(const SyscallCall& c, DecodeEnv& env, uint64_t addr, uint64_t len, Event* ev) {
  sockaddr_storage ss{};
  size_t n = len < sizeof(ss) ? len : sizeof(ss);
  if (n < sizeof(sa_family_t) || !env.mem->Read(c.tid, addr, &ss, n)) return;
  DecodeSockaddr(&ss, n, ev);
  // A relative unix socket path is relative to the caller's cwd.
  if (ev->family == AF_UNIX && !ev->path.empty() && ev->path[0] != '/' && ev->path[0] != '@') {
    env.scratch = ev->path;
    env.paths->Resolve(c.tid, AT_FDCWD, env.scratch, false, &ev->path);
  }
}

// A duplicate of descriptor `fd` of process `pid` in the tracer (pidfd_getfd, allowed to a ptrace
// attacher): the kernel's object, whatever the tracee's memory says. Invalid on failure, with errno.
UniqueFd DupTraceeFd(pid_t pid, int fd) {
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.valid()) return UniqueFd();
  return UniqueFd(static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
}

// The address socket `fd` of the tracee is bound to, by getsockname on a duplicate of its descriptor:
// the kernel's object, not tracee memory. False (and *ev untouched) when it cannot be read.
bool SocketAddress(const SyscallCall& c, int fd, Event* ev) {
  UniqueFd sock = DupTraceeFd(c.pid, fd);
  if (!sock.valid()) return false;
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(sock.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) return false;
  return DecodeSockaddr(&ss, len < sizeof(ss) ? len : sizeof(ss), ev);
}

// "127.0.0.1:80", "[::1]:80".
void AppendEndpoint(uint16_t family, const std::string& address, uint16_t port, std::string* out) {
  if (address.empty()) {
    *out += "(unread)";  // the tracer could not read the address at entry
    return;
  }
  if (family == AF_INET6) {
    *out += '[';
    *out += address;
    *out += ']';
  } else {
    *out += address;
  }
  *out += ':';
  *out += std::to_string(port);
}

bool IsUnspecified(const std::string& address) { return address == "0.0.0.0" || address == "::"; }

// Whether the peer the kernel reports is the destination recorded at entry, up to the kernel's own
// rewrites: an IPv4 destination on an IPv6 socket comes back v4-mapped, and an unspecified
// destination (0.0.0.0, ::) is connected to the loopback address.
bool SameDestination(const Event& entry, const Event& peer) {
  if (entry.address.empty() || entry.port != peer.port) return false;
  if (IsUnspecified(entry.address)) return true;
  if (entry.address == peer.address) return true;
  return entry.family == AF_INET && peer.family == AF_INET6 && peer.address == "::ffff:" + entry.address;
}

// TOCTOU check of a connect: the destination was read from tracee memory at the seccomp stop, and
// another thread may have rewritten it before the kernel copied it. After the call the connected
// socket's peer is the kernel's own fact; it is read through a duplicate of the descriptor with
// getsockopt(SO_PEERNAME), which (unlike getpeername) also answers while a TCP connect is still in
// progress. Only IPv4 and IPv6 sockets: a unix socket's peer name is the string its server bound,
// which legitimately differs from the path a client connects to.
void CheckConnectPeer(const SyscallCall& c, int64_t result, DecodeEnv& env, Event* ev) {
  if (result != 0 && result != -EINPROGRESS) return;  // no connection, no peer (docs/threat-model.md)
  const int fd = static_cast<int>(static_cast<int32_t>(c.args[0]));
  UniqueFd sock = DupTraceeFd(c.pid, fd);
  if (!sock.valid()) {
    // Closed by another thread between the kernel's connect and this stop: nothing confirms where
    // the connection went. A process that is dying (ESRCH) is no such race.
    if (errno == EBADF) {
      env.toctou = "toctou: connect descriptor " + std::to_string(fd) + " closed before its peer could be read";
    }
    return;
  }
  // SO_PEERNAME refuses a buffer longer than the address: size it by the socket's own family.
  int domain = 0;
  socklen_t dlen = sizeof(domain);
  if (getsockopt(sock.get(), SOL_SOCKET, SO_DOMAIN, &domain, &dlen) != 0) return;
  // By the socket's domain, not the family read at entry: that may have been rewritten, or unreadable
  // to the tracer (family 0) and readable to the kernel a moment later.
  if (domain != AF_INET && domain != AF_INET6) return;
  sockaddr_storage ss{};
  socklen_t len = domain == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  if (getsockopt(sock.get(), SOL_SOCKET, SO_PEERNAME, &ss, &len) != 0) return;
  Event& peer = env.peer;
  peer.family = 0;
  peer.address.clear();
  peer.port = 0;
  if (!DecodeSockaddr(&ss, len < sizeof(ss) ? len : sizeof(ss), &peer)) return;
  if (SameDestination(*ev, peer)) return;
  env.toctou = "toctou: connect address changed from ";
  AppendEndpoint(ev->family, ev->address, ev->port, &env.toctou);
  env.toctou += " to ";
  AppendEndpoint(peer.family, peer.address, peer.port, &env.toctou);
  ev->family = peer.family;  // the stored event carries the kernel's fact
  ev->address = peer.address;
  ev->port = peer.port;
}

// listen(2) names no address, so its entry reads the one the socket is bound to (SocketAddress): the
// request is decided on it and the event records it, so that replay and `policy suggest` see what
// enforcement decided. After the call the socket is read again. A socket that was unbound at entry
// (inet port 0) was bound by the kernel to an ephemeral port of the same address: the event keeps the
// port 0 that was decided. Any other difference means that another thread put another socket behind
// the descriptor in between (dup2): the event carries the kernel's fact and a toctou note.
void CheckListenAddress(const SyscallCall& c, DecodeEnv& env, Event* ev) {
  Event& now = env.peer;
  now.family = 0;
  now.address.clear();
  now.path.clear();
  now.port = 0;
  if (!SocketAddress(c, static_cast<int>(static_cast<int32_t>(c.args[0])), &now)) return;
  const bool unread = ev->family == 0;
  const bool inet = now.family == AF_INET || now.family == AF_INET6;
  const bool autobound = inet && ev->family == now.family && ev->port == 0 && ev->address == now.address;
  if (autobound || (!unread && ev->family == now.family && ev->address == now.address && ev->port == now.port &&
                    ev->path == now.path)) {
    return;
  }
  if (!unread) {
    auto describe = [](const Event& e, std::string* out) {
      if (e.family == AF_INET || e.family == AF_INET6) {
        AppendEndpoint(e.family, e.address, e.port, out);
      } else if (e.family == AF_UNIX) {
        *out += e.path.empty() ? "an unnamed unix socket" : e.path;
      } else {
        *out += "a socket of family " + std::to_string(e.family);
      }
    };
    env.toctou = "toctou: listen socket changed from ";
    describe(*ev, &env.toctou);
    env.toctou += " to ";
    describe(now, &env.toctou);
  }
  ev->family = now.family;
  ev->address = now.address;
  ev->port = now.port;
  ev->path = now.path;
}

}  // namespace

bool DecodeSockaddr(const void* addr, size_t len, Event* ev) {
  if (len < sizeof(sa_family_t)) return false;
  sa_family_t family;
  std::memcpy(&family, addr, sizeof(family));
  ev->family = family;
  char text[INET6_ADDRSTRLEN];
  switch (family) {
    case AF_INET: {
      if (len < sizeof(sockaddr_in)) return false;
      sockaddr_in in;
      std::memcpy(&in, addr, sizeof(in));
      if (inet_ntop(AF_INET, &in.sin_addr, text, sizeof(text)) == nullptr) return false;
      ev->address.assign(text);
      ev->port = ntohs(in.sin_port);
      return true;
    }
    case AF_INET6: {
      if (len < sizeof(sockaddr_in6) - sizeof(uint32_t)) return false;  // scope id is optional
      sockaddr_in6 in6{};
      std::memcpy(&in6, addr, len < sizeof(in6) ? len : sizeof(in6));
      if (inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof(text)) == nullptr) return false;
      ev->address.assign(text);
      ev->port = ntohs(in6.sin6_port);
      return true;
    }
    case AF_UNIX: {
      const char* p = static_cast<const char*>(addr) + offsetof(sockaddr_un, sun_path);
      size_t max = len - offsetof(sockaddr_un, sun_path);
      if (max > sizeof(sockaddr_un::sun_path)) max = sizeof(sockaddr_un::sun_path);
      if (max == 0) {
        ev->path.clear();  // unnamed
      } else if (p[0] == '\0') {
        ev->path.assign("@");  // abstract namespace: all remaining bytes are the name
        ev->path.append(p + 1, max - 1);
      } else {
        const void* nul = std::memchr(p, 0, max);
        ev->path.assign(p, nul ? static_cast<const char*>(nul) - p : max);
      }
      return true;
    }
    default:
      return true;  // family only
  }
}

EntryAction DecodeNetEntry(const SyscallCall& c, DecodeEnv& env, Event* ev) {
  const auto& a = c.args;
  EntryAction act;
  switch (c.info->decoder) {
    case Decoder::kConnect:
      ev->kind = EventKind::kNetConnect;
      SockaddrArg(c, env, a[1], a[2], ev);
      break;
    case Decoder::kBind:
      ev->kind = EventKind::kNetBind;
      SockaddrArg(c, env, a[1], a[2], ev);
      break;
    case Decoder::kListen:
      ev->kind = EventKind::kNetListen;
      (void)SocketAddress(c, static_cast<int>(static_cast<int32_t>(a[0])), ev);  // CheckListenAddress
      break;
    case Decoder::kSendto:
      ev->kind = EventKind::kNetSend;
      if (a[4] == 0) {  // the filter should not trap this; nothing to record
        act.drop = true;
        act.want_exit = false;
        break;
      }
      SockaddrArg(c, env, a[4], a[5], ev);
      ev->size = static_cast<int64_t>(a[2]);
      break;
    case Decoder::kSendmsg: {
      ev->kind = EventKind::kNetSend;
      msghdr msg{};
      if (!env.mem->Read(c.tid, a[1], &msg, sizeof(msg)) || msg.msg_name == nullptr ||
          msg.msg_namelen == 0) {
        act.drop = true;  // connected socket: no destination to record
        act.want_exit = false;
        break;
      }
      SockaddrArg(c, env, reinterpret_cast<uint64_t>(msg.msg_name), msg.msg_namelen, ev);
      break;
    }
    case Decoder::kSendmmsg: {
      // One event per call: the destination of the first message that has one (glibc's resolver
      // sends its A and AAAA queries to one server in one sendmmsg). `flags` holds vlen, the number
      // of messages the call offers; the result is how many were sent.
      // A message to another destination than the first one's is left to the next call: vlen is cut
      // to the messages before it (sendmmsg may send fewer than offered, and callers send the rest
      // again), so every destination is recorded and decided, none rides along unseen.
      ev->kind = EventKind::kNetSend;
      const uint64_t vlen = a[2] & 0xFFFFFFFF;
      bool found = false;
      sockaddr_storage first{};
      size_t first_len = 0;
      uint64_t i = 0;
      for (; i < vlen && i < 1024; ++i) {  // the kernel sends at most UIO_MAXIOV (1024) per call
        mmsghdr m{};
        if (!env.mem->Read(c.tid, a[1] + i * sizeof(mmsghdr), &m, sizeof(m))) break;
        if (m.msg_hdr.msg_name == nullptr || m.msg_hdr.msg_namelen == 0) continue;  // the connected peer
        sockaddr_storage addr{};
        size_t len = std::min<size_t>(m.msg_hdr.msg_namelen, sizeof(addr));
        if (!env.mem->Read(c.tid, reinterpret_cast<uint64_t>(m.msg_hdr.msg_name), &addr, len)) break;
        if (!found) {
          SockaddrArg(c, env, reinterpret_cast<uint64_t>(m.msg_hdr.msg_name), m.msg_hdr.msg_namelen, ev);
          first = addr;
          first_len = len;
          found = true;
        } else if (len != first_len || std::memcmp(&addr, &first, len) != 0) {
          break;
        }
      }
      if (i > 0 && i < vlen) {
        act.set_arg2 = true;
        act.new_arg2 = i;
      }
      if (!found) {
        act.drop = true;  // connected socket: no destination to record
        act.want_exit = false;
        break;
      }
      ev->flags = act.set_arg2 ? act.new_arg2 : vlen;
      break;
    }
    default:
      ev->kind = EventKind::kRaw;
      ev->text = c.info->name;
      break;
  }
  return act;
}

void DecodeNetExit(const SyscallCall& c, int64_t result, DecodeEnv& env, Event* ev) {
  switch (c.info->decoder) {
    case Decoder::kConnect:
      CheckConnectPeer(c, result, env, ev);
      break;
    case Decoder::kListen:
      if (result == 0) CheckListenAddress(c, env, ev);
      break;
    case Decoder::kSendto:
    case Decoder::kSendmsg:
      if (result >= 0) ev->size = result;
      break;
    default:
      break;
  }
}

}  // namespace agenttrace
