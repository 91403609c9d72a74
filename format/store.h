// The trace store: sessions and their hash-chained event chunks in an LMDB environment (a directory).
//
// Layout (docs/format.md): database "sessions" maps a 16-byte SessionId to an encoded SessionInfo;
// database "chunks" maps SessionId || big-endian u32 chunk number to a chunk (header + zstd payload of
// Cap'n Proto-encoded events). Keys are big-endian so a session's chunks append in key order.
//
// Concurrency: any number of processes may open the same store. Each session has exactly one writer
// (a SessionWriter, used from one thread at a time); writers of different sessions, in one process or
// several, may append concurrently. Readers see every committed chunk while a writer appends. A Store
// object is thread-safe; readers and writers created from it are thread-compatible.
//
// Durability: a writer commits on every sealed chunk and whenever Flush() is called (AsyncSessionWriter
// does so at least every 200 ms). A Flush writes the open tail chunk, which later commits rewrite with
// more events until it is full and sealed (docs/format.md, "Chunk size and the open tail chunk"), so
// that chunks stay large; a sealed chunk is never written again. A writer killed by SIGKILL loses only what it had not committed; its
// session then reads back as kIncomplete with every committed event intact (liveness of a writer is a
// lock held on a per-session lock file).
#ifndef AGENTTRACE_FORMAT_STORE_H_
#define AGENTTRACE_FORMAT_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/decision_event.h"
#include "format/event.h"
#include "format/event_sink.h"
#include "format/event_source.h"
#include "format/session.h"
#include "format/status.h"

