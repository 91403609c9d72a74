// The tracer against real programs, recorded into memory (no store): what a shell does is what we
// see, with absolute paths, results, spawns, execs and exits.
#include "recorder/tracer.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

extern char** environ;

namespace agenttrace {
namespace {

class VectorSink : public EventSink {
 public:
  Status Append(const Event& e) override {
    events.push_back(e);
    return Status::Ok();
  }
  std::vector<Event> events;
};

struct Recording {
  Result<TraceOutcome> outcome = Status::Internal("not run");
  std::vector<Event> events;
};

Recording Record(std::vector<std::string> argv, TracerOptions opts = {}) {
  Recording rec;
  auto filter = BuildSeccompFilter();
  if (!filter.ok()) {
    rec.outcome = filter.status();
    return rec;
  }
  VectorSink sink;
  Tracer tracer(&sink, opts);
  SpawnSpec spec;
  spec.argv = std::move(argv);
  for (char** e = environ; *e != nullptr; ++e) spec.env.emplace_back(*e);
  Status s = tracer.Start(spec, *filter);
  if (!s.ok()) {
    rec.outcome = s;
    return rec;
  }
  rec.outcome = tracer.Run();
  rec.events = std::move(sink.events);
  return rec;
}

std::vector<const Event*> OfKind(const std::vector<Event>& evs, EventKind k) {
  std::vector<const Event*> out;
  for (const Event& e : evs) {
    if (e.kind == k) out.push_back(&e);
  }
  return out;
}

const Event* FindOpen(const std::vector<Event>& evs, const std::string& path) {
  for (const Event& e : evs) {
    if (e.kind == EventKind::kFileOpen && e.path == path) return &e;
  }
  return nullptr;
}

TEST(TracerTest, RecordsShellCommand) {
  char tmpl[] = "/tmp/agenttrace-tracer-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::string script = "cd " + dir + " && cat /etc/hostname > out.txt; mkdir sub; mv out.txt sub/moved; "
                       "rm sub/moved; rmdir sub; cat /nonexistent 2>/dev/null; exit 3";
  Recording rec = Record({"/bin/sh", "-c", script});
  ASSERT_TRUE(rec.outcome.ok()) << rec.outcome.status().ToString();
  EXPECT_EQ(rec.outcome->exit_code, 3);
  EXPECT_EQ(rec.outcome->signal, 0);
  EXPECT_EQ(rec.outcome->events, rec.events.size());

  auto execs = OfKind(rec.events, EventKind::kExec);
  ASSERT_GE(execs.size(), 2u);  // sh, then cat (mv/rm/... may be builtins or not)
  EXPECT_EQ(execs[0]->path, "/bin/sh");
  EXPECT_EQ(execs[0]->result, 0);
  ASSERT_EQ(execs[0]->argv.size(), 3u);
  EXPECT_EQ(execs[0]->argv[2], script);
  EXPECT_FALSE(execs[0]->env_names.empty());
  for (const std::string& n : execs[0]->env_names) EXPECT_EQ(n.find('='), std::string::npos);

  const Event* host = FindOpen(rec.events, "/etc/hostname");
  ASSERT_NE(host, nullptr);
  EXPECT_GE(host->result, 0);
  const Event* out = FindOpen(rec.events, dir + "/out.txt");  // relative, resolved against the new cwd
  ASSERT_NE(out, nullptr);
  EXPECT_TRUE(out->flags & O_CREAT);
  const Event* missing = FindOpen(rec.events, "/nonexistent");
  ASSERT_NE(missing, nullptr);
  EXPECT_EQ(missing->result, -ENOENT);

  auto mkdirs = OfKind(rec.events, EventKind::kFileMkdir);
  ASSERT_EQ(mkdirs.size(), 1u);
  EXPECT_EQ(mkdirs[0]->path, dir + "/sub");
  auto renames = OfKind(rec.events, EventKind::kFileRename);
  ASSERT_EQ(renames.size(), 1u);
  EXPECT_EQ(renames[0]->path, dir + "/out.txt");
  EXPECT_EQ(renames[0]->path2, dir + "/sub/moved");
  auto deletes = OfKind(rec.events, EventKind::kFileDelete);
  ASSERT_EQ(deletes.size(), 1u);
  EXPECT_EQ(deletes[0]->path, dir + "/sub/moved");
  auto rmdirs = OfKind(rec.events, EventKind::kFileRmdir);
  ASSERT_EQ(rmdirs.size(), 1u);
  EXPECT_EQ(rmdirs[0]->result, 0);

  // Every child the shell spawned was recorded, and every process's exit.
  auto spawns = OfKind(rec.events, EventKind::kProcSpawn);
  auto exits = OfKind(rec.events, EventKind::kProcExit);
  ASSERT_GE(spawns.size(), 2u);
  EXPECT_EQ(exits.size(), spawns.size() + 1);
  for (const Event* s : spawns) {
    EXPECT_GT(s->child_pid, 0);
    EXPECT_FALSE(s->is_thread);
    EXPECT_TRUE(std::any_of(exits.begin(), exits.end(), [&](const Event* e) { return e->pid == s->child_pid; }));
  }
  EXPECT_EQ(exits.back()->exit_code, 3);  // the shell is the last to exit
  EXPECT_EQ(exits.back()->pid, execs[0]->pid);
  rmdir(tmpl);
}

}  // namespace
}  // namespace agenttrace
