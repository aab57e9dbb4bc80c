// Wiring of the admin module into the daemon and the CLI. Not built yet: the
// daemon runs without it.
#include "vodd/app/wiring.h"

namespace vodd::app {

Result<std::unique_ptr<Component>> WireAdmin(Context&) { return nullptr; }

std::vector<AddCommand> AdminCommands() { return {}; }

}  // namespace vodd::app
