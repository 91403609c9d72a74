// Claude Code / Codex / Gemini CLI hook payloads -> tool events.
#include "recorder/hook_payloads.h"

#include <gtest/gtest.h>

namespace agenttrace {
namespace {

TEST(HookPayloadsTest, ClaudeCodePreToolUseIsAToolCall) {
  auto e = EventFromHookPayload(
      R"({"session_id":"s1","transcript_path":"/t","cwd":"/w","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls -la","description":"list"},"tool_use_id":"toolu_01"})");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->kind, EventKind::kToolCall);
  EXPECT_EQ(e->server, "claude-code");
  EXPECT_EQ(e->tool, "Bash");
  EXPECT_EQ(e->method, "PreToolUse");
  EXPECT_EQ(e->request_id, "\"toolu_01\"");
  EXPECT_EQ(e->json, R"({"command":"ls -la","description":"list"})");
}

TEST(HookPayloadsTest, ClaudeCodePostToolUseIsAToolResult) {
  auto e = EventFromHookPayload(
      R"({"session_id":"s1","cwd":"/w","hook_event_name":"PostToolUse","tool_name":"Edit","tool_input":{"file_path":"/w/a"},"tool_response":{"filePath":"/w/a","success":true}})");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->kind, EventKind::kToolResult);
  EXPECT_EQ(e->tool, "Edit");
  EXPECT_FALSE(e->is_error);
  EXPECT_EQ(e->json, R"({"filePath":"/w/a","success":true})");
  auto f = EventFromHookPayload(
      R"({"hook_event_name":"PostToolUse","tool_name":"WebFetch","tool_response":{"success":false}})");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->is_error);
  auto g = EventFromHookPayload(
      R"({"hook_event_name":"PostToolUseFailure","tool_name":"Bash","tool_input":{},"error":"exit 1"})");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->kind, EventKind::kToolResult);
  EXPECT_TRUE(g->is_error);
  EXPECT_EQ(g->json, "\"exit 1\"");
}

TEST(HookPayloadsTest, GeminiBeforeAndAfterTool) {
  auto e = EventFromHookPayload(
      R"({"session_id":"g","cwd":"/w","hook_event_name":"BeforeTool","timestamp":"2026-01-01T00:00:00Z","tool_name":"run_shell_command","tool_input":{"command":"make"}})");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->kind, EventKind::kToolCall);
  EXPECT_EQ(e->server, "gemini-cli");
  EXPECT_EQ(e->tool, "run_shell_command");
  auto r = EventFromHookPayload(
      R"({"hook_event_name":"AfterTool","tool_name":"read_file","tool_input":{},"tool_response":{"llmContent":"x","error":"not found"}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, EventKind::kToolResult);
  EXPECT_TRUE(r->is_error);
}

TEST(HookPayloadsTest, CodexByTurnIdOrExplicitTag) {
  auto e = EventFromHookPayload(
      R"({"session_id":"c","turn_id":"t1","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"}})");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->server, "codex");
  auto f = EventFromHookPayload(
      R"({"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{},"agenttrace_hook":"codex"})");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->server, "codex");
  auto g = EventFromHookPayload(
      R"({"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{},"agenttrace_hook":"gemini"})");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->server, "gemini-cli");
}

TEST(HookPayloadsTest, OtherHookEventsBecomeAnnotations) {
  auto e = EventFromHookPayload(R"({"hook_event_name":"Stop","session_id":"s","agenttrace_hook":"claude-code"})");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->kind, EventKind::kAnnotation);
  EXPECT_EQ(e->text, "hook Stop");
  EXPECT_EQ(e->json, R"({"hook_event_name":"Stop","session_id":"s"})");
}

TEST(HookPayloadsTest, RedactsToolInputAndBoundsResponses) {
  HookOptions o;
  o.max_result_bytes = 50;
  o.redact = [](std::string* s) {
    size_t p = s->find("sk-secretvalue");
    if (p != std::string::npos) s->replace(p, 14, "<fp>");
  };
  auto e = EventFromHookPayload(
      R"({"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"curl -H sk-secretvalue x"}})", o);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->json, R"({"command":"curl -H <fp> x"})");
  auto r = EventFromHookPayload(R"({"hook_event_name":"PostToolUse","tool_name":"Read","tool_response":")" +
                                    std::string(200, 'x') + R"("})",
                                o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size, 202);
  EXPECT_NE(r->json.find("\"truncated\":true"), std::string::npos);
}

TEST(HookPayloadsTest, LargeToolInputIsTruncatedExplicitly) {
  HookOptions o;
  o.max_arguments_bytes = 50;
  std::string input = R"({"command":")" + std::string(200, 'x') + R"("})";
  auto e = EventFromHookPayload(R"({"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":)" + input + "}", o);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->size, static_cast<int64_t>(input.size()));
  EXPECT_EQ(e->json, TruncatedBodyJson(input));
  EXPECT_NE(e->json.find("\"truncated\":true"), std::string::npos);
}

TEST(HookPayloadsTest, DeeplyNestedToolInputIsRefused) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto e = EventFromHookPayload(R"({"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":)" + deep + "}");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("hook payload nests arrays/objects deeper than 256"), std::string::npos)
      << e.status().message();
}

TEST(HookPayloadsTest, MalformedPayloadsSayWhy) {
  EXPECT_NE(EventFromHookPayload("nope").status().message().find("not valid JSON"), std::string::npos);
  EXPECT_NE(EventFromHookPayload("[]").status().message().find("not a JSON object"), std::string::npos);
  EXPECT_NE(EventFromHookPayload(R"({"x":1})").status().message().find("hook_event_name"), std::string::npos);
  EXPECT_NE(EventFromHookPayload(R"({"hook_event_name":"PreToolUse"})").status().message().find("tool_name"),
            std::string::npos);
  EXPECT_NE(EventFromHookPayload(R"({"hook_event_name":"Stop","agenttrace_hook":"cursor"})").status().message().find(
                "unknown hook agent"),
            std::string::npos);
  EXPECT_TRUE(LooksLikeHookPayload(R"({"hook_event_name":"x"})"));
  EXPECT_FALSE(LooksLikeHookPayload(R"({"kind":"annotation","text":"\"hook_event_name\""})"));
}

}  // namespace
}  // namespace agenttrace
