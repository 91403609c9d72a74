// LmdbEnv: the store's LMDB environment with its three named databases, and transactions that
// grow the map instead of failing.
//
// Every transaction of this process runs inside Read() or Write(), which hold a shared lock for the
// transaction's lifetime; growing the map (MDB_MAP_FULL here) or adopting a size another process set
// (MDB_MAP_RESIZED) takes the lock exclusively, because mdb_env_set_mapsize requires that no
// transaction of this process is open. Write() re-runs its function from scratch after growing, so the
// function must only stage puts through the given WriteTxn.
//
// Byte views returned by Get() point into the map and are valid only inside the callback.
//
// Thread-safety: thread-safe (MDB_NOTLS; LMDB serialises write transactions across threads and
// processes).
#ifndef AGENTTRACE_FORMAT_LMDB_ENV_H_
#define AGENTTRACE_FORMAT_LMDB_ENV_H_

#include <lmdb.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "format/status.h"
#include "format/store.h"

namespace agenttrace {

// "what: MDB_NOTFOUND: No matching key/data pair found" as a Status of a fitting code.
Status LmdbStatus(int rc, std::string_view what);

class LmdbTxn {
 public:
  LmdbTxn(MDB_txn* txn) : txn_(txn) {}  // NOLINT: borrowed, not owned
  MDB_txn* get() const { return txn_; }
  // Looks `key` up in `dbi`: the value (valid until the transaction ends), NotFound, or an error.
  Result<std::string_view> Get(MDB_dbi dbi, std::string_view key) const;

 protected:
  MDB_txn* txn_;
};

class WriteTxn : public LmdbTxn {
 public:
  using LmdbTxn::LmdbTxn;
  // Stores key -> value. With `append`, tries MDB_APPEND first (the key sorts after every key of the
  // database) and falls back to a normal put when it does not.
  Status Put(MDB_dbi dbi, std::string_view key, std::string_view value, bool append = false);
  bool map_full() const { return map_full_; }

 private:
  bool map_full_ = false;
};

class LmdbEnv {
 public:
  // Opens (read-write: creating) the environment in directory `dir` and its databases "sessions",
  // "chunks" and "meta". A read-only open of a directory without a store is NotFound.
  static Result<std::shared_ptr<LmdbEnv>> Open(const std::string& dir, const StoreOptions& options);
  ~LmdbEnv();
  LmdbEnv(const LmdbEnv&) = delete;
  LmdbEnv& operator=(const LmdbEnv&) = delete;

  // Runs `fn` in a read-only transaction.
  Status Read(const std::function<Status(const LmdbTxn&)>& fn);
  // Runs `fn` in a write transaction and commits it if `fn` returns OK (else aborts). On MDB_MAP_FULL
  // the map doubles (up to max_map_bytes, then ResourceExhausted) and `fn` runs again.
  Status Write(const std::function<Status(WriteTxn&)>& fn);
  // Forces a full fsync of the data file (mdb_env_sync(env, 1)).
  Status Sync();
  uint64_t map_size();

  MDB_dbi sessions() const { return sessions_; }
  MDB_dbi chunks() const { return chunks_; }
  MDB_dbi meta() const { return meta_; }
  bool read_only() const { return read_only_; }

 private:
  LmdbEnv() = default;
  Status Grow();
  Status AdoptMapSize();

  MDB_env* env_ = nullptr;
  MDB_dbi sessions_ = 0, chunks_ = 0, meta_ = 0;
  bool read_only_ = false;
  uint64_t max_map_bytes_ = 0;
  std::string dir_;
  std::shared_mutex resize_mu_;
};

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_LMDB_ENV_H_
