// The LMDB trace store: opening, session records, liveness, readers, Resolve, Verify and Stats. No key
// material is kept here (recorder/fingerprint_key.h, format/signing.h). Writers live in
// session_writer.cc. On-disk format: docs/format.md, "Storage".
#include "format/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "format/chunk_codec.h"
#include "format/session_record.h"
#include "format/store_internal.h"
#include "format/sys.h"

namespace agenttrace {

// ---------------------------------------------------------------------------------------------- locks

Result<UniqueFd> TakeSessionLock(const StoreCore& core, const SessionId& id) {
  std::string path = core.LockPath(id);
  UniqueFd fd(RetryEintr([&] { return ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600); }));
  if (!fd.valid()) return Status::FromErrno("create lock " + path, errno);
  if (RetryEintr([&] { return ::flock(fd.get(), LOCK_EX | LOCK_NB); }) != 0) {
    if (errno == EWOULDBLOCK) return Status::InvalidArgument("session " + id.ToString() + " already has a writer");
    return Status::FromErrno("flock " + path, errno);
  }
  return fd;
}

void ApplyLiveness(const StoreCore& core, SessionInfo* info) {
  if (info->state != SessionState::kRecording) return;
  std::string path = core.LockPath(info->id);
  UniqueFd fd(RetryEintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); }));
  if (!fd.valid()) {
    if (errno == ENOENT) info->state = SessionState::kIncomplete;
    return;  // unreadable lock: cannot tell, keep "recording"
  }
  if (RetryEintr([&] { return ::flock(fd.get(), LOCK_SH | LOCK_NB); }) == 0) {
    info->state = SessionState::kIncomplete;  // nobody holds it: the writer is gone (closing releases)
  }
}

namespace {

Status Annotate(const Status& st, const SessionId& id) {
  if (st.ok()) return st;
  return st.WithContext("session " + id.ToString());
}

Result<SessionInfo> GetRecord(const LmdbTxn& txn, const LmdbEnv& env, const SessionId& id) {
  auto v = txn.Get(env.sessions(), SessionKey(id));
  if (!v.ok()) {
    if (v.status().code() == StatusCode::kNotFound) return Status::NotFound("no session " + id.ToString());
    return v.status();
  }
  auto info = DecodeSessionInfo(*v);
  if (!info.ok()) return Annotate(info.status(), id);
  if (info->id != id) return Status::Corruption("session " + id.ToString() + ": record holds another id");
  return info;
}

// Removes the "session <id>: chunk <n>: " prefix that ChunkDecoder puts on its messages.
std::string Problem(const Status& st, const ChunkContext& ctx) {
  std::string m = st.message();
  std::string p = ctx.Prefix();
  if (m.rfind(p, 0) == 0) m.erase(0, p.size());
  return m;
}

// ---------------------------------------------------------------------------------------------- reader

// Like AT_RETURN_IF_ERROR inside SessionReaderImpl::Next, which returns a Result and marks the end.
#define AT_RETURN_IF_ERROR_R(expr)         \
  do {                                     \
    Status at_st_ = (expr);                \
    if (!at_st_.ok()) return Fail(at_st_); \
  } while (0)

class SessionReaderImpl final : public SessionReader {
 public:
  SessionReaderImpl(std::shared_ptr<StoreCore> core, SessionInfo info, const ReaderOptions& options)
      : core_(std::move(core)), info_(std::move(info)), options_(options), decoder_(options) {}

  const SessionInfo& info() const override { return info_; }
  uint64_t current_chunk() const override { return current_chunk_; }

