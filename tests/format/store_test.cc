// The LMDB trace store: sessions, chunks, readers, verification, growth, liveness and crash behaviour
// (a SIGKILLed writer process) and concurrent writer processes.
#include "format/store.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <lmdb.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <thread>

#include "format/chunk_codec.h"
#include "format/event_sink.h"
#include "format/session_record.h"
#include "tests/format/synthetic_events.h"
#include "tests/format/temp_dir.h"

namespace agenttrace {
namespace {

using ::testing::HasSubstr;

using testing::TempDir;

std::unique_ptr<Store> OpenStore(const std::string& dir, const StoreOptions& options = {}) {
  auto s = Store::Open(dir, options);
  AT_CHECK_MSG(s.ok(), s.status().ToString());
  return std::move(*s);
}

SessionId IdFromString(const char* text) {
  auto id = SessionId::Parse(text);
  AT_CHECK(id.ok());
  return *id;
}

// Reads a whole session; stops at the first error, which goes to `error`.
std::vector<Event> ReadAll(Store& store, const SessionId& id, Status* error = nullptr) {
  std::vector<Event> out;
  auto reader = store.OpenSession(id);
  if (!reader.ok()) {
    if (error != nullptr) *error = reader.status();
    return out;
  }
  for (;;) {
    auto e = (*reader)->Next();
    if (!e.ok()) {
      if (error != nullptr) *error = e.status();
      return out;
    }
    if (*e == nullptr) return out;
    out.push_back(**e);
  }
}

std::vector<Event> Mix(size_t n, uint64_t seed = 7) { return testing::AgentMix(seed).Take(n); }

// Appends `events` and finishes; returns the id.
SessionId WriteSession(Store& store, const std::vector<Event>& events, const WriterOptions& options = {}) {
  auto w = store.CreateSession(SessionInfo{}, options);
  AT_CHECK_MSG(w.ok(), w.status().ToString());
  for (const auto& e : events) {
    auto r = (*w)->Append(e);
    AT_CHECK_MSG(r.ok(), r.status().ToString());
  }
  Status st = (*w)->Finish(0, 0);
  AT_CHECK_MSG(st.ok(), st.ToString());
  return (*w)->info().id;
}

TEST(StoreTest, CreateListGetAndResolvePrefixes) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  const char* ids[] = {"0190b5c4-8e1a-7abc-9def-0123456789ab", "0190b5c4-8e1a-7abc-9def-0123456789ac",
                       "0190b5c5-0000-7000-8000-000000000001"};
  for (const char* text : ids) {
    SessionInfo info;
    info.id = IdFromString(text);
    info.label = "task-a";
    info.argv = {"agent", "--run"};
    info.recorder = "synthetic";
    auto w = store->CreateSession(info);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    ASSERT_TRUE((*w)->Finish(3, 0).ok());
  }
  auto list = store->ListSessions();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*list)[i].id.ToString(), ids[i]);  // id order
    EXPECT_EQ((*list)[i].state, SessionState::kComplete);
    EXPECT_EQ((*list)[i].exit_code, 3);
    EXPECT_EQ((*list)[i].label, "task-a");
    EXPECT_EQ((*list)[i].argv, (std::vector<std::string>{"agent", "--run"}));
    EXPECT_GT((*list)[i].end_wall_ns, 0);
  }
  auto got = store->GetSession(IdFromString(ids[2]));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->recorder, "synthetic");
  EXPECT_EQ(store->GetSession(IdFromString("0190b5c4-8e1a-7abc-9def-000000000000")).status().code(),
            StatusCode::kNotFound);

  auto unique = store->Resolve("0190B5C5");  // case-insensitive
  ASSERT_TRUE(unique.ok()) << unique.status().ToString();
  EXPECT_EQ(unique->ToString(), ids[2]);
  auto full = store->Resolve(ids[1]);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->ToString(), ids[1]);
  auto ambiguous = store->Resolve("0190b5c4-8e1a");
  EXPECT_EQ(ambiguous.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(ambiguous.status().message(), HasSubstr("ambiguous"));
  EXPECT_THAT(ambiguous.status().message(), HasSubstr(ids[0]));
  EXPECT_THAT(ambiguous.status().message(), HasSubstr(ids[1]));
  EXPECT_EQ(store->Resolve("ffff").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->Resolve("").status().code(), StatusCode::kInvalidArgument);

  // A second writer for an existing id is refused.
  SessionInfo dup;
  dup.id = IdFromString(ids[0]);
  EXPECT_EQ(store->CreateSession(dup).status().code(), StatusCode::kInvalidArgument);
}

