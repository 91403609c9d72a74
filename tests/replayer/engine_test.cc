#include "replayer/engine.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "tests/replayer/test_util.h"

namespace agenttrace {
namespace {

using testing::Connect;
using testing::Exec;
using testing::Harness;
using testing::Open;
using testing::Simple;
using testing::ToolCall;

const char* kBase = R"(
version: 1
default: deny
secrets: ["~/.ssh/**", "~/.aws/**", "**/.env"]
rules:
  - {id: ws-all, decision: allow, class: [file.read, file.write, file.delete], paths: ["${workspace}/**"]}
  - {id: tmp-all, decision: allow, class: [file.read, file.write, file.delete], paths: ["${tmp}/**"]}
  - {id: sys-read, decision: allow, class: file.read, paths: ["/usr/**", "/etc/*.conf"]}
  - {id: ask-git, decision: ask, class: file.write, paths: ["${workspace}/.git/**"]}
  - {id: no-ssh, decision: deny, class: [file.read, file.write], paths: ["~/.ssh/**"]}
)";

TEST(EngineTest, GlobAndDefault) {
  Harness h(kBase);
  EXPECT_EQ(h.Decide(Open("/home/u/proj/src/main.c")), "allow:ws-all");
  EXPECT_EQ(h.Decide(Open("/usr/lib/x86_64-linux-gnu/libc.so.6")), "allow:sys-read");
  EXPECT_EQ(h.Decide(Open("/etc/resolv.conf")), "allow:sys-read");
  EXPECT_EQ(h.Decide(Open("/etc/ssl/openssl.conf")), "deny:default");  // `*` does not cross '/'
  EXPECT_EQ(h.Decide(Open("/var/log/syslog")), "deny:default");
  EXPECT_EQ(h.Decide(Open("/usr/bin/x", O_WRONLY)), "deny:default");  // sys-read is only file.read
}

TEST(EngineTest, DenyWinsOverAskWinsOverAllow) {
  Harness h(kBase);
  EXPECT_EQ(h.Decide(Open("/home/u/proj/.git/HEAD", O_WRONLY | O_TRUNC)), "ask:ask-git");
  EXPECT_EQ(h.Decide(Open("/home/u/proj/.git/HEAD")), "allow:ws-all");  // ask-git is file.write only
  Harness h2(R"(
version: 1
default: allow
rules:
  - {id: a, decision: allow, paths: ["/x/**"]}
  - {id: b, decision: ask, paths: ["/x/**"]}
  - {id: c, decision: deny, paths: ["/x/y/**"]}
  - {id: d, decision: ask, paths: ["/x/y/**"]}
)");
  EXPECT_EQ(h2.Decide(Open("/x/a")), "ask:b");
  EXPECT_EQ(h2.Decide(Open("/x/y/z")), "deny:c");
  EXPECT_EQ(h2.Decide(Open("/elsewhere")), "allow:default");
}

TEST(EngineTest, SecretReadFromFileIsTwoClasses) {
  Harness h(kBase);
  EventVerdict v = h.Eval(Open("/home/u/.aws/credentials"));
  ASSERT_TRUE(v.evaluated);
  std::vector<ActionClass> classes;
  for (const Action& a : h.evaluator().actions()) classes.push_back(a.cls);
  EXPECT_EQ(classes, (std::vector<ActionClass>{ActionClass::kFileRead, ActionClass::kSecretRead}));
  EXPECT_EQ(v.decision, Decision::kDeny);
}

TEST(EngineTest, SymlinkInsideWorkspaceToSshIsDenied) {
  Harness h(kBase);
  // The name is in the workspace (allowed) but the target is ~/.ssh: deny.
  EXPECT_EQ(h.Decide(Open("/home/u/proj/innocent", O_RDONLY, 3, "/home/u/.ssh/id_rsa")), "deny:no-ssh");
  // Target outside every allow rule: the default decides (allow on the link name alone is not enough).
  EXPECT_EQ(h.Decide(Open("/home/u/proj/link", O_RDONLY, 3, "/var/secret/db")), "deny:default");
  // A link outside the workspace to a workspace file: the resolved path is allowed.
  EXPECT_EQ(h.Decide(Open("/home/u/other/link", O_RDONLY, 3, "/home/u/proj/a.c")), "allow:ws-all");
  // A deny on the name as written still counts even if the target is allowed.
  EXPECT_EQ(h.Decide(Open("/home/u/.ssh/config", O_RDONLY, 3, "/home/u/proj/a.c")), "deny:no-ssh");
}

TEST(EngineTest, DotDotIsNormalisedDefensively) {
  Harness h(kBase);
  EXPECT_EQ(h.Decide(Open("/home/u/proj/../.ssh/id_rsa")), "deny:no-ssh");
  EXPECT_EQ(h.Decide(Open("/home/u/proj/src/../../proj/x")), "allow:ws-all");
  EXPECT_EQ(h.Decide(Open("/home/u/proj//./a")), "allow:ws-all");
}

TEST(EngineTest, VariablesComeFromTheSession) {
  Harness h(kBase, PathVars{"/srv/ws", "/root", "/var/tmp"});
  EXPECT_EQ(h.Decide(Open("/srv/ws/a")), "allow:ws-all");
  EXPECT_EQ(h.Decide(Open("/var/tmp/tmp.x1")), "allow:tmp-all");
  EXPECT_EQ(h.Decide(Open("/tmp/tmp.x1")), "deny:default");
  EXPECT_EQ(h.Decide(Open("/root/.ssh/id_ed25519")), "deny:no-ssh");
}

TEST(EngineTest, FileEventKindsMapToClasses) {
  Harness h(R"(
version: 1
default: allow
rules:
  - {id: w, decision: deny, class: file.write, paths: ["/w/**"]}
  - {id: d, decision: ask, class: file.delete, paths: ["/d/**"]}
)");
  EXPECT_EQ(h.Decide(Simple(EventKind::kFileCreate, "/w/a")), "deny:w");
  EXPECT_EQ(h.Decide(Simple(EventKind::kFileChmod, "/w/a")), "deny:w");
  EXPECT_EQ(h.Decide(Simple(EventKind::kFileChown, "/w/a")), "deny:w");
  EXPECT_EQ(h.Decide(Simple(EventKind::kFileTruncate, "/w/a")), "deny:w");
  EXPECT_EQ(h.Decide(Simple(EventKind::kFileMkdir, "/w/a")), "deny:w");
  EXPECT_EQ(h.Decide(Open("/w/a", O_RDONLY | O_CREAT)), "deny:w");
  EXPECT_EQ(h.Decide(Open("/w/a", O_RDONLY)), "allow:default");
  EXPECT_EQ(h.Decide(Simple(EventKind::kFileDelete, "/d/a")), "ask:d");
  EXPECT_EQ(h.Decide(Simple(EventKind::kFileRmdir, "/d/a")), "ask:d");
  EXPECT_EQ(h.Decide(Simple(EventKind::kFileRename, "/d/a", "/x/b")), "ask:d");  // source deleted
  EXPECT_EQ(h.Decide(Simple(EventKind::kFileRename, "/x/a", "/w/b")), "deny:w");  // target written
  EXPECT_EQ(h.Decide(Simple(EventKind::kFileLink, "/x/a", "/w/b")), "deny:w");
  EXPECT_EQ(h.Decide(Simple(EventKind::kFileSymlink, "/etc/passwd", "/w/b")), "deny:w");
  EXPECT_EQ(h.Decide(Simple(EventKind::kProcExit, "")), "not-evaluated");
}

// A link or rename gives the source's content a name the source's rules do not cover; an exchange
// swaps two files. (Each was a route around a deny under run --mode enforce.)
TEST(EngineTest, LinkAndRenameSourcesAndExchangesAreDecidedOnEveryNameTouched) {
  Harness h(R"(
version: 1
default: allow
rules:
  - {id: r, decision: deny, class: file.read, paths: ["/r/**"]}
  - {id: w, decision: deny, class: file.write, paths: ["/w/**"]}
  - {id: d, decision: deny, class: file.delete, paths: ["/d/**"]}
)");
  EXPECT_EQ(h.Decide(Simple(EventKind::kFileLink, "/r/key", "/x/k")), "deny:r");
  EXPECT_EQ(h.Decide(Simple(EventKind::kFileLink, "/w/conf", "/x/k")), "deny:w");
  EXPECT_EQ(h.Decide(Simple(EventKind::kFileRename, "/r/key", "/x/k")), "deny:r");
  Event link_through = Simple(EventKind::kFileLink, "/x/keys/key", "/x/k");
  link_through.resolved2 = "/r/key";  // the source as the kernel walks it
  EXPECT_EQ(h.Decide(link_through), "deny:r");
  Event exchange = Simple(EventKind::kFileRename, "/x/a", "/d/b");
  EXPECT_EQ(h.Decide(exchange), "allow:default");  // a plain rename only writes its target
  exchange.flags = 2;                              // RENAME_EXCHANGE: /d/b is removed from its place too
  EXPECT_EQ(h.Decide(exchange), "deny:d");
}

TEST(EngineTest, FailedAttemptsCountUnlessTheOptionSaysNo) {
  const char* yaml = R"(
version: 1
default: allow
secrets: ["~/.ssh/**"]
rules:
  - {id: no-secrets, decision: deny, class: secret.read}
)";
  Harness on(yaml);
  EXPECT_EQ(on.Decide(Open("/home/u/.ssh/id_rsa", O_RDONLY, -13)), "deny:no-secrets");
  Harness off(std::string(yaml) + "evaluate_failed: false\n");
  EXPECT_EQ(off.Decide(Open("/home/u/.ssh/id_rsa", O_RDONLY, -13)), "not-evaluated");
  EXPECT_EQ(off.Decide(Open("/home/u/.ssh/id_rsa", O_RDONLY, 3)), "deny:no-secrets");
  Harness only_failed(R"(
version: 1
default: allow
rules:
  - {id: failed-etc, decision: ask, paths: ["/etc/**"], failed: true}
)");
  EXPECT_EQ(only_failed.Decide(Open("/etc/shadow", O_RDONLY, -13)), "ask:failed-etc");
  EXPECT_EQ(only_failed.Decide(Open("/etc/hosts", O_RDONLY, 3)), "allow:default");
}

