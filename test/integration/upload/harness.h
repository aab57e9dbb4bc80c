// Test harness for the tus endpoint: the real libsoup server on
// 127.0.0.1:0 in its own thread and GMainContext, a real SQLite catalog in a
// temp folder, libcurl and raw sockets as clients.
#pragma once

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "support/test_util.h"
#include "vodd/catalog/tokens.h"
#include "vodd/catalog/uploads.h"
#include "vodd/catalog/writer.h"
#include "vodd/core/clock.h"
#include "vodd/core/ids.h"
#include "vodd/glib/main_context.h"
#include "vodd/http/server.h"
#include "vodd/storage/storage.h"
#include "vodd/upload/token.h"
#include "vodd/upload/tus_handler.h"

namespace vodd::test {

// Real time, with a wall-clock shift tests can move forward (expiry).
class ShiftClock final : public Clock {
 public:
  int64_t NowUnixMs() const override {
    return SystemClock::Get().NowUnixMs() + shift_.load();
  }
  int64_t NowMonotonicMs() const override {
    return SystemClock::Get().NowMonotonicMs();
  }
  void Advance(int64_t ms) { shift_ += ms; }

 private:
  std::atomic<int64_t> shift_{0};
};

struct Resp {
  long status = 0;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;
  bool Has(const std::string& h) const { return headers.count(h) > 0; }
  std::string H(const std::string& h) const {
    auto it = headers.find(h);
    return it == headers.end() ? "" : it->second;
  }
};

inline size_t CollectHeader(char* d, size_t s, size_t n, void* u) {
  auto* r = static_cast<Resp*>(u);
  std::string line(d, s * n);
  if (line.rfind("HTTP/", 0) == 0)
    r->headers.clear();  // 100 Continue, then final
  size_t c = line.find(':');
  if (c != std::string::npos) {
    std::string k = line.substr(0, c);
    for (auto& ch : k)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string v = line.substr(c + 1);
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n')) v.pop_back();
    r->headers[k] = v;
  }
  return s * n;
}
inline size_t CollectBody(char* d, size_t s, size_t n, void* u) {
  static_cast<Resp*>(u)->body.append(d, s * n);
  return s * n;
}

struct TusSetup {
  bool require_token = false;
  int64_t max_size_mib = 1024;
  int64_t max_request_mib = 0;
  int idle_timeout_s = 30;
  int64_t min_free_bytes = 0;
  int64_t checkpoint_mib = 64;
  std::chrono::milliseconds lock_wait{3000};
  std::string data_dir;  // "" → a fresh temp folder
};

class TusServer {
 public:
  using Setup = TusSetup;

  explicit TusServer(Setup s = Setup()) : setup_(s) {
    if (setup_.data_dir.empty()) {
      char tmpl[] = "/tmp/vodd-tus-XXXXXX";
      root_ = mkdtemp(tmpl);
      owns_root_ = true;
    } else {
      root_ = setup_.data_dir;
    }
    Start();
  }
  ~TusServer() {
    Stop();
    if (owns_root_) std::filesystem::remove_all(root_);
  }

  void Start() {
    layout_ =
        std::make_unique<storage::Layout>(*storage::Layout::Create(root_));
    writer_ =
        std::move(*catalog::Writer::Create(layout_->CatalogPath(), nullptr));
    std::promise<int> port;
    auto fut = port.get_future();
    thread_ = std::thread([this, &port] {
      GMainContext* ctx = g_main_context_new();
      g_main_context_push_thread_default(ctx);
      {
        auto server = *http::Server::Create({"127.0.0.1", 0}, &metrics_);
        upload::HandlerOptions o;
        o.upload.require_token = setup_.require_token;
        o.upload.max_size_mib = setup_.max_size_mib;
        o.upload.max_request_mib = setup_.max_request_mib;
        o.upload.idle_timeout_s = setup_.idle_timeout_s;
        o.upload.checkpoint_mib = setup_.checkpoint_mib;
        o.upload.cors_origins = {"https://cms.example"};
        o.min_free_bytes = setup_.min_free_bytes;
        o.lock_wait = setup_.lock_wait;
        o.sweep_every = std::chrono::milliseconds(100);
        o.token_refresh_every = std::chrono::milliseconds(100);
        auto handler = *upload::TusHandler::Create(o, *layout_, *writer_,
                                                   &metrics_, ctx, clock_);
        handler->Install(*server);
        if (auto st = handler->Start(); !st) {
          fprintf(stderr, "start: %s\n", st.error().message.c_str());
          std::abort();
        }
        (void)server->Start();
        loop_ = g_main_loop_new(ctx, FALSE);
        ctx_ = ctx;
        port.set_value(server->port());
        g_main_loop_run(loop_);
        server->Stop();
        handler->Stop();
        // Let pending callbacks drain before the handler goes.
        while (g_main_context_iteration(ctx, FALSE)) {
        }
      }
      g_main_loop_unref(loop_);
      g_main_context_pop_thread_default(ctx);
      g_main_context_unref(ctx);
    });
    port_ = fut.get();
  }