TEST(StoreTest, AppendManyEventsAcrossChunksAndReadBackIdentical) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  std::vector<Event> events = Mix(20000);
  WriterOptions opt;
  opt.chunk_max_events = 1500;
  SessionId id = WriteSession(*store, events, opt);
  auto info = store->GetSession(id);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->event_count, 20000u);
  EXPECT_EQ(info->chunk_count, 14u);  // 13 full chunks of 1500 + 500
  EXPECT_EQ(info->state, SessionState::kComplete);
  EXPECT_GT(info->raw_bytes, info->stored_bytes);
  EXPECT_NE(info->head_hash, Hash256{});
  Status err;
  std::vector<Event> back = ReadAll(*store, id, &err);
  ASSERT_TRUE(err.ok()) << err.ToString();
  ASSERT_EQ(back.size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) ASSERT_EQ(back[i], events[i]) << "event " << i;
  auto vr = store->Verify(id);
  ASSERT_TRUE(vr.ok());
  EXPECT_TRUE(vr->ok) << vr->problem;
  EXPECT_EQ(vr->chunks_checked, 14u);
  EXPECT_EQ(vr->events_checked, 20000u);
  auto stats = store->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->sessions, 1u);
  EXPECT_EQ(stats->events, 20000u);
  EXPECT_EQ(stats->chunks, 14u);
  EXPECT_GT(stats->file_bytes, 0u);
}

TEST(StoreTest, EmptySessionReadsAsEmpty) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  SessionId id = WriteSession(*store, {});
  Status err;
  EXPECT_TRUE(ReadAll(*store, id, &err).empty());
  EXPECT_TRUE(err.ok());
  auto vr = store->Verify(id);
  ASSERT_TRUE(vr.ok());
  EXPECT_TRUE(vr->ok);
}