namespace agenttrace {

class SigningKey;

// $AGENTTRACE_STORE if set and non-empty, else "./.agenttrace".
std::string DefaultStoreDir();

struct StoreOptions {
  bool read_only = false;                        // open an existing store for reading only
  uint64_t initial_map_bytes = 64ull << 20;      // LMDB map size at creation; grows (doubling) when full
  uint64_t max_map_bytes = 1ull << 40;           // the map never grows past this: ResourceExhausted
};

// Bounds on what one chunk decodes to (docs/format.md, "Decoding bounds"). Strings are interned per
// chunk, so a few KB of message can reference one large string many times: the decoder counts the
// string bytes it hands out and refuses a chunk past these bounds (Corruption) before copying. Every
// producer's own limit (16 MiB JSON lines and MCP messages, bounded argv) stays below the per-event
// bound, and the writer seals a chunk well before the per-chunk one.
inline constexpr uint64_t kMaxEventDecodedBytes = 32ull << 20;
inline constexpr uint64_t kMaxChunkDecodedBytes = 256ull << 20;

struct WriterOptions {
  uint32_t chunk_max_raw_bytes = 1u << 20;       // seal a chunk at this many uncompressed bytes ...
  uint32_t chunk_max_events = 65536;             // ... or this many events, whichever comes first ...
  uint64_t chunk_max_decoded_bytes = 64ull << 20;  // ... or when its events' strings total this many
  // A commit seals the open tail chunk once its message is this large (0: only the bounds above
  // seal). Each commit re-encodes the whole tail; this bounds that work per commit, at a cost in
  // compression that is small at this size (docs/format.md, "Chunk size and the open tail chunk").
  uint32_t seal_tail_at_commit_bytes = 256u << 10;
  int zstd_level = 3;
  int64_t commit_interval_ms = 200;              // AsyncSessionWriter: max time an event waits uncommitted
  uint64_t async_max_pending_bytes = 64ull << 20;  // AsyncSessionWriter: producers wait beyond this
  // When set, Finish signs the completed session's head with it (format/signing.h) in the same
  // commit that marks the session complete.
  std::shared_ptr<const SigningKey> sign_key;
};

struct ReaderOptions {
  uint64_t max_chunk_raw_bytes = 64ull << 20;    // refuse chunks that claim to decompress to more
  uint64_t traversal_limit_words = 64ull << 20;  // Cap'n Proto traversal limit per chunk
  uint64_t max_event_decoded_bytes = kMaxEventDecodedBytes;  // string bytes one event may decode to
  uint64_t max_chunk_decoded_bytes = kMaxChunkDecodedBytes;  // string bytes all events of a chunk may
  bool verify_hashes = true;
};

struct VerifyResult {
  SessionId id;
  uint64_t chunks_checked = 0;
  uint64_t events_checked = 0;
  bool ok = true;
  std::optional<uint64_t> first_bad_chunk;  // the first chunk that failed
  std::string problem;                      // "bad checksum", "broken chain", "head hash mismatch", ...
  uint64_t read_transactions = 0;           // one per batch of chunks (see Store::Verify)
  // The session record the chain was checked against (read in the last transaction): a signature
  // check of the head (format/signing.h) must use this one, not a later read.
  SessionInfo record;
};

struct StoreStats {
  uint64_t sessions = 0;
  uint64_t events = 0;
  uint64_t chunks = 0;
  uint64_t raw_bytes = 0;
  uint64_t stored_bytes = 0;
  uint64_t file_bytes = 0;  // size of the LMDB data file
};

class SessionWriter {
 public:
  virtual ~SessionWriter() = default;
  // Appends a copy of `event`, giving it the next sequence number (returned). Seals and commits the
  // current chunk when it is full. After a failure the writer is unusable and returns the same error.
  // An event of more than kMaxEventDecodedBytes string bytes is refused (InvalidArgument) and the
  // writer stays usable.
  virtual Result<uint64_t> Append(const Event& event) = 0;
  // Commits the events appended since the last commit, as the open tail chunk (rewritten by later
  // commits until it is full), with the session's metadata.
  virtual Status Flush() = 0;
  // Flushes, then records end time (now, unless UpdateInfo set one), exit status and state kComplete.
  // The writer is done afterwards.
  virtual Status Finish(int32_t exit_code, int32_t exit_signal) = 0;
  // Like Finish, but the session ends kIncomplete: the recording is known to miss events (a store
  // failure; a `gap` event says how many when it could be written).
  virtual Status FinishIncomplete(int32_t exit_code, int32_t exit_signal) {
    (void)exit_code;
    (void)exit_signal;
    return Status::Unsupported("FinishIncomplete");
  }
  // Records a loss, typically after a failure: continues from the last successful commit (every event
  // appended since is lost), then appends a `gap` event (pid 0; size = those events + `lost`, the
  // events the caller knows never reached the writer; text = `why`; duration_ns = how long the loss
  // lasted) and commits it. Returns the number of events the gap counts; the writer is usable again.
  // On failure the count is kept, and a later call records it with its own `lost`; the error's
  // message starts with the count ("N event(s) lost, not recorded as a gap: ...").
  virtual Result<uint64_t> RecordGap(uint64_t lost, std::string_view why, int64_t duration_ns) {
    (void)lost;
    (void)why;
    (void)duration_ns;
    return Status::Unsupported("RecordGap");
  }
  // Changes metadata (label, argv, env names ...); persisted with the next commit. Identity, counts
  // and hashes are the writer's own and are not changed by `fn`.
  virtual void UpdateInfo(const std::function<void(SessionInfo*)>& fn) = 0;
  virtual const SessionInfo& info() const = 0;
};

// Owns a SessionWriter and a thread that encodes, compresses and commits, so that a producer's hot
// path only copies events into a buffer. Append() is thread-safe (the tracer and the ingestion socket
// of one recording feed the same session); events take sequence numbers in the order their Append
// calls return. Events are committed at least every options.commit_interval_ms. Append never drops an
// event: if the writer thread falls far behind (16,384 events or options.async_max_pending_bytes
// waiting), Append waits, so a producer's memory is bounded by bytes, not only by event count.
class AsyncSessionWriter : public EventSink {
 public:
  static Result<std::unique_ptr<AsyncSessionWriter>> Start(std::unique_ptr<SessionWriter> writer,
                                                           const WriterOptions& options = {});
  ~AsyncSessionWriter() override = default;
  // Queues a copy of `event`. Returns the first error the writer thread met, if any (the event is then
  // not stored), or InvalidArgument for an event over kMaxEventDecodedBytes (the writer goes on).
  Status Append(const Event& event) override = 0;
  // Queues the "decision" event of `request` (format/decision_event.h), taking copies of `request` and
  // `decision`: the session holds exactly what Append(MakeDecisionEvent(request, decision, mode)) at
  // this point would have stored, in the same place among the other events, but the JSON is built by
  // the writer thread, off the producer's path (the tracer decides while the agent waits in its stop).
  // The item counts towards the queue's bounds like an event, and a store failure refuses and counts
  // it like one. A decision event over the per-event bound is not stored, as Append would refuse it;
  // the writer thread finds that out, so the call returns OK (the default: InvalidArgument). Nothing
  // is redacted here: `request` must be redacted already. The default builds the event in the
  // caller's thread and Appends it.
  virtual Status AppendDecision(const Event& request, const RequestDecision& decision, EnforceMode mode);
  virtual void UpdateInfo(const std::function<void(SessionInfo*)>& fn) = 0;
  // Waits until every event appended before the call is committed (a durability point, e.g. before
  // reporting progress to another process). Returns the first error the writer thread met.
  virtual Status Flush() { return Status::Unsupported("Flush"); }
  // Drains the queue, finishes the session and joins the thread.
  virtual Status Finish(int32_t exit_code, int32_t exit_signal) = 0;

