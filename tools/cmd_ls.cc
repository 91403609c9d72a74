// `agenttrace ls`: the sessions of the store, as a table or a JSON array (docs/cli.md).
#include <algorithm>
#include <array>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "format/event_text.h"
#include "format/key_file.h"
#include "format/status.h"
#include "format/store.h"
#include "format/sys.h"
#include "tools/cli.h"
#include "tools/exit_codes.h"
#include "tools/store_commands.h"

namespace agenttrace {
namespace {

using Json = nlohmann::ordered_json;

struct LsOptions {
  bool json = false;
  std::string label;
  bool label_set = false;
};

Json SessionToJson(const SessionInfo& s) {
  Json j;
  j["id"] = s.id.ToString();
  j["start"] = FormatUtc(s.start_wall_ns);
  j["start_ns"] = s.start_wall_ns;
  j["end_ns"] = s.end_wall_ns;
  j["state"] = SessionStateName(s.state);
  j["label"] = s.label;
  j["agent_name"] = s.agent_name;
  j["agent_version"] = s.agent_version;
  j["events"] = s.event_count;
  j["chunks"] = s.chunk_count;
  j["raw_bytes"] = s.raw_bytes;
  j["stored_bytes"] = s.stored_bytes;
  j["exit_code"] = s.exit_code;
  j["exit_signal"] = s.exit_signal;
  j["argv"] = s.argv;
  j["cwd"] = s.cwd;
  j["host"] = s.host;
  j["user"] = s.user;
  j["recorder"] = s.recorder;
  // Which key signed the head (verify --pubkey checks it); absent when unsigned.
  if (!s.signer_key.empty()) {
    j["signer_key"] = BytesToHex(reinterpret_cast<const uint8_t*>(s.signer_key.data()), s.signer_key.size());
  }
  return j;
}

int RunLs(const Cli& cli, const LsOptions& opt) {
  auto store = OpenStoreForRead(cli);
  if (!store.ok()) return ReportError(store.status(), "ls");
  auto sessions = (*store)->ListSessions();
  if (!sessions.ok()) return ReportError(sessions.status(), "ls");
  std::vector<const SessionInfo*> shown;
  for (const SessionInfo& s : *sessions) {
    if (opt.label_set && s.label != opt.label) continue;
    shown.push_back(&s);
  }
  std::sort(shown.begin(), shown.end(), [](const SessionInfo* a, const SessionInfo* b) { return a->id < b->id; });
  std::string out;
  if (opt.json) {
    Json arr = Json::array();
    for (const SessionInfo* s : shown) arr.push_back(SessionToJson(*s));
    out = arr.dump(2, ' ', false, Json::error_handler_t::replace);
    out.push_back('\n');
  } else {
    constexpr size_t kCols = 8;
    std::vector<std::array<std::string, kCols>> rows;
    rows.push_back({"ID", "START (UTC)", "STATE", "LABEL", "AGENT", "EVENTS", "EXIT", "COMMAND"});
    for (const SessionInfo* s : shown) {
      rows.push_back({s->id.ToString(), FormatUtc(s->start_wall_ns), std::string(SessionStateName(s->state)),
                      s->label.empty() ? "-" : Printable(s->label), AgentText(*s), std::to_string(s->event_count),
                      ExitText(*s), ShellJoin(s->argv)});
    }
    std::array<size_t, kCols> width{};
    for (const auto& r : rows) {
      for (size_t c = 0; c < kCols; ++c) width[c] = std::max(width[c], r[c].size());
    }
    for (const auto& r : rows) {
      std::string line;
      for (size_t c = 0; c < kCols; ++c) {
        line += r[c];
        if (c + 1 < kCols) line.append(width[c] - r[c].size() + 2, ' ');
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line;
      out.push_back('\n');
    }
  }
  Status s = WriteAll(STDOUT_FILENO, out, "standard output");
  return s.ok() ? kExitOk : ReportError(s, "ls");
}

}  // namespace

void RegisterLsCommand(Cli& cli) {
  auto opt = std::make_shared<LsOptions>();
  CLI::App* sub = cli.app.add_subcommand("ls", "list the sessions of the store");
  AddStoreOption(sub, cli);
  sub->add_flag("--json", opt->json, "print one JSON array of session objects");
  CLI::Option* label = sub->add_option("--label", opt->label, "only sessions with this label");
  sub->callback([&cli, opt, label] {
    opt->label_set = label->count() > 0;
    cli.run = [&cli, opt] { return RunLs(cli, *opt); };
  });
}

}  // namespace agenttrace