TEST(EngineTest, SecretEnvHandedToExec) {
  Harness h(R"(
version: 1
default: allow
rules:
  - {id: no-aws-env, decision: deny, class: secret.read, env: ["AWS_*"]}
  - {id: gh-env, decision: ask, class: secret.read, env: ["GH_TOKEN"]}
)");
  EXPECT_EQ(h.Decide(Exec("/usr/bin/curl", {"curl"}, {"AWS_SECRET_ACCESS_KEY"})), "deny:no-aws-env");
  EXPECT_EQ(h.Decide(Exec("/usr/bin/gh", {"gh"}, {"GH_TOKEN"})), "ask:gh-env");
  EXPECT_EQ(h.Decide(Exec("/usr/bin/ls", {"ls"})), "allow:default");
}

TEST(EngineTest, NotEnvExcludesVariables) {
  Harness h(R"(
version: 1
default: allow
rules:
  - {id: no-secret-env, decision: deny, class: secret.read, not_env: ["GH_TOKEN", "NPM_*"]}
)");
  EXPECT_EQ(h.Decide(Exec("/usr/bin/curl", {"curl"}, {"AWS_SECRET_ACCESS_KEY"})), "deny:no-secret-env");
  EXPECT_EQ(h.Decide(Exec("/usr/bin/gh", {"gh"}, {"GH_TOKEN"})), "allow:default");
  EXPECT_EQ(h.Decide(Exec("/usr/bin/npm", {"npm"}, {"NPM_TOKEN", "GH_TOKEN"})), "allow:default");
  EXPECT_EQ(h.Decide(Exec("/usr/bin/npm", {"npm"}, {"NPM_TOKEN", "OPENAI_API_KEY"})), "deny:no-secret-env");
}

