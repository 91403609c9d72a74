#include "format/json_limits.h"

#include <string>

namespace agenttrace {

bool JsonNestingExceeds(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

Status CheckJsonBounds(std::string_view text, std::string_view what) {
  if (text.size() > kMaxJsonBytes) {
    return Status::ResourceExhausted(std::string(what) + " of " + std::to_string(text.size()) +
                                     " bytes exceeds the limit of " + std::to_string(kMaxJsonBytes));
  }
  if (JsonNestingExceeds(text, kMaxJsonDepth)) {
    return Status::InvalidArgument(std::string(what) + " nests arrays/objects deeper than " +
                                   std::to_string(kMaxJsonDepth));
  }
  return Status::Ok();
}

}  // namespace agenttrace