  Result<const Event*> Next() override {
    if (done_) return static_cast<const Event*>(nullptr);
    for (;;) {
      if (open_) {
        auto r = decoder_.Next(&event_);
        if (!r.ok()) return Fail(r.status());
        if (*r) {
          current_chunk_ = chunk_;
          return static_cast<const Event*>(&event_);
        }
        open_ = false;
        next_seq_ += decoder_.header().event_count;
        ++chunk_;
        if (last_) {
          done_ = true;
          return static_cast<const Event*>(nullptr);
        }
      }
      // Fetch the next chunk; copy it out of the map so that no transaction stays open. From the last
      // chunk the record counted when the reader opened on, the record is re-read in the same
      // transaction: a live session's open tail chunk is rewritten with more events at every commit
      // (and then sealed, and more chunks follow), so the chunk must be checked against the record
      // of its own version. The reader then ends after the chunk that record calls the last: it
      // returns a consistent prefix of a session that is still being recorded.
      bool found = false;
      Status st = core_->env->Read([&](const LmdbTxn& txn) -> Status {
        if (chunk_ + 1 >= info_.chunk_count) {
          AT_ASSIGN_OR_RETURN(SessionInfo fresh, GetRecord(txn, *core_->env, info_.id));
          info_ = std::move(fresh);
        }
        auto v = txn.Get(core_->env->chunks(), ChunkKey(info_.id, static_cast<uint32_t>(chunk_)));
        if (!v.ok()) return v.status().code() == StatusCode::kNotFound ? Status::Ok() : v.status();
        buf_.assign(v->data(), v->size());
        found = true;
        return Status::Ok();
      });
      if (!st.ok()) return Fail(Annotate(st, info_.id));
      ChunkContext ctx{info_.id.ToString(), chunk_};
      if (!found) {
        if (chunk_ < info_.chunk_count) return Fail(Status::Corruption(ctx.Prefix() + "missing chunk"));
        // No more chunks: the end, also for an incomplete session whose tail was never committed.
        done_ = true;
        return static_cast<const Event*>(nullptr);
      }
      if (chunk_ >= info_.chunk_count) {
        return Fail(Status::Corruption(ctx.Prefix() + "chunk beyond the session record's chunk count"));
      }
      last_ = chunk_ + 1 == info_.chunk_count;
      if (chunk_ > 0xFFFFFFFFull) return Fail(Status::Corruption(ctx.Prefix() + "too many chunks"));
      AT_RETURN_IF_ERROR_R(decoder_.Open(buf_, ctx, options_.verify_hashes ? &prev_hash_ : nullptr));
      if (decoder_.header().first_seq != next_seq_) {
        return Fail(Status::Corruption(ctx.Prefix() + "sequence gap: chunk starts at " +
                                       std::to_string(decoder_.header().first_seq) + ", expected " +
                                       std::to_string(next_seq_)));
      }
      if (options_.verify_hashes) {
        prev_hash_ = ChunkHash(buf_);
        if (chunk_ + 1 == info_.chunk_count && prev_hash_ != info_.head_hash) {
          return Fail(Status::Corruption(ctx.Prefix() + "head hash mismatch: the session record says " +
                                         HashToHex(info_.head_hash) + ", the chunk hashes to " +
                                         HashToHex(prev_hash_)));
        }
      }
      open_ = true;
    }
  }

 private:
  Result<const Event*> Fail(Status st) {
    done_ = true;
    return st;
  }

  std::shared_ptr<StoreCore> core_;
  SessionInfo info_;
  ReaderOptions options_;
  ChunkDecoder decoder_;
  Event event_;
  std::string buf_;
  Hash256 prev_hash_{};
  uint64_t chunk_ = 0;
  uint64_t current_chunk_ = 0;
  uint64_t next_seq_ = 0;
  bool open_ = false;
  bool last_ = false;  // the open chunk is the last the session record counted
  bool done_ = false;
};

#undef AT_RETURN_IF_ERROR_R

// ---------------------------------------------------------------------------------------------- store

class StoreImpl final : public Store {
 public:
  explicit StoreImpl(std::shared_ptr<StoreCore> core) : core_(std::move(core)) {}

  Result<std::unique_ptr<SessionWriter>> CreateSession(SessionInfo info, const WriterOptions& options) override {
    if (core_->env->read_only()) return Status::InvalidArgument("store " + core_->dir + " is open read-only");
    if (options.chunk_max_events == 0 || options.chunk_max_raw_bytes == 0) {
      return Status::InvalidArgument("WriterOptions: chunk bounds must be positive");
    }
    if (info.id == SessionId{}) info.id = SessionId::NewV7();
    info.state = SessionState::kRecording;
    info.event_count = info.chunk_count = info.raw_bytes = info.stored_bytes = 0;
    info.head_hash = Hash256{};
    info.head_signature.clear();
    info.signer_key.clear();
    info.end_wall_ns = 0;
    AT_ASSIGN_OR_RETURN(UniqueFd lock, TakeSessionLock(*core_, info.id));
    std::string key = SessionKey(info.id);
    std::string record = EncodeSessionInfo(info);
    Status st = core_->env->Write([&](WriteTxn& txn) -> Status {
      auto existing = txn.Get(core_->env->sessions(), key);
      if (existing.ok()) return Status::InvalidArgument("session " + info.id.ToString() + " already exists");
      if (existing.status().code() != StatusCode::kNotFound) return existing.status();
      return txn.Put(core_->env->sessions(), key, record, /*append=*/true);
    });
    if (!st.ok()) return Annotate(st, info.id);
    return NewSessionWriter(core_, std::move(info), options, std::move(lock));
  }

