// Random identifiers and strict parsers shared by every protocol.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vodd {

// `bytes` random bytes from getrandom(2), as lowercase hex (2×bytes chars).
std::string RandomHex(size_t bytes);
// True if `s` is exactly `len` lowercase hex digits. Validate every id that
// came from a URL with this before it touches a path or a query.
bool IsLowerHex(std::string_view s, size_t len);
// Strict non-negative decimal: digits only, no sign, no spaces, no leading
// '+', fits in int64. "007" is accepted; "", "-1", "1e3", " 5" are not.
std::optional<int64_t> ParseNonNegativeInt(std::string_view s);
// Lowercase hex of arbitrary bytes.
std::string ToHex(std::string_view bytes);

}  // namespace vodd