// `unless` is met by any action of the same event: the secret.read of GH_TOKEN is excused by the exec
// action of gh in the same event.
TEST(EngineTest, UnlessLooksAtTheWholeEvent) {
  Harness h(R"(
version: 1
default: allow
rules:
  - id: gh-token-only-for-gh
    decision: deny
    class: secret.read
    env: ["GH_TOKEN"]
    unless: {class: exec, paths: ["/usr/bin/gh"]}
)");
  EXPECT_EQ(h.Decide(Exec("/usr/bin/gh", {"gh", "pr", "list"}, {"GH_TOKEN"})), "allow:default");
  EXPECT_EQ(h.Decide(Exec("/usr/bin/curl", {"curl"}, {"GH_TOKEN"})), "deny:gh-token-only-for-gh");
  // argv[0] is the caller's choice; the executable is not.
  EXPECT_EQ(h.Decide(Exec("/home/u/proj/bin/gh", {"gh"}, {"GH_TOKEN"})), "deny:gh-token-only-for-gh");
}

// A symlink named like the exception does not excuse its target: the action being decided is checked
// on the path the decision is about.
TEST(EngineTest, UnlessCannotBeMetByALinkName) {
  Harness h(R"(
version: 1
default: allow
rules:
  - id: no-ssh
    decision: deny
    class: file.read
    paths: ["~/.ssh/**"]
    unless: {paths: ["~/.ssh/known_hosts"]}
)");
  EXPECT_EQ(h.Decide(Open("/home/u/.ssh/known_hosts")), "allow:default");
  EXPECT_EQ(h.Decide(Open("/home/u/.ssh/id_rsa")), "deny:no-ssh");
  EXPECT_EQ(h.Decide(Open("/home/u/.ssh/known_hosts", O_RDONLY, 3, "/home/u/.ssh/id_rsa")), "deny:no-ssh");
}

// With `unless`, the outcome on a path depends on the event's other actions: it must not be cached
// per path.
TEST(EngineTest, UnlessOutcomeIsNotCachedPerPath) {
  Harness h(R"(
version: 1
default: allow
rules:
  - id: no-writes
    decision: deny
    class: file.write
    paths: ["${workspace}/**"]
    unless: {class: file.delete, paths: ["${workspace}/draft.txt"]}
)");
  EXPECT_EQ(h.Decide(Simple(EventKind::kFileRename, "/home/u/proj/draft.txt", "/home/u/proj/final.txt")),
            "allow:default");
  EXPECT_EQ(h.Decide(Open("/home/u/proj/final.txt", O_WRONLY | O_CREAT)), "deny:no-writes");
  EXPECT_EQ(h.Decide(Simple(EventKind::kFileRename, "/home/u/proj/other.txt", "/home/u/proj/final.txt")),
            "deny:no-writes");
}

