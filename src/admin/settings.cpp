// Catalog-stored settings over the config file; see vodd/admin/settings.h.
#include "vodd/admin/settings.h"

#include <sstream>

#include "vodd/core/log.h"

namespace vodd::admin {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// config::ParseText prefixes "name:line: " to every message; the page wants
// just the reason.
std::string ReasonOf(const std::string& message, const std::string& field) {
  std::string r = message;
  auto pos = r.find("] ");
  if (pos != std::string::npos) {
    r = r.substr(pos + 2);
    auto colon = r.find(": ");
    if (colon != std::string::npos) r = r.substr(colon + 2);
  }
  (void)field;
  return r;
}

}  // namespace

bool IsSecretOption(const std::string& section, const std::string& key) {
  return section == "origin" &&
         (key == "origin_secret" || key == "signing_key" ||
          key == "signing_key_previous");
}

bool IsFileOnlyOption(const std::string& section, const std::string& key) {
  // The catalog lives inside data_dir, and the listener and proxy trust are
  // the operator's network decisions.
  return (section == "storage" && key == "data_dir") ||
         (section == "server" && (key == "listen" || key == "trust_proxy"));
}

std::map<std::string, std::string> FlattenConfig(const config::Config& c) {
  std::map<std::string, std::string> out;
  std::istringstream in(config::Render(c));
  std::string line, section;
  while (std::getline(in, line)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = line.substr(1, line.size() - 2);
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    out[section + "." + Trim(line.substr(0, eq))] = Trim(line.substr(eq + 1));
  }
  return out;
}

tl::expected<config::Config, SettingsError> ApplySettings(
    const config::Config& base,
    const std::map<std::string, std::string>& stored) {
  config::Config c = base;
  for (const auto& [field, value] : stored) {
    auto dot = field.find('.');
    if (dot == std::string::npos) {
      return tl::unexpected(SettingsError{field, "not a section.key name"});
    }
    std::string section = field.substr(0, dot), key = field.substr(dot + 1);
    bool known = false;
    for (const auto& o : config::Options()) {
      known = known || (o.section == section && o.key == key);
    }
    if (!known) return tl::unexpected(SettingsError{field, "unknown option"});
    if (IsFileOnlyOption(section, key)) {
      return tl::unexpected(
          SettingsError{field, "can only be set in the config file"});
    }
    if (value.find_first_of("\r\n") != std::string::npos) {
      return tl::unexpected(SettingsError{field, "must be a single line"});
    }
    auto r = config::ParseText(
        "[" + section + "]\n" + key + " = " + value + "\n", "settings", c);
    if (!r) {
      return tl::unexpected(
          SettingsError{field, ReasonOf(r.error().message, field)});
    }
    c = std::move(*r);
  }
  return c;
}

SettingsStore::SettingsStore(config::Config file_config)
    : file_config_(std::move(file_config)), effective_(file_config_) {}

void SettingsStore::Load(const std::map<std::string, std::string>& stored) {
  stored_.clear();
  effective_ = file_config_;
  for (const auto& [field, value] : stored) {
    auto r = ApplySettings(effective_, {{field, value}});
    if (!r) {
      LOG_WARN("admin", "ignoring stored setting {}: {}", field,
               r.error().reason);
      continue;
    }
    effective_ = std::move(*r);
    stored_[field] = value;
  }
}

void SettingsStore::SetFileConfig(config::Config file_config) {
  file_config_ = std::move(file_config);
  Load(std::map<std::string, std::string>(stored_));
  auto observers = observers_;
  for (auto& [id, fn] : observers) fn(effective_);
}

std::vector<SettingItem> SettingsStore::Items() const {
  auto eff = FlattenConfig(effective_);
  auto file = FlattenConfig(file_config_);
  std::vector<SettingItem> out;
  for (const auto& o : config::Options()) {
    SettingItem it;
    it.section = o.section;
    it.key = o.key;
    std::string field = o.section + "." + o.key;
    it.value = eff[field];
    it.file_value = file[field];
    it.default_value = o.default_value;
    it.doc = o.doc;
    it.live = o.live;
    it.stored = stored_.count(field) > 0;
    it.secret = IsSecretOption(o.section, o.key);
    it.editable = !IsFileOnlyOption(o.section, o.key);
    if (it.secret) {
      it.is_set = !it.value.empty();
      it.value.clear();
      it.file_value.clear();
      it.default_value.clear();
    }
    out.push_back(std::move(it));
  }
  return out;
}

tl::expected<std::map<std::string, std::string>, SettingsError>
SettingsStore::Validate(
    const std::map<std::string, std::optional<std::string>>& changes) const {
  std::map<std::string, std::string> next = stored_;
  for (const auto& [field, value] : changes) {
    if (value) {
      next[field] = *value;
    } else {
      next.erase(field);
    }
  }
  auto r = ApplySettings(file_config_, next);
  if (!r) return tl::unexpected(r.error());
  return next;
}

void SettingsStore::Commit(std::map<std::string, std::string> stored) {
  auto r = ApplySettings(file_config_, stored);
  if (!r) {
    LOG_ERROR("admin", "refusing settings that do not validate: {}: {}",
              r.error().field, r.error().reason);
    return;
  }
  stored_ = std::move(stored);
  effective_ = std::move(*r);
  // Copy: an observer may unsubscribe while being called.
  auto observers = observers_;
  for (auto& [id, fn] : observers) fn(effective_);
}

int SettingsStore::Subscribe(std::function<void(const config::Config&)> fn) {
  int id = next_observer_++;
  observers_[id] = std::move(fn);
  return id;
}

void SettingsStore::Unsubscribe(int id) { observers_.erase(id); }

}  // namespace vodd::admin