// Rewrites one byte of a stored chunk through a raw LMDB write transaction (the store is closed).
void FlipChunkByte(const std::string& dir, const SessionId& id, uint32_t chunk, size_t offset) {
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 4);
  ASSERT_EQ(mdb_env_open(env, dir.c_str(), 0, 0600), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi dbi;
  ASSERT_EQ(mdb_dbi_open(txn, "chunks", 0, &dbi), 0);
  std::string key = ChunkKey(id, chunk);
  MDB_val k{key.size(), key.data()}, v;
  ASSERT_EQ(mdb_get(txn, dbi, &k, &v), 0);
  std::string value(static_cast<const char*>(v.mv_data), v.mv_size);
  ASSERT_LT(offset, value.size());
  value[offset] ^= 0x01;
  MDB_val nv{value.size(), value.data()};
  ASSERT_EQ(mdb_put(txn, dbi, &k, &nv, 0), 0);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

TEST(StoreTest, VerifyDetectsCorruptionInMiddleChunkAndReaderReturnsEveryEventBefore) {
  TempDir dir;
  std::vector<Event> events = Mix(5000);
  SessionId id;
  {
    auto store = OpenStore(dir.path());
    WriterOptions opt;
    opt.chunk_max_events = 1000;
    id = WriteSession(*store, events, opt);
  }
  FlipChunkByte(dir.path(), id, 2, kChunkHeaderSize + 40);
  auto store = OpenStore(dir.path());
  auto vr = store->Verify(id);
  ASSERT_TRUE(vr.ok()) << vr.status().ToString();
  EXPECT_FALSE(vr->ok);
  ASSERT_TRUE(vr->first_bad_chunk.has_value());
  EXPECT_EQ(*vr->first_bad_chunk, 2u);
  EXPECT_EQ(vr->problem, "bad checksum");
  EXPECT_EQ(vr->chunks_checked, 2u);

  Status err;
  std::vector<Event> back = ReadAll(*store, id, &err);
  EXPECT_EQ(err.code(), StatusCode::kCorruption);
  EXPECT_EQ(err.message(), "session " + id.ToString() + ": chunk 2: bad checksum");
  ASSERT_EQ(back.size(), 2000u);
  for (size_t i = 0; i < back.size(); ++i) ASSERT_EQ(back[i], events[i]);
}

TEST(StoreTest, VerifyDetectsBrokenChainFromAHeaderEdit) {
  TempDir dir;
  SessionId id;
  {
    auto store = OpenStore(dir.path());
    WriterOptions opt;
    opt.chunk_max_events = 100;
    id = WriteSession(*store, Mix(500), opt);
  }
  FlipChunkByte(dir.path(), id, 3, 64);  // first byte of the previous-chunk hash
  auto store = OpenStore(dir.path());
  auto vr = store->Verify(id);
  ASSERT_TRUE(vr.ok());
  EXPECT_FALSE(vr->ok);
  EXPECT_EQ(vr->first_bad_chunk.value_or(99), 3u);
  EXPECT_THAT(vr->problem, HasSubstr("broken chain"));
}

TEST(StoreTest, MapGrowsFromTinyInitialSize) {
  TempDir dir;
  StoreOptions so;
  so.initial_map_bytes = 1 << 20;
  auto store = OpenStore(dir.path(), so);
  // Incompressible payloads so that the store really holds several MB.
  std::mt19937_64 rng(1);
  std::vector<Event> events(600);
  for (size_t i = 0; i < events.size(); ++i) {
    events[i].seq = i;
    events[i].kind = EventKind::kToolResult;
    events[i].json.resize(8192);
    for (auto& c : events[i].json) c = static_cast<char>(rng());
  }
  WriterOptions wo;
  wo.chunk_max_events = 50;
  SessionId id = WriteSession(*store, events, wo);
  auto info = store->GetSession(id);
  ASSERT_TRUE(info.ok());
  EXPECT_GT(info->stored_bytes, 3u << 20);
  auto stats = store->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_GT(stats->file_bytes, 3u << 20);
  Status err;
  EXPECT_EQ(ReadAll(*store, id, &err), events);
  EXPECT_TRUE(err.ok()) << err.ToString();
}

TEST(StoreTest, MapFullAtMaxIsResourceExhausted) {
  TempDir dir;
  StoreOptions so;
  so.initial_map_bytes = 1 << 20;
  so.max_map_bytes = 2 << 20;
  auto store = OpenStore(dir.path(), so);
  auto w = store->CreateSession(SessionInfo{}, WriterOptions{});
  ASSERT_TRUE(w.ok());
  std::mt19937_64 rng(2);
  Event e;
  e.kind = EventKind::kToolResult;
  Status last;
  for (int i = 0; i < 2000 && last.ok(); ++i) {
    e.json.resize(4096);
    for (auto& c : e.json) c = static_cast<char>('a' + rng() % 26);
    auto r = (*w)->Append(e);
    last = r.status();
  }
  if (last.ok()) last = (*w)->Flush();
  EXPECT_EQ(last.code(), StatusCode::kResourceExhausted) << last.ToString();
  EXPECT_THAT(last.message(), HasSubstr("max_map_bytes"));
}

TEST(StoreTest, ReaderSeesChunksCommittedAfterItOpened) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  std::vector<Event> events = Mix(300);
  auto w = store->CreateSession(SessionInfo{});
  ASSERT_TRUE(w.ok());
  for (size_t i = 0; i < 100; ++i) ASSERT_TRUE((*w)->Append(events[i]).ok());
  ASSERT_TRUE((*w)->Flush().ok());
  auto reader = store->OpenSession((*w)->info().id);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->info().state, SessionState::kRecording);
  for (size_t i = 100; i < 300; ++i) ASSERT_TRUE((*w)->Append(events[i]).ok());
  ASSERT_TRUE((*w)->Flush().ok());
  size_t n = 0;
  for (;;) {
    auto e = (*reader)->Next();
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    if (*e == nullptr) break;
    ASSERT_EQ(**e, events[n]);
    ++n;
  }
  EXPECT_EQ(n, 300u);
  // Both commits wrote the one open tail chunk: the second replaced the first with all 300 events.
  EXPECT_EQ((*reader)->current_chunk(), 0u);
  EXPECT_EQ((*w)->info().chunk_count, 1u);
}