// The plain-rule outcome of a net action is cached per class, failed, address, port and unix socket
// path: a second connect to the same address checks no rule, and every key component that a matcher
// can read gives its own entry.
TEST(EngineTest, NetOutcomeIsCachedPerAddress) {
  Harness h(R"(
version: 1
default: deny
rules:
  - {id: loopback, decision: allow, class: [net.connect, net.listen], hosts: ["127.0.0.1"]}
  - {id: admin-port, decision: ask, class: net.connect, hosts: ["127.0.0.1:8443"]}
  - {id: lan, decision: deny, class: net.connect, hosts: ["10.0.0.0/8"]}
  - {id: failed-connect, decision: ask, class: net.connect, hosts: ["10.0.0.0/8"], failed: true}
  - {id: docker, decision: deny, class: net.connect, paths: ["/run/docker.sock"]}
  - {id: sockets, decision: allow, class: net.connect, paths: ["/run/**"]}
  - {id: web, decision: allow, class: net.connect, hosts: ["*.example.com"]}
)");
  EXPECT_EQ(h.Decide(Connect("127.0.0.1", 80)), "allow:loopback");
  const uint64_t after_first = h.evaluator().plain_rule_checks();
  EXPECT_GT(after_first, 0u);
  EXPECT_EQ(h.Decide(Connect("127.0.0.1", 80)), "allow:loopback");
  EXPECT_EQ(h.evaluator().plain_rule_checks(), after_first);  // answered from the cache

  // Another port, failed or not, listen vs connect, another host: each decided afresh.
  EXPECT_EQ(h.Decide(Connect("127.0.0.1", 8443)), "ask:admin-port");
  EXPECT_EQ(h.Decide(Connect("127.0.0.1", 80)), "allow:loopback");
  Event listen = Connect("127.0.0.1", 8443);
  listen.kind = EventKind::kNetListen;
  EXPECT_EQ(h.Decide(listen), "allow:loopback");
  EXPECT_EQ(h.Decide(Connect("10.1.2.3", 22)), "deny:lan");
  Event refused = Connect("10.1.2.3", 22);
  refused.result = -ECONNREFUSED;
  EXPECT_EQ(h.Decide(refused), "deny:lan");  // deny wins over the failed-only ask ...
  Event refused_v6 = Connect("::1", 22, AF_INET6);
  refused_v6.result = -ECONNREFUSED;
  EXPECT_EQ(h.Decide(refused_v6), "deny:default");
  EXPECT_EQ(h.Decide(Connect("10.1.2.3", 22)), "deny:lan");  // ... and the success is its own entry
  EXPECT_EQ(h.Decide(Connect("api.example.com", 443)), "allow:web");
  EXPECT_EQ(h.Decide(Connect("API.example.com", 443)), "allow:web");

  Event docker = Connect("", 0, AF_UNIX);
  docker.path = "/run/docker.sock";
  Event other = Connect("", 0, AF_UNIX);
  other.path = "/run/user.sock";
  EXPECT_EQ(h.Decide(docker), "deny:docker");
  EXPECT_EQ(h.Decide(other), "allow:sockets");
  const uint64_t before_repeat = h.evaluator().plain_rule_checks();
  EXPECT_EQ(h.Decide(docker), "deny:docker");
  EXPECT_EQ(h.Decide(other), "allow:sockets");
  EXPECT_EQ(h.Decide(refused), "deny:lan");
  EXPECT_EQ(h.evaluator().plain_rule_checks(), before_repeat);
}

