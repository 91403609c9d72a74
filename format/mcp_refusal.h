// The protocol.error events with which the MCP stdio proxy records a message from the agent that it
// refused to forward because it could not decide it (recorder/mcp_relay.cc, with a policy or under
// `agenttrace run`): a message some server could read as a tools/call that is not one plain tools/call
// request (docs/cli.md, "record --mcp", "Deciding tool calls"), or one too long to be read whole. The
// proxy writes the reason followed by one of the suffixes below, with direction to-server; the
// replayer recognises them by that suffix (docs/policy.md, "Refused tool requests"). The texts are
// part of the recorded format: sessions recorded before this header existed carry the same ones.
//
// Thread-safety: constants and a pure function.
#ifndef AGENTTRACE_FORMAT_MCP_REFUSAL_H_
#define AGENTTRACE_FORMAT_MCP_REFUSAL_H_

#include <string_view>

#include "format/event.h"

namespace agenttrace {

// Refused under enforce: never forwarded, answered with a -32050 error when it has an id.
inline constexpr std::string_view kRefusedUndecidableSuffix =
    "; not forwarded: a message that may be a tool call and cannot be decided is refused";
// The same message under --mode audit: recorded as it would have been refused, and forwarded.
inline constexpr std::string_view kWouldRefuseUndecidableSuffix = "; would have been refused (audit mode: forwarded)";
// A message longer than the proxy reads: it cannot be decided, so it is never forwarded.
inline constexpr std::string_view kRefusedOversizedSuffix =
    "; not forwarded: a message that cannot be read cannot be decided";

// True when `e` records a message the deciding proxy refused (or would have refused, in audit mode).
inline bool IsRefusedToolRequest(const Event& e) {
  if (e.kind != EventKind::kProtocolError || e.direction != Direction::kToServer) return false;
  std::string_view t = e.text;
  return t.ends_with(kRefusedUndecidableSuffix) || t.ends_with(kWouldRefuseUndecidableSuffix) ||
         t.ends_with(kRefusedOversizedSuffix);
}

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_MCP_REFUSAL_H_
