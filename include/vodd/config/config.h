// vodd's configuration: compiled-in defaults, overridden by an INI file
// (GLib GKeyFile syntax) and then by drop-ins from a conf.d/ folder beside it,
// read in lexical order, later wins. Every option is declared once in the
// table in config.cpp (name, default, doc, live/restart); the sample
// config/vodd.conf and docs/configuration.md are tested against that table.
//
// Unknown sections or keys and bad values are errors naming file, line and
// key: "vodd.conf:12: [upload] max_size_mib: expected an integer in …".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vodd/core/log.h"
#include "vodd/core/result.h"

namespace vodd::config {

struct Rung {
  int height = 0;        // nominal short side: 1080, 720, …
  int bitrate_kbps = 0;  // video bitrate target
  bool operator==(const Rung&) const = default;
};

struct ServerConfig {
  std::string listen_host = "127.0.0.1";
  int listen_port = 8080;
  std::string public_url;  // empty: http://<listen>
  LogLevel log_level = LogLevel::kInfo;
  int shutdown_timeout_s = 10;
  bool trust_proxy = false;  // honour X-Forwarded-Proto/For from a local proxy
  bool operator==(const ServerConfig&) const = default;
};

struct StorageConfig {
  std::string data_dir = "vodd-data";  // relative to the working directory
  int64_t min_free_mib = 512;          // uploads get 507 below this
  bool operator==(const StorageConfig&) const = default;
};

struct UploadConfig {
  int64_t max_size_mib = 102400;  // Tus-Max-Size
  int64_t max_request_mib = 0;    // per PATCH body; 0 = no limit beyond size
  int max_metadata_bytes = 4096;
  int expiry_hours = 24;
  int idle_timeout_s = 30;
  int64_t checkpoint_mib = 64;  // durable offset commit interval mid-PATCH
  bool require_token = true;
  std::vector<std::string> cors_origins = {"*"};
  bool operator==(const UploadConfig&) const = default;
};

struct PipelineConfig {
  int workers = 0;  // 0: derived from cores
  std::vector<Rung> ladder = {
      {1080, 5000}, {720, 3000}, {480, 1200}, {360, 700}};
  int audio_bitrate_kbps = 128;
  int segment_seconds = 4;
  std::string encoder = "x264";
  std::string x264_preset = "veryfast";
  int max_fps = 60;
  int max_attempts = 3;
  int lease_seconds = 60;
  int stall_timeout_s = 120;
  int sprite_interval_s = 10;
  int thumb_width = 160;
  // Split-and-stitch: sources with video longer than split_threshold_s
  // (0: never) are encoded as chunks of about chunk_seconds in parallel.
  int split_threshold_s = 0;
  int chunk_seconds = 60;
  bool operator==(const PipelineConfig&) const = default;
};

struct OriginConfig {
  int manifest_max_age_s = 60;
  int manifest_s_maxage_s = 86400;
  int64_t cache_mib = 256;
  std::string origin_secret;  // required X-Vodd-Origin-Auth when set
  std::string default_policy = "public";
  std::string signing_key;           // hex; EdgeAuth HMAC-SHA256 key
  std::string signing_key_previous;  // accepted during rotation
  std::string token_name = "__token__";
  int clock_skew_s = 30;
  int64_t version_grace_s = 90000;  // a replaced version stays servable
  bool operator==(const OriginConfig&) const = default;
};

struct AdminConfig {
  int session_idle_minutes = 30;
  int session_absolute_hours = 12;
  bool operator==(const AdminConfig&) const = default;
};

struct Config {
  ServerConfig server;
  StorageConfig storage;
  UploadConfig upload;
  PipelineConfig pipeline;
  OriginConfig origin;
  AdminConfig admin;
  std::vector<std::string> sources;  // files that were read, in order
  bool operator==(const Config& o) const {
    return server == o.server && storage == o.storage && upload == o.upload &&
           pipeline == o.pipeline && origin == o.origin && admin == o.admin;
  }
};

// Compiled-in defaults.
Config Defaults();

// Loads `path` (an INI file) over the defaults, then every `*.conf` in the
// `conf.d` folder beside it in lexical order. `path` empty: defaults only.
// Errors: kInvalidArgument ("file:line: [section] key: why"), kNotFound,
// kIo.
Result<Config> Load(const std::string& path);

// Parses INI text as if read from `name`, over `base`.
Result<Config> ParseText(const std::string& text, const std::string& name,
                         Config base);

// The effective configuration as INI, every option present.
std::string Render(const Config& c);

// The commented sample file (config/vodd.conf): every option at its default.
std::string RenderSample();
// The option reference as Markdown tables (docs/configuration.md's body).
std::string RenderMarkdown();

// Documentation of every option, for docs and the sample file.
struct OptionDoc {
  std::string section, key, default_value, doc;
  bool live;  // applies without a restart when changed in the catalog
};
std::vector<OptionDoc> Options();

// "section.key" of every option whose value differs between `a` and `b`.
std::vector<std::string> ChangedOptions(const Config& a, const Config& b);
// `next` with every restart-only option set back to its value in
// `running`; the names of those that differed are appended to `kept`.
Config KeepRestartOptions(Config next, const Config& running,
                          std::vector<std::string>* kept);
// Whether "section.key" applies without a restart (false for unknown names).
bool IsLiveOption(const std::string& field);

// Workers to run when pipeline.workers == 0.
int EffectiveWorkers(const PipelineConfig& p);

}  // namespace vodd::config
