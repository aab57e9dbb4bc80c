// Wiring of the pipeline module into the daemon and the CLI. Not built yet: the
// daemon runs without it.
#include "vodd/app/wiring.h"

namespace vodd::app {

Result<std::unique_ptr<Component>> WirePipeline(Context&) { return nullptr; }

std::vector<AddCommand> PipelineCommands() { return {}; }

}  // namespace vodd::app
