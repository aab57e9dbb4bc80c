// The stitch job of a split source (see split.h).
#include "vodd/pipeline/split.h"

namespace vodd::pipeline {

Result<catalog::PublishedVersion> Stitch(const SplitContext&, const SplitPlan&,
                                         const std::vector<std::string>&,
                                         const std::string&,
                                         std::function<void(const Progress&)>,
                                         const std::atomic<bool>*) {
  return MakeError(ErrorCode::kUnsupported, "stitch jobs: not built yet");
}

}  // namespace vodd::pipeline
