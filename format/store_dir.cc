#include <cstdlib>

#include "format/store.h"

namespace agenttrace {

std::string DefaultStoreDir() {
  const char* env = std::getenv("AGENTTRACE_STORE");
  if (env != nullptr && env[0] != '\0') return env;
  return "./.agenttrace";
}

}  // namespace agenttrace
