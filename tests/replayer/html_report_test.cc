#include "replayer/html_report.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <nlohmann/json.hpp>

#include "format/text_escape.h"
#include "tests/replayer/test_util.h"

namespace agenttrace {
namespace {

using testing::Connect;
using testing::Exec;
using testing::MustParse;
using testing::Open;
using testing::ToolCall;
using Json = nlohmann::json;

constexpr char kPolicy[] = R"(
version: 1
default: deny
secrets: ["~/.ssh/**"]
rules:
  - id: workspace
    decision: allow
    class: [file.read, file.write, exec]
    paths: ["${workspace}/**", "/usr/**"]
  - id: tools
    decision: allow
    class: tool.call
  - id: no-secrets
    decision: deny
    class: secret.read
promotion:
  min_sessions: 1
)";

SessionInfo Info(int n, const std::string& label) {
  SessionInfo info;
  char id[64];
  std::snprintf(id, sizeof id, "0190b5c4-8e1a-7abc-9def-%012d", n);
  info.id = *SessionId::Parse(id);
  info.label = label;
  info.cwd = "/home/u/proj";
  info.home = "/home/u";
  info.tmp = "/tmp";
  info.state = SessionState::kComplete;
  info.exit_code = 0;
  info.recorder = "ptrace";
  return info;
}

SessionInput Input(int n, std::vector<Event> events, const std::string& label = "t") {
  for (size_t i = 0; i < events.size(); ++i) {
    events[i].seq = i;
    events[i].wall_ns = 1'700'000'000'000'000'000 + static_cast<int64_t>(i) * 1'000'000;
  }
  return MemoryInput(Info(n, label), std::make_shared<const std::vector<Event>>(std::move(events)),
                     "mem" + std::to_string(n));
}

const char kImg[] = "<img src=x onerror=alert(1)>";
const char kClose[] = "</script><script>alert(2)</script>";

std::vector<Event> EvilRun() {
  Event spawn;
  spawn.kind = EventKind::kProcSpawn;
  spawn.pid = 100;
  spawn.child_pid = 101;
  spawn.result = 101;
  Event child = Exec("/usr/bin/cat", {"cat", kClose});
  child.pid = 101;
  Event call = ToolCall(std::string("read") + kImg, R"({"p":"x"})", "fs");
  call.request_id = "1";
  Event result;
  result.kind = EventKind::kToolResult;
  result.server = "fs";
  result.tool = call.tool;
  result.request_id = "1";
  result.duration_ns = 42'000'000;
  return {Exec("/usr/bin/bash", {"bash", "-c", kImg}),
          spawn,
          child,
          Open(std::string("/home/u/proj/") + kImg),
          Open(std::string("/home/u/proj/") + kClose + "\xE2\x80\xA8" + "\xff"),
          call,
          result,
          Open("/home/u/.ssh/id_rsa")};
}

ReplayReport MustReplay(const Policy& policy, std::vector<SessionInput> inputs, unsigned threads = 1,
                        TimelineLimits limits = {}) {
  ReplayOptions opt;
  opt.threads = threads;
  opt.promotion = policy.promotion;
  opt.timeline = true;
  opt.timeline_limits = limits;
  auto r = RunReplay(policy, std::move(inputs), opt);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(*r) : ReplayReport();
}

// The JSON between the data element's tags, and the page's one script.
std::string Between(const std::string& html, const std::string& open, const std::string& close) {
  size_t a = html.find(open);
  if (a == std::string::npos) return "";
  a += open.size();
  size_t b = html.find(close, a);
  return b == std::string::npos ? "" : html.substr(a, b - a);
}

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(HtmlReportTest, EscapeJsonForScriptLeavesNoMarkupAndParsesBack) {
  Json j = {{"p", std::string(kClose) + " & <!-- \xE2\x80\xA8 \xE2\x80\xA9"}};
  std::string text = j.dump();
  std::string safe = EscapeJsonForScript(text);
  EXPECT_EQ(safe.find('<'), std::string::npos);
  EXPECT_EQ(safe.find('>'), std::string::npos);
  EXPECT_EQ(safe.find('&'), std::string::npos);
  EXPECT_EQ(safe.find("\xE2\x80\xA8"), std::string::npos);
  EXPECT_EQ(safe.find("\xE2\x80\xA9"), std::string::npos);
  EXPECT_NE(safe.find("\\u003c/script\\u003e"), std::string::npos);
  EXPECT_EQ(Json::parse(safe), j);
}

TEST(HtmlReportTest, InjectedPathsStayInsideTheDataAsText) {
  Policy policy = MustParse(kPolicy);
  std::vector<SessionInput> in;
  in.push_back(Input(1, EvilRun(), "evil\xff</title>"));
  ReplayReport r = MustReplay(policy, in);
  std::string html = RenderHtml(r, {});
  EXPECT_TRUE(IsValidUtf8(html));
  // Only the page's own two script elements; no injected element or closing tag got through.
  EXPECT_EQ(Count(html, "<script"), 2u);
  EXPECT_EQ(Count(html, "</script>"), 2u);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(Count(html, "</title>"), 1u);
  EXPECT_EQ(html.find("\xE2\x80\xA8"), std::string::npos);
  Json data = Json::parse(Between(html, "id=\"agenttrace-data\">", "</script>"));
  const Json& tl = data["sessions"][0]["timeline"];
  std::string all = tl["events"].dump();
  EXPECT_NE(all.find(std::string("/home/u/proj/") + kImg), std::string::npos);
  EXPECT_NE(all.find(std::string("/home/u/proj/") + kClose), std::string::npos);
  // The invalid label byte became U+FFFD; the invalid path byte is shown in its escaped form.
  EXPECT_EQ(data["sessions"][0]["label"], "evil\xEF\xBF\xBD</title>");
  EXPECT_NE(all.find("\\\\xff"), std::string::npos);
}

TEST(HtmlReportTest, ContentSecurityPolicyAllowsExactlyThePageScript) {
  ASSERT_GE(sodium_init(), 0);
  Policy policy = MustParse(kPolicy);
  std::vector<SessionInput> in;
  in.push_back(Input(1, EvilRun()));
  std::string html = RenderHtml(MustReplay(policy, in), {});
  std::string script = Between(html, "</script>\n<script>", "</script>");
  ASSERT_EQ(script, HtmlReportScript());
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(script.data()), script.size());
  char b64[sodium_base64_ENCODED_LEN(sizeof h, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(b64, sizeof b64, h, sizeof h, sodium_base64_VARIANT_ORIGINAL);
  std::string csp = Between(html, "http-equiv=\"Content-Security-Policy\" content=\"", "\"");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
  EXPECT_NE(csp.find(std::string("script-src 'sha256-") + b64 + "'"), std::string::npos) << csp;
  std::string script_src = csp.substr(csp.find("script-src"));
  script_src = script_src.substr(0, script_src.find(';'));
  EXPECT_EQ(script_src.find("unsafe"), std::string::npos) << script_src;
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
}

TEST(HtmlReportTest, TimelineHasProcessTreeSpansDecisionsAndRulesConsidered) {
  Policy policy = MustParse(kPolicy);
  std::vector<SessionInput> in;
  in.push_back(Input(1, EvilRun()));
  ReplayReport r = MustReplay(policy, in);
  Json data = Json::parse(HtmlReportData(r, {}));
  const Json& tl = data["sessions"][0]["timeline"];
  ASSERT_EQ(tl["events"].size(), 8u);
  ASSERT_EQ(tl["processes"].size(), 2u);
  EXPECT_EQ(tl["processes"][1]["pid"], 101);
  EXPECT_EQ(tl["processes"][1]["ppid"], 100);
  EXPECT_EQ(tl["processes"][1]["name"], std::string("cat '") + kClose + "'");
  ASSERT_EQ(tl["spans"].size(), 1u);
  EXPECT_EQ(tl["spans"][0]["dur"], 42'000'000);
  EXPECT_EQ(tl["spans"][0]["result"], true);
  const Json& secret = tl["events"][7];
  EXPECT_EQ(secret["d"], "deny");
  EXPECT_EQ(secret["r"], "no-secrets");
  EXPECT_EQ(secret["t"], 7'000'000);
  ASSERT_TRUE(secret.contains("x"));
  // The rules that do not apply to the event's class are counted, not listed.
  std::string lines;
  for (const Json& l : secret["x"]) lines += l.get<std::string>() + "\n";
  EXPECT_NE(lines.find("decision: deny by rule no-secrets"), std::string::npos) << lines;
  EXPECT_NE(lines.find("rule no-secrets (deny"), std::string::npos) << lines;
  EXPECT_EQ(lines.find("not listed"), std::string::npos) << lines;
  EXPECT_NE(lines.find("(not shown: 4 rule(s) for other action classes, 0 sequence"), std::string::npos) << lines;
  EXPECT_EQ(Json::parse(secret["j"].get<std::string>())["path"], "/home/u/.ssh/id_rsa");
  // The path with a byte that is not UTF-8 matches no glob (default deny), and the secret.
  ASSERT_EQ(data["findings"].size(), 2u) << data["findings"].dump();
  EXPECT_EQ(data["findings"][1]["seq"], 7);
  EXPECT_EQ(data["findings"][1]["in_timeline"], true);
}

TEST(HtmlReportTest, LargeSessionsAreCutAtTheLimitsAndKeepLaterFindings) {
  Policy policy = MustParse(kPolicy);
  std::vector<Event> ev;
  for (int i = 0; i < 500; ++i) ev.push_back(Open("/home/u/proj/f" + std::to_string(i)));
  ev.push_back(Open("/home/u/.ssh/id_rsa"));
  Event huge = ToolCall("t", "{\"a\":\"" + std::string(10000, 'x') + "\"}", "fs");
  ev.push_back(huge);
  TimelineLimits lim;
  lim.max_events = 100;
  lim.max_late_findings = 1;
  lim.max_record_bytes = 256;
  lim.max_explain_lines = 2;
  std::vector<SessionInput> in;
  in.push_back(Input(1, ev));
  ReplayReport r = MustReplay(policy, in, 1, lim);
  const SessionTimeline& tl = r.sessions[0].timeline;
  ASSERT_EQ(tl.events.size(), 101u);
  EXPECT_EQ(tl.events_dropped, 401u);
  EXPECT_EQ(tl.dropped_by_kind.at("file.open"), 400u);
  EXPECT_EQ(tl.dropped_by_kind.at("tool.call"), 1u);
  // Two lines, "... N more line(s)" and the count of rules that do not apply.
  ASSERT_EQ(tl.events[99].explain.size(), 4u);
  EXPECT_EQ(tl.events[99].explain[2], "  ... 1 more line(s)");
  EXPECT_EQ(tl.events[99].explain[3].rfind("  (not shown: 2 rule(s) for other action classes", 0), 0u);
  const TimelineEvent& late = tl.events[100];
  EXPECT_EQ(late.seq, 500u);
  EXPECT_EQ(late.decision, Decision::kDeny);
  EXPECT_FALSE(late.explained);
  EXPECT_TRUE(late.explain.empty());
  // Every record is cut to the limit.
  for (const TimelineEvent& e : tl.events) EXPECT_LE(e.record.size(), 256u);
}

TEST(HtmlReportTest, RecordCutNeverSplitsAUtf8Character) {
  std::string s =
      "ab\xC3\xA9"
      "cd";  // é is two bytes at offsets 2-3
  EXPECT_EQ(CutUtf8(s, 3), "ab");
  EXPECT_EQ(CutUtf8(s, 4), "ab\xC3\xA9");
  EXPECT_EQ(CutUtf8(s, 100), s);
}

TEST(HtmlReportTest, SameReportGivesTheSameBytesWhateverTheThreads) {
  Policy policy = MustParse(kPolicy);
  auto inputs = [] {
    std::vector<SessionInput> in;
    for (int n = 1; n <= 4; ++n) {
      std::vector<Event> ev = EvilRun();
      ev.push_back(Open("/home/u/proj/only-" + std::to_string(n)));
      in.push_back(Input(n, ev, n <= 2 ? "a" : "b"));
    }
    return in;
  };
  ReplayReport r1 = MustReplay(policy, inputs(), 1);
  ReplayReport r4 = MustReplay(policy, inputs(), 4);
  auto d1 = ComputeHtmlDiffs(r1, inputs(), policy);
  auto d4 = ComputeHtmlDiffs(r4, inputs(), policy);
  ASSERT_TRUE(d1.ok() && d4.ok());
  std::string h1 = RenderHtml(r1, *d1);
  EXPECT_EQ(h1, RenderHtml(r4, *d4));
  EXPECT_EQ(h1, RenderHtml(r1, *d1));
}

TEST(HtmlReportTest, DiffsPairConsecutiveSessionsOfALabelAndAreBounded) {
  Policy policy = MustParse(kPolicy);
  std::vector<SessionInput> in;
  for (int n = 1; n <= 3; ++n) in.push_back(Input(n, {Open("/home/u/proj/f" + std::to_string(n))}, "a"));
  in.push_back(Input(4, {Open("/home/u/proj/x")}, "b"));  // alone: no pair
  ReplayReport r = MustReplay(policy, in);
  auto d = ComputeHtmlDiffs(r, in, policy);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->size(), 2u);
  EXPECT_EQ((*d)[0].a, 0u);
  EXPECT_EQ((*d)[0].b, 1u);
  EXPECT_EQ((*d)[1].a, 1u);
  EXPECT_EQ((*d)[1].b, 2u);
  EXPECT_EQ((*d)[0].diff.only_a, std::vector<std::string>{"file.read ${workspace}/f1"});
  EXPECT_EQ((*d)[0].diff.only_b, std::vector<std::string>{"file.read ${workspace}/f2"});

  std::vector<SessionInput> many;
  for (int n = 1; n <= 40; ++n) many.push_back(Input(n, {Open("/home/u/proj/f")}, "a"));
  ReplayReport rm = MustReplay(policy, many, 2);
  auto dm = ComputeHtmlDiffs(rm, many, policy);
  ASSERT_TRUE(dm.ok());
  EXPECT_EQ(dm->size(), kHtmlMaxDiffPairs);
}

TEST(HtmlReportTest, TimelineBudgetIsSharedFairlyAndKeepsLateFindings) {
  Policy policy = MustParse(kPolicy);
  // Each session's events take about 1.3 MB of JSON, more than its share (8 MiB / 8 sessions): its
  // ordinary events stop at 3/4 of the share, the finding past them is kept.
  std::vector<SessionInput> in;
  for (int n = 1; n <= 8; ++n) {
    std::vector<Event> ev;
    for (int i = 0; i < 2000; ++i) ev.push_back(Open("/home/u/proj/" + std::string(200, 'a' + n % 26)));
    ev.push_back(Open("/home/u/.ssh/id_rsa"));  // past the share, and a finding
    in.push_back(Input(n, ev));
  }
  ReplayReport r = MustReplay(policy, in, 2);
  std::string text = HtmlReportData(r, {});
  EXPECT_LE(text.size(), kHtmlMaxTimelineBytes + (1u << 20));
  Json data = Json::parse(text);
  for (const Json& s : data["sessions"]) {
    ASSERT_FALSE(s["timeline"].is_null()) << s["id"];
    const Json& tl = s["timeline"];
    EXPECT_GT(tl["events_dropped"].get<uint64_t>(), 0u);
    EXPECT_EQ(tl["events"].size() + tl["events_dropped"].get<uint64_t>(), 2001u);
    EXPECT_EQ(tl["events"].back()["s"], 2000);
    EXPECT_EQ(tl["events"].back()["d"], "deny");
    EXPECT_LE(tl["events"].dump().size(), kHtmlMaxTimelineBytes / 8);
  }
  for (const Json& f : data["findings"]) EXPECT_EQ(f["in_timeline"], true);
}

TEST(HtmlReportTest, SessionsPastTheSpentBudgetHaveNoTimeline) {
  Policy policy = MustParse(kPolicy);
  // More sessions than the budget holds at the minimum share, each larger than that share.
  const int sessions = static_cast<int>(kHtmlMaxTimelineBytes / (kHtmlMinSessionShare / 4 * 3)) + 6;
  std::vector<SessionInput> in;
  for (int n = 1; n <= sessions; ++n) {
    std::vector<Event> ev;
    for (int i = 0; i < 400; ++i) ev.push_back(Open("/home/u/proj/" + std::string(200, 'b')));
    in.push_back(Input(n, ev));
  }
  ReplayReport r = MustReplay(policy, in, 2);
  Json data = Json::parse(HtmlReportData(r, {}));
  size_t with = 0, bytes = 0;
  bool omitted_seen = false;
  for (const Json& s : data["sessions"]) {
    if (s["timeline"].is_null()) {
      omitted_seen = true;
      EXPECT_NE(s["timeline_omitted"].get<std::string>().find("size limit"), std::string::npos);
    } else {
      EXPECT_FALSE(omitted_seen) << "a later session kept its timeline after an earlier one was omitted";
      EXPECT_GT(s["timeline"]["events_dropped"].get<uint64_t>(), 0u);
      bytes += s["timeline"]["events"].dump().size();
      ++with;
    }
  }
  EXPECT_TRUE(omitted_seen);
  EXPECT_GE(with, kHtmlMaxTimelineBytes / kHtmlMinSessionShare);
  // A session starts while the budget is not spent, so the last one may overrun it by one share.
  EXPECT_LE(bytes, kHtmlMaxTimelineBytes + kHtmlMinSessionShare);
}

}  // namespace
}  // namespace agenttrace
