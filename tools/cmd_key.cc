// `agenttrace key generate`: writes an Ed25519 key pair for signing session heads (format/signing.h,
// docs/cli.md "agenttrace key"). The private half is meant to stay outside every store.
#include <cstdio>
#include <memory>
#include <string>

#include "format/key_file.h"
#include "format/signing.h"
#include "tools/cli.h"
#include "tools/exit_codes.h"

namespace agenttrace {
namespace {

struct KeyGenerateOptions {
  std::string out_dir;  // default: UserConfigDir()
  std::string name = "session-sign";
};

int RunKeyGenerate(const KeyGenerateOptions& opt) {
  std::string dir = opt.out_dir;
  if (dir.empty()) {
    auto d = UserConfigDir();
    if (!d.ok()) return ReportError(d.status(), "key generate (give --out DIR)");
    dir = *d;
  }
  if (opt.name.empty() || opt.name.find('/') != std::string::npos) {
    return ReportError(Status::InvalidArgument("--name must be a file name without '/'"), "key generate");
  }
  Status st = EnsurePrivateDir(dir);
  if (!st.ok()) return ReportError(st, "key generate");
  const std::string secret = dir + "/" + opt.name + ".key", pub = dir + "/" + opt.name + ".pub";
  auto key = GenerateKeyPair(secret, pub);
  if (!key.ok()) return ReportError(key.status(), "key generate");
  std::printf("%s\n%s\n", secret.c_str(), pub.c_str());
  std::fprintf(stderr,
               "agenttrace: wrote private key %s (mode 0600: keep it off the machines and artifacts that hold "
               "stores) and public key %s (%s)\n",
               secret.c_str(), pub.c_str(), BytesToHex(key->data(), key->size()).c_str());
  return kExitOk;
}

}  // namespace

void RegisterKeyCommands(Cli& cli) {
  CLI::App* key = cli.app.add_subcommand("key", "manage the key pair that signs session heads");
  key->require_subcommand(1);
  auto opt = std::make_shared<KeyGenerateOptions>();
  CLI::App* gen = key->add_subcommand("generate", "write a new Ed25519 key pair NAME.key (0600) and NAME.pub");
  gen->add_option("--out", opt->out_dir,
                  "directory for the key files (default: $XDG_CONFIG_HOME/agenttrace or ~/.config/agenttrace)");
  gen->add_option("--name", opt->name, "base name of the key files (default: session-sign)");
  gen->callback([&cli, opt] { cli.run = [opt] { return RunKeyGenerate(*opt); }; });
}

}  // namespace agenttrace
