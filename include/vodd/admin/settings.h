// Settings edited on the admin page. The config file under /etc stays
// read-only to the daemon; the page's changes live in the catalog table
// `settings` (key "section.key") and are laid over the file's values. Each
// option is validated by the same option table that parses the file
// (config::ParseText), so a value the file would refuse is refused here too.
//
// Which options apply live is the option table's `live` flag; the page says
// "restart needed" for the others. Modules that apply options live subscribe
// with Subscribe() and receive the new effective Config.
//
// Threading: owned by the HTTP thread; observers run there.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vodd/config/config.h"
#include "vodd/core/result.h"

namespace vodd::admin {

struct SettingItem {
  std::string section, key;
  std::string value;          // effective ("" for an unset secret)
  std::string default_value;  // compiled-in
  std::string file_value;     // from the config file(s)
  std::string doc;
  bool live = false;     // applies without restart
  bool stored = false;   // overridden in the catalog
  bool secret = false;   // value is never sent back; `is_set` tells
  bool is_set = false;   // secret has a non-empty value
  bool editable = true;  // false: only the config file may set it
};

struct SettingsError {
  std::string field;  // "section.key"
  std::string reason;
};

// "section.key" → value for every option of `c`.
std::map<std::string, std::string> FlattenConfig(const config::Config& c);
// `base` with `stored` laid over it. Errors name the first bad entry.
tl::expected<config::Config, SettingsError> ApplySettings(
    const config::Config& base,
    const std::map<std::string, std::string>& stored);

class SettingsStore {
 public:
  explicit SettingsStore(config::Config file_config);

  // Lays the catalog's rows over the file's config. A stored value that no
  // longer validates is ignored and logged (an upgrade may tighten a rule).
  void Load(const std::map<std::string, std::string>& stored);
  // The config files changed (SIGHUP): the stored rows are laid over the
  // new values and observers are notified.
  void SetFileConfig(config::Config file_config);
  std::vector<SettingItem> Items() const;
  const config::Config& effective() const { return effective_; }
  const std::map<std::string, std::string>& stored() const { return stored_; }

  // Validates `changes` ("section.key" → new value, nullopt = back to the
  // file's value). On success returns the new stored map; the caller
  // persists it and then calls Commit.
  tl::expected<std::map<std::string, std::string>, SettingsError> Validate(
      const std::map<std::string, std::optional<std::string>>& changes) const;
  // Adopts a persisted map and notifies observers.
  void Commit(std::map<std::string, std::string> stored);

  // Observers get the new effective config after every Commit.
  int Subscribe(std::function<void(const config::Config&)> fn);
  void Unsubscribe(int id);

 private:
  config::Config file_config_, effective_;
  std::map<std::string, std::string> stored_;
  std::map<int, std::function<void(const config::Config&)>> observers_;
  int next_observer_ = 1;
};

// Options whose value is a secret (never echoed back).
bool IsSecretOption(const std::string& section, const std::string& key);
// Options only the config file may set (the page cannot move the data).
bool IsFileOnlyOption(const std::string& section, const std::string& key);

}  // namespace vodd::admin
