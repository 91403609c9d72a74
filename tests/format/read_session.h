// ReadSessionEvents: every event of a stored session, in order, for tests that read back what a
// writer stored. A failure to open or to read fails the current test and ends the list there.
#ifndef AGENTTRACE_TESTS_FORMAT_READ_SESSION_H_
#define AGENTTRACE_TESTS_FORMAT_READ_SESSION_H_

#include <gtest/gtest.h>

#include <vector>

#include "format/event.h"
#include "format/store.h"

namespace agenttrace {

// `info` (optional) receives the session's record as the reader opened it.
inline std::vector<Event> ReadSessionEvents(Store& store, const SessionId& id, SessionInfo* info = nullptr) {
  std::vector<Event> out;
  auto reader = store.OpenSession(id);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  if (!reader.ok()) return out;
  if (info != nullptr) *info = (*reader)->info();
  for (;;) {
    auto e = (*reader)->Next();
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    if (!e.ok() || *e == nullptr) return out;
    out.push_back(**e);
  }
}

}  // namespace agenttrace

#endif  // AGENTTRACE_TESTS_FORMAT_READ_SESSION_H_
