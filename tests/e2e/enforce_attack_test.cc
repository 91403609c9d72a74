// `agenttrace run --mode enforce` against a hostile agent (tests/e2e/programs/attack.c): each test takes
// a route around a denied action that once took effect (a fail-open path) and checks that the action is
// now refused, that it had no effect, and what the session records. The policy allows by default, so
// there is no Landlock backstop: the tracer alone must hold (docs/threat-model.md, "Request-time
// enforcement").
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/e2e/gate_fixture.h"
#include "tests/e2e/event_lines.h"

namespace agenttrace::e2e {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

const char* kPolicy = R"(version: 1
default: allow
secrets: ["~/.ssh/**", "${workspace}/.env"]
rules:
  - {id: no-secrets, decision: deny, class: secret.read}
  - {id: no-ssh, decision: deny, class: [file.read, file.write, file.delete], paths: ["~/.ssh/**"]}
  - {id: no-delete-outside, decision: deny, class: file.delete, not_paths: ["${workspace}/**", "${tmp}/**"]}
  - {id: no-port-9999, decision: deny, class: net.connect, ports: ["9999"]}
  - {id: pinned, decision: deny, class: file.write, paths: ["${workspace}/pinned.txt"]}
)";

class EnforceAttackTest : public GateFixture {
 protected:
  void SetUp() override {
    MakeDir("agenttrace-attack-test", kPolicy);
    ws_ = dir_ + "/ws";
    home_ = dir_ + "/home";
    key_ = home_ + "/.ssh/id_rsa";
    fs::create_directories(ws_);
    fs::create_directories(home_ + "/.ssh");
    fs::create_directories(dir_ + "/outside");
    fs::create_directories(dir_ + "/tmp");
    std::ofstream(key_) << "SECRET-KEY\n";
    std::ofstream(ws_ + "/.env") << "ENV-SECRET\n";
    std::ofstream(dir_ + "/outside/keep.txt") << "must survive\n";
  }

  // `agenttrace run --mode enforce` of the attack program with `attempts`, in the workspace. A run that
  // an attack hangs (the agent stopping agenttrace) is killed: its status is then 137.
  CmdResult Attack(const std::string& attempts) {
    return Sh("cd '" + ws_ + "' && env HOME='" + home_ + "' TMPDIR='" + dir_ + "/tmp' CI=1 timeout -s KILL 60 '" +
              AGENTTRACE_BIN + "' run --store '" + store_ + "' --policy '" + policy_ + "' --mode enforce -- '" +
              ATTACK_BIN + "' " + attempts);
  }

  // The events of the newest session.
  std::vector<Json> LastSession() {
    CmdResult ls = Sh(std::string("'") + AGENTTRACE_BIN + "' ls --store '" + store_ + "' --json");
    Json list = Json::parse(ls.out, nullptr, false);
    std::string id;
    if (list.is_array() && !list.empty()) id = list.back()["id"];
    if (list.is_object() && list.contains("sessions")) id = list["sessions"].back()["id"];
    EXPECT_FALSE(id.empty()) << ls.out;
    CmdResult ex = Sh(std::string("'") + AGENTTRACE_BIN + "' export --store '" + store_ + "' --format jsonl " + id);
    return e2e::EventsOfJsonLines(ex.out);
  }

  void WritePolicyWithTrueDenied() {
    std::ofstream(policy_, std::ios::app) << "  - {id: no-true, decision: deny, class: exec, paths: [\"**/true\"]}\n";
  }

  std::string ws_, home_, key_;
};

// `int $0x80` from a 64-bit process uses the i386 table, where 5 is open (x86_64's fstat). The
// tracer cannot apply the policy's file rules to a call it cannot decode, and a policy that allows
// by default allowed the "foreign-arch" escape: the open of the key went through.
TEST_F(EnforceAttackTest, I386OpenOfADeniedFileIsRefused) {
  CmdResult r = Attack("i386-read:" + key_ + " read:" + ws_ + "/../outside/keep.txt");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("i386-read:" + key_ + " -> errno 38"), std::string::npos) << r.out;  // ENOSYS
  EXPECT_EQ(r.out.find("SECRET-KEY"), std::string::npos) << r.out;
  // The program goes on and can still exit (its plain calls are decided as usual).
  EXPECT_NE(r.out.find("keep.txt -> ok must survive"), std::string::npos) << r.out;
  int escapes = 0;
  for (const Json& e : LastSession()) {
    if (e["kind"] == "process.escape" && e.value("text", "") == "foreign-arch") {
      EXPECT_EQ(e["result"], -38) << e.dump();
      ++escapes;
    }
  }
  EXPECT_EQ(escapes, 1);
}

