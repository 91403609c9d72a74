// A clock's reading in nanoseconds, as events carry it (mono_ns: CLOCK_MONOTONIC, wall_ns:
// CLOCK_REALTIME).
#ifndef AGENTTRACE_FORMAT_CLOCK_H_
#define AGENTTRACE_FORMAT_CLOCK_H_

#include <time.h>

#include <cstdint>

namespace agenttrace {

inline int64_t ClockNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_CLOCK_H_