  void Stop() {
    if (!thread_.joinable()) return;
    GMainLoop* loop = loop_;
    glib::Post(ctx_, [loop] { g_main_loop_quit(loop); });
    thread_.join();
    writer_->Stop();
    writer_.reset();
  }

  std::string Url(const std::string& path = "/files/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int port() const { return port_; }
  const std::string& root() const { return root_; }
  const storage::Layout& layout() const { return *layout_; }
  catalog::Writer& writer() { return *writer_; }
  ShiftClock& clock() { return clock_; }
  MetricsRegistry& metrics() { return metrics_; }

  std::string AddToken(const std::string& scopes = "upload") {
    auto t = upload::GenerateToken();
    catalog::ApiToken row;
    row.id = t.id;
    row.secret_sha256 = t.secret_sha256;
    row.scopes = scopes;
    row.created_at = clock_.NowUnixMs();
    auto r = writer_->Call<bool>([row](catalog::Db& db) -> Result<bool> {
      TRY(catalog::InsertToken(db, row));
      return true;
    });
    if (!r) std::abort();
    std::this_thread::sleep_for(
        std::chrono::milliseconds(300));  // cache refresh
    return t.text;
  }

  int64_t Count(const std::string& sql) {
    auto r = writer_->Call<int64_t>([sql](catalog::Db& db) -> Result<int64_t> {
      TRY_ASSIGN(auto s, db.Prepare(sql));
      TRY_ASSIGN(bool row, s.Step());
      return row ? s.Int(0) : -1;
    });
    return r ? *r : -2;
  }

  std::optional<catalog::UploadRow> Row(const std::string& id) {
    auto r = writer_->Call<std::optional<catalog::UploadRow>>(
        [id](catalog::Db& db) { return catalog::GetUpload(db, id); });
    return r ? *r : std::nullopt;
  }

 private:
  Setup setup_;
  std::string root_;
  bool owns_root_ = false;
  std::unique_ptr<storage::Layout> layout_;
  std::unique_ptr<catalog::Writer> writer_;
  MetricsRegistry metrics_;
  ShiftClock clock_;
  std::thread thread_;
  GMainLoop* loop_ = nullptr;
  GMainContext* ctx_ = nullptr;
  int port_ = 0;
};

// One request with libcurl. `headers` are "Name: value" lines; a
// "Tus-Resumable: 1.0.0" line is added unless `tus` is false.
inline Resp Req(const std::string& method, const std::string& url,
                std::vector<std::string> headers = {},
                const std::string& body = "", bool tus = true) {
  Resp r;
  CURL* c = curl_easy_init();
  curl_slist* list = nullptr;
  if (tus) headers.push_back("Tus-Resumable: 1.0.0");
  for (auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, CollectHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, CollectBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  if (method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (!body.empty() || method == "PATCH" || method == "POST") {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(body.size()));
    }
  }
  if (curl_easy_perform(c) == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(c);
  return r;
}

// A raw HTTP/1.1 connection for partial bodies, stalls and cut connections.
class Raw {
 public:
  explicit Raw(int port) {
    fd_ = vodd::test::ConnectLoopback(port);
    if (fd_ < 0) std::abort();
  }
  ~Raw() { Close(); }
  bool Send(const std::string& s) {
    size_t done = 0;
    while (done < s.size()) {
      ssize_t n = send(fd_, s.data() + done, s.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }
  // Reads until the peer closes or `ms` pass; returns what arrived.
  std::string Read(int ms) {
    std::string out;
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      char buf[4096];
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  // True once the server closed the connection (within `ms`).
  bool ClosedWithin(int ms) {
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      char buf[4096];
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return true;
    }
    return false;
  }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

inline std::string PatchHead(const std::string& path, int64_t offset,
                             int64_t length, const std::string& extra = "") {
  return "PATCH " + path +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n"
         "Content-Type: application/offset+octet-stream\r\nUpload-Offset: " +
         std::to_string(offset) +
         "\r\nContent-Length: " + std::to_string(length) + "\r\n" + extra +
         "\r\n";
}

inline std::string Pattern(size_t n, unsigned seed = 1) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

// Polls `fn` until it is true or `ms` pass.
template <typename F>
bool Eventually(F fn, int ms = 5000) {
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fn()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return fn();
}

}  // namespace vodd::test
