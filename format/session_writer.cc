// SessionWriter (synchronous: encode, seal, commit in the caller's thread) and AsyncSessionWriter
// (a producer-side double buffer drained by one background thread).
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "format/chunk_codec.h"
#include "format/session_record.h"
#include "format/signing.h"
#include "format/store.h"
#include "format/store_internal.h"

namespace agenttrace {
namespace {

Status OversizedEvent(uint64_t bytes) {
  return Status::InvalidArgument("event of " + std::to_string(bytes) + " string bytes exceeds the per-event bound of " +
                                 std::to_string(kMaxEventDecodedBytes));
}

uint64_t EventCapacityBytes(const Event& e) {
  uint64_t n = e.path.capacity() + e.path2.capacity() + e.resolved.capacity() + e.address.capacity() +
               e.server.capacity() + e.tool.capacity() + e.method.capacity() + e.request_id.capacity() +
               e.json.capacity() + e.text.capacity();
  for (const auto* list : {&e.argv, &e.env_names, &e.secret_env_names}) {
    n += list->capacity() * sizeof(std::string);
    for (const auto& s : *list) n += s.capacity();
  }
  return n;
}

int64_t NowWallNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t NowMonoNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class SessionWriterImpl final : public SessionWriter {
 public:
  SessionWriterImpl(std::shared_ptr<StoreCore> core, SessionInfo info, const WriterOptions& options, UniqueFd lock)
      : core_(std::move(core)),
        info_(std::move(info)),
        encoder_(options),
        sign_key_(options.sign_key),
        seal_tail_at_(options.seal_tail_at_commit_bytes),
        lock_(std::move(lock)) {}

  ~SessionWriterImpl() override {
    // Not finished: keep what was appended (best effort). The session stays kRecording on disk and
    // reads as kIncomplete once the lock below is released.
    if (!finished_ && failed_.ok()) (void)Flush();
  }

  Result<uint64_t> Append(const Event& event) override {
    if (!failed_.ok()) return failed_;
    if (finished_) return Status::InvalidArgument("session " + info_.id.ToString() + " is finished");
    // Refused without failing the writer: a reader would refuse the chunk holding it.
    if (uint64_t n = EventStringBytes(event); n > kMaxEventDecodedBytes) return OversizedEvent(n);
    encoder_.Add(event);
    uint64_t seq = next_seq_++;
    if (encoder_.full()) AT_RETURN_IF_ERROR(CommitTail(/*seal=*/true));
    return seq;
  }

  Status Flush() override {
    if (!failed_.ok()) return failed_;
    if (finished_) return Status::Ok();
    if (encoder_.event_count() > tail_committed_) return CommitTail(/*seal=*/false);
    if (info_dirty_) return CommitRecord(info_);
    return Status::Ok();
  }

  Status Finish(int32_t exit_code, int32_t exit_signal) override {
    return FinishAs(SessionState::kComplete, exit_code, exit_signal);
  }

  Status FinishIncomplete(int32_t exit_code, int32_t exit_signal) override {
    return FinishAs(SessionState::kIncomplete, exit_code, exit_signal);
  }

  Result<uint64_t> RecordGap(uint64_t lost, std::string_view why, int64_t duration_ns) override {
    if (finished_) return Status::InvalidArgument("session " + info_.id.ToString() + " is finished");
    // Continue from the last commit: info_ holds its counts and head hash. Its open tail chunk, as
    // committed, becomes a sealed chunk; the events appended after it are dropped and counted.
    uint64_t uncommitted = next_seq_ - info_.event_count - (gap_carried_ ? 1 : 0);
    uint64_t total = gap_carry_ + lost + uncommitted;
    sealed_events_ = info_.event_count;
    sealed_chunks_ = info_.chunk_count;
    sealed_raw_ = info_.raw_bytes;
    sealed_stored_ = info_.stored_bytes;
    sealed_head_ = info_.head_hash;
    chunk_first_seq_ = info_.event_count;
    next_seq_ = info_.event_count;
    tail_committed_ = 0;
    encoder_.Reset();
    failed_ = Status::Ok();

    Event gap;
    gap.kind = EventKind::kGap;
    gap.wall_ns = NowWallNs();
    gap.mono_ns = NowMonoNs();
    gap.size = static_cast<int64_t>(total);
    gap.text = std::string(why);
    gap.duration_ns = duration_ns;
    encoder_.Add(gap);
    ++next_seq_;
    Status st = CommitTail(/*seal=*/false);
    if (!st.ok()) {
      gap_carry_ = total;
      gap_carried_ = true;
      // The count travels with the error: when no gap can be written, it is all the user is told.
      return st.WithContext(std::to_string(total) + " event(s) lost, not recorded as a gap");
    }
    gap_carry_ = 0;
    gap_carried_ = false;
    return total;
  }

 private:
  Status FinishAs(SessionState state, int32_t exit_code, int32_t exit_signal) {
    if (finished_) return Status::InvalidArgument("session " + info_.id.ToString() + " is already finished");
    AT_RETURN_IF_ERROR(Flush());
    SessionInfo next = info_;
    // An end time already set through UpdateInfo (import of a finished session) is kept.
    if (next.end_wall_ns == 0) next.end_wall_ns = NowWallNs();
    next.exit_code = exit_code;
    next.exit_signal = exit_signal;
    next.state = state;
    // Signed in the commit that completes the session: there is never a complete record whose
    // signature is still to come. A session that ends incomplete is not signed (docs/threat-model.md).
    if (sign_key_ && state == SessionState::kComplete) SignSessionHead(*sign_key_, &next);
    AT_RETURN_IF_ERROR(CommitRecord(next));
    info_ = std::move(next);
    finished_ = true;
    // A finished session is worth a full sync (data and meta page): it survives a power loss.
    Status st = core_->env->Sync();
    ::unlink(core_->LockPath(info_.id).c_str());
    lock_.reset();
    return st;
  }

 public:
  void UpdateInfo(const std::function<void(SessionInfo*)>& fn) override {
    SessionInfo next = info_;
    fn(&next);
    // Identity, counts, hashes and state belong to the writer.
    next.id = info_.id;
    next.state = info_.state;
    next.event_count = info_.event_count;
    next.chunk_count = info_.chunk_count;
    next.raw_bytes = info_.raw_bytes;
    next.stored_bytes = info_.stored_bytes;
    next.head_hash = info_.head_hash;
    next.head_signature = info_.head_signature;
    next.signer_key = info_.signer_key;
    info_ = std::move(next);
    info_dirty_ = true;
  }

  const SessionInfo& info() const override { return info_; }

 private:
  Status Failed(Status st) {
    failed_ = st.WithContext("session " + info_.id.ToString());
    return failed_;
  }

  // Commits the open tail chunk (every event added since the last sealed chunk) under the next chunk
  // number, replacing the version an earlier commit wrote there, with the session record in the same
  // transaction. With `seal` the chunk is final and the next event starts a new chunk. Rewriting the
  // tail instead of sealing at every commit keeps chunks large (they compress far better) while
  // every commit is still durable; a sealed chunk is never written again. A tail whose message has
  // reached seal_tail_at_ is sealed by any commit: re-encoding it at every commit until a bound of
  // the encoder sealed it cost more than its growth (up to 1 MiB per commit for a few KiB of events).
  Status CommitTail(bool seal) {
    ChunkHeader h;
    Status st = encoder_.Encode(chunk_first_seq_, sealed_head_, &chunk_, &h);
    if (!st.ok()) return Failed(st);
    if (seal_tail_at_ != 0 && h.raw_size >= seal_tail_at_) seal = true;
    if (sealed_chunks_ >= 0xFFFFFFFFull) return Failed(Status::ResourceExhausted("too many chunks"));
    SessionInfo next = info_;
    next.event_count = sealed_events_ + h.event_count;
    next.chunk_count = sealed_chunks_ + 1;
    next.raw_bytes = sealed_raw_ + h.raw_size;
    next.stored_bytes = sealed_stored_ + chunk_.size();
    next.head_hash = ChunkHash(chunk_);
    std::string key = ChunkKey(info_.id, static_cast<uint32_t>(sealed_chunks_));
    std::string record = EncodeSessionInfo(next);
    const bool first_write = tail_committed_ == 0;
    st = core_->env->Write([&](WriteTxn& txn) -> Status {
      AT_RETURN_IF_ERROR(txn.Put(core_->env->chunks(), key, chunk_, /*append=*/first_write));
      return txn.Put(core_->env->sessions(), SessionKey(info_.id), record);
    });
    if (!st.ok()) return Failed(st);
    info_ = std::move(next);
    info_dirty_ = false;
    tail_committed_ = h.event_count;
    if (seal) {
      sealed_events_ = info_.event_count;
      sealed_chunks_ = info_.chunk_count;
      sealed_raw_ = info_.raw_bytes;
      sealed_stored_ = info_.stored_bytes;
      sealed_head_ = info_.head_hash;
      chunk_first_seq_ += h.event_count;
      tail_committed_ = 0;
      encoder_.Reset();
    }
    return Status::Ok();
  }

  Status CommitRecord(const SessionInfo& info) {
    std::string record = EncodeSessionInfo(info);
    Status st =
        core_->env->Write([&](WriteTxn& txn) { return txn.Put(core_->env->sessions(), SessionKey(info.id), record); });
    if (!st.ok()) return Failed(st);
    info_dirty_ = false;
    return Status::Ok();
  }

  std::shared_ptr<StoreCore> core_;
  SessionInfo info_;  // as committed, plus UpdateInfo changes while info_dirty_
  ChunkEncoder encoder_;
  std::shared_ptr<const SigningKey> sign_key_;  // signs the head at Finish when set
  const uint32_t seal_tail_at_;                  // WriterOptions::seal_tail_at_commit_bytes
  UniqueFd lock_;
  std::string chunk_;  // reused buffer for the encoded chunk
  uint64_t next_seq_ = 0;
  uint64_t chunk_first_seq_ = 0;  // of the open tail chunk
  // The sealed chunks (all but the open tail): their totals and the last one's hash.
  uint64_t sealed_events_ = 0, sealed_chunks_ = 0, sealed_raw_ = 0, sealed_stored_ = 0;
  Hash256 sealed_head_{};
  uint32_t tail_committed_ = 0;  // events of the open tail in its last committed version
  bool info_dirty_ = false;
  bool finished_ = false;
  Status failed_;
  uint64_t gap_carry_ = 0;    // events counted by a gap whose commit failed
  bool gap_carried_ = false;  // that gap event is still in the encoder
};

// ---------------------------------------------------------------------------------------------- async

// Producers copy events into `pending_` (Event objects are reused, so their strings keep capacity);
// the thread swaps `pending_` with `batch_`, appends the batch to the SessionWriter without holding
// `mu_`, and flushes when the oldest uncommitted event is commit_interval_ms old or a flush is due.
// A decision is queued as its request and verdict, and its event is built by the thread when it
// reaches it in the batch: the same bytes in the same place as if the producer had built it.
class AsyncSessionWriterImpl final : public AsyncSessionWriter {
 public:
  static constexpr size_t kBatch = 1024;        // wake the thread when this many events wait
  static constexpr size_t kMaxPending = 16384;  // producers wait beyond this many events ...
  // ... or beyond WriterOptions::async_max_pending_bytes (never drop). One batch is being written
  // while the next one fills, so at most twice the bound is held.
  static constexpr uint64_t kKeepCapacityBytes = 4096;

