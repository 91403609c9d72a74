#include "tools/duration.h"

#include <cmath>
#include <string>

namespace agenttrace {

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("invalid duration '" + std::string(text) + "': " + why +
                                   " (examples: 500ms, 10s, 2m, 1h)");
  };
  size_t i = 0;
  double value = 0;
  bool digits = false;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    value = value * 10 + (text[i++] - '0');
    digits = true;
    if (value > 1e12) return bad("too large");
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    double scale = 0.1;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      value += (text[i++] - '0') * scale;
      scale /= 10;
      digits = true;
    }
  }
  if (!digits) return bad("expected a number");
  std::string_view unit = text.substr(i);
  double ms_per_unit;
  if (unit.empty() || unit == "s") {
    ms_per_unit = 1000;
  } else if (unit == "ms") {
    ms_per_unit = 1;
  } else if (unit == "m") {
    ms_per_unit = 60 * 1000;
  } else if (unit == "h") {
    ms_per_unit = 3600 * 1000;
  } else {
    return bad("unknown unit");
  }
  double ms = std::round(value * ms_per_unit);
  if (ms > 30.0 * 24 * 3600 * 1000) return bad("longer than 30 days");
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

}  // namespace agenttrace
