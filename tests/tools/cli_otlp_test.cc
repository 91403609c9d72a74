// `agenttrace export --format otlp` and `--otlp-endpoint` end to end: the built binary exports
// hand-written sessions (tests/tools/data), the output is validated against the official OTLP
// protobuf definitions (tests/mcp/node/otlp_validate.mjs, @opentelemetry/otlp-transformer's generated
// root), its spans are checked against the conventions docs/otlp.md names, and the POST path is checked
// against a receiver in this process (cpp-httplib).
#include <httplib.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/cli_run.h"

namespace agenttrace {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::ReadFile;
using testing::RunCli;
using testing::RunResult;

constexpr char kSessionId[] = "0190b5c4-8e1a-7abc-9def-0123456789ab";
constexpr char kToolsId[] = "0190b5c4-aaaa-7abc-9def-00000000a11a";

std::string DataPath(const std::string& name) { return std::string(AGENTTRACE_TEST_DATA) + "/" + name; }

std::string Describe(const RunResult& r) { return "exit " + std::to_string(r.exit_code) + "\nstderr: " + r.err; }

// The node binary from PATH; empty when there is none.
std::string FindNode() {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    fs::path p = fs::path(dir) / "node";
    if (!dir.empty() && ::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

std::vector<nlohmann::json> Lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

std::vector<nlohmann::json> Spans(const std::string& text) {
  std::vector<nlohmann::json> spans;
  for (const auto& l : Lines(text)) {
    for (const auto& rs : l["resourceSpans"]) {
      for (const auto& ss : rs["scopeSpans"]) {
        for (const auto& s : ss["spans"]) spans.push_back(s);
      }
    }
  }
  return spans;
}

// key -> the value object's single member ({"stringValue": "x"} -> "x", intValue strings stay strings).
std::map<std::string, nlohmann::json> Attributes(const nlohmann::json& holder) {
  std::map<std::string, nlohmann::json> out;
  for (const auto& a : holder.value("attributes", nlohmann::json::array())) out[a["key"]] = a["value"].begin().value();
  return out;
}

const nlohmann::json* SpanNamed(const std::vector<nlohmann::json>& spans, const std::string& name) {
  for (const auto& s : spans) {
    if (s["name"] == name) return &s;
  }
  return nullptr;
}

// A one-route OTLP/HTTP receiver on 127.0.0.1 that records what it is sent and answers `status`.
class Receiver {
 public:
  explicit Receiver(int status, std::string answer = "{}") : status_(status), answer_(std::move(answer)) {
    server_.Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      paths_.push_back(req.path);
      content_types_.push_back(req.get_header_value("Content-Type"));
      bodies_.push_back(req.body);
      res.status = status_;
      res.set_content(answer_, "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  std::vector<std::string> paths() {
    std::lock_guard<std::mutex> lock(mu_);
    return paths_;
  }
  std::vector<std::string> content_types() {
    std::lock_guard<std::mutex> lock(mu_);
    return content_types_;
  }
  std::vector<std::string> bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }

 private:
  int status_;
  std::string answer_;
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> paths_, content_types_, bodies_;
};

class CliOtlpTest : public testing::CliTestBase {
 protected:
  CliOtlpTest() : CliTestBase("agenttrace-otlp") {}
  void SetUp() override {
    CliTestBase::SetUp();
    for (const char* f : {"session.jsonl", "otlp_tools.jsonl"}) {
      RunResult r = Run({"import", "--store", store_, DataPath(f)});
      ASSERT_EQ(r.exit_code, 0) << Describe(r);
    }
  }
  RunResult Run(const std::vector<std::string>& args) { return RunCli(AGENTTRACE_BIN, args, dir_); }
  // Exports `id` as OTLP/JSON into a file and returns its text.
  std::string Export(const std::string& id, std::vector<std::string> extra = {}) {
    const std::string file = dir_ + "/" + id + ".otlp.jsonl";
    std::vector<std::string> args = {"export", "--store", store_, "--format", "otlp", "-o", file, id};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    return ReadFile(file);
  }
  // Runs the protobuf validator on `text`; returns its result.
  RunResult Validate(const std::string& text) {
    const std::string file = dir_ + "/to-validate.jsonl";
    std::ofstream(file, std::ios::binary) << text;
    const std::string node = FindNode();
    if (node.empty()) return RunResult{-1, "", "node is not on PATH (the OTLP validation needs it)"};
    return RunCli(node, {std::string(MCP_NODE_DIR) + "/otlp_validate.mjs", file}, dir_);
  }
};

TEST_F(CliOtlpTest, ExportPassesTheOfficialProtobufDefinitionsAndIsReproducible) {
  for (const char* id : {kSessionId, kToolsId}) {
    const std::string text = Export(id);
    RunResult v = Validate(text);
    EXPECT_EQ(v.exit_code, 0) << id << "\n" << v.out << v.err;
    EXPECT_THAT(v.out, HasSubstr("ok: "));
    EXPECT_EQ(Export(id), text) << "a second export of " << id << " differs";
  }
  // The validator itself rejects a field the definitions do not have and an id that is not hex.
  const std::string good = Export(kSessionId);
  std::string unknown = good;
  unknown.replace(unknown.find("\"kind\":"), 7, "\"bogus\":1,\"kind\":");
  RunResult u = Validate(unknown);
  EXPECT_EQ(u.exit_code, 1);
  EXPECT_THAT(u.err, HasSubstr("bogus: not in the OTLP definitions"));
  std::string base64_id = good;
  base64_id.replace(base64_id.find("\"spanId\":\"") + 10, 16, "AZC1xI4aerw=AAAA");
  EXPECT_EQ(Validate(base64_id).exit_code, 1);
}

TEST_F(CliOtlpTest, SessionProcessesAndToolCallsAreSpansOfOneTrace) {
  const std::string text = Export(kSessionId);
  auto spans = Spans(text);
  ASSERT_EQ(spans.size(), 4u) << text;
  for (const auto& s : spans) {
    EXPECT_EQ(s["traceId"], "0190b5c48e1a7abc9def0123456789ab");  // the session id's bytes
    EXPECT_TRUE(s["startTimeUnixNano"].is_string());
    EXPECT_TRUE(s["endTimeUnixNano"].is_string());
  }
  const nlohmann::json* root = SpanNamed(spans, "invoke_agent demo-agent");
  ASSERT_NE(root, nullptr) << text;
  EXPECT_FALSE(root->contains("parentSpanId"));
  EXPECT_EQ(Attributes(*root)["gen_ai.operation.name"], "invoke_agent");
  EXPECT_EQ((*root)["startTimeUnixNano"], "1767225600000000000");
  EXPECT_EQ((*root)["endTimeUnixNano"], "1767225602500000000");
  auto resource = Attributes(Lines(text)[0]["resourceSpans"][0]["resource"]);
  EXPECT_EQ(resource["service.name"], "demo-agent");
  EXPECT_EQ(resource["host.name"], "build-7");

  // The fork tree: pid 4250 (forked by 4242) is a child of 4242's span, which is a child of the root.
  const nlohmann::json *parent = nullptr, *child = nullptr;
  for (const auto& s : spans) {
    auto a = Attributes(s);
    if (a["process.pid"] == "4242") parent = &s;
    if (a["process.pid"] == "4250") child = &s;
  }
  ASSERT_NE(parent, nullptr);
  ASSERT_NE(child, nullptr);
  EXPECT_EQ((*parent)["parentSpanId"], (*root)["spanId"]);
  EXPECT_EQ((*child)["parentSpanId"], (*parent)["spanId"]);
  EXPECT_EQ((*child)["name"], "git");
  EXPECT_EQ(Attributes(*child)["process.parent_pid"], "4242");
  EXPECT_EQ(Attributes(*child)["process.exit.code"], "1");
  EXPECT_EQ((*child)["startTimeUnixNano"], "1767225600040000000");  // its fork in 4242
  EXPECT_EQ((*child)["endTimeUnixNano"], "1767225600090000000");    // its proc.exit

  // The MCP tool call: an MCP client span per the MCP conventions, compatible with execute_tool.
  const nlohmann::json* call = SpanNamed(spans, "tools/call read_file");
  ASSERT_NE(call, nullptr) << text;
  auto a = Attributes(*call);
  EXPECT_EQ((*call)["kind"], 3);  // SPAN_KIND_CLIENT
  EXPECT_EQ(a["mcp.method.name"], "tools/call");
  EXPECT_EQ(a["gen_ai.operation.name"], "execute_tool");
  EXPECT_EQ(a["gen_ai.tool.name"], "read_file");
  EXPECT_EQ(a["jsonrpc.request.id"], "7");
  EXPECT_EQ(a["mcp.session.id"].get<std::string>().size(), 16u);
  EXPECT_EQ((*call)["startTimeUnixNano"], "1767225600060000000");
  EXPECT_EQ((*call)["endTimeUnixNano"], "1767225600061500000");
  EXPECT_EQ((*call)["parentSpanId"], (*root)["spanId"]);
}

TEST_F(CliOtlpTest, HookToolCallsErrorsAndUnansweredCalls) {
  const std::string text = Export(kToolsId);
  auto spans = Spans(text);
  const nlohmann::json* root = SpanNamed(spans, "agenttrace.session");  // no agent name recorded
  ASSERT_NE(root, nullptr) << text;

  // A call reported by a Claude Code hook: an execute_tool span with the agent's call id.
  const nlohmann::json* bash = SpanNamed(spans, "execute_tool Bash");
  ASSERT_NE(bash, nullptr) << text;
  auto a = Attributes(*bash);
  EXPECT_EQ((*bash)["kind"], 1);  // SPAN_KIND_INTERNAL
  EXPECT_EQ(a["gen_ai.operation.name"], "execute_tool");
  EXPECT_EQ(a["gen_ai.tool.call.id"], "toolu_01ABC");  // unquoted JSON string id
  EXPECT_EQ(a.count("mcp.method.name"), 0u);
  EXPECT_EQ(a["error.type"], "tool_error");
  EXPECT_EQ((*bash)["status"]["code"], 2);

  // A JSON-RPC error answering tools/call: error.type is the code, the status message its message.
  const nlohmann::json* write = SpanNamed(spans, "tools/call write_file");
  ASSERT_NE(write, nullptr);
  a = Attributes(*write);
  EXPECT_EQ(a["jsonrpc.request.id"], "w-1");
  EXPECT_EQ(a["error.type"], "-32602");
  EXPECT_EQ(a["rpc.response.status_code"], "-32602");
  EXPECT_EQ((*write)["status"]["message"], "invalid params");

  // Other MCP requests and notifications are MCP client spans named by their method.
  ASSERT_NE(SpanNamed(spans, "initialize"), nullptr);
  ASSERT_NE(SpanNamed(spans, "notifications/initialized"), nullptr);
  EXPECT_EQ(Attributes(*SpanNamed(spans, "initialize"))["mcp.session.id"], Attributes(*write)["mcp.session.id"]);

  // A call never answered ends with the session and says so.
  const nlohmann::json* unanswered = SpanNamed(spans, "tools/call read_file");
  ASSERT_NE(unanswered, nullptr);
  EXPECT_THAT(Attributes(*unanswered)["agenttrace.unmatched"].get<std::string>(), HasSubstr("no answer"));

  // The gap is a span event on the process it was recorded in.
  const nlohmann::json* claude = SpanNamed(spans, "claude");
  ASSERT_NE(claude, nullptr);
  ASSERT_TRUE(claude->contains("events"));
  bool gap = false;
  for (const auto& e : (*claude)["events"]) gap = gap || e["name"] == "agenttrace.gap";
  EXPECT_TRUE(gap) << claude->dump();
}

TEST_F(CliOtlpTest, PolicyDecisionsAreSpanEventsOnTheDecidedSpan) {
  const std::string policy = dir_ + "/policy.yaml";
  std::ofstream(policy) << "version: 1\ndefault: allow\nrules:\n"
                           "  - id: no-home-delete\n    decision: deny\n    class: file.delete\n"
                           "    paths: [\"/home/dev/.*\"]\n"
                           "  - id: ask-write-tool\n    decision: ask\n    class: tool.call\n"
                           "    tools: [\"write_file\"]\n";
  const std::string without = Export(kToolsId);
  const std::string text = Export(kToolsId, {"--policy", policy});
  EXPECT_EQ(without.find("agenttrace.policy.decision"), std::string::npos);
  EXPECT_EQ(Validate(text).exit_code, 0);
  auto spans = Spans(text);
  auto decisions = [](const nlohmann::json* s) {
    std::vector<std::map<std::string, nlohmann::json>> out;
    for (const auto& e : s->value("events", nlohmann::json::array())) {
      if (e["name"] == "agenttrace.policy.decision") out.push_back(Attributes(e));
    }
    return out;
  };
  const nlohmann::json* make = SpanNamed(spans, "make");
  ASSERT_NE(make, nullptr) << text;
  auto d = decisions(make);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0]["agenttrace.policy.decision"], "deny");
  EXPECT_EQ(d[0]["agenttrace.policy.rule"], "no-home-delete");
  EXPECT_EQ(d[0]["agenttrace.event.seq"], "4");
  EXPECT_EQ(d[0]["agenttrace.event.kind"], "file.delete");
  d = decisions(SpanNamed(spans, "tools/call write_file"));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0]["agenttrace.policy.decision"], "ask");

  // A policy that cannot be read writes nothing.
  const std::string not_written = dir_ + "/none.jsonl";
  RunResult bad = Run({"export", "--store", store_, "--format", "otlp", "--policy", dir_ + "/missing.yaml", "-o",
                       not_written, kToolsId});
  EXPECT_EQ(bad.exit_code, 2) << Describe(bad);
  EXPECT_FALSE(fs::exists(not_written));
}

