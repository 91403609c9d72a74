#include "tools/cli.h"

namespace agenttrace {

// Not registered yet: lands with its issue.
void RegisterDemoCommands(Cli& cli) { (void)cli; }

}  // namespace agenttrace
