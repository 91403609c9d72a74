// Socket address decoding (bounded, from raw bytes as read from a tracee).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>

#include "recorder/decode.h"

namespace agenttrace {
namespace {

TEST(SockaddrTest, Inet) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(443);
  inet_pton(AF_INET, "93.184.216.34", &sin.sin_addr);
  Event ev;
  ASSERT_TRUE(DecodeSockaddr(&sin, sizeof(sin), &ev));
  EXPECT_EQ(ev.family, AF_INET);
  EXPECT_EQ(ev.address, "93.184.216.34");
  EXPECT_EQ(ev.port, 443);
  Event short_ev;
  EXPECT_FALSE(DecodeSockaddr(&sin, 8, &short_ev));
}

TEST(SockaddrTest, Inet6) {
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(53);
  inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
  Event ev;
  ASSERT_TRUE(DecodeSockaddr(&sin6, sizeof(sin6), &ev));
  EXPECT_EQ(ev.family, AF_INET6);
  EXPECT_EQ(ev.address, "2001:db8::1");
  EXPECT_EQ(ev.port, 53);
}

TEST(SockaddrTest, UnixPathAbstractAndUnnamed) {
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::strcpy(sun.sun_path, "/run/x.sock");
  Event ev;
  ASSERT_TRUE(DecodeSockaddr(&sun, offsetof(sockaddr_un, sun_path) + 12, &ev));
  EXPECT_EQ(ev.family, AF_UNIX);
  EXPECT_EQ(ev.path, "/run/x.sock");

  sockaddr_un abs{};
  abs.sun_family = AF_UNIX;
  std::memcpy(abs.sun_path, "\0hidden", 7);
  Event ev2;
  ASSERT_TRUE(DecodeSockaddr(&abs, offsetof(sockaddr_un, sun_path) + 7, &ev2));
  EXPECT_EQ(ev2.path, "@hidden");

  Event ev3;
  ASSERT_TRUE(DecodeSockaddr(&abs, sizeof(sa_family_t), &ev3));
  EXPECT_EQ(ev3.path, "");

  // A path that fills sun_path with no NUL is bounded by the structure, not by the bytes after it.
  char raw[sizeof(sockaddr_un) + 16];
  std::memset(raw, 'a', sizeof(raw));
  sa_family_t fam = AF_UNIX;
  std::memcpy(raw, &fam, sizeof(fam));
  Event ev4;
  ASSERT_TRUE(DecodeSockaddr(raw, sizeof(raw), &ev4));
  EXPECT_EQ(ev4.path.size(), sizeof(sockaddr_un::sun_path));
}

TEST(SockaddrTest, OtherFamiliesKeepTheFamily) {
  sockaddr sa{};
  sa.sa_family = AF_NETLINK;
  Event ev;
  EXPECT_TRUE(DecodeSockaddr(&sa, sizeof(sa), &ev));
  EXPECT_EQ(ev.family, AF_NETLINK);
  EXPECT_TRUE(ev.address.empty());
  Event ev2;
  EXPECT_FALSE(DecodeSockaddr(&sa, 1, &ev2));
}

}  // namespace
}  // namespace agenttrace
