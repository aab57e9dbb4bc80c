// Small string helpers shared by the protocol parsers (tus, HTTP rules, auth)
// and the command line's tables.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string>
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

// `ms` as a clock reading rounded to the nearest second, as the admin page
// shows durations: "M:SS" below an hour, "H:MM:SS" from one (4999 → "0:05",
// 3599500 → "1:00:00"). Negative counts as 0.
inline std::string ClockDuration(int64_t ms) {
  const int64_t s = ms > 0 ? (ms + 500) / 1000 : 0;
  if (s < 3600) return fmt::format("{}:{:02}", s / 60, s % 60);
  return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
}

}  // namespace vodd