TEST(StoreTest, TailChunkIsRewrittenUntilFullThenSealed) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  std::vector<Event> events = Mix(1000);
  WriterOptions opt;
  opt.chunk_max_events = 400;
  auto w = store->CreateSession(SessionInfo{}, opt);
  ASSERT_TRUE(w.ok());
  uint64_t stored_after_first = 0;
  for (size_t i = 0; i < 1000; ++i) {
    ASSERT_TRUE((*w)->Append(events[i]).ok());
    if (i % 50 == 49) {
      ASSERT_TRUE((*w)->Flush().ok());  // a commit: the whole committed prefix is durable
      const SessionInfo& info = (*w)->info();
      EXPECT_EQ(info.event_count, i + 1);
      EXPECT_EQ(info.chunk_count, i / 400 + 1) << i;  // 400 events per chunk, the rest in the open tail
      if (i == 49) stored_after_first = info.stored_bytes;
      auto got = store->GetSession(info.id);
      ASSERT_TRUE(got.ok());
      EXPECT_EQ(got->event_count, i + 1);
      EXPECT_EQ(got->head_hash, info.head_hash);
    }
  }
  ASSERT_TRUE((*w)->Finish(0, 0).ok());
  SessionId id = (*w)->info().id;
  EXPECT_EQ((*w)->info().chunk_count, 3u);
  // 20 commits of 50 events cost less than 20 chunks of 50 events would.
  EXPECT_LT((*w)->info().stored_bytes, 20 * stored_after_first);
  auto v = store->Verify(id);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(v->events_checked, 1000u);
  auto reader = store->OpenSession(id);
  ASSERT_TRUE(reader.ok());
  for (size_t n = 0;; ++n) {
    auto e = (*reader)->Next();
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    if (*e == nullptr) {
      EXPECT_EQ(n, 1000u);
      break;
    }
    ASSERT_EQ(**e, events[n]);
  }
}

// A commit seals the open tail once its message reaches WriterOptions::seal_tail_at_commit_bytes,
// and keeps rewriting it below that size.
TEST(StoreTest, ACommitSealsTheTailOnceItReachesTheSealSize) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  std::vector<Event> events = Mix(102);
  // The raw size of the first 100 events as one chunk.
  WriterOptions never;
  never.seal_tail_at_commit_bytes = 0;
  auto probe = store->CreateSession(SessionInfo{}, never);
  ASSERT_TRUE(probe.ok());
  for (size_t i = 0; i < 100; ++i) ASSERT_TRUE((*probe)->Append(events[i]).ok());
  ASSERT_TRUE((*probe)->Flush().ok());
  const uint64_t raw100 = (*probe)->info().raw_bytes;
  for (size_t i = 100; i < 102; ++i) {
    ASSERT_TRUE((*probe)->Append(events[i]).ok());
    ASSERT_TRUE((*probe)->Flush().ok());
  }
  EXPECT_EQ((*probe)->info().chunk_count, 1u);  // 0: every commit rewrote the one tail
  ASSERT_TRUE((*probe)->Finish(0, 0).ok());

  for (const uint64_t at : {raw100, raw100 + 1}) {
    SCOPED_TRACE("seal at " + std::to_string(at));
    WriterOptions opt;
    opt.seal_tail_at_commit_bytes = static_cast<uint32_t>(at);
    auto w = store->CreateSession(SessionInfo{}, opt);
    ASSERT_TRUE(w.ok());
    for (size_t i = 0; i < 99; ++i) ASSERT_TRUE((*w)->Append(events[i]).ok());
    ASSERT_TRUE((*w)->Flush().ok());
    ASSERT_LT((*w)->info().raw_bytes, at);
    ASSERT_TRUE((*w)->Append(events[99]).ok());
    ASSERT_TRUE((*w)->Flush().ok());  // rewrites the tail: still one chunk, now of 100 events
    EXPECT_EQ((*w)->info().chunk_count, 1u);
    EXPECT_EQ((*w)->info().raw_bytes, raw100);
    ASSERT_TRUE((*w)->Append(events[100]).ok());
    ASSERT_TRUE((*w)->Flush().ok());
    // Sealed at the size: event 100 opened a second chunk. One byte short of it: the tail was rewritten
    // (and, past the size now, sealed).
    EXPECT_EQ((*w)->info().chunk_count, at == raw100 ? 2u : 1u);
    ASSERT_TRUE((*w)->Append(events[101]).ok());
    ASSERT_TRUE((*w)->Finish(0, 0).ok());
    SessionId id = (*w)->info().id;
    auto v = store->Verify(id);
    ASSERT_TRUE(v.ok());
    EXPECT_TRUE(v->ok) << v->problem;
    EXPECT_EQ(v->chunks_checked, 2u);
    // The first chunk ends where the seal happened: after event 99, or (one byte short) after 100,
    // whose commit found the 101-event tail past the size.
    auto reader = store->OpenSession(id);
    ASSERT_TRUE(reader.ok());
    std::vector<uint64_t> chunk_of;
    for (;;) {
      auto e = (*reader)->Next();
      ASSERT_TRUE(e.ok()) << e.status().ToString();
      if (*e == nullptr) break;
      ASSERT_EQ(**e, events[chunk_of.size()]);
      chunk_of.push_back((*reader)->current_chunk());
    }
    ASSERT_EQ(chunk_of.size(), 102u);
    EXPECT_EQ(chunk_of[99], 0u);
    EXPECT_EQ(chunk_of[100], at == raw100 ? 1u : 0u);
    EXPECT_EQ(chunk_of[101], 1u);
  }
}

