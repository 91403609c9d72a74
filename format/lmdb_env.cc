#include "format/lmdb_env.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstdint>
#include <mutex>

namespace agenttrace {
namespace {

MDB_val Val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }

// Flags chosen for durability: see docs/format.md "Durability". MDB_NOMETASYNC keeps the database
// consistent after a power loss (data pages are fsynced at every commit; the meta page is flushed
// with the next commit), at the price of possibly losing the last committed transaction then.
constexpr unsigned kEnvFlags = MDB_NOTLS | MDB_NOMETASYNC;
constexpr int kMaxGrowAttempts = 64;
constexpr uint64_t kNearlyFullBytes = 1u << 20;

// A commit that failed for want of space. LMDB turns a short write (the file system filled up in the
// middle of a page) into EIO, so EIO on a nearly full file system is reported as what it is.
Status CommitStatus(int rc, const std::string& dir) {
  struct statvfs vfs;
  uint64_t free_bytes = UINT64_MAX;
  if (::statvfs(dir.c_str(), &vfs) == 0) free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  if (rc == ENOSPC || rc == EDQUOT || (rc == EIO && free_bytes < kNearlyFullBytes)) {
    std::string m = "commit in " + dir + ": no space left on device (" + (rc == EDQUOT ? "EDQUOT" : "ENOSPC");
    if (rc == EIO) m += ", reported by LMDB as EIO";
    if (free_bytes != UINT64_MAX) m += "; " + std::to_string(free_bytes) + " bytes free on its file system";
    return Status::ResourceExhausted(m + ")");
  }
  return LmdbStatus(rc, "commit in " + dir);
}

}  // namespace

Status LmdbStatus(int rc, std::string_view what) {
  std::string m = std::string(what) + ": " + mdb_strerror(rc);
  switch (rc) {
    case MDB_NOTFOUND: return Status::NotFound(m);
    case MDB_MAP_FULL:
    case MDB_READERS_FULL:
    case MDB_TXN_FULL:
    case MDB_DBS_FULL: return Status::ResourceExhausted(m);
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID: return Status::Corruption(m);
    case MDB_VERSION_MISMATCH: return Status::Unsupported(m);
    case EACCES:
    case EPERM: return Status::PermissionDenied(m);
    default: return Status::IOError(m);
  }
}

