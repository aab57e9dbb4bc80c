// Small string helpers shared by the protocol parsers (tus, HTTP rules, auth).
#pragma once

#include <string_view>

namespace vodd {

// `s` without leading and trailing spaces and tabs (HTTP OWS).
inline std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

}  // namespace vodd
