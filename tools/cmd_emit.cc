#include "tools/cli.h"

namespace agenttrace {

// Not registered yet: lands with its issue.
void RegisterToolEventCommands(Cli& cli) { (void)cli; }

}  // namespace agenttrace