Result<std::string_view> LmdbTxn::Get(MDB_dbi dbi, std::string_view key) const {
  MDB_val k = Val(key), v;
  int rc = mdb_get(txn_, dbi, &k, &v);
  if (rc != 0) return LmdbStatus(rc, "mdb_get");
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

Status WriteTxn::Put(MDB_dbi dbi, std::string_view key, std::string_view value, bool append) {
  MDB_val k = Val(key), v = Val(value);
  int rc = append ? mdb_put(txn_, dbi, &k, &v, MDB_APPEND) : MDB_KEYEXIST;
  if (rc == MDB_KEYEXIST) {  // not the last key (another session's keys sort later): normal put
    k = Val(key);
    v = Val(value);
    rc = mdb_put(txn_, dbi, &k, &v, 0);
  }
  if (rc == MDB_MAP_FULL) map_full_ = true;
  if (rc != 0) return LmdbStatus(rc, "mdb_put");
  return Status::Ok();
}

Result<std::shared_ptr<LmdbEnv>> LmdbEnv::Open(const std::string& dir, const StoreOptions& options) {
  std::shared_ptr<LmdbEnv> env(new LmdbEnv());
  env->dir_ = dir;
  env->read_only_ = options.read_only;
  env->max_map_bytes_ = std::max(options.max_map_bytes, options.initial_map_bytes);
  if (options.read_only) {
    struct stat st;
    if (::stat((dir + "/data.mdb").c_str(), &st) != 0) return Status::NotFound("no trace store in " + dir);
  }
  int rc = mdb_env_create(&env->env_);
  if (rc != 0) return LmdbStatus(rc, "mdb_env_create");
  mdb_env_set_maxdbs(env->env_, 4);
  rc = mdb_env_set_mapsize(env->env_, options.initial_map_bytes);
  if (rc != 0) return LmdbStatus(rc, "mdb_env_set_mapsize");
  unsigned flags = kEnvFlags | (options.read_only ? MDB_RDONLY : 0);
  rc = mdb_env_open(env->env_, dir.c_str(), flags, 0600);
  if (rc != 0) return LmdbStatus(rc, "open LMDB environment " + dir);

  auto open_dbs = [&](MDB_txn* txn) -> int {
    unsigned f = options.read_only ? 0 : MDB_CREATE;
    int r = mdb_dbi_open(txn, "sessions", f, &env->sessions_);
    if (r == 0) r = mdb_dbi_open(txn, "chunks", f, &env->chunks_);
    if (r == 0) r = mdb_dbi_open(txn, "meta", f, &env->meta_);
    return r;
  };
  for (int attempt = 0;; ++attempt) {
    MDB_txn* txn = nullptr;
    rc = mdb_txn_begin(env->env_, nullptr, options.read_only ? MDB_RDONLY : 0, &txn);
    if (rc == MDB_MAP_RESIZED && attempt < 3) {
      mdb_env_set_mapsize(env->env_, 0);
      continue;
    }
    if (rc != 0) return LmdbStatus(rc, "begin transaction in " + dir);
    rc = open_dbs(txn);
    if (rc != 0) {
      mdb_txn_abort(txn);
      if (rc == MDB_NOTFOUND) return Status::NotFound(dir + " is not an agenttrace store (no databases)");
      return LmdbStatus(rc, "open databases in " + dir);
    }
    rc = mdb_txn_commit(txn);  // makes the dbi handles usable by later transactions
    if (rc != 0) return LmdbStatus(rc, "commit in " + dir);
    break;
  }
  return env;
}

LmdbEnv::~LmdbEnv() {
  if (env_ != nullptr) mdb_env_close(env_);
}

Status LmdbEnv::AdoptMapSize() {
  std::unique_lock lock(resize_mu_);
  int rc = mdb_env_set_mapsize(env_, 0);
  if (rc != 0) return LmdbStatus(rc, "adopt map size of " + dir_);
  return Status::Ok();
}

uint64_t LmdbEnv::map_size() {
  std::shared_lock lock(resize_mu_);
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  return info.me_mapsize;
}

Status LmdbEnv::Grow() {
  std::unique_lock lock(resize_mu_);
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  uint64_t cur = info.me_mapsize;
  if (cur >= max_map_bytes_) {
    return Status::ResourceExhausted("store " + dir_ + " is full (MDB_MAP_FULL): map size " + std::to_string(cur) +
                                     " reached max_map_bytes");
  }
  uint64_t next = std::min<uint64_t>(cur * 2, max_map_bytes_);
  int rc = mdb_env_set_mapsize(env_, next);
  if (rc != 0) return LmdbStatus(rc, "grow map of " + dir_);
  return Status::Ok();
}

Status LmdbEnv::Read(const std::function<Status(const LmdbTxn&)>& fn) {
  for (int attempt = 0; attempt < kMaxGrowAttempts; ++attempt) {
    {
      std::shared_lock lock(resize_mu_);
      MDB_txn* txn = nullptr;
      int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
      if (rc == 0) {
        Status st = fn(LmdbTxn(txn));
        mdb_txn_abort(txn);
        return st;
      }
      if (rc != MDB_MAP_RESIZED) return LmdbStatus(rc, "begin read transaction in " + dir_);
    }
    AT_RETURN_IF_ERROR(AdoptMapSize());
  }
  return Status::Internal("map of " + dir_ + " keeps being resized");
}

Status LmdbEnv::Write(const std::function<Status(WriteTxn&)>& fn) {
  if (read_only_) return Status::InvalidArgument("store " + dir_ + " is open read-only");
  for (int attempt = 0; attempt < kMaxGrowAttempts; ++attempt) {
    bool grow = false;
    {
      std::shared_lock lock(resize_mu_);
      MDB_txn* raw = nullptr;
      int rc = mdb_txn_begin(env_, nullptr, 0, &raw);
      if (rc != 0 && rc != MDB_MAP_RESIZED) return LmdbStatus(rc, "begin write transaction in " + dir_);
      if (rc == 0) {
        WriteTxn txn(raw);
        Status st = fn(txn);
        if (txn.map_full()) {
          mdb_txn_abort(raw);
          grow = true;
        } else if (!st.ok()) {
          mdb_txn_abort(raw);
          return st;
        } else {
          rc = mdb_txn_commit(raw);  // frees the txn whatever the outcome
          if (rc == 0) return Status::Ok();
          if (rc != MDB_MAP_FULL) return CommitStatus(rc, dir_);
          grow = true;
        }
      }
    }
    if (grow) {
      AT_RETURN_IF_ERROR(Grow());
    } else {
      AT_RETURN_IF_ERROR(AdoptMapSize());
    }
  }
  return Status::Internal("write to " + dir_ + " did not fit after growing the map repeatedly");
}

Status LmdbEnv::Sync() {
  if (read_only_) return Status::Ok();
  int rc = mdb_env_sync(env_, 1);
  if (rc != 0) return LmdbStatus(rc, "sync " + dir_);
  return Status::Ok();
}

}  // namespace agenttrace
