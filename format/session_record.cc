#include "format/session_record.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstring>

#include "schema/agenttrace.capnp.h"

namespace agenttrace {
namespace {

constexpr uint64_t kRecordTraversalWords = 4ull << 20;  // 32 MiB: far above any real record

void SetList(capnp::List<capnp::Text>::Builder dst, const std::vector<std::string>& src) {
  for (unsigned i = 0; i < src.size(); ++i) dst.set(i, src[i]);
}
void GetList(capnp::List<capnp::Text>::Reader src, std::vector<std::string>* dst) {
  dst->clear();
  dst->reserve(src.size());
  for (auto t : src) dst->emplace_back(t.cStr(), t.size());
}
std::string Str(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

}  // namespace

std::string EncodeSessionInfo(const SessionInfo& in) {
  capnp::MallocMessageBuilder message;
  auto s = message.initRoot<schema::Session>();
  s.setId(capnp::Data::Reader(in.id.bytes.data(), in.id.bytes.size()));
  s.setLabel(in.label);
  s.setAgentName(in.agent_name);
  s.setAgentVersion(in.agent_version);
  SetList(s.initArgv(static_cast<unsigned>(in.argv.size())), in.argv);
  s.setCwd(in.cwd);
  s.setHome(in.home);
  s.setTmp(in.tmp);
  s.setHost(in.host);
  s.setUser(in.user);
  s.setKernel(in.kernel);
  s.setArch(in.arch);
  s.setStartWallNs(in.start_wall_ns);
  s.setEndWallNs(in.end_wall_ns);
  s.setExitCode(in.exit_code);
  s.setExitSignal(in.exit_signal);
  s.setState(static_cast<uint8_t>(in.state));
  s.setEventCount(in.event_count);
  s.setChunkCount(in.chunk_count);
  s.setRawBytes(in.raw_bytes);
  s.setStoredBytes(in.stored_bytes);
  s.setHeadHash(capnp::Data::Reader(in.head_hash.data(), in.head_hash.size()));
  SetList(s.initEnvNames(static_cast<unsigned>(in.env_names.size())), in.env_names);
  SetList(s.initSecretEnvNames(static_cast<unsigned>(in.secret_env_names.size())), in.secret_env_names);
  s.setRecorder(in.recorder);
  if (!in.head_signature.empty()) {
    s.setHeadSignature(
        capnp::Data::Reader(reinterpret_cast<const uint8_t*>(in.head_signature.data()), in.head_signature.size()));
    s.setSignerKey(capnp::Data::Reader(reinterpret_cast<const uint8_t*>(in.signer_key.data()), in.signer_key.size()));
  }
  auto words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

Result<SessionInfo> DecodeSessionInfo(std::string_view bytes) {
  if (bytes.size() % sizeof(capnp::word) != 0 || bytes.empty()) {
    return Status::Corruption("session record of " + std::to_string(bytes.size()) + " bytes is not whole words");
  }
  // LMDB values are not word-aligned: copy into an aligned buffer.
  auto words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), bytes.data(), bytes.size());
  SessionInfo out;
  try {
    capnp::ReaderOptions ro;
    ro.traversalLimitInWords = kRecordTraversalWords;
    ro.nestingLimit = 8;
    capnp::FlatArrayMessageReader message(words, ro);
    auto s = message.getRoot<schema::Session>();
    auto id = s.getId();
    if (id.size() != out.id.bytes.size()) return Status::Corruption("session record: id is not 16 bytes");
    std::memcpy(out.id.bytes.data(), id.begin(), id.size());
    out.label = Str(s.getLabel());
    out.agent_name = Str(s.getAgentName());
    out.agent_version = Str(s.getAgentVersion());
    GetList(s.getArgv(), &out.argv);
    out.cwd = Str(s.getCwd());
    out.home = Str(s.getHome());
    out.tmp = Str(s.getTmp());
    out.host = Str(s.getHost());
    out.user = Str(s.getUser());
    out.kernel = Str(s.getKernel());
    out.arch = Str(s.getArch());
    out.start_wall_ns = s.getStartWallNs();
    out.end_wall_ns = s.getEndWallNs();
    out.exit_code = s.getExitCode();
    out.exit_signal = s.getExitSignal();
    uint8_t state = s.getState();
    if (state > static_cast<uint8_t>(SessionState::kIncomplete)) {
      return Status::Corruption("session record: unknown state " + std::to_string(state));
    }
    out.state = static_cast<SessionState>(state);
    out.event_count = s.getEventCount();
    out.chunk_count = s.getChunkCount();
    out.raw_bytes = s.getRawBytes();
    out.stored_bytes = s.getStoredBytes();
    auto head = s.getHeadHash();
    if (head.size() != out.head_hash.size()) return Status::Corruption("session record: head hash is not 32 bytes");
    std::memcpy(out.head_hash.data(), head.begin(), head.size());
    GetList(s.getEnvNames(), &out.env_names);
    GetList(s.getSecretEnvNames(), &out.secret_env_names);
    out.recorder = Str(s.getRecorder());
    // Sizes are checked where signatures are verified (format/signing.cc): a record with a malformed
    // signature still reads, and verify --pubkey names what is wrong with it. Bounded here only.
    auto sig = s.getHeadSignature();
    auto signer = s.getSignerKey();
    if (sig.size() > 1024 || signer.size() > 1024) return Status::Corruption("session record: oversized signature");
    out.head_signature.assign(reinterpret_cast<const char*>(sig.begin()), sig.size());
    out.signer_key.assign(reinterpret_cast<const char*>(signer.begin()), signer.size());
  } catch (const kj::Exception& ex) {
    return Status::Corruption(std::string("session record: ") + ex.getDescription().cStr());
  }
  return out;
}

}  // namespace agenttrace
