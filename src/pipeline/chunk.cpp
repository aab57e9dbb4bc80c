// Chunk and audio jobs of a split source (see split.h).
#include "vodd/pipeline/split.h"

namespace vodd::pipeline {

Result<catalog::PublishedVersion> TranscodeChunk(
    const std::string&, const SplitContext&, const SplitPlan&, const ChunkSpec&,
    const std::string&, std::function<void(const Progress&)>,
    const std::atomic<bool>*, int) {
  return MakeError(ErrorCode::kUnsupported, "chunk jobs: not built yet");
}

Result<catalog::PublishedVersion> TranscodeAudio(
    const std::string&, const SplitContext&, const std::string&,
    std::function<void(const Progress&)>, const std::atomic<bool>*, int) {
  return MakeError(ErrorCode::kUnsupported, "audio jobs: not built yet");
}

}  // namespace vodd::pipeline