// The cache changes no decision: a stream of varied net requests, each repeated, is decided as an
// evaluator that explains (and so never caches) decides it.
TEST(EngineTest, NetOutcomeCacheAgreesWithUncachedEvaluation) {
  const char* yaml = R"(
version: 1
default: ask
rules:
  - {id: lo, decision: allow, class: [net.connect, net.listen], hosts: ["127.0.0.1", "[::1]:8000-8999"]}
  - {id: lan, decision: deny, class: net.connect, hosts: ["10.0.0.0/8"], ports: ["22", "3389"]}
  - {id: lan-any, decision: ask, class: net.connect, hosts: ["10.0.0.0/8"]}
  - {id: not-web, decision: deny, class: net.connect, not_hosts: ["*.example.com", "10.0.0.0/8", "127.0.0.1"]}
  - {id: ok-fail, decision: allow, class: net.connect, failed: true}
  - {id: sock, decision: deny, class: [net.connect, net.listen], paths: ["/tmp/**"]}
)";
  Harness cached(yaml);
  Harness plain(yaml);
  std::vector<Event> stream;
  const char* hosts[] = {"127.0.0.1", "::1", "10.0.0.5", "10.200.1.1", "a.example.com", "8.8.8.8"};
  for (int round = 0; round < 2; ++round) {
    for (const char* host : hosts) {
      for (uint16_t port : {22, 443, 8080}) {
        for (bool failed : {false, true}) {
          for (EventKind kind : {EventKind::kNetConnect, EventKind::kNetListen}) {
            Event e =
                Connect(host, port, std::string_view(host).find(':') != std::string_view::npos ? AF_INET6 : AF_INET);
            e.kind = kind;
            if (failed) e.result = -ECONNREFUSED;
            stream.push_back(e);
          }
        }
      }
    }
    for (const char* path : {"/tmp/x.sock", "/run/y.sock"}) {
      Event e = Connect("", 0, AF_UNIX);
      e.path = path;
      stream.push_back(e);
    }
  }
  for (const Event& e : stream) {
    EventVerdict a = cached.Eval(e);
    std::vector<std::string> explain;
    EventVerdict b = plain.evaluator().Evaluate(e, &explain);
    ASSERT_EQ(a.evaluated, b.evaluated) << DescribeEvent(e);
    EXPECT_EQ(DecisionName(a.decision), DecisionName(b.decision)) << DescribeEvent(e);
    EXPECT_EQ(a.rule, b.rule) << DescribeEvent(e);
  }
  // The second round was answered from the cache.
  EXPECT_LT(cached.evaluator().plain_rule_checks(), plain.evaluator().plain_rule_checks());
}

// The example of docs/policy.md ("Secrets"), read from the documentation itself so that the two
// cannot drift apart: GH_TOKEN is allowed for gh and denied for anything else, other secrets denied.
TEST(EngineTest, DocsGhTokenForGhExample) {
  std::ifstream in(std::string(AGENTTRACE_DOCS_DIR) + "/policy.md");
  ASSERT_TRUE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  size_t id = doc.find("id: gh-token-for-gh");
  ASSERT_NE(id, std::string::npos);
  size_t start = doc.rfind("```yaml\n", id);
  size_t end = doc.find("```", id);
  ASSERT_NE(start, std::string::npos);
  ASSERT_NE(end, std::string::npos);
  Harness h(doc.substr(start + 8, end - start - 8));
  EXPECT_EQ(h.Decide(Exec("/usr/bin/gh", {"gh", "pr", "list"}, {"GH_TOKEN"})), "allow:gh-token-for-gh");
  EXPECT_EQ(h.Decide(Exec("/usr/local/bin/gh", {"gh"}, {"GH_TOKEN"})), "allow:gh-token-for-gh");
  EXPECT_EQ(h.Decide(Exec("/usr/bin/curl", {"curl", "-H", "x"}, {"GH_TOKEN"})), "deny:gh-token-only-for-gh");
  EXPECT_EQ(h.Decide(Exec("/home/u/proj/gh", {"gh"}, {"GH_TOKEN"})), "deny:gh-token-only-for-gh");
  EXPECT_EQ(h.Decide(Exec("/usr/bin/gh", {"gh"}, {"GH_TOKEN", "AWS_SECRET_ACCESS_KEY"})), "deny:no-secrets");
  EXPECT_EQ(h.Decide(Open("/home/u/.ssh/id_rsa")), "deny:no-secrets");
}

TEST(EngineTest, ExecPathAndArgv) {
  Harness h(R"(
version: 1
default: allow
rules:
  - {id: no-force-push, decision: deny, class: exec, paths: ["**/git"], argv: ["git push*--force*", "git push*-f*"]}
  - {id: ask-curl, decision: ask, class: exec, paths: ["/usr/bin/{curl,wget}"]}
)");
  EXPECT_EQ(h.Decide(Exec("/usr/bin/git", {"git", "push", "--force", "origin"})), "deny:no-force-push");
  EXPECT_EQ(h.Decide(Exec("/usr/bin/git", {"git", "push", "origin"})), "allow:default");
  EXPECT_EQ(h.Decide(Exec("/usr/bin/wget", {"wget", "x"})), "ask:ask-curl");
}

