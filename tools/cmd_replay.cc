#include "tools/cli.h"

namespace agenttrace {

// Not registered yet: lands with its issue.
void RegisterReplayCommands(Cli& cli) { (void)cli; }

}  // namespace agenttrace
