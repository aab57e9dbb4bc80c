// The option table: every setting vodd reads, declared once with its parser,
// printer, documentation and whether it applies live. Load() checks syntax
// line by line first (GKeyFile reports no line numbers), then lets GKeyFile
// unescape values, then runs each option's parser.
#include "vodd/config/config.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "vodd/core/ids.h"
#include "vodd/glib/ptr.h"

namespace vodd::config {
namespace {

using Setter =
    std::function<std::optional<std::string>(Config&, const std::string&)>;
using Getter = std::function<std::string(const Config&)>;

struct Option {
  const char* section;
  const char* key;
  const char* doc;
  bool live;
  Getter get;
  Setter set;
};

std::string Trim(std::string s) {
  auto b = s.find_first_not_of(" \t\r");
  auto e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::optional<std::string> ParseInt64(const std::string& v, int64_t lo,
                                      int64_t hi, int64_t* out) {
  auto n = ParseNonNegativeInt(v);
  if (!n || *n < lo || *n > hi) {
    return fmt::format("expected an integer in [{}, {}], got \"{}\"", lo, hi,
                       v);
  }
  *out = *n;
  return std::nullopt;
}

template <typename T>
Option IntOpt(const char* s, const char* k, const char* doc, bool live,
              int64_t lo, int64_t hi, T Config::*sec, auto T::*field) {
  return Option{
      s,
      k,
      doc,
      live,
      [=](const Config& c) { return std::to_string(c.*sec.*field); },
      [=](Config& c, const std::string& v) -> std::optional<std::string> {
        int64_t n = 0;
        if (auto e = ParseInt64(v, lo, hi, &n)) return e;
        c.*sec.*field =
            static_cast<std::remove_reference_t<decltype(c.*sec.*field)>>(n);
        return std::nullopt;
      }};
}

template <typename T>
Option BoolOpt(const char* s, const char* k, const char* doc, bool live,
               T Config::*sec, bool T::*field) {
  return Option{
      s,
      k,
      doc,
      live,
      [=](const Config& c) {
        return std::string(c.*sec.*field ? "true" : "false");
      },
      [=](Config& c, const std::string& v) -> std::optional<std::string> {
        if (v == "true")
          c.*sec.*field = true;
        else if (v == "false")
          c.*sec.*field = false;
        else
          return fmt::format("expected true or false, got \"{}\"", v);
        return std::nullopt;
      }};
}

template <typename T>
Option StrOpt(
    const char* s, const char* k, const char* doc, bool live, T Config::*sec,
    std::string T::*field,
    std::function<std::optional<std::string>(const std::string&)> check = {}) {
  return Option{
      s,
      k,
      doc,
      live,
      [=](const Config& c) { return c.*sec.*field; },
      [=](Config& c, const std::string& v) -> std::optional<std::string> {
        if (check) {
          if (auto e = check(v)) return e;
        }
        c.*sec.*field = v;
        return std::nullopt;
      }};
}

std::function<std::optional<std::string>(const std::string&)> OneOf(
    std::vector<std::string> allowed) {
  return [allowed](const std::string& v) -> std::optional<std::string> {
    if (std::find(allowed.begin(), allowed.end(), v) != allowed.end())
      return std::nullopt;
    return fmt::format("expected one of {}, got \"{}\"",
                       fmt::join(allowed, ", "), v);
  };
}

std::optional<std::string> CheckHexKey(const std::string& v) {
  if (v.empty()) return std::nullopt;
  if (v.size() < 32 || v.size() % 2 || !IsLowerHex(v, v.size())) {
    return "expected empty or at least 32 lowercase hex digits";
  }
  return std::nullopt;
}

std::string RenderLadder(const std::vector<Rung>& l) {
  std::vector<std::string> parts;
  for (const auto& r : l)
    parts.push_back(fmt::format("{}:{}", r.height, r.bitrate_kbps));
  return fmt::format("{}", fmt::join(parts, ","));
}

std::optional<std::string> ParseLadder(const std::string& v,
                                       std::vector<Rung>* out) {
  std::vector<Rung> rungs;
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item = Trim(item);
    auto colon = item.find(':');
    if (colon == std::string::npos) {
      return fmt::format("rung \"{}\" is not HEIGHT:KBPS", item);
    }
    auto h = ParseNonNegativeInt(item.substr(0, colon));
    auto b = ParseNonNegativeInt(item.substr(colon + 1));
    if (!h || *h < 144 || *h > 2160 || *h % 2) {
      return fmt::format("rung \"{}\": height must be even, 144..2160", item);
    }
    if (!b || *b < 100 || *b > 50000) {
      return fmt::format("rung \"{}\": bitrate must be 100..50000 kb/s", item);
    }
    for (const auto& r : rungs) {
      if (r.height == *h)
        return fmt::format("rung height {} appears twice", *h);
    }
    rungs.push_back({static_cast<int>(*h), static_cast<int>(*b)});
  }
  if (rungs.empty() || rungs.size() > 8) return "expected 1 to 8 rungs";
  std::sort(rungs.begin(), rungs.end(),
            [](const Rung& a, const Rung& b) { return a.height > b.height; });
  *out = rungs;
  return std::nullopt;
}

const std::vector<Option>& Table() {
  static const std::vector<Option> t = {
      Option{"server", "listen",
             "Address and port of the HTTP server (host:port).", false,
             [](const Config& c) {
               return fmt::format("{}:{}", c.server.listen_host,
                                  c.server.listen_port);
             },
             [](Config& c, const std::string& v) -> std::optional<std::string> {
               auto colon = v.rfind(':');
               if (colon == std::string::npos || colon == 0)
                 return "expected host:port";
               auto port = ParseNonNegativeInt(v.substr(colon + 1));
               if (!port || *port > 65535) return "port must be 0..65535";
               std::string host = v.substr(0, colon);
               if (host.size() > 2 && host.front() == '[' &&
                   host.back() == ']') {
                 host = host.substr(1, host.size() - 2);
               }
               c.server.listen_host = host;
               c.server.listen_port = static_cast<int>(*port);
               return std::nullopt;
             }},
      StrOpt("server", "public_url",
             "Base URL printed in links and used by the admin page (empty: "
             "http://<listen>).",
             false, &Config::server, &ServerConfig::public_url,
             [](const std::string& v) -> std::optional<std::string> {
               if (v.empty() || v.rfind("http://", 0) == 0 ||
                   v.rfind("https://", 0) == 0) {
                 return std::nullopt;
               }
               return "expected empty or an http:// or https:// URL";
             }),
      Option{"server", "log_level", "Log level: debug, info, warn or error.",
             true,
             [](const Config& c) {
               static const char* n[] = {"debug", "info", "warn", "error"};
               return std::string(n[static_cast<int>(c.server.log_level)]);
             },
             [](Config& c, const std::string& v) -> std::optional<std::string> {
               auto l = ParseLogLevel(v);
               if (!l) return "expected debug, info, warn or error";
               c.server.log_level = *l;
               return std::nullopt;
             }},
      IntOpt("server", "shutdown_timeout_s",
             "Seconds to let in-flight work finish after SIGTERM.", false, 1,
             600, &Config::server, &ServerConfig::shutdown_timeout_s),
      BoolOpt("server", "trust_proxy",
              "Trust X-Forwarded-Proto/-For from a reverse proxy on loopback.",
              false, &Config::server, &ServerConfig::trust_proxy),
      StrOpt("storage", "data_dir",
             "Folder for the catalog, uploads, staging and published media.",
             false, &Config::storage, &StorageConfig::data_dir,
             [](const std::string& v) -> std::optional<std::string> {
               if (v.empty()) return "must not be empty";
               return std::nullopt;
             }),
      IntOpt("storage", "min_free_mib",
             "Free-space floor in MiB: uploads answer 507, no job starts and "
             "/readyz fails below it.",
             true, 0, int64_t{1} << 30, &Config::storage,
             &StorageConfig::min_free_mib),
      IntOpt("upload", "max_size_mib", "Largest upload in MiB (Tus-Max-Size).",
             true, 1, int64_t{1} << 30, &Config::upload,
             &UploadConfig::max_size_mib),
      IntOpt(
          "upload", "max_request_mib",
          "Largest PATCH body in MiB; 0 means no limit beyond the upload size.",
          true, 0, int64_t{1} << 30, &Config::upload,
          &UploadConfig::max_request_mib),
      IntOpt("upload", "max_metadata_bytes",
             "Largest Upload-Metadata header in bytes.", true, 64, 65536,
             &Config::upload, &UploadConfig::max_metadata_bytes),
      IntOpt("upload", "expiry_hours",
             "Hours after the last write when an unfinished upload expires.",
             true, 1, 8760, &Config::upload, &UploadConfig::expiry_hours),
      IntOpt("upload", "idle_timeout_s",
             "Seconds without a byte before an upload request is cut.", true, 1,
             3600, &Config::upload, &UploadConfig::idle_timeout_s),
      IntOpt("upload", "checkpoint_mib",
             "MiB between durable offset commits inside one long PATCH.", true,
             1, 65536, &Config::upload, &UploadConfig::checkpoint_mib),
      BoolOpt("upload", "require_token",
              "Require an API token (Authorization: Bearer) to create and "
              "write uploads.",
              true, &Config::upload, &UploadConfig::require_token),
      Option{"upload", "cors_origins",
             "Comma-separated origins allowed to upload from a browser; * for "
             "any.",
             true,
             [](const Config& c) {
               return fmt::format("{}", fmt::join(c.upload.cors_origins, ","));
             },
             [](Config& c, const std::string& v) -> std::optional<std::string> {
               std::vector<std::string> out;
               std::stringstream ss(v);
               std::string item;
               while (std::getline(ss, item, ',')) {
                 item = Trim(item);
                 if (item.empty()) continue;
                 if (item != "*" && item.rfind("http://", 0) != 0 &&
                     item.rfind("https://", 0) != 0) {
                   return fmt::format(
                       "origin \"{}\" must be * or start with http(s)://",
                       item);
                 }
                 out.push_back(item);
               }
               c.upload.cors_origins = out;
               return std::nullopt;
             }},
      IntOpt(
          "pipeline", "workers",
          "Transcoding pipelines run at once; 0 derives it from the CPU count.",
          true, 0, 256, &Config::pipeline, &PipelineConfig::workers),
      Option{"pipeline", "ladder",
             "Video rungs as HEIGHT:KBPS, comma-separated; never upscaled. A "
             "source between two rungs adds its own size on top.",
             true,
             [](const Config& c) { return RenderLadder(c.pipeline.ladder); },
             [](Config& c, const std::string& v) {
               return ParseLadder(v, &c.pipeline.ladder);
             }},
      IntOpt("pipeline", "audio_bitrate_kbps", "AAC-LC stereo bitrate in kb/s.",
             true, 32, 512, &Config::pipeline,
             &PipelineConfig::audio_bitrate_kbps),
      IntOpt("pipeline", "segment_seconds",
             "Target CMAF segment duration in seconds.", true, 2, 6,
             &Config::pipeline, &PipelineConfig::segment_seconds),
      StrOpt("pipeline", "encoder",
             "H.264 encoder: x264 (GStreamer ugly set, GPL-2.0+); the only one "
             "built so far.",
             true, &Config::pipeline, &PipelineConfig::encoder,
             OneOf({"x264"})),
      StrOpt("pipeline", "x264_preset", "x264 speed preset.", true,
             &Config::pipeline, &PipelineConfig::x264_preset,
             OneOf({"ultrafast", "superfast", "veryfast", "faster", "fast",
                    "medium", "slow", "slower", "veryslow"})),
      IntOpt("pipeline", "max_fps",
             "Frame-rate cap; sources above it are halved.", true, 24, 120,
             &Config::pipeline, &PipelineConfig::max_fps),
      IntOpt("pipeline", "max_attempts",
             "Attempts before a job is dead-lettered.", true, 1, 20,
             &Config::pipeline, &PipelineConfig::max_attempts),
      IntOpt(
          "pipeline", "lease_seconds",
          "Job lease (visibility timeout); workers heartbeat at a third of it.",
          true, 10, 3600, &Config::pipeline, &PipelineConfig::lease_seconds),
      IntOpt("pipeline", "stall_timeout_s",
             "Seconds without pipeline progress before the job is aborted.",
             true, 10, 3600, &Config::pipeline,
             &PipelineConfig::stall_timeout_s),
      IntOpt("pipeline", "sprite_interval_s",
             "Seconds between thumbnail sprite frames.", true, 1, 600,
             &Config::pipeline, &PipelineConfig::sprite_interval_s),
      IntOpt("pipeline", "thumb_width",
             "Width of each sprite thumbnail in pixels.", true, 64, 640,
             &Config::pipeline, &PipelineConfig::thumb_width),
      IntOpt("pipeline", "split_threshold_s",
             "Sources with video longer than this many seconds are cut into "
             "chunks encoded as separate jobs, then stitched; 0 never splits "
             "(default: on 2 cores splitting costs a third more CPU for no "
             "wall-time gain, see docs/benchmarks.md).",
             true, 0, 86400, &Config::pipeline,
             &PipelineConfig::split_threshold_s),
      IntOpt("pipeline", "chunk_seconds",
             "Target chunk length for split sources, rounded to whole "
             "segments.",
             true, 4, 3600, &Config::pipeline, &PipelineConfig::chunk_seconds),
      IntOpt("origin", "manifest_max_age_s",
             "Browser max-age of manifests, seconds.", true, 0, 86400,
             &Config::origin, &OriginConfig::manifest_max_age_s),
      IntOpt("origin", "manifest_s_maxage_s",
             "CDN s-maxage of manifests, seconds.", true, 0, 31536000,
             &Config::origin, &OriginConfig::manifest_s_maxage_s),
      IntOpt("origin", "version_grace_s",
             "Seconds a version replaced by a newer publish stays servable "
             "before its rows and media are removed. Default 25 h: a "
             "versioned manifest may sit in a CDN for manifest_s_maxage_s "
             "(24 h), and the stable manifest (max-age plus "
             "stale-while-revalidate, 2 min) can still point players at the "
             "old version right after a publish; an hour of margin.",
             false, 0, 31536000, &Config::origin,
             &OriginConfig::version_grace_s),
      IntOpt(
          "origin", "cache_mib",
          "Total size of the media files the origin keeps open (its open-file "
          "cache for sendfile), MiB; the page cache holds the bytes.",
          false, 0, 65536, &Config::origin, &OriginConfig::cache_mib),
      StrOpt("origin", "origin_secret",
             "If set, media requests must carry X-Vodd-Origin-Auth with this "
             "value.",
             true, &Config::origin, &OriginConfig::origin_secret),
      StrOpt("origin", "default_policy",
             "Playback policy of new videos: public or signed.", true,
             &Config::origin, &OriginConfig::default_policy,
             OneOf({"public", "signed"})),
      StrOpt("origin", "signing_key",
             "EdgeAuth 2.0 HMAC-SHA256 key (hex) for signed playback.", true,
             &Config::origin, &OriginConfig::signing_key, CheckHexKey),
      StrOpt("origin", "signing_key_previous",
             "Previous signing key, still accepted while a rotation settles.",
             true, &Config::origin, &OriginConfig::signing_key_previous,
             CheckHexKey),
      StrOpt("origin", "token_name",
             "Query parameter and cookie name of playback tokens.", true,
             &Config::origin, &OriginConfig::token_name,
             [](const std::string& v) -> std::optional<std::string> {
               if (v.empty() || v.size() > 64)
                 return "must be 1..64 characters";
               for (char ch : v) {
                 if (!isalnum(static_cast<unsigned char>(ch)) && ch != '_' &&
                     ch != '-') {
                   return "only letters, digits, _ and -";
                 }
               }
               return std::nullopt;
             }),
      IntOpt("origin", "clock_skew_s",
             "Tolerance for token st/exp checks, seconds.", true, 0, 600,
             &Config::origin, &OriginConfig::clock_skew_s),
      IntOpt("admin", "session_idle_minutes",
             "Admin session idle timeout, minutes.", true, 1, 1440,
             &Config::admin, &AdminConfig::session_idle_minutes),
      IntOpt("admin", "session_absolute_hours",
             "Admin session absolute lifetime, hours.", true, 1, 720,
             &Config::admin, &AdminConfig::session_absolute_hours),
  };
  return t;
}

const Option* Find(const std::string& section, const std::string& key) {
  for (const auto& o : Table()) {
    if (section == o.section && key == o.key) return &o;
  }
  return nullptr;
}

bool KnownSection(const std::string& s) {
  for (const auto& o : Table()) {
    if (s == o.section) return true;
  }
  return false;
}

}  // namespace

Config Defaults() { return Config{}; }

int EffectiveWorkers(const PipelineConfig& p) {
  if (p.workers > 0) return p.workers;
  // x264 already spreads one ladder over ~2 cores (docs/benchmarks.md).
  int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, cores / 2);
}

