// The events of `agenttrace export --format jsonl` output, for end-to-end tests that read a session.
#ifndef AGENTTRACE_TESTS_E2E_EVENT_LINES_H_
#define AGENTTRACE_TESTS_E2E_EVENT_LINES_H_

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace agenttrace::e2e {

// Each line that parses as an object with a "kind" (the export's events; its header line has none).
inline std::vector<nlohmann::json> EventsOfJsonLines(const std::string& text) {
  std::vector<nlohmann::json> events;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("kind")) events.push_back(std::move(j));
  }
  return events;
}

}  // namespace agenttrace::e2e

#endif  // AGENTTRACE_TESTS_E2E_EVENT_LINES_H_
