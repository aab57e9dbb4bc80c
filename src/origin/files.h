// Opening published files beneath the media root only: openat2(2) with
// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS (glibc 2.36
// has no wrapper, so syscall), falling back to O_NOFOLLOW per component on
// kernels without openat2. Blocking: loader threads only.
#pragma once

#include <glib.h>

#include <string>

#include "vodd/core/result.h"
#include "vodd/glib/ptr.h"

namespace vodd::origin {

// Opens `rel` ("<video>/<version>/v720/3.m4s") beneath `root_fd` for
// reading. Errors: kNotFound, kPermissionDenied (a symlink or an escape),
// kIo.
Result<int> OpenBeneath(int root_fd, const std::string& rel);

// Opens the regular file `rel` beneath `root_fd`; `expected_size` >= 0
// must match its size (kDataLoss otherwise). The fd is the caller's.
Result<int> OpenRegularBeneath(int root_fd, const std::string& rel,
                               int64_t expected_size);

// Reads `length` bytes of `fd` from `offset` (pread). Errors: kIo.
Result<glib::BytesPtr> ReadRange(int fd, int64_t offset, int64_t length);

// Reads the whole regular file `rel` beneath `root_fd` into memory.
// `expected_size` >= 0 must match (kDataLoss otherwise). Errors as
// OpenBeneath, plus kTooLarge beyond `max_bytes`.
Result<glib::BytesPtr> ReadBeneath(int root_fd, const std::string& rel,
                                   int64_t expected_size, int64_t max_bytes);

}  // namespace vodd::origin