Result<Config> ParseText(const std::string& text, const std::string& name,
                         Config base) {
  // Pass 1: syntax, sections and keys, each with its line number.
  std::map<std::pair<std::string, std::string>, int> line_of;
  std::istringstream in(text);
  std::string raw, section;
  int lineno = 0;
  while (std::getline(in, raw)) {
    ++lineno;
    std::string line = Trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      if (line.back() != ']') {
        return MakeError(ErrorCode::kInvalidArgument,
                         fmt::format("{}:{}: malformed section header \"{}\"",
                                     name, lineno, line));
      }
      section = Trim(line.substr(1, line.size() - 2));
      if (!KnownSection(section)) {
        return MakeError(
            ErrorCode::kInvalidArgument,
            fmt::format("{}:{}: unknown section [{}]", name, lineno, section));
      }
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string::npos) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("{}:{}: expected key = value, got \"{}\"",
                                   name, lineno, line));
    }
    std::string key = Trim(line.substr(0, eq));
    if (section.empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("{}:{}: key \"{}\" outside a [section]",
                                   name, lineno, key));
    }
    if (!Find(section, key)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("{}:{}: [{}] {}: unknown key", name, lineno,
                                   section, key));
    }
    if (line_of.count({section, key})) {
      return MakeError(
          ErrorCode::kInvalidArgument,
          fmt::format("{}:{}: [{}] {}: set twice (first on line {})", name,
                      lineno, section, key, line_of[{section, key}]));
    }
    line_of[{section, key}] = lineno;
  }

  // Pass 2: GKeyFile unescapes values; each option parses and validates.
  glib::KeyFilePtr kf(g_key_file_new());
  GError* gerr = nullptr;
  if (!g_key_file_load_from_data(kf.get(), text.data(), text.size(),
                                 G_KEY_FILE_NONE, &gerr)) {
    glib::ErrorPtr err(gerr);
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("{}: {}", name, glib::ErrorMessage(err.get())));
  }
  for (const auto& [sk, ln] : line_of) {
    GError* verr = nullptr;
    glib::CharPtr value(g_key_file_get_string(kf.get(), sk.first.c_str(),
                                              sk.second.c_str(), &verr));
    if (!value) {
      glib::ErrorPtr err(verr);
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("{}:{}: [{}] {}: {}", name, ln, sk.first,
                                   sk.second, glib::ErrorMessage(err.get())));
    }
    if (auto e = Find(sk.first, sk.second)->set(base, Trim(value.get()))) {
      return MakeError(
          ErrorCode::kInvalidArgument,
          fmt::format("{}:{}: [{}] {}: {}", name, ln, sk.first, sk.second, *e));
    }
  }
  base.sources.push_back(name);
  return base;
}

