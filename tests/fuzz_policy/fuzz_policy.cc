// Fuzz entry for the policy parser and compiler: any bytes must give a policy or an error, never a
// crash, hang or unbounded allocation; a policy that parses must compile and evaluate events.
#include "tests/fuzz_policy/fuzz_policy.h"

#include <fcntl.h>

#include <string_view>

#include "replayer/engine.h"
#include "replayer/policy.h"

namespace agenttrace {

void FuzzPolicyOne(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto policy = ParsePolicy(text, "fuzz.yaml");
  if (!policy.ok()) return;
  auto cp = CompiledPolicy::Compile(*policy, PathVars{"/w", "/h", "/t"});
  if (!cp.ok()) return;
  SessionEvaluator ev(*cp);
  Event e;
  e.kind = EventKind::kFileOpen;
  e.path = "/h/.ssh/id_rsa";
  e.resolved = "/w/../h/x";
  e.flags = O_RDWR;
  ev.Evaluate(e);
  e.kind = EventKind::kExec;
  e.seq = 1;
  e.argv = {"sh", "-c", "x"};
  e.secret_env_names = {"TOKEN"};
  ev.Evaluate(e);
  Event n;
  n.kind = EventKind::kNetConnect;
  n.seq = 2;
  n.address = "10.0.0.1";
  n.port = 443;
  ev.Evaluate(n);
  Event t;
  t.kind = EventKind::kToolCall;
  t.seq = 3;
  t.tool = "write_file";
  t.json = R"({"path":"/etc/x","n":[1,2]})";
  ev.Evaluate(t);
  // Two actions on two paths in one event: what `unless` exceptions look across.
  Event r;
  r.kind = EventKind::kFileRename;
  r.seq = 4;
  r.path = "/w/a";
  r.path2 = "/h/.ssh/b";
  ev.Evaluate(r);
}

}  // namespace agenttrace

#ifdef AGENTTRACE_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  agenttrace::FuzzPolicyOne(data, size);
  return 0;
}
#endif