  Result<std::vector<SessionInfo>> ListSessions() override {
    std::vector<SessionInfo> out;
    Status st = core_->env->Read([&](const LmdbTxn& txn) -> Status {
      MDB_cursor* cur = nullptr;
      int rc = mdb_cursor_open(txn.get(), core_->env->sessions(), &cur);
      if (rc != 0) return LmdbStatus(rc, "open cursor");
      MDB_val k, v;
      Status result;
      for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        auto info = DecodeSessionInfo(std::string_view(static_cast<const char*>(v.mv_data), v.mv_size));
        if (!info.ok()) {
          result = info.status().WithContext("session record #" + std::to_string(out.size()));
          break;
        }
        out.push_back(std::move(*info));
      }
      mdb_cursor_close(cur);
      if (result.ok() && rc != 0 && rc != MDB_NOTFOUND) result = LmdbStatus(rc, "list sessions");
      return result;
    });
    if (!st.ok()) return st;
    for (auto& info : out) ApplyLiveness(*core_, &info);
    return out;
  }

  Result<SessionInfo> GetSession(const SessionId& id) override {
    SessionInfo info;
    Status st = core_->env->Read([&](const LmdbTxn& txn) -> Status {
      AT_ASSIGN_OR_RETURN(info, GetRecord(txn, *core_->env, id));
      return Status::Ok();
    });
    if (!st.ok()) return st;
    ApplyLiveness(*core_, &info);
    return info;
  }

  Result<SessionId> Resolve(std::string_view id_or_prefix) override {
    std::string prefix(id_or_prefix);
    std::transform(prefix.begin(), prefix.end(), prefix.begin(), [](unsigned char c) { return std::tolower(c); });
    if (prefix.empty()) return Status::InvalidArgument("empty session id");
    if (prefix.size() > 36) return Status::InvalidArgument("not a session id: \"" + prefix + "\"");
    std::vector<SessionId> matches;
    Status st = core_->env->Read([&](const LmdbTxn& txn) -> Status {
      MDB_cursor* cur = nullptr;
      int rc = mdb_cursor_open(txn.get(), core_->env->sessions(), &cur);
      if (rc != 0) return LmdbStatus(rc, "open cursor");
      MDB_val k, v;
      for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 16) continue;
        SessionId id;
        std::memcpy(id.bytes.data(), k.mv_data, 16);
        if (id.ToString().rfind(prefix, 0) == 0) matches.push_back(id);
      }
      mdb_cursor_close(cur);
      return Status::Ok();
    });
    if (!st.ok()) return st;
    if (matches.empty()) return Status::NotFound("no session matches \"" + prefix + "\"");
    if (matches.size() > 1) {
      std::string m = "ambiguous session prefix \"" + prefix + "\" matches " + std::to_string(matches.size()) +
                      " sessions:";
      for (size_t i = 0; i < matches.size() && i < 10; ++i) m += " " + matches[i].ToString();
      if (matches.size() > 10) m += " ...";
      return Status::InvalidArgument(m);
    }
    return matches[0];
  }

  Result<std::unique_ptr<SessionReader>> OpenSession(const SessionId& id, const ReaderOptions& options) override {
    AT_ASSIGN_OR_RETURN(SessionInfo info, GetSession(id));
    return std::unique_ptr<SessionReader>(new SessionReaderImpl(core_, std::move(info), options));
  }

  Result<VerifyResult> Verify(const SessionId& id) override {
    VerifyState vs;
    vs.result.id = id;
    while (!vs.done) {
      Status st = core_->env->Read([&](const LmdbTxn& txn) {
        ++vs.result.read_transactions;
        return VerifyBatch(txn, id, &vs);
      });
      if (!st.ok()) return st;
    }
    return std::move(vs.result);
  }

  // What Verify carries from one read transaction to the next.
  struct VerifyState {
    VerifyState() : decoder(ReaderOptions{}) {}
    ChunkDecoder decoder;
    Event event;
    Hash256 prev{};
    uint64_t next_seq = 0;
    uint64_t next_chunk = 0;
    bool done = false;
    VerifyResult result;
    Status Bad(uint64_t chunk, std::string problem) {
      result.ok = false;
      result.first_bad_chunk = chunk;
      result.problem = std::move(problem);
      done = true;
      return Status::Ok();
    }
  };

  // Checks chunks from vs->next_chunk on in one read transaction: up to kVerifyBatchChunks sealed
  // chunks (never rewritten, so the next transaction may go on from them), or, once the open tail
  // chunk is within reach, the rest of the session against this transaction's session record.
  Status VerifyBatch(const LmdbTxn& txn, const SessionId& id, VerifyState* vs) {
    static constexpr uint64_t kVerifyBatchChunks = 64;
    AT_ASSIGN_OR_RETURN(SessionInfo info, GetRecord(txn, *core_->env, id));
    const uint64_t sealed = info.chunk_count == 0 ? 0 : info.chunk_count - 1;
    const uint64_t batch_end = vs->next_chunk + kVerifyBatchChunks;
    for (uint64_t& n = vs->next_chunk;; ++n) {
      if (n < sealed && n >= batch_end) return Status::Ok();  // more sealed chunks: next transaction
      if (n > 0xFFFFFFFFull) return vs->Bad(n, "too many chunks");
      auto v = txn.Get(core_->env->chunks(), ChunkKey(id, static_cast<uint32_t>(n)));
      if (!v.ok()) {
        if (v.status().code() != StatusCode::kNotFound) return v.status();
        if (n < info.chunk_count) return vs->Bad(n, "missing chunk");
        break;
      }
      if (n >= info.chunk_count) return vs->Bad(n, "chunk beyond the session record's chunk count");
      ChunkContext ctx{id.ToString(), n};
      Status open = vs->decoder.Open(*v, ctx, &vs->prev);
      if (!open.ok()) return vs->Bad(n, Problem(open, ctx));
      if (vs->decoder.header().first_seq != vs->next_seq) {
        return vs->Bad(n, "sequence gap: chunk starts at " + std::to_string(vs->decoder.header().first_seq) +
                              ", expected " + std::to_string(vs->next_seq));
      }
      for (;;) {
        auto r = vs->decoder.Next(&vs->event);
        if (!r.ok()) return vs->Bad(n, Problem(r.status(), ctx));
        if (!*r) break;
        ++vs->result.events_checked;
      }
      vs->next_seq += vs->decoder.header().event_count;
      vs->prev = ChunkHash(*v);
      ++vs->result.chunks_checked;
    }
    vs->done = true;
    vs->result.record = info;
    const uint64_t last = info.chunk_count == 0 ? 0 : info.chunk_count - 1;
    if (vs->prev != info.head_hash) return vs->Bad(last, "head hash mismatch");
    if (vs->next_seq != info.event_count) {
      return vs->Bad(last, "event count mismatch: chunks hold " + std::to_string(vs->next_seq) + ", the record says " +
                               std::to_string(info.event_count));
    }
    return Status::Ok();
  }

  Result<StoreStats> Stats() override {
    AT_ASSIGN_OR_RETURN(std::vector<SessionInfo> sessions, ListSessions());
    StoreStats s;
    s.sessions = sessions.size();
    for (const auto& i : sessions) {
      s.events += i.event_count;
      s.chunks += i.chunk_count;
      s.raw_bytes += i.raw_bytes;
      s.stored_bytes += i.stored_bytes;
    }
    struct stat st;
    if (::stat((core_->dir + "/data.mdb").c_str(), &st) == 0) s.file_bytes = static_cast<uint64_t>(st.st_size);
    return s;
  }

  const std::string& dir() const override { return core_->dir; }

 private:
  std::shared_ptr<StoreCore> core_;
};

