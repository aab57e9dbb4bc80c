// A resumable tus 1.0.0 client on libcurl, behind `vodd upload FILE`. It
// remembers the upload URL per file fingerprint (path, size, mtime) in a
// small JSON file so a rerun resumes where the server says (HEAD), and
// retries a failed PATCH after asking the server for its offset again.
//
//   vodd upload talk.mp4 --title "Keynote" --server http://127.0.0.1:8080
//        --token vodd_0123abcd_…
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "vodd/core/result.h"

namespace vodd::upload {

struct ClientOptions {
  std::string server =
      "http://127.0.0.1:8080";  // base URL; /files/ is appended
  std::string token;            // "" → no Authorization
  std::string title, description;
  int64_t chunk_bytes = 64LL << 20;  // per PATCH
  int max_retries = 10;              // consecutive failures before giving up
  std::string state_file;            // "" → $XDG_CACHE_HOME/vodd/uploads.json
  bool progress = true;              // progress bar on stderr
  bool checksum = true;              // Upload-Checksum: sha1 per PATCH
};

struct ClientProgress {
  int64_t done = 0, total = 0;
  double bytes_per_s = 0;
};

// Uploads `file`, resuming a remembered upload when the server still has it.
// Returns the upload URL. `on_progress` (may be empty) is called from the
// calling thread. Errors: kNotFound (file), kIo, kUnauthenticated, kNoSpace,
// kInternal (unexpected status).
Result<std::string> UploadFile(
    const std::string& file, const ClientOptions& opts,
    std::function<void(const ClientProgress&)> on_progress = {});

// "12.3 MiB  45.6 MiB/s  ETA 0:12" style bar text (pure, for tests).
std::string ProgressLine(const ClientProgress& p);

}  // namespace vodd::upload
