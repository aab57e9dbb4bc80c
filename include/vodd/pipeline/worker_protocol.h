// The daemon ↔ worker protocol. The daemon starts `vodd worker`, writes one
// JSON line (WorkerJob) to its stdin and closes it; the worker answers with
// JSON lines on stdout and exits:
//
//   {"type":"progress","fraction":0.42,"fps":48.0,"speed":1.6,"eta_ms":12000}
//   {"type":"result","published":{…PublishedVersion…}}        then exit 0
//   {"type":"error","code":"media","message":"This appears…"}  then exit 1
//
// The worker never touches the catalog; it only reads `source` and writes
// under `out_dir` (its staging folder). Pure: JSON only, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "vodd/catalog/media_types.h"
#include "vodd/config/config.h"
#include "vodd/core/log.h"
#include "vodd/core/result.h"

namespace vodd::pipeline {

struct WorkerJob {
  int64_t job_id = 0;
  int64_t lease_token = 0;
  std::string source;   // absolute path of the source file
  std::string out_dir;  // absolute path of the (empty) staging folder
  config::PipelineConfig pipeline;
  LogLevel log_level = LogLevel::kInfo;
};

struct ProgressMsg {
  double fraction = 0;  // 0..1
  double fps = 0;
  double speed = 0;  // media seconds per wall second
  int64_t eta_ms = 0;
};
struct ResultMsg {
  catalog::PublishedVersion published;  // video_id/version left empty
};
struct ErrorMsg {
  Error error;
};
using WorkerMsg = std::variant<ProgressMsg, ResultMsg, ErrorMsg>;

// One line, without the trailing newline.
std::string EncodeJob(const WorkerJob& job);
Result<WorkerJob> DecodeJob(const std::string& line);
std::string EncodeMsg(const WorkerMsg& msg);
// kInvalidArgument for anything that is not a well-formed message.
Result<WorkerMsg> DecodeMsg(const std::string& line);

// ErrorCode from its ErrorCodeName(); kInternal for an unknown name.
ErrorCode ErrorCodeFromName(const std::string& name);

}  // namespace vodd::pipeline