  // Store failures. The writer thread stops at its first error; from then on Append refuses events
  // (returning the error) and counts them as lost, like the events it had queued.
  // `fn` is called once, from the writer thread, with the first error. Set it before any Append.
  virtual void SetFailureCallback(std::function<void(const Status&)> fn) { (void)fn; }
  // After a failure: SessionWriter::RecordGap with every event lost so far (refused, queued, or not
  // committed), then accepts events again (a new writer thread). Returns the events the gap counts.
  // While it runs, Append waits.
  virtual Result<uint64_t> RecordGap(std::string_view why) {
    (void)why;
    return Status::Unsupported("RecordGap");
  }
  // Finish, ending the session kIncomplete (SessionWriter::FinishIncomplete).
  virtual Status FinishIncomplete(int32_t exit_code, int32_t exit_signal) {
    (void)exit_code;
    (void)exit_signal;
    return Status::Unsupported("FinishIncomplete");
  }
  // The session's id (stable from Start on).
  virtual SessionId id() const = 0;
};

// Reads one session's events in order, checking each chunk's hash and the chain. A corrupt chunk
// yields a Corruption status naming the session and chunk number; every event before it has been
// returned already.
class SessionReader : public EventSource {
 public:
  virtual const SessionInfo& info() const = 0;
  // Number of the chunk the last returned event came from.
  virtual uint64_t current_chunk() const = 0;
};

class Store {
 public:
  // Opens (creating unless read_only) the store in directory `dir`.
  static Result<std::unique_ptr<Store>> Open(const std::string& dir, const StoreOptions& options = {});
  virtual ~Store() = default;

  // Creates a session in state kRecording; assigns info.id if it is all zero. Counts and hashes in
  // `info` are ignored.
  virtual Result<std::unique_ptr<SessionWriter>> CreateSession(SessionInfo info,
                                                               const WriterOptions& options = {}) = 0;
  // All sessions in id (= start time) order. A kRecording session whose writer is gone is reported as
  // kIncomplete.
  virtual Result<std::vector<SessionInfo>> ListSessions() = 0;
  virtual Result<SessionInfo> GetSession(const SessionId& id) = 0;
  // Full id or unique prefix of its canonical form. NotFound, or InvalidArgument if ambiguous.
  virtual Result<SessionId> Resolve(std::string_view id_or_prefix) = 0;
  virtual Result<std::unique_ptr<SessionReader>> OpenSession(const SessionId& id,
                                                             const ReaderOptions& options = {}) = 0;
  // Recomputes the session's hash chain from its stored chunks. Reads in batches of sealed chunks (a
  // read transaction each, so that a long verification does not pin pages that recorders free), then
  // checks the open tail chunk against the session record in one transaction: a live session
  // verifies as the consistent snapshot it had when its last batch was read.
  virtual Result<VerifyResult> Verify(const SessionId& id) = 0;
  virtual Result<StoreStats> Stats() = 0;
  virtual const std::string& dir() const = 0;
  // No key material lives in a store: the key that fingerprints secret values is the recorder's
  // (recorder/fingerprint_key.h), so that handing out a store does not hand out the key.
};

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_STORE_H_