TEST_F(CliOtlpTest, EndpointReceivesEachLineAsAPostToV1Traces) {
  Receiver receiver(200);
  const std::string url = "http://127.0.0.1:" + std::to_string(receiver.port());
  RunResult r = Run({"export", "--store", store_, "--format", "otlp", "--otlp-endpoint", url, kSessionId});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("posted 4 spans in 1 requests to " + url + "/v1/traces"));
  ASSERT_EQ(receiver.paths().size(), 1u);
  EXPECT_EQ(receiver.paths()[0], "/v1/traces");
  EXPECT_EQ(receiver.content_types()[0], "application/json");
  // The body is exactly the line the file form holds.
  EXPECT_EQ(receiver.bodies()[0] + "\n", Export(kSessionId));

  // A URL with a path is used as it is.
  RunResult custom =
      Run({"export", "--store", store_, "--format", "otlp", "--otlp-endpoint", url + "/custom/traces", kSessionId});
  ASSERT_EQ(custom.exit_code, 0) << Describe(custom);
  ASSERT_EQ(receiver.paths().size(), 2u);
  EXPECT_EQ(receiver.paths()[1], "/custom/traces");
}

TEST_F(CliOtlpTest, EndpointFailuresAreExitTwoWithTheReason) {
  {
    Receiver unavailable(503, "collector overloaded");
    const std::string url = "http://127.0.0.1:" + std::to_string(unavailable.port());
    RunResult r = Run({"export", "--store", store_, "--format", "otlp", "--otlp-endpoint", url, kSessionId});
    EXPECT_EQ(r.exit_code, 2) << Describe(r);
    EXPECT_THAT(r.err, HasSubstr("POST " + url + "/v1/traces: the receiver answered HTTP 503: collector overloaded"));
  }
  {
    Receiver partial(200, R"({"partialSuccess":{"rejectedSpans":"2","errorMessage":"bad span"}})");
    const std::string url = "http://127.0.0.1:" + std::to_string(partial.port());
    RunResult r = Run({"export", "--store", store_, "--format", "otlp", "--otlp-endpoint", url, kSessionId});
    EXPECT_EQ(r.exit_code, 2) << Describe(r);
    EXPECT_THAT(r.err, HasSubstr("rejected 2 spans: bad span"));
  }
  int closed_port = 0;
  {
    Receiver gone(200);
    closed_port = gone.port();
  }
  const std::string refused = "http://127.0.0.1:" + std::to_string(closed_port);
  RunResult r = Run({"export", "--store", store_, "--format", "otlp", "--otlp-endpoint", refused, kSessionId});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("agenttrace: export: POST " + refused + "/v1/traces: "));

  RunResult scheme = Run({"export", "--store", store_, "--format", "otlp", "--otlp-endpoint", "ftp://x", kSessionId});
  EXPECT_EQ(scheme.exit_code, 2);
  EXPECT_THAT(scheme.err, HasSubstr("must be an http:// or https:// URL"));
  RunResult format = Run({"export", "--store", store_, "--otlp-endpoint", refused, kSessionId});
  EXPECT_EQ(format.exit_code, 2);
  EXPECT_THAT(format.err, HasSubstr("--otlp-endpoint needs --format otlp"));
}

}  // namespace
}  // namespace agenttrace
