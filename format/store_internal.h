// Private to format/: the state shared by a Store and the writers and readers it creates (they hold
// it by shared_ptr, so they may outlive the Store object), and the liveness rule.
//
// Thread-safety: StoreCore is immutable after construction; LmdbEnv is thread-safe.
#ifndef AGENTTRACE_FORMAT_STORE_INTERNAL_H_
#define AGENTTRACE_FORMAT_STORE_INTERNAL_H_

#include <memory>
#include <string>

#include "format/lmdb_env.h"
#include "format/session.h"
#include "format/store.h"
#include "format/unique_fd.h"

namespace agenttrace {

inline constexpr uint32_t kStoreFormatVersion = 1;  // "meta" key "format_version", u32 little-endian

struct StoreCore {
  std::string dir;
  std::shared_ptr<LmdbEnv> env;

  std::string LockDir() const { return dir + "/locks"; }
  std::string LockPath(const SessionId& id) const { return LockDir() + "/" + id.ToString() + ".lock"; }
};

// Takes the writer's liveness lock of session `id` (flock LOCK_EX on <dir>/locks/<id>.lock, created
// 0600). Fails with InvalidArgument if another writer holds it.
Result<UniqueFd> TakeSessionLock(const StoreCore& core, const SessionId& id);
// A kRecording session whose lock can be taken (or whose lock file is gone) has no writer any more:
// report it as kIncomplete. Other states are left alone.
void ApplyLiveness(const StoreCore& core, SessionInfo* info);

// Defined in session_writer.cc. `info` is already stored (state kRecording, counts zero) and `lock`
// is the held liveness lock.
std::unique_ptr<SessionWriter> NewSessionWriter(std::shared_ptr<StoreCore> core, SessionInfo info,
                                                const WriterOptions& options, UniqueFd lock);

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_STORE_INTERNAL_H_
