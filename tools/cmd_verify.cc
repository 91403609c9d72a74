// `agenttrace verify [SESSIONS...] [--pubkey K]`: recompute hash chains and check head signatures
// (docs/cli.md).
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "format/key_file.h"
#include "format/signing.h"
#include "format/status.h"
#include "format/store.h"
#include "format/sys.h"
#include "tools/cli.h"
#include "tools/exit_codes.h"
#include "tools/store_commands.h"

namespace agenttrace {
namespace {

struct VerifyOptions {
  std::vector<std::string> sessions;
  std::string pubkey;  // --pubkey: also check each session head's signature against this key
};

int RunVerify(const Cli& cli, const VerifyOptions& opt) {
  auto store = OpenStoreForRead(cli);
  if (!store.ok()) return ReportError(store.status(), "verify");
  std::vector<SessionId> ids;
  if (opt.sessions.empty()) {
    auto all = (*store)->ListSessions();
    if (!all.ok()) return ReportError(all.status(), "verify");
    for (const SessionInfo& s : *all) ids.push_back(s.id);
  } else {
    for (const std::string& text : opt.sessions) {
      auto id = ResolveSession(**store, text);
      if (!id.ok()) return ReportError(id.status(), "verify");
      ids.push_back(*id);
    }
  }
  std::optional<PublicKey> pubkey;
  if (!opt.pubkey.empty()) {
    auto k = LoadPublicKey(opt.pubkey);
    if (!k.ok()) return ReportError(k.status(), "verify --pubkey");
    pubkey = *k;
  }
  int rc = kExitOk;
  std::string out;
  for (const SessionId& id : ids) {
    auto r = (*store)->Verify(id);
    std::string sid = id.ToString();
    if (!r.ok()) {
      if (r.status().code() != StatusCode::kCorruption) {
        (void)WriteAll(STDOUT_FILENO, out, "standard output");
        return ReportError(r.status(), "verify " + sid);
      }
      out += sid + " BROKEN: " + Printable(r.status().message()) + "\n";
      rc = kExitCorrupt;
      continue;
    }
    // The signature is checked against the very record the chain was recomputed against.
    Status signature = r->ok && pubkey ? VerifySessionHead(r->record, *pubkey) : Status::Ok();
    if (r->ok && !signature.ok()) {
      out += sid + " BAD SIGNATURE: " + Printable(signature.message()) + "\n";
      rc = kExitCorrupt;
    } else if (r->ok) {
      out += sid + " ok (" + std::to_string(r->chunks_checked) + " chunks, " + std::to_string(r->events_checked) +
             " events" + (pubkey ? ", signed" : "") + ")\n";
    } else {
      out += sid + " BROKEN";
      if (r->first_bad_chunk) out += " at chunk " + std::to_string(*r->first_bad_chunk);
      out += ": " + (r->problem.empty() ? std::string("verification failed") : Printable(r->problem)) + "\n";
      rc = kExitCorrupt;
    }
  }
  Status s = WriteAll(STDOUT_FILENO, out, "standard output");
  if (!s.ok()) return ReportError(s, "verify");
  return rc;
}

}  // namespace

void RegisterVerifyCommand(Cli& cli) {
  auto opt = std::make_shared<VerifyOptions>();
  CLI::App* sub = cli.app.add_subcommand("verify", "recompute sessions' hash chains (all when none given)");
  AddStoreOption(sub, cli);
  sub->add_option("sessions", opt->sessions, "session ids or unique prefixes");
  sub->add_option("--pubkey", opt->pubkey,
                  "also require each session head to be signed by this Ed25519 public key (a .pub file from "
                  "`agenttrace key generate`, or its 64 hex digits)");
  sub->callback([&cli, opt] { cli.run = [&cli, opt] { return RunVerify(cli, *opt); }; });
}

}  // namespace agenttrace
