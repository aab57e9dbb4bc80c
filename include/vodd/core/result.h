// Errors as values between modules (Shaka's Status, tusd's named errors).
// Result<T> = tl::expected<T, Error>; Status = Result<void>.
// Each protocol maps Error::code to its wire status in one table.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace vodd {

enum class ErrorCode {
  kInvalidArgument,     // malformed input from a client or a file
  kNotFound,            // the named thing does not exist
  kGone,                // it existed and was removed or expired
  kAlreadyExists,       // a create collided
  kConflict,            // state does not allow this now (offset mismatch…)
  kFailedPrecondition,  // protocol version, wrong state
  kPermissionDenied,    // authenticated but not allowed
  kUnauthenticated,     // no or bad credentials
  kTooLarge,            // over a configured size limit
  kNoSpace,             // disk below its free-space floor, or ENOSPC
  kUnsupported,         // a feature or format vodd does not handle
  kLocked,              // a resource is busy; retry later
  kCancelled,           // the operation was stopped on purpose
  kTimeout,             // a deadline passed
  kIo,                  // an operating-system I/O error
  kMedia,               // the media could not be probed or processed
  kDataLoss,            // stored data is inconsistent or corrupt
  kInternal,            // a bug or an unexpected library failure
};

const char* ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

template <typename T>
using Result = tl::expected<T, Error>;
using Status = Result<void>;

inline tl::unexpected<Error> MakeError(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

// An error from errno with the operation and path named: "open /x: No such…".
tl::unexpected<Error> ErrnoError(int err, std::string_view what);

inline Status Ok() { return {}; }

}  // namespace vodd

// TRY(expr): evaluate a Result or Status; return its error from the caller.
#define VODD_CONCAT_INNER(a, b) a##b
#define VODD_CONCAT(a, b) VODD_CONCAT_INNER(a, b)
#define TRY(expr)                                                 \
  do {                                                            \
    auto&& VODD_CONCAT(try_result_, __LINE__) = (expr);           \
    if (!VODD_CONCAT(try_result_, __LINE__))                      \
      return tl::unexpected<::vodd::Error>(                       \
          std::move(VODD_CONCAT(try_result_, __LINE__)).error()); \
  } while (0)
// TRY_ASSIGN(lhs, expr): as TRY, and on success move the value into lhs.
#define TRY_ASSIGN(lhs, expr)                                  \
  auto VODD_CONCAT(try_value_, __LINE__) = (expr);             \
  if (!VODD_CONCAT(try_value_, __LINE__))                      \
    return tl::unexpected<::vodd::Error>(                      \
        std::move(VODD_CONCAT(try_value_, __LINE__)).error()); \
  lhs = std::move(*VODD_CONCAT(try_value_, __LINE__))