TEST(StoreTest, ReaderOfALiveSessionFollowsTheTailAcrossASeal) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  std::vector<Event> events = Mix(500);
  WriterOptions opt;
  opt.chunk_max_events = 150;
  auto w = store->CreateSession(SessionInfo{}, opt);
  ASSERT_TRUE(w.ok());
  for (size_t i = 0; i < 100; ++i) ASSERT_TRUE((*w)->Append(events[i]).ok());
  ASSERT_TRUE((*w)->Flush().ok());  // chunk 0 holds 100 events, not yet sealed
  auto reader = store->OpenSession((*w)->info().id);
  ASSERT_TRUE(reader.ok());
  // Chunk 0 is sealed at 150 events and chunk 1 follows, after the reader took its snapshot.
  for (size_t i = 100; i < 250; ++i) ASSERT_TRUE((*w)->Append(events[i]).ok());
  ASSERT_TRUE((*w)->Flush().ok());
  size_t n = 0;
  for (;; ++n) {
    auto e = (*reader)->Next();
    ASSERT_TRUE(e.ok()) << e.status().ToString();  // no sequence gap, no head hash mismatch
    if (*e == nullptr) break;
    ASSERT_EQ(**e, events[n]);
    if (n == 10) {
      // While the reader is inside chunk 1's predecessor, the writer extends the tail (chunk 1).
      for (size_t i = 250; i < 280; ++i) ASSERT_TRUE((*w)->Append(events[i]).ok());
      ASSERT_TRUE((*w)->Flush().ok());
    }
  }
  EXPECT_EQ(n, 280u);
  // A reader that has consumed the whole tail ends there: it returns a consistent prefix and does
  // not pick up events committed afterwards.
  auto again = store->OpenSession((*w)->info().id);
  ASSERT_TRUE(again.ok());
  size_t m = 0;
  for (;; ++m) {
    auto e = (*again)->Next();
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    if (*e == nullptr) break;
    if (m == 279) {
      for (size_t i = 280; i < 290; ++i) ASSERT_TRUE((*w)->Append(events[i]).ok());
      ASSERT_TRUE((*w)->Flush().ok());
    }
  }
  EXPECT_EQ(m, 280u);
}

