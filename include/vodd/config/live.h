// The daemon's configuration while it runs. Two layers feed it: the config
// files (re-read on SIGHUP) and the settings saved on the admin page (laid
// over the files by admin::SettingsStore). Modules that apply options without
// a restart subscribe and receive every new effective Config; the option
// table's `live` flag says which options they must honour (a test checks
// that every live option has a subscriber that applies it).
//
//   SIGHUP → App reads the files off the HTTP thread → ReloadFiles(file)
//     → file observers (the admin settings store lays its rows over it)
//     → Publish(effective) → subscribers, in subscription order
//   admin PUT /api/v1/settings → SettingsStore::Commit → Publish(effective)
//
// Threading: the HTTP (main loop) thread only. A subscriber that hands the
// new values to its own threads does so itself, without blocking.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "vodd/config/config.h"

namespace vodd::config {

class LiveConfig {
 public:
  using Observer = std::function<void(const Config& next, const Config& prev)>;
  using FileObserver = std::function<void(const Config& files)>;

  explicit LiveConfig(Config files, Config effective);

  const Config& files() const { return files_; }
  const Config& current() const { return current_; }

  // Adopts `next` as the effective config and notifies the observers when
  // anything changed. Options that are not live are kept at their running
  // value (a restart applies them); they are logged and returned.
  std::vector<std::string> Publish(Config next);

  // New file contents: the file observers lay their layers over it and
  // Publish; without any file observer `files` is published as is.
  void ReloadFiles(Config files);

  int Subscribe(Observer fn);
  int OnFilesReloaded(FileObserver fn);
  void Unsubscribe(int id);

 private:
  Config files_, current_;
  std::map<int, Observer> observers_;
  std::map<int, FileObserver> file_observers_;
  int next_id_ = 1;
};

}  // namespace vodd::config
