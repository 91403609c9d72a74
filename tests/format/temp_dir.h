// A fresh directory under the system's temporary directory, removed with everything in it when the
// object goes: for tests that need a store of their own.
#ifndef AGENTTRACE_TESTS_FORMAT_TEMP_DIR_H_
#define AGENTTRACE_TESTS_FORMAT_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "format/status.h"

namespace agenttrace::testing {

class TempDir {
 public:
  // `prefix` names the test in the directory's name ("agenttrace-store-test").
  explicit TempDir(const std::string& prefix = "agenttrace-test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    AT_CHECK(mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace agenttrace::testing

#endif  // AGENTTRACE_TESTS_FORMAT_TEMP_DIR_H_
