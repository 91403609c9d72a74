// `agenttrace stats`: the store's size and compression figures (docs/cli.md).
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "format/status.h"
#include "format/store.h"
#include "format/sys.h"
#include "tools/cli.h"
#include "tools/exit_codes.h"
#include "tools/store_commands.h"

namespace agenttrace {
namespace {

using Json = nlohmann::ordered_json;

struct StatsOptions {
  bool json = false;
};

int RunStats(const Cli& cli, const StatsOptions& opt) {
  auto store = OpenStoreForRead(cli);
  if (!store.ok()) return ReportError(store.status(), "stats");
  auto st = (*store)->Stats();
  if (!st.ok()) return ReportError(st.status(), "stats");
  const StoreStats& s = *st;
  double per_event = s.events ? static_cast<double>(s.stored_bytes) / static_cast<double>(s.events) : 0.0;
  double raw_per_event = s.events ? static_cast<double>(s.raw_bytes) / static_cast<double>(s.events) : 0.0;
  double ratio = s.stored_bytes ? static_cast<double>(s.raw_bytes) / static_cast<double>(s.stored_bytes) : 0.0;
  std::string out;
  if (opt.json) {
    Json j;
    j["store"] = (*store)->dir();
    j["sessions"] = s.sessions;
    j["events"] = s.events;
    j["chunks"] = s.chunks;
    j["raw_bytes"] = s.raw_bytes;
    j["stored_bytes"] = s.stored_bytes;
    j["file_bytes"] = s.file_bytes;
    j["bytes_per_event"] = per_event;
    j["raw_bytes_per_event"] = raw_per_event;
    j["compression_ratio"] = ratio;
    out = j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  } else {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "store              %s\n"
                  "sessions           %" PRIu64
                  "\n"
                  "events             %" PRIu64
                  "\n"
                  "chunks             %" PRIu64
                  "\n"
                  "raw bytes          %" PRIu64
                  "\n"
                  "stored bytes       %" PRIu64
                  "\n"
                  "file bytes         %" PRIu64
                  "\n"
                  "bytes per event    %.1f stored, %.1f raw\n"
                  "compression ratio  %.2f\n",
                  Printable((*store)->dir()).c_str(), s.sessions, s.events, s.chunks, s.raw_bytes, s.stored_bytes,
                  s.file_bytes, per_event, raw_per_event, ratio);
    out = buf;
  }
  Status w = WriteAll(STDOUT_FILENO, out, "standard output");
  return w.ok() ? kExitOk : ReportError(w, "stats");
}

}  // namespace

void RegisterStatsCommand(Cli& cli) {
  auto opt = std::make_shared<StatsOptions>();
  CLI::App* sub = cli.app.add_subcommand("stats", "print the store's size and compression figures");
  AddStoreOption(sub, cli);
  sub->add_flag("--json", opt->json, "print one JSON object");
  sub->callback([&cli, opt] { cli.run = [&cli, opt] { return RunStats(cli, *opt); }; });
}

}  // namespace agenttrace