  AsyncSessionWriterImpl(std::unique_ptr<SessionWriter> writer, const WriterOptions& options)
      : writer_(std::move(writer)),
        id_(writer_->info().id),
        interval_(std::chrono::milliseconds(std::max<int64_t>(1, options.commit_interval_ms))),
        max_pending_bytes_(options.async_max_pending_bytes) {
    thread_ = std::thread([this] { Run(); });
  }

  ~AsyncSessionWriterImpl() override { Stop(); }

  Status Append(const Event& event) override {
    const uint64_t bytes = EventStringBytes(event);
    if (bytes > kMaxEventDecodedBytes) return OversizedEvent(bytes);
    return Enqueue(bytes + sizeof(Queued), [&](Queued& q) {
      q.event = event;  // copy-assignment reuses the strings' capacity
      q.decision = false;
    });
  }

  Status AppendDecision(const Event& request, const RequestDecision& decision, EnforceMode mode) override {
    // What the queue holds until the thread formats it: the request's strings and the decision's.
    const uint64_t cost = EventStringBytes(request) + decision.rule.size() + decision.reason.size() + sizeof(Queued);
    // A request without times is stamped when decided, not when written (as AppendDecisionEvent does).
    std::optional<Event> stamped;
    const Event* req = &request;
    if (request.mono_ns == 0) {
      stamped = request;
      stamped->mono_ns = NowMonoNs();
      stamped->wall_ns = NowWallNs();
      req = &*stamped;
    }
    return Enqueue(cost, [&](Queued& q) {
      q.event = *req;
      q.decision = true;
      q.verdict = decision;
      q.mode = mode;
    });
  }