namespace {
Result<std::string> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return ErrnoError(errno, "open " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return ErrnoError(errno, "read " + path);
  return ss.str();
}
}  // namespace

Result<Config> Load(const std::string& path) {
  Config c = Defaults();
  if (path.empty()) return c;
  TRY_ASSIGN(std::string text, ReadFile(path));
  TRY_ASSIGN(c, ParseText(text, path, c));
  auto slash = path.rfind('/');
  std::string dir =
      (slash == std::string::npos ? "." : path.substr(0, slash)) + "/conf.d";
  std::vector<std::string> dropins;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > 5 && n.compare(n.size() - 5, 5, ".conf") == 0 &&
          n[0] != '.') {
        dropins.push_back(n);
      }
    }
    closedir(d);
  }
  std::sort(dropins.begin(), dropins.end());
  for (const auto& n : dropins) {
    TRY_ASSIGN(std::string t, ReadFile(dir + "/" + n));
    TRY_ASSIGN(c, ParseText(t, dir + "/" + n, c));
  }
  return c;
}

std::string Render(const Config& c) {
  std::string out, section;
  for (const auto& o : Table()) {
    if (section != o.section) {
      section = o.section;
      out += fmt::format("{}[{}]\n", out.empty() ? "" : "\n", section);
    }
    out += fmt::format("{} = {}\n", o.key, o.get(c));
  }
  return out;
}

