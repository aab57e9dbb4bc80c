// The real origin on 127.0.0.1:0 with its own GMainContext in a thread, a
// catalog in a temp folder holding fixture rows, fixture files under the
// media root, and a small libcurl client.
#pragma once

#include <curl/curl.h>
#include <glib.h>
#include <sodium.h>
#include <zlib.h>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "unit/origin/fixture.h"
#include "vodd/catalog/media.h"
#include "vodd/catalog/videos.h"
#include "vodd/catalog/writer.h"
#include "vodd/core/ids.h"
#include "vodd/glib/main_context.h"
#include "vodd/http/server.h"
#include "vodd/origin/origin.h"
#include "vodd/storage/storage.h"

namespace vodd::origin::testing {

inline std::string Sha256Hex(const std::string& data) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size());
  return ToHex(std::string_view(reinterpret_cast<const char*>(h), sizeof h));
}

inline std::string Gunzip(const std::string& gz) {
  z_stream zs{};
  inflateInit2(&zs, 15 + 16);
  std::string out(1 << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return rc == Z_STREAM_END ? out : "<bad gzip>";
}

// Deterministic content of a fixture file.
inline std::string FileBytes(const std::string& name, size_t size) {
  std::string s;
  s.reserve(size);
  for (size_t i = 0; s.size() < size; ++i)
    s += name + ":" + std::to_string(i) + ";";
  s.resize(size);
  return s;
}

inline void WriteFile(const std::string& path, const std::string& data) {
  std::filesystem::create_directories(
      std::filesystem::path(path).parent_path());
  std::ofstream f(path, std::ios::binary);
  f << data;
}

// The fixture version with small real files: sizes and hashes in the rows
// match the bytes written under the media root.
inline catalog::PublishedVersion WriteFixtureMedia(
    const storage::Layout& layout, const std::string& video, int64_t version) {
  auto v = FixtureVersion();
  v.video_id = video;
  v.version = version;
  std::string dir = layout.MediaDir(video, version);
  for (auto& r : v.renditions) {
    std::string init = FileBytes(video + r.name + "init", 600 + r.name.size());
    WriteFile(dir + "/" + r.name + "/init.mp4", init);
    r.init_size = static_cast<int64_t>(init.size());
    r.init_hash = Sha256Hex(init);
    for (auto& s : r.segments) {
      std::string data =
          FileBytes(video + r.name + std::to_string(s.number),
                    20000 + 1000 * static_cast<size_t>(s.number));
      WriteFile(dir + "/" + r.name + "/" + std::to_string(s.number) + ".m4s",
                data);
      s.size = static_cast<int64_t>(data.size());
      s.hash = Sha256Hex(data);
    }
    for (auto& k : r.keyframes) {
      k.offset = k.offset % 5000;
      k.length = 1000;
    }
  }
  // Each version's poster differs, as a new encode's would.
  std::string poster =
      FileBytes(video + "poster" + std::to_string(version), 3000);
  std::string sprite = FileBytes(video + "sprite", 5000);
  WriteFile(dir + "/poster.jpg", poster);
  WriteFile(dir + "/sprite.jpg", sprite);
  v.thumbnails->poster_size = 3000;
  v.thumbnails->poster_hash = Sha256Hex(poster);
  v.thumbnails->sprite_size = 5000;
  v.thumbnails->sprite_hash = Sha256Hex(sprite);
  return v;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "vodd-origin-XXXXXX")
            .string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Catalog + media + a running origin server.
class OriginHarness {
 public:
  explicit OriginHarness(config::OriginConfig cfg = {},
                         const Clock* clock = nullptr)
      : layout_(storage::Layout::Create(dir_.path() + "/data").value()) {
    writer_ = catalog::Writer::Create(layout_.CatalogPath(), nullptr).value();
    std::promise<int> port;
    auto fut = port.get_future();
    thread_ = std::thread([this, cfg, clock, &port] {
      ctx_ = g_main_context_new();
      g_main_context_push_thread_default(ctx_);
      loop_ = g_main_loop_new(ctx_, FALSE);
      {
        auto server = http::Server::Create({"127.0.0.1", 0}, &metrics_).value();
        Options opts;
        opts.cfg = cfg;
        opts.catalog_path = layout_.CatalogPath();
        opts.clock = clock;
        auto origin = Origin::Create(opts, layout_, &metrics_, ctx_).value();
        origin->Attach(*server);
        if (!server->Start() || !origin->Start()) std::abort();
        port.set_value(server->port());
        g_main_loop_run(loop_);
        origin->Stop();
        server->Stop();
      }
      g_main_loop_unref(loop_);
      g_main_context_pop_thread_default(ctx_);
      g_main_context_unref(ctx_);
    });
    port_ = fut.get();
  }
  ~OriginHarness() {
    glib::Post(ctx_, [this] { g_main_loop_quit(loop_); });
    thread_.join();
    writer_->Stop();
  }

  // Inserts a ready video with the fixture version `version` and its files.
  catalog::PublishedVersion Publish(const std::string& video, int64_t version,
                                    const std::string& policy = "public") {
    auto v = WriteFixtureMedia(layout_, video, version);
    v.playback_policy = policy;
    auto r = writer_->Call<bool>([v, policy](catalog::Db& db) -> Result<bool> {
      auto existing = catalog::GetVideo(db, v.video_id);
      if (!existing || !*existing) {
        catalog::NewVideo nv;
        nv.id = v.video_id;
        nv.title = "fixture";
        nv.source_path = "sources/" + v.video_id;
        nv.playback_policy = policy;
        TRY(catalog::CreateVideoWithJob(db, nv, 1700000000000, 3));
      }
      TRY(catalog::PublishVersion(db, v, v.published_at));
      return true;
    });
    if (!r) FAIL_CHECK(r.error().message);
    return v;
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  const storage::Layout& layout() const { return layout_; }
  catalog::Writer& writer() { return *writer_; }
  MetricsRegistry& metrics() { return metrics_; }

 private:
  TempDir dir_;
  storage::Layout layout_;
  std::unique_ptr<catalog::Writer> writer_;
  MetricsRegistry metrics_;
  std::thread thread_;
  GMainContext* ctx_ = nullptr;
  GMainLoop* loop_ = nullptr;
  int port_ = 0;
};

struct Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  bool Has(const std::string& name) const { return headers.count(name) > 0; }
};

inline size_t OnBody(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}
inline size_t OnHeader(char* p, size_t size, size_t n, void* out) {
  std::string line(p, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (auto& c : name)
      c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n'))
      value.pop_back();
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * n;
}

// One request; `path_as_is` keeps "../" and escapes exactly as written.
inline Response Fetch(const std::string& url,
                      std::vector<std::string> headers = {},
                      const std::string& method = "GET") {
  Response r;
  CURL* c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
  if (method == "HEAD")
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  else if (method != "GET")
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(c);
  return r;
}

}  // namespace vodd::origin::testing