 private:
  // One queued item: an event, or a decision whose event the thread builds.
  struct Queued {
    Event event;            // the event; for a decision, the request decided
    bool decision = false;  // store the decision event of `event`, not `event`
    EnforceMode mode = EnforceMode::kEnforce;
    RequestDecision verdict;
  };

  // Waits for room (count and byte bounds), then fills the next slot with `fill` under mu_.
  template <typename Fill>
  Status Enqueue(uint64_t cost, const Fill& fill) {
    std::unique_lock lock(mu_);
    // Bounded by count and by bytes; an event alone in the queue is always taken, so that one larger
    // than the byte bound does not wait forever.
    while ((pending_n_ >= kMaxPending || (pending_n_ > 0 && pending_bytes_ + cost > max_pending_bytes_)) &&
           error_.ok() && !exited_) {
      space_cv_.wait(lock);
    }
    if (!error_.ok()) {
      ++lost_;
      return error_;
    }
    if (stop_ || exited_) return Status::InvalidArgument("session " + id_.ToString() + " is finished");
    if (pending_n_ == 0) pending_since_ = Clock::now();
    if (pending_n_ == pending_.size()) pending_.emplace_back();
    fill(pending_[pending_n_]);
    ++pending_n_;
    pending_bytes_ += cost;
    if (thread_waiting_ && (pending_n_ == 1 || pending_n_ == kBatch)) work_cv_.notify_one();
    return Status::Ok();
  }

