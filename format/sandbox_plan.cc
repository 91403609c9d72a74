#include "format/sandbox_plan.h"

namespace agenttrace::sandbox {

std::string AccessNames(uint64_t access) {
  static constexpr const char* kNames[] = {"execute",     "write_file", "read_file", "read_dir", "remove_dir",
                                           "remove_file", "make_char",  "make_dir",  "make_reg", "make_sock",
                                           "make_fifo",   "make_block", "make_sym",  "refer",    "truncate"};
  std::string out;
  for (int i = 0; i < 15; ++i) {
    if ((access & (1ull << i)) == 0) continue;
    if (!out.empty()) out += ',';
    out += kNames[i];
  }
  return out;
}

}  // namespace agenttrace::sandbox