namespace {
const char* SectionDoc(const std::string& s) {
  if (s == "server") return "HTTP listener, logging and shutdown.";
  if (s == "storage")
    return "Where data lives and how much disk must stay free.";
  if (s == "upload") return "The tus 1.0.0 endpoint at /files/.";
  if (s == "pipeline") return "The transcoding job queue and worker pool.";
  if (s == "origin") return "The HLS/DASH origin at /v/ and signed playback.";
  if (s == "admin") return "The admin page at /admin/.";
  return "";
}
}  // namespace

std::string RenderSample() {
  std::string out =
      "# vodd configuration. Every option is shown at its compiled-in default, "
      "so\n"
      "# this file changes nothing until you edit it. Put local changes in\n"
      "# conf.d/*.conf beside this file (read in lexical order, later wins) "
      "so\n"
      "# package upgrades never have to ask about this file.\n"
      "# Check a change with: vodd check-config --config /etc/vodd/vodd.conf\n";
  std::string section;
  Config d = Defaults();
  for (const auto& o : Table()) {
    if (section != o.section) {
      section = o.section;
      out += fmt::format("\n# {}\n[{}]\n", SectionDoc(section), section);
    }
    out += fmt::format("# {}{}\n{} = {}\n", o.doc, o.live ? "" : " (restart)",
                       o.key, o.get(d));
  }
  return out;
}