 public:
  void UpdateInfo(const std::function<void(SessionInfo*)>& fn) override {
    std::lock_guard lock(writer_mu_);
    writer_->UpdateInfo(fn);
  }

  Status Flush() override {
    std::unique_lock lock(mu_);
    uint64_t ticket = ++flush_requested_;
    work_cv_.notify_one();
    done_cv_.wait(lock, [&] { return flush_done_ >= ticket || exited_; });
    return error_;
  }

  Status Finish(int32_t exit_code, int32_t exit_signal) override {
    return StopAndFinish(/*complete=*/true, exit_code, exit_signal);
  }

  Status FinishIncomplete(int32_t exit_code, int32_t exit_signal) override {
    return StopAndFinish(/*complete=*/false, exit_code, exit_signal);
  }

  void SetFailureCallback(std::function<void(const Status&)> fn) override {
    std::lock_guard lock(mu_);
    on_failure_ = std::move(fn);
  }

  Result<uint64_t> RecordGap(std::string_view why) override {
    std::lock_guard wl(writer_mu_);  // the order Finish takes them in
    std::unique_lock lock(mu_);
    if (error_.ok()) return Status::InvalidArgument("session " + id_.ToString() + ": no failure to record");
    // The thread stops at its first error; held mu_ keeps producers out until it runs again.
    if (!exited_) return Status::Internal("session " + id_.ToString() + ": writer thread still running");
    if (thread_.joinable()) thread_.join();
    uint64_t lost = lost_ + pending_n_;
    // The queued events are dropped here (the gap counts them): their bytes leave the bound with
    // them, or the bound would trip early after the gap and hold producers until the next timed commit.
    DropLargeCapacity(pending_, pending_n_);
    lost_ = 0;
    pending_n_ = 0;
    pending_bytes_ = 0;
    int64_t duration_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - failed_at_).count();
    Result<uint64_t> gap = writer_->RecordGap(lost, why, duration_ns);
    if (!gap.ok()) return gap.status();  // the writer keeps the count for the next attempt
    error_ = Status::Ok();
    failure_reported_ = false;
    stop_ = exited_ = dirty_ = false;
    flush_requested_ = flush_done_ = 0;
    thread_ = std::thread([this] { Run(); });
    return gap;
  }

  SessionId id() const override { return id_; }

 private:
  using Clock = std::chrono::steady_clock;

  // Drains the queue and joins the thread, then finishes the session unless the thread failed.
  Status StopAndFinish(bool complete, int32_t exit_code, int32_t exit_signal) {
    Stop();
    std::lock_guard lock(writer_mu_);
    {
      std::lock_guard l(mu_);
      if (!error_.ok()) return error_;
    }
    return complete ? writer_->Finish(exit_code, exit_signal) : writer_->FinishIncomplete(exit_code, exit_signal);
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      stop_ = true;
      work_cv_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
  }

  // Reused events keep their strings' capacity; drop it where it is large, or 2 x kMaxPending slots
  // could each hold on to a once-large event long after the byte bound let it through.
  static void DropLargeCapacity(std::vector<Queued>& items, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      Queued& q = items[i];
      if (EventCapacityBytes(q.event) + q.verdict.rule.capacity() + q.verdict.reason.capacity() > kKeepCapacityBytes) {
        q = Queued();
      }
    }
  }

