// Measures secret classification on the labelled corpora tests/recorder/data/secret_corpus*.tsv:
// environment entries through IsSecretEnv(name, value), argv strings through LooksLikeSecretValue (what
// Redact replaces when the environment tells nothing). Prints precision and recall per kind (the
// figures in docs/benchmarks.md). The development corpus (the rules were tuned on it) must give no
// false positive on its configuration half and a recall of at least 95% on its credential half. Each
// held-out corpus was written after the rules of its time and measured before any change aimed at it.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "recorder/secrets.h"

namespace agenttrace {
namespace {

struct Entry {
  int line = 0;
  std::string kind, name, value, note;
  bool secret = false;
};

std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char n = s[i + 1];
      if (n == 'n' || n == 't' || n == '\\') {
        out.push_back(n == 'n' ? '\n' : n == 't' ? '\t' : '\\');
        ++i;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::vector<Entry> LoadCorpus(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::vector<Entry> out;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cols;
    std::stringstream ss(line);
    std::string col;
    while (std::getline(ss, col, '\t')) cols.push_back(col);
    if (line.back() == '\t') cols.emplace_back();
    EXPECT_EQ(cols.size(), 5u) << "line " << n << ": " << line;
    if (cols.size() != 5) continue;
    Entry e;
    e.line = n;
    e.kind = cols[0];
    e.name = cols[1];
    e.value = Unescape(cols[2]);
    e.note = cols[4];
    EXPECT_TRUE(e.kind == "env" || e.kind == "argv") << "line " << n;
    EXPECT_TRUE(cols[3] == "secret" || cols[3] == "config") << "line " << n;
    e.secret = cols[3] == "secret";
    out.push_back(std::move(e));
  }
  return out;
}

bool Predict(const Entry& e) { return e.kind == "env" ? IsSecretEnv(e.name, e.value) : LooksLikeSecretValue(e.value); }

struct Counts {
  int tp = 0, fp = 0, tn = 0, fn = 0;
};

struct Figures {
  int secrets = 0, configs = 0, fp = 0;
  double recall = 0;
};

Figures Measure(const std::string& title, const std::vector<Entry>& corpus) {
  std::map<std::string, Counts> by_kind;
  Counts all;
  Figures f;
  for (const Entry& e : corpus) {
    const bool p = Predict(e);
    Counts& k = by_kind[e.kind];
    for (Counts* c : {&k, &all}) {
      if (e.secret) {
        (p ? c->tp : c->fn)++;
      } else {
        (p ? c->fp : c->tn)++;
      }
    }
    (e.secret ? f.secrets : f.configs)++;
    if (p != e.secret) {
      std::printf("%s: %s line %d: %s %s %s=%.60s (%s)\n", title.c_str(), p ? "FALSE POSITIVE" : "false negative",
                  e.line, e.kind.c_str(), e.secret ? "secret" : "config", e.name.c_str(), e.value.c_str(),
                  e.note.c_str());
    }
  }
  auto report = [&](const std::string& what, const Counts& c) {
    double precision = c.tp + c.fp == 0 ? 1.0 : static_cast<double>(c.tp) / (c.tp + c.fp);
    double recall = c.tp + c.fn == 0 ? 1.0 : static_cast<double>(c.tp) / (c.tp + c.fn);
    std::printf("%-9s %-5s entries %3d  secret %3d  config %3d  TP %3d  FP %2d  FN %2d  precision %.3f  recall %.3f\n",
                title.c_str(), what.c_str(), c.tp + c.fp + c.tn + c.fn, c.tp + c.fn, c.fp + c.tn, c.tp, c.fp, c.fn,
                precision, recall);
    return recall;
  };
  for (const auto& [kind, c] : by_kind) report(kind, c);
  f.recall = report("all", all);
  f.fp = all.fp;
  return f;
}

TEST(SecretCorpusTest, DevelopmentCorpus) {
  const Figures f = Measure("dev", LoadCorpus(AGENTTRACE_SECRET_CORPUS));
  EXPECT_GE(f.secrets + f.configs, 200);
  EXPECT_GE(f.secrets, 100);
  EXPECT_GE(f.configs, 100);
  EXPECT_EQ(f.fp, 0) << "configuration classified as secret";
  EXPECT_GE(f.recall, 0.95);
}

// The first held-out corpus found misses that were then fixed (docs/benchmarks.md): it now guards
// against regressions like the development corpus, with its figures after that revision.
TEST(SecretCorpusTest, FirstHeldOutCorpus) {
  const Figures f = Measure("held-out", LoadCorpus(AGENTTRACE_SECRET_CORPUS_HOLDOUT));
  EXPECT_GE(f.secrets, 30);
  EXPECT_GE(f.configs, 30);
  EXPECT_EQ(f.fp, 0);
  EXPECT_GE(f.recall, 38.0 / 39.0 - 1e-9);
}

TEST(SecretCorpusTest, SecondHeldOutCorpus) {
  const Figures f = Measure("held-out2", LoadCorpus(AGENTTRACE_SECRET_CORPUS_HOLDOUT2));
  EXPECT_GE(f.secrets, 30);
  EXPECT_GE(f.configs, 30);
  // Its first-run figures (never tuned on) as the floor, so that a regression still fails.
  EXPECT_LE(f.fp, 1);
  EXPECT_GE(f.recall, 34.0 / 38.0 - 1e-9);
}

// Every credential of the environment half is also removed from a command line that carries it,
// once the recorder has seen it in the environment (the known-value path of Redact).
TEST(SecretCorpusTest, KnownEnvironmentValuesLeaveNoTrace) {
  Hash256 key;
  key.fill(9);
  for (const Entry& e : LoadCorpus(AGENTTRACE_SECRET_CORPUS)) {
    if (e.kind != "env" || !e.secret || !IsSecretEnv(e.name, e.value)) continue;
    SecretScanner scanner(key, {e.name + "=" + e.value});
    std::string arg = "run --with " + e.value + " now";
    scanner.Redact(&arg);
    EXPECT_EQ(arg.find(e.value), std::string::npos) << "line " << e.line << ": " << arg;
  }
}

}  // namespace
}  // namespace agenttrace