// /proc/self/cwd, /proc/self/root, /proc/self/fd/N are magic links to the agent's own objects. The
// tracer's walk of the path read "self" as the tracer and gave up at the magic link (RESOLVE_IN_ROOT
// refuses them), so the request was decided on the lexical /proc path, which the policy allows: the
// read of the carved-out .env (and of the key) went through.
TEST_F(EnforceAttackTest, ProcSelfMagicLinksAreDecidedOnTheAgentsObject) {
  fs::create_symlink("/proc/self/cwd/.env", ws_ + "/envlink");
  std::ofstream(ws_ + "/input.txt") << "plain input\n";
  const std::vector<std::string> denied = {"/proc/self/cwd/.env", "envlink", "/proc/thread-self/cwd/.env",
                                           "/proc/self/root" + key_};
  std::string attempts;
  for (const std::string& p : denied) attempts += " read:" + p;
  CmdResult r = Attack(attempts + " read:/dev/stdin read:/proc/self/fd/0 < input.txt");
  EXPECT_EQ(r.status, 0) << r.out;
  for (const std::string& p : denied)
    EXPECT_NE(r.out.find("read:" + p + " -> errno 13"), std::string::npos) << p << "\n" << r.out;
  EXPECT_EQ(r.out.find("ENV-SECRET"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("SECRET-KEY"), std::string::npos) << r.out;
  // The agent's own descriptors reopened through /proc are its own, not the tracer's.
  EXPECT_NE(r.out.find("read:/dev/stdin -> ok plain input"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("read:/proc/self/fd/0 -> ok plain input"), std::string::npos) << r.out;
  int on_env = 0;
  for (const Json& e : LastSession()) {
    if (e["kind"] != "annotation" || e.value("text", "") != "decision") continue;
    Json d = Json::parse(e["json"].get<std::string>());
    if (d["request"].value("resolved", "") == ws_ + "/.env") {
      EXPECT_EQ(d["decision"], "deny") << d.dump();
      ++on_env;
    }
  }
  EXPECT_EQ(on_env, 3);
}

// open_by_handle_at opens a file by its inode (a handle name_to_handle_at gave), with no path: it was
// not trapped at all, so the key was read under a policy that denies it. (It needs
// CAP_DAC_READ_SEARCH; the suite runs as root in CI. Without it the kernel refuses with EPERM too.)
TEST_F(EnforceAttackTest, OpenByHandleIsRefusedAndRecorded) {
  CmdResult r = Attack("handle-read:" + key_);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("handle-read:" + key_ + " -> errno 1"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("SECRET-KEY"), std::string::npos) << r.out;
  int escapes = 0;
  for (const Json& e : LastSession()) {
    if (e["kind"] == "process.escape" && e.value("text", "") == "open_by_handle_at") {
      EXPECT_EQ(e["result"], -1) << e.dump();
      ++escapes;
    }
  }
  EXPECT_EQ(escapes, 1);
}

// A hard link is a second name for the same file: link(key, ws/k) was decided as a write of ws/k only,
// and reading ws/k then read the key.
TEST_F(EnforceAttackTest, HardLinkToADeniedFileIsRefused) {
  fs::create_directory_symlink(home_ + "/.ssh", ws_ + "/keys");
  CmdResult r = Attack("link-read:" + key_ + ":" + ws_ + "/k link-read:keys/id_rsa:" + ws_ + "/k2");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("link-read:" + key_ + ":" + ws_ + "/k -> errno 13"), std::string::npos) << r.out;
  // The source through a symlinked directory is decided on the file the kernel links.
  EXPECT_NE(r.out.find("link-read:keys/id_rsa:" + ws_ + "/k2 -> errno 13"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("SECRET-KEY"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(ws_ + "/k"));
  EXPECT_FALSE(fs::exists(ws_ + "/k2"));
}

// renameat2(RENAME_EXCHANGE) swaps two names: it was decided as a rename (source deleted, target
// written), so swapping a workspace file with one outside it took the outside file into the workspace
// (deletable there) under a policy that denies deleting outside the workspace.
TEST_F(EnforceAttackTest, RenameExchangeWithAProtectedFileIsRefused) {
  std::ofstream(ws_ + "/decoy") << "decoy\n";
  CmdResult r = Attack("exchange:" + ws_ + "/decoy:" + dir_ + "/outside/keep.txt exchange:" + ws_ + "/decoy:" + key_);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("exchange:" + ws_ + "/decoy:" + dir_ + "/outside/keep.txt -> errno 13"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("exchange:" + ws_ + "/decoy:" + key_ + " -> errno 13"), std::string::npos) << r.out;
  std::ifstream keep(dir_ + "/outside/keep.txt");
  std::string line;
  std::getline(keep, line);
  EXPECT_EQ(line, "must survive");
}

// sendmmsg sends several datagrams, each to its own destination; only the first one's was decided, so
// a datagram to a denied port rode along behind one to an allowed port.
TEST_F(EnforceAttackTest, SendmmsgToASecondDeniedDestinationIsRefused) {
  CmdResult r = Attack("sendmmsg:9998:9999");
  EXPECT_EQ(r.status, 0) << r.out;
  // The first datagram goes; the call is cut before the second, whose own call is denied.
  EXPECT_NE(r.out.find("sendmmsg:9998:9999 -> errno 1 after 1 sent, got 0"), std::string::npos) << r.out;
  std::vector<int> ports;
  for (const Json& e : LastSession()) {
    if (e["kind"] == "net.send") ports.push_back(e.value("port", 0));
  }
  EXPECT_EQ(ports, (std::vector<int>{9998, 9999}));
}

// openat2 with RESOLVE_IN_ROOT walks with its dirfd as "/": the tracer read "/.env" (and a symlink to
// "/.env") as the machine's /.env, which the policy allows, while the kernel opened the workspace's
// carved-out .env.
TEST_F(EnforceAttackTest, Openat2InRootIsDecidedOnTheFileUnderItsRoot) {
  fs::create_symlink("/.env", ws_ + "/rooted");
  std::ofstream(ws_ + "/plain.txt") << "plain\n";
  CmdResult r =
      Attack("inroot-read:" + ws_ + ":rooted inroot-read:" + ws_ + ":/.env inroot-read:" + ws_ + ":/plain.txt");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("inroot-read:" + ws_ + ":rooted -> errno 13"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("inroot-read:" + ws_ + ":/.env -> errno 13"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("inroot-read:" + ws_ + ":/plain.txt -> ok plain"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("ENV-SECRET"), std::string::npos) << r.out;
}

// An exec was decided on the path as written: a symlink to a denied program, or a script whose "#!"
// names it (directly or through another script), ran the denied program.
TEST_F(EnforceAttackTest, ExecOfADeniedProgramThroughASymlinkOrAScriptIsRefused) {
  ASSERT_TRUE(fs::exists("/usr/bin/true"));
  WritePolicyWithTrueDenied();
  fs::create_symlink("/usr/bin/true", ws_ + "/t");
  std::ofstream(ws_ + "/s1") << "#!/usr/bin/true\n";
  std::ofstream(ws_ + "/s2") << "#! " << ws_ << "/s1 -x\n";
  std::ofstream(ws_ + "/fine") << "#!/bin/sh\necho fine\n";
  for (const char* f : {"s1", "s2", "fine"}) fs::permissions(ws_ + "/" + f, fs::perms::owner_all);
  CmdResult r =
      Sh("cd '" + ws_ + "' && env HOME='" + home_ + "' CI=1 '" + AGENTTRACE_BIN + "' run --store '" + store_ +
         "' --policy '" + policy_ + "' -- sh -c './t; echo t=$?; ./s1; echo s1=$?; ./s2; echo s2=$?; ./fine'");
  EXPECT_EQ(r.status, 0) << r.out;
  for (const char* f : {"t=126", "s1=126", "s2=126", "fine"})
    EXPECT_NE(r.out.find(f), std::string::npos) << f << "\n" << r.out;
  int denied = 0;
  for (const Json& e : LastSession()) {
    if (e["kind"] != "annotation" || e.value("text", "") != "decision") continue;
    Json d = Json::parse(e["json"].get<std::string>());
    if (d["decision"] == "deny" && d["request"].value("resolved", "") == "/usr/bin/true") ++denied;
  }
  EXPECT_EQ(denied, 3);
}

// ptrace and process_vm_readv are escapes the policy decides, and this one allows them: the agent
// seized agenttrace itself (which then hung, stopped under its own agent's control; with PTRACE_POKE
// it could rewrite the policy) and read its memory.
TEST_F(EnforceAttackTest, PtraceAndMemoryReadsOfAgenttraceItselfAreRefused) {
  CmdResult r = Attack("vmread-parent: ptrace-parent:");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("vmread-parent: -> errno 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ptrace-parent: -> errno 1"), std::string::npos) << r.out;
  std::set<std::string> escapes;
  for (const Json& e : LastSession()) {
    if (e["kind"] == "process.escape" && e["result"] == -1) escapes.insert(e.value("text", ""));
  }
  EXPECT_EQ(escapes, (std::set<std::string>{"ptrace", "process_vm_readv"}));
}

// A block device node made in the workspace (root only) reads the disk beneath every path rule; the
// workspace allows creating files, so it was made.
TEST_F(EnforceAttackTest, MknodOfADeviceIsRefused) {
  CmdResult r = Attack("mknod-blk:" + ws_ + "/disk");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("mknod-blk:" + ws_ + "/disk -> errno 1"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(ws_ + "/disk"));
}

// Killing agenttrace must not leave the agent running untraced: PTRACE_O_EXITKILL takes every traced
// process with it, a daemonised grandchild included, before either can write its file.
TEST_F(EnforceAttackTest, KillingAgenttraceKillsTheWholeAgent) {
  const std::string after = dir_ + "/outside/after";
  const std::string daemon = dir_ + "/outside/daemon";
  CmdResult r =
      Sh("cd '" + ws_ + "' && env HOME='" + home_ + "' CI=1 timeout -s KILL 60 '" + AGENTTRACE_BIN + "' run --store '" +
         store_ + "' --policy '" + policy_ + "' -- sh -c '(setsid sh -c \"sleep 1; touch " + daemon +
         "\" &); kill -9 $PPID; sleep 1; touch " + after + "'");
  EXPECT_EQ(r.status, 137) << r.out;
  ::sleep(2);
  EXPECT_FALSE(fs::exists(after));
  EXPECT_FALSE(fs::exists(daemon));
}

// Timestamps and extended attributes were not trapped: under a policy that denies writing a file, the
// agent set its mtime (touch -d) and its xattrs (a POSIX ACL is one) all the same. Each route, path and
// descriptor forms, is now decided as a write of the file (file.chmod with the call in `text`).
TEST_F(EnforceAttackTest, TimestampAndXattrWritesOfADeniedFileAreRefused) {
  const std::string pinned = ws_ + "/pinned.txt", free = ws_ + "/free.txt";
  std::ofstream(pinned) << "pinned\n";
  std::ofstream(free) << "free\n";
  auto mtime = [](const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 ? static_cast<long>(st.st_mtime) : -1L;
  };
  auto xattr = [](const std::string& p) {
    char buf[16] = {0};
    ssize_t n = ::getxattr(p.c_str(), "user.agenttrace", buf, sizeof buf - 1);
    return n < 0 ? std::string("<none>") : std::string(buf, static_cast<size_t>(n));
  };
  for (const std::string& p : {key_, pinned}) {
    ASSERT_EQ(::setxattr(p.c_str(), "user.agenttrace", "keep", 4, 0), 0) << p << ": " << std::strerror(errno);
  }
  const long key_mtime = mtime(key_), pinned_mtime = mtime(pinned);
  const std::vector<std::string> by_path = {"utimensat", "utimes", "setxattr", "removexattr", "setxattrat"};
  const std::vector<std::string> by_fd = {"futimens", "fsetxattr"};
  std::string attempts;
  for (const std::string& k : by_path) attempts += " " + k + ":" + key_;
  for (const std::string& k : by_path) attempts += " " + k + ":" + pinned;
  for (const std::string& k : by_fd) attempts += " " + k + ":" + pinned;
  for (const std::string& k : by_path) attempts += " " + k + ":" + free;
  for (const std::string& k : by_fd) attempts += " " + k + ":" + free;
  CmdResult r = Attack(attempts);
  EXPECT_EQ(r.status, 0) << r.out;
  for (const std::string& k : by_path) {
    EXPECT_NE(r.out.find(k + ":" + key_ + " -> errno 13"), std::string::npos) << k << "\n" << r.out;
    EXPECT_NE(r.out.find(k + ":" + pinned + " -> errno 13"), std::string::npos) << k << "\n" << r.out;
    EXPECT_NE(r.out.find(k + ":" + free + " -> ok"), std::string::npos) << k << "\n" << r.out;
  }
  for (const std::string& k : by_fd) {
    EXPECT_NE(r.out.find(k + ":" + pinned + " -> errno 13"), std::string::npos) << k << "\n" << r.out;
    EXPECT_NE(r.out.find(k + ":" + free + " -> ok"), std::string::npos) << k << "\n" << r.out;
  }
  EXPECT_EQ(mtime(key_), key_mtime);
  EXPECT_EQ(mtime(pinned), pinned_mtime);
  EXPECT_EQ(xattr(key_), "keep");
  EXPECT_EQ(xattr(pinned), "keep");
  EXPECT_EQ(mtime(free), 1000000000L);
  EXPECT_EQ(xattr(free), "x");
  // Each denied call is on record as a file.chmod saying which metadata (flags above bit 32, the
  // attribute's name in path2), with the result the agent got.
  std::multiset<std::string> refused;
  for (const Json& e : LastSession()) {
    if (e["kind"] == "file.chmod" && e.value("result", 0) == -13) {
      const uint64_t what = e.value("flags", uint64_t{0}) >> 32;
      std::string name = e.value("path2", "");
      refused.insert(std::to_string(what) + " " + (name.empty() ? "" : name + " ") + e.value("path", ""));
    }
  }
  // 1: times, 2: xattr set, 4: xattr remove.
  const std::map<std::string, std::string> meta = {{"utimensat", "1 "}, {"utimes", "1 "},
                                                   {"setxattr", "2 user.agenttrace "},
                                                   {"removexattr", "4 user.agenttrace "},
                                                   {"setxattrat", "2 user.agenttrace "}, {"futimens", "1 "},
                                                   {"fsetxattr", "2 user.agenttrace "}};
  std::multiset<std::string> expected;
  for (const std::string& k : by_path) expected.insert({meta.at(k) + key_, meta.at(k) + pinned});
  for (const std::string& k : by_fd) expected.insert(meta.at(k) + pinned);
  EXPECT_EQ(refused, expected);
  // Replay under the same policy decides every one of them the same.
  Sh(std::string("'") + AGENTTRACE_BIN + "' replay --store '" + store_ + "' --policy '" + policy_ + "' --json '" +
     dir_ + "/report.json'");
  std::ifstream in(dir_ + "/report.json");
  Json report = Json::parse(in, nullptr, false);
  ASSERT_TRUE(report.is_object());
  const Json& rd = report["sessions"].back()["request_decisions"];
  EXPECT_GT(rd["recorded"].get<int>(), 12);
  EXPECT_EQ(rd["same"], rd["recorded"]) << rd.dump();
  EXPECT_TRUE(rd["different"].empty()) << rd.dump();
}

// A real program: `touch -d` of a file the policy denies writing fails and leaves its mtime alone
// (touch's own open for writing is denied first, then its utimensat of the path).
TEST_F(EnforceAttackTest, TouchOfADeniedFileLeavesItsTimesAlone) {
  struct stat before {};
  ASSERT_EQ(::stat(key_.c_str(), &before), 0);
  std::ofstream(ws_ + "/free.txt") << "free\n";
  CmdResult r = Sh("cd '" + ws_ + "' && env HOME='" + home_ + "' CI=1 timeout -s KILL 60 '" + AGENTTRACE_BIN +
                   "' run --store '" + store_ + "' --policy '" + policy_ + "' -- sh -c 'touch -d @1000000000 " +
                   key_ + "; echo key=$?; touch -d @1000000000 free.txt; echo free=$?' 2>&1");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("key=1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("free=0"), std::string::npos) << r.out;
  struct stat after {};
  ASSERT_EQ(::stat(key_.c_str(), &after), 0);
  EXPECT_EQ(after.st_mtime, before.st_mtime);
  ASSERT_EQ(::stat((ws_ + "/free.txt").c_str(), &after), 0);
  EXPECT_EQ(after.st_mtime, 1000000000);
  int utimensat_denied = 0;
  for (const Json& e : LastSession()) {
    utimensat_denied += e["kind"] == "file.chmod" && e.value("flags", uint64_t{0}) == (uint64_t{1} << 32) &&
                        e.value("path", "") == key_ && e.value("result", 0) == -13;
  }
  EXPECT_EQ(utimensat_denied, 1);
}

// io_uring operations never pass a syscall stop, so under enforce a ring would be an undecided path
// to every file: `run --mode enforce` refuses --allow-io-uring rather than let rings through.
TEST_F(EnforceAttackTest, AllowIoUringIsRefusedUnderEnforce) {
  const std::string marker = dir_ + "/outside/ran";
  CmdResult r = Sh("cd '" + ws_ + "' && env HOME='" + home_ + "' CI=1 timeout -s KILL 60 '" + AGENTTRACE_BIN +
                   "' run --allow-io-uring --store '" + store_ + "' --policy '" + policy_ + "' -- touch '" + marker +
                   "' 2>&1");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("--allow-io-uring cannot be enforced"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(marker));  // the agent never started
  CmdResult audit = Sh("cd '" + ws_ + "' && env HOME='" + home_ + "' CI=1 timeout -s KILL 60 '" + AGENTTRACE_BIN +
                       "' run --mode audit --allow-io-uring --store '" + store_ + "' --policy '" + policy_ +
                       "' -- true 2>&1");
  EXPECT_EQ(audit.status, 0) << audit.out;  // audit blocks nothing anyway
}

}  // namespace
}  // namespace agenttrace::e2e