TEST(EngineTest, NetworkCidrPortsAndUnixSockets) {
  Harness h(R"(
version: 1
default: deny
lists:
  allowed: ["10.0.0.0/8:443", "[::1]:8000-8999", "127.0.0.1"]
rules:
  - {id: ok-hosts, decision: allow, class: net.connect, hosts: $allowed}
  - {id: ok-dns, decision: allow, class: net.connect, ports: ["53"]}
  - {id: docker, decision: ask, class: net.connect, paths: ["/var/run/docker.sock"]}
  - {id: listen, decision: ask, class: net.listen}
)");
  EXPECT_EQ(h.Decide(Connect("10.2.3.4", 443)), "allow:ok-hosts");
  EXPECT_EQ(h.Decide(Connect("10.2.3.4", 80)), "deny:default");
  EXPECT_EQ(h.Decide(Connect("::1", 8080, AF_INET6)), "allow:ok-hosts");
  EXPECT_EQ(h.Decide(Connect("::1", 9000, AF_INET6)), "deny:default");
  EXPECT_EQ(h.Decide(Connect("127.0.0.1", 1)), "allow:ok-hosts");
  EXPECT_EQ(h.Decide(Connect("8.8.8.8", 53)), "allow:ok-dns");
  Event unix_sock = Connect("", 0, AF_UNIX);
  unix_sock.path = "/var/run/docker.sock";
  EXPECT_EQ(h.Decide(unix_sock), "ask:docker");
  Event bind = Connect("0.0.0.0", 8080);
  bind.kind = EventKind::kNetBind;
  EXPECT_EQ(h.Decide(bind), "ask:listen");
  Event send = Connect("1.1.1.1", 53);
  send.kind = EventKind::kNetSend;
  EXPECT_EQ(h.Decide(send), "allow:ok-dns");  // sendto with an address is a connect
  Event plain_send = Connect("", 0);
  plain_send.kind = EventKind::kNetSend;
  EXPECT_EQ(h.Decide(plain_send), "not-evaluated");
}

TEST(EngineTest, ToolNameServerAndArgumentMatchers) {
  Harness h(R"(
version: 1
default: allow
rules:
  - id: no-etc-writes
    decision: deny
    class: tool.call
    tools: ["write_*", "edit_file"]
    args: [{pointer: /path, glob: "/etc/**"}]
  - id: ask-big
    decision: ask
    class: tool.call
    servers: ["fs"]
    args: [{pointer: /options/count, regex: "[0-9]{4,}"}]
)");
  EXPECT_EQ(h.Decide(ToolCall("write_file", R"({"path":"/etc/passwd"})")), "deny:no-etc-writes");
  EXPECT_EQ(h.Decide(ToolCall("write_file", R"({"path":"/home/u/x"})")), "allow:default");
  EXPECT_EQ(h.Decide(ToolCall("read_file", R"({"path":"/etc/passwd"})")), "allow:default");
  EXPECT_EQ(h.Decide(ToolCall("list", R"({"options":{"count":12345}})", "fs")), "ask:ask-big");
  EXPECT_EQ(h.Decide(ToolCall("list", R"({"options":{"count":12345}})", "other")), "allow:default");
  // Arguments that cannot be read meet a deny rule's `args` (fail closed; see below).
  EXPECT_EQ(h.Decide(ToolCall("write_file", "not json")), "deny:no-etc-writes");
}

// A stored tool call from anywhere (not only our bounded producers) must not crash replay: the
// matcher would serialise the value at /path recursively.
TEST(EngineTest, DeeplyNestedArgumentsAreNotJsonToTheMatcherAndDoNotCrash) {
  Harness h(R"(
version: 1
default: allow
rules:
  - {id: no-etc, decision: deny, class: tool.call, args: [{pointer: /path, glob: "/etc/**"}]}
  - {id: any-path, decision: ask, class: tool.call, args: [{pointer: /path, regex: ".*"}]}
)");
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  // Arguments that cannot be examined meet the deny rule's condition: fail closed.
  EXPECT_EQ(h.Decide(ToolCall("write_file", R"({"path":)" + deep + "}")), "deny:no-etc");
  EXPECT_EQ(h.Decide(ToolCall("write_file", R"({"path":)" + std::string(200, '[') + std::string(200, ']') + "}")),
            "ask:any-path");
}

// An agent that pads a tool call past the recorder's argument bound (stored as size + hash) must not
// slip it past an `args` deny rule; an allow rule must not allow what it cannot see.
TEST(EngineTest, TruncatedArgumentsMeetDenyAndAskConditionsButNeverAllowOnes) {
  Harness h(R"(
version: 1
default: ask
rules:
  - {id: ws-writes, decision: allow, class: tool.call, tools: [write_file], args: [{pointer: /path, glob: "/srv/ws/**"}]}
  - {id: no-etc, decision: deny, class: tool.call, tools: [write_file], args: [{pointer: /path, glob: "/etc/**"}]}
)");
  std::string marker = R"({"truncated":true,"size":2000000,"blake2b":"00ff"})";
  EXPECT_EQ(h.Decide(ToolCall("write_file", marker)), "deny:no-etc");
  EXPECT_EQ(h.Decide(ToolCall("write_file", "not json")), "deny:no-etc");
  EXPECT_EQ(h.Decide(ToolCall("write_file", R"({"path":"/srv/ws/a.txt"})")), "allow:ws-writes");
  EXPECT_EQ(h.Decide(ToolCall("write_file", R"({"path":"/etc/passwd"})")), "deny:no-etc");
  // A call without arguments is known to have none: no value at /path, neither rule applies.
  EXPECT_EQ(h.Decide(ToolCall("write_file", "")), "ask:default");
  Harness allow_only(R"(
version: 1
default: deny
rules:
  - {id: ws-writes, decision: allow, class: tool.call, tools: [write_file], args: [{pointer: /path, glob: "/srv/ws/**"}]}
)");
  EXPECT_EQ(allow_only.Decide(ToolCall("write_file", marker)), "deny:default");
}