Status CheckOrSetVersion(LmdbEnv& env, const std::string& dir) {
  static const std::string kKey = "format_version";
  uint32_t found = 0;
  bool present = false;
  AT_RETURN_IF_ERROR(env.Read([&](const LmdbTxn& txn) -> Status {
    auto v = txn.Get(env.meta(), kKey);
    if (!v.ok()) return v.status().code() == StatusCode::kNotFound ? Status::Ok() : v.status();
    if (v->size() != 4) return Status::Corruption(dir + ": bad format_version record");
    present = true;
    for (int i = 3; i >= 0; --i) found = (found << 8) | static_cast<uint8_t>((*v)[i]);
    return Status::Ok();
  }));
  if (present) {
    if (found != kStoreFormatVersion) {
      return Status::Unsupported(dir + ": store format version " + std::to_string(found) + " (this build reads " +
                                 std::to_string(kStoreFormatVersion) + ")");
    }
    return Status::Ok();
  }
  if (env.read_only()) return Status::Ok();  // an empty store someone just created
  std::string value(4, '\0');
  for (int i = 0; i < 4; ++i) value[i] = static_cast<char>(kStoreFormatVersion >> (8 * i));
  return env.Write([&](WriteTxn& txn) { return txn.Put(env.meta(), kKey, value); });
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(const std::string& dir, const StoreOptions& options) {
  if (dir.empty()) return Status::InvalidArgument("empty store directory");
  if (!options.read_only) {
    std::error_code ec;
    std::filesystem::create_directories(dir + "/locks", ec);
    if (ec) return Status::IOError("create store directory " + dir + ": " + ec.message());
  }
  auto core = std::make_shared<StoreCore>();
  core->dir = dir;
  AT_ASSIGN_OR_RETURN(core->env, LmdbEnv::Open(dir, options));
  AT_RETURN_IF_ERROR(CheckOrSetVersion(*core->env, dir));
  return std::unique_ptr<Store>(new StoreImpl(std::move(core)));
}

}  // namespace agenttrace
