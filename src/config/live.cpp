#include "vodd/config/live.h"

#include <fmt/format.h>

#include "vodd/core/log.h"

namespace vodd::config {

LiveConfig::LiveConfig(Config files, Config effective)
    : files_(std::move(files)), current_(std::move(effective)) {}

std::vector<std::string> LiveConfig::Publish(Config next) {
  std::vector<std::string> kept;
  next = KeepRestartOptions(std::move(next), current_, &kept);
  for (const auto& field : kept) {
    LOG_WARN("config", "{} changed: takes effect after a restart", field);
  }
  std::vector<std::string> changed = ChangedOptions(current_, next);
  if (changed.empty()) return kept;
  std::string names;
  for (const auto& f : changed) names += (names.empty() ? "" : ", ") + f;
  LOG_INFO("config", "applying {}", names);
  Config prev = std::move(current_);
  current_ = std::move(next);
  // Copy: an observer may unsubscribe while being called.
  auto observers = observers_;
  for (auto& [id, fn] : observers) fn(current_, prev);
  return kept;
}

void LiveConfig::ReloadFiles(Config files) {
  files_ = std::move(files);
  if (file_observers_.empty()) {
    Publish(files_);
    return;
  }
  auto observers = file_observers_;
  for (auto& [id, fn] : observers) fn(files_);
}

int LiveConfig::Subscribe(Observer fn) {
  int id = next_id_++;
  observers_[id] = std::move(fn);
  return id;
}

int LiveConfig::OnFilesReloaded(FileObserver fn) {
  int id = next_id_++;
  file_observers_[id] = std::move(fn);
  return id;
}

void LiveConfig::Unsubscribe(int id) {
  observers_.erase(id);
  file_observers_.erase(id);
}

}  // namespace vodd::config
