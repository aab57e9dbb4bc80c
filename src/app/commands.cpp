#include "vodd/app/commands.h"

#include "vodd/app/wiring.h"

namespace vodd::app {

const std::vector<AddCommand>& ExtraCommands() {
  static const std::vector<AddCommand> commands = [] {
    std::vector<AddCommand> all;
    for (auto list : {UploadCommands(), PipelineCommands(), OriginCommands(),
                      AdminCommands(), BackupCommands()}) {
      all.insert(all.end(), list.begin(), list.end());
    }
    return all;
  }();
  return commands;
}

}  // namespace vodd::app