std::string RenderMarkdown() {
  std::string out, section;
  Config d = Defaults();
  for (const auto& o : Table()) {
    if (section != o.section) {
      section = o.section;
      out += fmt::format(
          "\n## [{}]\n\n{}\n\n| key | default | applies | meaning |\n"
          "|---|---|---|---|\n",
          section, SectionDoc(section));
    }
    std::string def = o.get(d);
    out += fmt::format("| `{}` | `{}` | {} | {} |\n", o.key,
                       def.empty() ? " " : def, o.live ? "live" : "restart",
                       o.doc);
  }
  return out;
}

std::vector<std::string> ChangedOptions(const Config& a, const Config& b) {
  std::vector<std::string> out;
  for (const auto& o : Table()) {
    if (o.get(a) != o.get(b))
      out.push_back(std::string(o.section) + "." + o.key);
  }
  return out;
}

Config KeepRestartOptions(Config next, const Config& running,
                          std::vector<std::string>* kept) {
  for (const auto& o : Table()) {
    if (o.live) continue;
    std::string value = o.get(running);
    if (o.get(next) == value) continue;
    o.set(next, value);
    if (kept) kept->push_back(std::string(o.section) + "." + o.key);
  }
  return next;
}

bool IsLiveOption(const std::string& field) {
  for (const auto& o : Table()) {
    if (field == std::string(o.section) + "." + o.key) return o.live;
  }
  return false;
}

std::vector<OptionDoc> Options() {
  std::vector<OptionDoc> out;
  Config d = Defaults();
  for (const auto& o : Table()) {
    out.push_back({o.section, o.key, o.get(d), o.doc, o.live});
  }
  return out;
}

}  // namespace vodd::config