TEST(StoreTest, LivenessOfWriterDecidesRecordingVersusIncomplete) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto w = store->CreateSession(SessionInfo{});
  ASSERT_TRUE(w.ok());
  SessionId id = (*w)->info().id;
  ASSERT_TRUE((*w)->Append(Mix(1)[0]).ok());
  auto info = store->GetSession(id);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->state, SessionState::kRecording);
  w->reset();  // the writer goes away without Finish (it flushes what it has)
  info = store->GetSession(id);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->state, SessionState::kIncomplete);
  EXPECT_EQ(info->event_count, 1u);
  auto list = store->ListSessions();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].state, SessionState::kIncomplete);
}

TEST(StoreTest, UpdateInfoIsPersistedButCannotChangeCountsOrIdentity) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto w = store->CreateSession(SessionInfo{});
  ASSERT_TRUE(w.ok());
  SessionId id = (*w)->info().id;
  (*w)->UpdateInfo([](SessionInfo* i) {
    i->label = "relabelled";
    i->env_names = {"PATH", "TOKEN"};
    i->secret_env_names = {"TOKEN"};
    i->event_count = 999;
    i->id = SessionId{};
  });
  ASSERT_TRUE((*w)->Flush().ok());
  auto info = store->GetSession(id);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->label, "relabelled");
  EXPECT_EQ(info->secret_env_names, std::vector<std::string>{"TOKEN"});
  EXPECT_EQ(info->event_count, 0u);
}

// Anyone given a store (a CI artifact) must not get a key with it: the files a store consists of are
// the LMDB environment and the writers' lock files, nothing else.
TEST(StoreTest, StoreHoldsNoKeyFile) {
  TempDir dir;
  {
    auto store = OpenStore(dir.path());
    auto w = store->CreateSession(SessionInfo{});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Finish(0, 0).ok());
  }
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path())) {
    if (entry.is_regular_file()) files.push_back(entry.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"data.mdb", "lock.mdb"}));
}

TEST(StoreTest, ReadOnlyOpenOfMissingStoreIsNotFound) {
  TempDir dir;
  StoreOptions so;
  so.read_only = true;
  auto s = Store::Open(dir.path() + "/nope", so);
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound);
  {
    auto store = OpenStore(dir.path());
    WriteSession(*store, Mix(10));
  }
  auto ro = Store::Open(dir.path(), so);
  ASSERT_TRUE(ro.ok()) << ro.status().ToString();
  auto list = (*ro)->ListSessions();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
  EXPECT_EQ((*ro)->CreateSession(SessionInfo{}).status().code(), StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------- processes

// Runs `fn` in a child process that never returns into the test framework.
pid_t ForkChild(const std::function<int()>& fn) {
  pid_t pid = fork();
  AT_CHECK(pid >= 0);
  if (pid == 0) {
    int rc = 1;
    try {
      rc = fn();
    } catch (...) {
      rc = 2;
    }
    _exit(rc);
  }
  return pid;
}

TEST(StoreTest, WriterKilledMidSessionLeavesIncompleteSessionWithEveryCommittedEvent) {
  TempDir dir;
  constexpr size_t kCommitted = 5000;
  std::vector<Event> events = Mix(kCommitted);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = ForkChild([&]() -> int {
    close(fds[0]);
    auto store = Store::Open(dir.path());
    if (!store.ok()) return 3;
    auto w = (*store)->CreateSession(SessionInfo{});
    if (!w.ok()) return 4;
    WriterOptions wo;
    wo.commit_interval_ms = 50;
    auto async = AsyncSessionWriter::Start(std::move(*w), wo);
    if (!async.ok()) return 5;
    for (const auto& e : events) {
      if (!(*async)->Append(e).ok()) return 6;
    }
    if (!(*async)->Flush().ok()) return 7;
    SessionId id = (*async)->id();
    if (write(fds[1], id.bytes.data(), id.bytes.size()) != 16) return 8;
    testing::AgentMix more(99);
    Event e;
    for (;;) {  // keep appending until killed
      more.Next(&e);
      if (!(*async)->Append(e).ok()) return 9;
    }
  });
  close(fds[1]);
  SessionId id;
  ssize_t n = read(fds[0], id.bytes.data(), id.bytes.size());
  close(fds[0]);
  ASSERT_EQ(n, 16) << "the writer child failed before its flush";
  usleep(100 * 1000);  // let it append (and commit) some more
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));

  auto store = OpenStore(dir.path());
  auto info = store->GetSession(id);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->state, SessionState::kIncomplete);
  EXPECT_GE(info->event_count, kCommitted);
  Status err;
  std::vector<Event> back = ReadAll(*store, id, &err);
  ASSERT_TRUE(err.ok()) << err.ToString();
  ASSERT_GE(back.size(), kCommitted);
  EXPECT_EQ(back.size(), info->event_count);
  for (size_t i = 0; i < kCommitted; ++i) ASSERT_EQ(back[i], events[i]) << "event " << i;
  auto vr = store->Verify(id);
  ASSERT_TRUE(vr.ok());
  EXPECT_TRUE(vr->ok) << vr->problem;
}