TEST(EngineTest, EscapesAreEvaluated) {
  Harness h("version: 1\ndefault: allow\nrules:\n  - {id: esc, decision: deny, class: process.escape, text: [\"io_uring*\"]}\n");
  Event e = Simple(EventKind::kEscape, "");
  e.text = "io_uring_setup";
  EXPECT_EQ(h.Decide(e), "deny:esc");
  e.text = "ptrace";
  EXPECT_EQ(h.Decide(e), "allow:default");
}

const char* kSeq = R"(
version: 1
default: allow
secrets: ["~/.aws/**"]
lists:
  allowed_hosts: ["10.0.0.0/8"]
rules:
  - id: exfil
    decision: deny
    sequence:
      steps:
        - {class: secret.read}
        - {class: net.connect, not_hosts: $allowed_hosts}
      within: {events: 5}
)";

TEST(SequenceTest, WithinNEventsBoundary) {
  Harness h(kSeq);
  Event secret = Open("/home/u/.aws/credentials");
  secret.seq = 10;
  secret.pid = 1;
  EXPECT_EQ(h.Decide(secret), "allow:default");
  Event c = Connect("1.2.3.4", 443);
  c.seq = 15;  // exactly 5 events later: fires
  c.pid = 2;   // another process of the same session
  EXPECT_EQ(h.Decide(c), "deny:exfil");
  Harness h2(kSeq);
  secret.seq = 10;
  EXPECT_EQ(h2.Decide(secret), "allow:default");
  c.seq = 16;  // 6 events later: too late
  EXPECT_EQ(h2.Decide(c), "allow:default");
}

TEST(SequenceTest, AllowedHostDoesNotFireAndOrderMatters) {
  Harness h(kSeq);
  EXPECT_EQ(h.Decide(Connect("1.2.3.4", 443)), "allow:default");  // connect before the secret read
  EXPECT_EQ(h.Decide(Open("/home/u/.aws/credentials")), "allow:default");
  EXPECT_EQ(h.Decide(Connect("10.1.1.1", 443)), "allow:default");  // allowed host
  EXPECT_EQ(h.Decide(Connect("1.2.3.4", 443)), "deny:exfil");
}

TEST(SequenceTest, WithinSecondsBoundary) {
  const char* yaml = R"(
version: 1
default: allow
rules:
  - id: write-then-run
    decision: deny
    sequence:
      steps:
        - {class: file.write, paths: ["/tmp/**"]}
        - {class: exec}
      within: {seconds: 2}
      same_resource: true
)";
  Harness h(yaml);
  Event w = Open("/tmp/payload", O_WRONLY | O_CREAT);
  w.mono_ns = 1000000000;
  EXPECT_EQ(h.Decide(w), "allow:default");
  Event other = Exec("/tmp/other", {"other"});
  other.mono_ns = 1500000000;
  EXPECT_EQ(h.Decide(other), "allow:default");  // a different path: not bound
  Event run = Exec("/tmp/payload", {"payload"});
  run.mono_ns = 3000000000;  // exactly 2 s later
  EXPECT_EQ(h.Decide(run), "deny:write-then-run");
  Harness h2(yaml);
  w.mono_ns = 1000000000;
  EXPECT_EQ(h2.Decide(w), "allow:default");
  run.mono_ns = 3000000001;  // 1 ns too late
  EXPECT_EQ(h2.Decide(run), "allow:default");
}

TEST(SequenceTest, ThreeSteps) {
  Harness h(R"(
version: 1
default: allow
rules:
  - id: three
    decision: ask
    sequence:
      steps: [{class: exec, paths: ["**/a"]}, {class: exec, paths: ["**/b"]}, {class: exec, paths: ["**/c"]}]
)");
  EXPECT_EQ(h.Decide(Exec("/bin/c", {})), "allow:default");
  EXPECT_EQ(h.Decide(Exec("/bin/a", {})), "allow:default");
  EXPECT_EQ(h.Decide(Exec("/bin/c", {})), "allow:default");  // b has not happened yet
  EXPECT_EQ(h.Decide(Exec("/bin/b", {})), "allow:default");
  EXPECT_EQ(h.Decide(Exec("/bin/c", {})), "ask:three");
}

TEST(BudgetTest, PerSessionBoundary) {
  Harness h(R"(
version: 1
default: allow
rules:
  - {id: three-execs, decision: deny, class: exec, budget: {max: 3}}
)");
  EXPECT_EQ(h.Decide(Exec("/bin/a", {})), "allow:default");
  EXPECT_EQ(h.Decide(Open("/x")), "allow:default");  // not counted
  EXPECT_EQ(h.Decide(Exec("/bin/a", {})), "allow:default");
  EXPECT_EQ(h.Decide(Exec("/bin/a", {})), "allow:default");  // the 3rd: still within budget
  EXPECT_EQ(h.Decide(Exec("/bin/a", {})), "deny:three-execs");  // the 4th
  EXPECT_EQ(h.Decide(Exec("/bin/a", {})), "deny:three-execs");
}

