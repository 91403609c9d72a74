// The one text form of events for people (format/event_text.h), shared by `show` and replay reports.
#include "format/event_text.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cerrno>

#include "format/decision_event.h"

namespace agenttrace {
namespace {

std::string Text(const Event& e, size_t max_field = kNoFieldLimit) {
  std::string s;
  AppendEventText(e, max_field, &s);
  return s;
}

TEST(EventTextTest, SymlinkArrowPointsFromTheLinkToItsTextLikeLsL) {
  Event e;
  e.kind = EventKind::kFileSymlink;
  e.path = "../secrets/key";  // link text
  e.path2 = "/w/link";        // the link created
  EXPECT_EQ(Text(e), "/w/link -> ../secrets/key");
  EXPECT_EQ(DescribeEvent(e), "file.symlink /w/link -> ../secrets/key");
  e.kind = EventKind::kFileRename;
  e.path = "/w/a";
  e.path2 = "/w/b";
  EXPECT_EQ(DescribeEvent(e), "file.rename /w/a -> /w/b");
}

// Timestamps and extended attributes are file.chmod events (format/event.h, kMeta*): they must not
// read as a chmod to mode 0000.
TEST(EventTextTest, MetadataWritesSayWhichMetadata) {
  Event e;
  e.kind = EventKind::kFileChmod;
  e.path = "/w/f";
  e.mode = 0600;
  EXPECT_EQ(DescribeEvent(e), "file.chmod /w/f mode 0600");
  e.mode = 0;
  e.flags = kMetaTimes;
  EXPECT_EQ(DescribeEvent(e), "file.chmod /w/f times");
  e.flags = kMetaXattrSet;
  e.path2 = "security.capability";
  EXPECT_EQ(DescribeEvent(e), "file.chmod /w/f xattr set security.capability");
  e.flags = kMetaXattrRemove | 0x100;
  e.result = -EACCES;
  EXPECT_EQ(DescribeEvent(e), "file.chmod /w/f xattr remove security.capability = -13 EACCES");
}

TEST(EventTextTest, DecisionsSayWhatWasDecidedOnWhat) {
  Event request;
  request.kind = EventKind::kFileOpen;
  request.path = "/home/u/.ssh/id_rsa";
  RequestDecision d;
  d.verdict = RequestVerdict::kDeny;
  d.rule = "no-secrets";
  d.reason = "credentials are off limits";
  Event e = MakeDecisionEvent(request, d, EnforceMode::kEnforce);
  EXPECT_EQ(DescribeEvent(e), "annotation decision deny by no-secrets: file.open /home/u/.ssh/id_rsa flags=00");
  // Other annotations, and a decision whose JSON is damaged, show their text alone.
  e.json = "{";
  EXPECT_EQ(DescribeEvent(e), "annotation decision");
}

TEST(EventTextTest, FailedAndInProgressResults) {
  Event e;
  e.kind = EventKind::kFileOpen;
  e.path = "/home/u/.aws/credentials";
  e.resolved = "/home/u/.aws/credentials";
  e.result = -EACCES;
  EXPECT_EQ(DescribeEvent(e), "file.open /home/u/.aws/credentials flags=00 = -13 EACCES");
  Event c;
  c.kind = EventKind::kNetConnect;
  c.family = AF_INET6;
  c.address = "2001:db8::1";
  c.port = 443;
  c.result = -EINPROGRESS;
  EXPECT_EQ(DescribeEvent(c), "net.connect [2001:db8::1]:443 = -115 EINPROGRESS (in progress)");
  c.result = -ECONNREFUSED;
  EXPECT_EQ(Text(c), "[2001:db8::1]:443 = -111 ECONNREFUSED");
}

TEST(EventTextTest, EndpointsNameUnixPathsAndAddresslessFamilies) {
  Event e;
  e.kind = EventKind::kNetBind;
  e.family = AF_NETLINK;
  EXPECT_EQ(Text(e), "netlink");
  e.family = AF_UNIX;
  e.path = "@abstract";
  EXPECT_EQ(Text(e), "unix:@abstract");
  e.kind = EventKind::kNetSend;
  e.family = AF_INET;
  e.path.clear();
  e.address = "10.0.0.2";
  e.port = 53;
  e.size = 40;
  EXPECT_EQ(Text(e), "10.0.0.2:53 40 bytes");
}

TEST(EventTextTest, RecordedBytesUseTheOneEscapedForm) {
  Event e;
  e.kind = EventKind::kFileDelete;
  e.path = "/tmp/\xff\xfe\\name\nfake line\x1b[2J";
  EXPECT_EQ(Text(e), "/tmp/\\xff\\xfe\\\\name\\x0afake line\\x1b[2J");
  Event x;
  x.kind = EventKind::kExec;
  x.path = "/bin/sh";
  x.argv = {"sh", "-c", "echo 'hi'\n"};
  x.secret_env_names = {"GITHUB_TOKEN"};
  EXPECT_EQ(Text(x), "/bin/sh [sh -c 'echo '\\''hi'\\''\\x0a'] secret env: GITHUB_TOKEN");
}

TEST(EventTextTest, PayloadsAreCutOnUtf8Boundaries) {
  Event e;
  e.kind = EventKind::kToolCall;
  e.server = "fs";
  e.tool = "write";
  e.json = "{\"a\":\"\xc3\xa9\xc3\xa9\"}";  // the cut at 7 bytes would split the first e-acute
  EXPECT_EQ(Text(e, 7), "fs/write {\"a\":\"...");
  EXPECT_EQ(Text(e), "fs/write {\"a\":\"\xc3\xa9\xc3\xa9\"}");
  std::string d = DescribeEvent(e, 17);
  EXPECT_EQ(d, "tool.call fs/writ...");
}

TEST(EventTextTest, DescribeEventNeverCutsAnEscapeInTwo) {
  Event e;
  e.kind = EventKind::kFileDelete;
  e.path = "/\xff\\";  // "file.delete /" then \xff (4 bytes) then \\ (2 bytes)
  EXPECT_EQ(DescribeEvent(e, 13), "file.delete /...");
  EXPECT_EQ(DescribeEvent(e, 15), "file.delete /...");
  EXPECT_EQ(DescribeEvent(e, 17), "file.delete /\\xff...");
  EXPECT_EQ(DescribeEvent(e, 18), "file.delete /\\xff...");
  EXPECT_EQ(DescribeEvent(e, 19), "file.delete /\\xff\\\\");
}

}  // namespace
}  // namespace agenttrace
