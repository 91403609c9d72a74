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

#include <cstring>

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

// The address a listening socket is bound to: the tracer takes a duplicate of the tracee's
// descriptor (pidfd_getfd, allowed to a ptrace attacher) and asks getsockname.
void ListenAddress(const SyscallCall& c, int fd, Event* ev) {
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, c.pid, 0)));
  if (!pidfd.valid()) return;
  UniqueFd sock(static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
  if (!sock.valid()) return;
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(sock.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) return;
  DecodeSockaddr(&ss, len < sizeof(ss) ? len : sizeof(ss), ev);
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
      ev->kind = EventKind::kNetSend;
      const uint64_t vlen = a[2] & 0xFFFFFFFF;
      bool found = false;
      for (uint64_t i = 0; i < vlen && i < 64 && !found; ++i) {
        mmsghdr m{};
        if (!env.mem->Read(c.tid, a[1] + i * sizeof(mmsghdr), &m, sizeof(m))) break;
        if (m.msg_hdr.msg_name != nullptr && m.msg_hdr.msg_namelen != 0) {
          SockaddrArg(c, env, reinterpret_cast<uint64_t>(m.msg_hdr.msg_name), m.msg_hdr.msg_namelen, ev);
          found = true;
        }
      }
      if (!found) {
        act.drop = true;  // connected socket: no destination to record
        act.want_exit = false;
        break;
      }
      ev->flags = vlen;
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
    case Decoder::kListen:
      if (result == 0) ListenAddress(c, static_cast<int>(static_cast<int32_t>(c.args[0])), ev);
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