TEST(BudgetTest, SlidingWindowOfSeconds) {
  Harness h(R"(
version: 1
default: allow
rules:
  - {id: rate, decision: ask, class: net.connect, budget: {max: 2, per: {seconds: 10}}}
)");
  auto at = [](int64_t s) {
    Event e = Connect("1.2.3.4", 80);
    e.mono_ns = s * 1000000000;
    return e;
  };
  EXPECT_EQ(h.Decide(at(1)), "allow:default");
  EXPECT_EQ(h.Decide(at(2)), "allow:default");
  EXPECT_EQ(h.Decide(at(3)), "ask:rate");       // 3 events in the window (-7 s, 3 s]
  EXPECT_EQ(h.Decide(at(12)), "allow:default");  // window (2 s, 12 s]: the events at 3 and 12
  EXPECT_EQ(h.Decide(at(13)), "allow:default");  // window (3 s, 13 s]: 12 and 13
  EXPECT_EQ(h.Decide(at(14)), "ask:rate");       // window (4 s, 14 s]: 12, 13 and 14

}

TEST(BudgetTest, SlidingWindowOfEvents) {
  Harness h(R"(
version: 1
default: allow
rules:
  - {id: burst, decision: deny, class: exec, budget: {max: 1, per: {events: 3}}}
)");
  Event a = Exec("/bin/a", {});
  a.seq = 1;
  EXPECT_EQ(h.Decide(a), "allow:default");
  a.seq = 3;  // seqs 1 and 3 are within the last 3 events
  EXPECT_EQ(h.Decide(a), "deny:burst");
  a.seq = 6;  // window (3, 6]: only this one
  EXPECT_EQ(h.Decide(a), "allow:default");
}

TEST(IrreversibleTest, MatchersAndRuleFlag) {
  Harness h(R"(
version: 1
default: allow
irreversible:
  - {class: file.delete, not_paths: ["${workspace}/**", "${tmp}/**"]}
  - {class: exec, paths: ["**/terraform"], argv: ["* apply*"]}
rules:
  - {id: push, decision: ask, class: exec, argv: ["git push*"], irreversible: true}
)");
  EXPECT_TRUE(h.Eval(Simple(EventKind::kFileDelete, "/home/u/notes.txt")).irreversible);
  EXPECT_FALSE(h.Eval(Simple(EventKind::kFileDelete, "/home/u/proj/build.o")).irreversible);
  EXPECT_FALSE(h.Eval(Simple(EventKind::kFileDelete, "/tmp/x")).irreversible);
  EXPECT_TRUE(h.Eval(Exec("/usr/bin/terraform", {"terraform", "apply", "-auto-approve"})).irreversible);
  EXPECT_FALSE(h.Eval(Exec("/usr/bin/terraform", {"terraform", "plan"})).irreversible);
  EXPECT_TRUE(h.Eval(Exec("/usr/bin/git", {"git", "push"})).irreversible);
  Event failed = Simple(EventKind::kFileDelete, "/home/u/notes.txt");
  failed.result = -2;  // nothing was deleted
  EXPECT_FALSE(h.Eval(failed).irreversible);
}

TEST(ExplainTest, NamesEveryRuleAndWhy) {
  Harness h(kBase);
  auto cp = CompiledPolicy::Compile(h.policy(), testing::TestVars());
  ASSERT_TRUE(cp.ok());
  SessionEvaluator ev(*cp);
  std::vector<std::string> lines;
  Event e = Open("/home/u/proj/link", O_RDONLY, 3, "/home/u/.ssh/id_rsa");
  e.seq = 7;
  ev.Evaluate(e, &lines);
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  EXPECT_NE(all.find("event 7: file.open /home/u/proj/link"), std::string::npos) << all;
  EXPECT_NE(all.find("rule no-ssh (deny, line 10:5): MATCH"), std::string::npos) << all;
  EXPECT_NE(all.find("rule sys-read (allow, line 8:5): no match: paths: no glob matches /home/u/.ssh/id_rsa"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("decision: deny by rule no-ssh"), std::string::npos) << all;
}

TEST(DescribeEventTest, EscapesControlCharacters) {
  Event e = Open("/a\nfake line\x1b[2J");
  std::string d = DescribeEvent(e);
  EXPECT_EQ(d.find('\n'), std::string::npos);
  EXPECT_EQ(d.find('\x1b'), std::string::npos);
  EXPECT_NE(d.find("\\x0a"), std::string::npos);
}

}  // namespace
}  // namespace agenttrace
