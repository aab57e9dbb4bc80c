// Logging through fmt to stderr: "2026-11-22T10:00:00.123Z info  [upload] …".
// Thread-safe; one line per call. The level is process-wide and set once at
// startup from config (SetLogLevel); tests may change it.
#pragma once

#include <optional>
#include <string_view>

#include <fmt/format.h>

namespace vodd {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

std::optional<LogLevel> ParseLogLevel(std::string_view name);
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
void LogLine(LogLevel level, std::string_view component, std::string_view msg);

template <typename... Args>
void Log(LogLevel level, std::string_view component,
         fmt::format_string<Args...> format, Args&&... args) {
  if (!LogEnabled(level)) return;
  LogLine(level, component, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace vodd

#define LOG_DEBUG(comp, ...) \
  ::vodd::Log(::vodd::LogLevel::kDebug, comp, __VA_ARGS__)
#define LOG_INFO(comp, ...) \
  ::vodd::Log(::vodd::LogLevel::kInfo, comp, __VA_ARGS__)
#define LOG_WARN(comp, ...) \
  ::vodd::Log(::vodd::LogLevel::kWarn, comp, __VA_ARGS__)
#define LOG_ERROR(comp, ...) \
  ::vodd::Log(::vodd::LogLevel::kError, comp, __VA_ARGS__)
