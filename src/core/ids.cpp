#include "vodd/core/ids.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdlib>
#include <limits>
#include <vector>

namespace vodd {

std::string ToHex(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string RandomHex(size_t bytes) {
  std::vector<char> buf(bytes);
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = getrandom(buf.data() + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::abort();  // no entropy source: nothing safe to do
    }
    got += static_cast<size_t>(n);
  }
  return ToHex(std::string_view(buf.data(), buf.size()));
}

bool IsLowerHex(std::string_view s, size_t len) {
  if (s.size() != len) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::optional<int64_t> ParseNonNegativeInt(std::string_view s) {
  if (s.empty() || s.size() > 19) {
    if (s.size() <= 19) return std::nullopt;
    // Allow leading zeros beyond 19 chars only if the value still fits.
  }
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    int d = c - '0';
    if (v > (std::numeric_limits<int64_t>::max() - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  if (s.empty()) return std::nullopt;
  return v;
}

}  // namespace vodd