TEST(StoreTest, TwoWriterProcessesAppendToDifferentSessionsConcurrently) {
  TempDir dir;
  { OpenStore(dir.path()); }  // create it once, so the children race only on appends
  constexpr size_t kEvents = 20000;
  const SessionId ids[2] = {IdFromString("0190b5c4-8e1a-7abc-9def-000000000001"),
                            IdFromString("0190b5c4-8e1a-7abc-9def-000000000002")};
  pid_t children[2];
  for (int c = 0; c < 2; ++c) {
    children[c] = ForkChild([&, c]() -> int {
      auto store = Store::Open(dir.path(), StoreOptions{.initial_map_bytes = 1 << 20});
      if (!store.ok()) return 3;
      SessionInfo info;
      info.id = ids[c];
      WriterOptions wo;
      wo.chunk_max_events = 400;  // many commits, interleaved with the other process
      auto w = (*store)->CreateSession(info, wo);
      if (!w.ok()) return 4;
      testing::AgentMix mix(100 + c);
      Event e;
      for (size_t i = 0; i < kEvents; ++i) {
        mix.Next(&e);
        if (!(*w)->Append(e).ok()) return 5;
      }
      return (*w)->Finish(0, 0).ok() ? 0 : 6;
    });
  }
  for (pid_t child : children) {
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
  }
  auto store = OpenStore(dir.path());
  for (int c = 0; c < 2; ++c) {
    auto info = store->GetSession(ids[c]);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->state, SessionState::kComplete);
    EXPECT_EQ(info->event_count, kEvents);
    auto vr = store->Verify(ids[c]);
    ASSERT_TRUE(vr.ok());
    EXPECT_TRUE(vr->ok) << vr->problem;
    EXPECT_EQ(vr->events_checked, kEvents);
    Status err;
    std::vector<Event> back = ReadAll(*store, ids[c], &err);
    ASSERT_TRUE(err.ok()) << err.ToString();
    EXPECT_EQ(back, testing::AgentMix(100 + c).Take(kEvents));
  }
}

// Verify takes one read transaction per batch of sealed chunks, not one for the whole session, and
// a live session being written meanwhile verifies as a consistent snapshot.
TEST(StoreTest, VerifyReadsInBatchesWhileOtherSessionsAreWritten) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  WriterOptions small;
  small.chunk_max_events = 50;
  SessionId big = WriteSession(*store, Mix(20000), small);  // 400 chunks
  auto live = store->CreateSession(SessionInfo{}, small);
  ASSERT_TRUE(live.ok());
  SessionId live_id = (*live)->info().id;
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    std::vector<Event> events = Mix(100000, 9);
    for (size_t i = 0; !stop && i < events.size(); ++i) {
      AT_CHECK((*live)->Append(events[i]).ok());
      if (i % 7 == 0) AT_CHECK((*live)->Flush().ok());  // rewrites the open tail chunk
    }
  });
  for (int round = 0; round < 5; ++round) {
    auto vr = store->Verify(big);
    ASSERT_TRUE(vr.ok()) << vr.status().ToString();
    EXPECT_TRUE(vr->ok) << vr->problem;
    EXPECT_EQ(vr->chunks_checked, 400u);
    EXPECT_EQ(vr->events_checked, 20000u);
    EXPECT_GE(vr->read_transactions, 400u / 64);
    auto lv = store->Verify(live_id);
    ASSERT_TRUE(lv.ok()) << lv.status().ToString();
    EXPECT_TRUE(lv->ok) << "live session at chunk " << lv->first_bad_chunk.value_or(0) << ": " << lv->problem;
  }
  stop = true;
  writer.join();
  ASSERT_TRUE((*live)->Finish(0, 0).ok());
  auto lv = store->Verify(live_id);
  ASSERT_TRUE(lv.ok());
  EXPECT_TRUE(lv->ok) << lv->problem;
}