  void Run() {
    std::unique_lock lock(mu_);
    for (;;) {
      // Sleep until there is a full batch, a flush request, the stop, or the commit deadline.
      while (!stop_ && flush_requested_ == flush_done_ && pending_n_ < kBatch) {
        if (pending_n_ == 0 && !dirty_) {
          thread_waiting_ = true;
          work_cv_.wait(lock);
          thread_waiting_ = false;
          continue;
        }
        Clock::time_point deadline = (dirty_ ? dirty_since_ : pending_since_) + interval_;
        if (Clock::now() >= deadline) break;
        thread_waiting_ = true;
        work_cv_.wait_until(lock, deadline);
        thread_waiting_ = false;
      }
      const uint64_t flush_target = flush_requested_;
      const bool stopping = stop_;
      size_t n = pending_n_;
      if (n > 0) {
        if (!dirty_) dirty_since_ = pending_since_;
        dirty_ = true;
      }
      bool flush = stopping || flush_target != flush_done_ || (dirty_ && Clock::now() >= dirty_since_ + interval_);
      pending_.swap(batch_);
      pending_n_ = 0;
      pending_bytes_ = 0;
      space_cv_.notify_all();
      lock.unlock();

      Status st;
      size_t handed = 0;  // events of the batch given to the writer
      {
        std::lock_guard wl(writer_mu_);
        for (; handed < n && st.ok(); ++handed) {
          const Queued& q = batch_[handed];
          const Event* e = &q.event;
          if (q.decision) {
            AppendDecisionEvent(q.event, q.verdict, q.mode, &decision_);
            // Refused as Append refuses an oversized event: not stored, the writer goes on.
            if (EventStringBytes(decision_) > kMaxEventDecodedBytes) continue;
            e = &decision_;
          }
          auto r = writer_->Append(*e);
          if (!r.ok()) st = r.status();
        }
        if (EventCapacityBytes(decision_) > kKeepCapacityBytes) decision_ = Event();
        if (st.ok() && flush) st = writer_->Flush();
      }
      DropLargeCapacity(batch_, n);

      lock.lock();
      if (!st.ok() && error_.ok()) {
        error_ = st;
        failed_at_ = Clock::now();
        lost_ += n - handed;
      }
      if (flush) {
        dirty_ = false;
        flush_done_ = flush_target;
        done_cv_.notify_all();
      }
      if (!error_.ok() || (stopping && pending_n_ == 0)) break;
    }
    exited_ = true;
    flush_done_ = flush_requested_;
    done_cv_.notify_all();
    space_cv_.notify_all();
    if (!error_.ok() && !failure_reported_ && on_failure_) {
      failure_reported_ = true;
      std::function<void(const Status&)> fn = on_failure_;
      Status st = error_;
      lock.unlock();
      fn(st);
    }
  }

  std::unique_ptr<SessionWriter> writer_;
  const SessionId id_;
  const Clock::duration interval_;
  const uint64_t max_pending_bytes_;
  std::mutex writer_mu_;  // serialises the thread's use of writer_ with UpdateInfo and Finish
  Event decision_;        // guarded by writer_mu_: the decision event being built (reused)

  std::mutex mu_;  // guards everything below
  std::condition_variable work_cv_, space_cv_, done_cv_;
  std::vector<Queued> pending_, batch_;
  size_t pending_n_ = 0;
  uint64_t pending_bytes_ = 0;         // EventStringBytes + sizeof(Event) of the pending events
  Clock::time_point pending_since_{};  // when pending_ last became non-empty
  Clock::time_point dirty_since_{};    // oldest event appended to writer_ but not committed
  bool dirty_ = false;
  bool thread_waiting_ = false;
  bool stop_ = false;
  bool exited_ = false;
  uint64_t flush_requested_ = 0, flush_done_ = 0;
  Status error_;
  // Store failures: events lost outside the writer (refused by Append, left in a failed batch), when
  // the failure came, who to tell.
  uint64_t lost_ = 0;
  Clock::time_point failed_at_{};
  std::function<void(const Status&)> on_failure_;
  bool failure_reported_ = false;
  std::thread thread_;
};

}  // namespace

Status AsyncSessionWriter::AppendDecision(const Event& request, const RequestDecision& decision, EnforceMode mode) {
  return Append(MakeDecisionEvent(request, decision, mode));
}

std::unique_ptr<SessionWriter> NewSessionWriter(std::shared_ptr<StoreCore> core, SessionInfo info,
                                                const WriterOptions& options, UniqueFd lock) {
  return std::make_unique<SessionWriterImpl>(std::move(core), std::move(info), options, std::move(lock));
}

Result<std::unique_ptr<AsyncSessionWriter>> AsyncSessionWriter::Start(std::unique_ptr<SessionWriter> writer,
                                                                      const WriterOptions& options) {
  if (writer == nullptr) return Status::InvalidArgument("AsyncSessionWriter::Start: no writer");
  return std::unique_ptr<AsyncSessionWriter>(new AsyncSessionWriterImpl(std::move(writer), options));
}

}  // namespace agenttrace
