// Wiring of the origin module into the daemon and the CLI. Not built yet: the
// daemon runs without it.
#include "vodd/app/wiring.h"

namespace vodd::app {

Result<std::unique_ptr<Component>> WireOrigin(Context&) { return nullptr; }

std::vector<AddCommand> OriginCommands() { return {}; }

}  // namespace vodd::app
