// Wiring of the upload module into the daemon and the CLI. Not built yet: the
// daemon runs without it.
#include "vodd/app/wiring.h"

namespace vodd::app {

Result<std::unique_ptr<Component>> WireUpload(Context&) { return nullptr; }

std::vector<AddCommand> UploadCommands() { return {}; }

}  // namespace vodd::app