TEST(StoreTest, AsyncWriterFromSeveralThreadsKeepsEveryEvent) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto w = store->CreateSession(SessionInfo{});
  ASSERT_TRUE(w.ok());
  WriterOptions wo;
  wo.chunk_max_events = 2000;
  auto async = AsyncSessionWriter::Start(std::move(*w), wo);
  ASSERT_TRUE(async.ok());
  constexpr int kThreads = 4, kPer = 10000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Event e = testing::FullEvent(EventKind::kFileOpen, 0);
      for (int i = 0; i < kPer; ++i) {
        e.pid = t;
        e.size = i;
        AT_CHECK((*async)->Append(e).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  (*async)->UpdateInfo([](SessionInfo* i) { i->label = "threads"; });
  SessionId id = (*async)->id();
  ASSERT_TRUE((*async)->Finish(0, 0).ok());
  std::vector<int> next(kThreads, 0);
  Status err;
  std::vector<Event> back = ReadAll(*store, id, &err);
  ASSERT_TRUE(err.ok());
  ASSERT_EQ(back.size(), static_cast<size_t>(kThreads * kPer));
  for (size_t i = 0; i < back.size(); ++i) {
    ASSERT_EQ(back[i].seq, i);
    ASSERT_EQ(back[i].size, next[back[i].pid]++);  // each thread's events in its order
  }
  EXPECT_EQ(store->GetSession(id)->label, "threads");
}

TEST(StoreTest, AsyncWriterCommitsWithinTheIntervalWithoutFlush) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto w = store->CreateSession(SessionInfo{});
  ASSERT_TRUE(w.ok());
  WriterOptions wo;
  wo.commit_interval_ms = 100;
  auto async = AsyncSessionWriter::Start(std::move(*w), wo);
  ASSERT_TRUE(async.ok());
  ASSERT_TRUE((*async)->Append(Mix(1)[0]).ok());
  SessionId id = (*async)->id();
  uint64_t committed = 0;
  // Expected within ~100 ms; up to 30 s, for a loaded machine's disk. Nothing else ever commits here.
  for (auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
       committed == 0 && std::chrono::steady_clock::now() < end;) {
    usleep(20 * 1000);
    committed = store->GetSession(id)->event_count;
  }
  EXPECT_EQ(committed, 1u);
  ASSERT_TRUE((*async)->Finish(0, 0).ok());
}


// What a producer sees: only the EventSink interface (format/event_sink.h).
Status Produce(EventSink& sink, const std::vector<Event>& events) {
  for (const Event& e : events) AT_RETURN_IF_ERROR(sink.Append(e));
  return Status::Ok();
}

// The store's own writer is the one interface producers write to: what goes in through EventSink is
// what the session holds, in order.
TEST(StoreTest, AsyncSessionWriterIsAnEventSink) {
  TempDir dir("agenttrace-store-test");
  auto store = OpenStore(dir.path());
  auto w = store->CreateSession(SessionInfo{});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  SessionId id = (*w)->info().id;
  auto async = AsyncSessionWriter::Start(std::move(*w));
  ASSERT_TRUE(async.ok()) << async.status().ToString();
  std::vector<Event> events = Mix(300);
  ASSERT_TRUE(Produce(**async, events).ok());
  ASSERT_TRUE((*async)->Finish(0, 0).ok());
  Status err;
  std::vector<Event> back = ReadAll(*store, id, &err);
  ASSERT_TRUE(err.ok()) << err.ToString();
  EXPECT_EQ(back, events);
}

}  // namespace
}  // namespace agenttrace
