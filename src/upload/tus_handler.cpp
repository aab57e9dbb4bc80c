// The tus handler: a thin protocol layer over the catalog (durable state) and
// FileSink (bytes), with one in-memory entry per upload owned by the HTTP
// thread. Upload state machine (catalog/uploads.h has the row's side):
//
//   POST ─(CreateUpload)─► receiving ─(PATCH: Transfer → FileSink → Commit)─┐
//                            │  ▲________________________________________│
//                            │  └─ offset == length: Commit → CompleteUpload
//                            │                                  (+ video + job)
//                            ─► complete ├─(DELETE:
//                            Terminate)──────────────────────────► terminated
//                            └─(SweepNow: expires_at passed)───────────────►
//                            expired
//   POST final;… ─(CreateFinal: assemble on the I/O thread, one txn)───────►
//   complete
//
// Locking (tusd's one lock per upload, never held while waiting): an entry is
// held by at most one Transfer (a streaming PATCH) or one operation. A
// request that finds it held stops a streaming holder ("newest request
// wins": its socket is shut down, its bytes are synced and committed) and
// waits at most lock_wait, then answers 423.
#include "vodd/upload/tus_handler.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>

#include <fmt/format.h>
#include <glib-unix.h>

#include "file_sink.h"
#include "io_thread.h"
#include "vodd/catalog/tokens.h"
#include "vodd/catalog/uploads.h"
#include "vodd/core/ids.h"
#include "vodd/core/log.h"
#include "vodd/glib/main_context.h"
#include "vodd/upload/token.h"
#include "vodd/upload/tus.h"

namespace vodd::upload {
namespace {

// Monotonic microseconds for the PATCH timeline (debug log).
int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr size_t kFlushBytes = 1 << 20;  // hand to the I/O thread per MiB
constexpr size_t kPageBytes = 4096;
constexpr int64_t kPauseInflight = 8 << 20;  // back-pressure above this
constexpr int64_t kResumeInflight = 2 << 20;
constexpr const char* kRequestKey = "vodd-tus-request";
constexpr std::string_view kExposeHeaders =
    "Upload-Offset, Location, Upload-Length, Tus-Version, Tus-Resumable, "
    "Tus-Max-Size, "
    "Tus-Extension, Upload-Metadata, Upload-Defer-Length, Upload-Concat, "
    "Upload-Expires, "
    "Tus-Checksum-Algorithm";
constexpr std::string_view kAllowHeaders =
    "Authorization, Origin, X-Requested-With, X-Request-ID, "
    "X-HTTP-Method-Override, "
    "Content-Type, Upload-Length, Upload-Offset, Tus-Resumable, "
    "Upload-Metadata, "
    "Upload-Defer-Length, Upload-Concat, Upload-Checksum";

std::optional<std::string> OptHeader(SoupServerMessage* msg, const char* name) {
  if (!http::HasHeader(msg, name)) return std::nullopt;
  return http::GetHeader(msg, name);
}

bool HasScope(const std::string& scopes, std::string_view want) {
  size_t start = 0;
  while (start <= scopes.size()) {
    size_t sp = scopes.find(' ', start);
    std::string_view s(scopes.data() + start,
                       (sp == std::string::npos ? scopes.size() : sp) - start);
    if (s == want || s == "admin") return true;
    if (sp == std::string::npos) break;
    start = sp + 1;
  }
  return false;
}

}  // namespace

struct Transfer;

// Body blocks from libsoup on their way to the I/O thread (refcounted GBytes,
// unreferenced on whichever thread drops the list).
struct BytesList : std::vector<GBytes*> {
  BytesList() = default;
  BytesList(const BytesList&) = delete;
  BytesList& operator=(const BytesList&) = delete;
  ~BytesList() {
    for (GBytes* b : *this) g_bytes_unref(b);
  }
};

// Per-request state, attached to the SoupServerMessage by the early handler.
struct Request {
  std::string method;
  std::optional<std::string> id;
  std::optional<TusError> verdict;  // answer this once the body is read
  std::shared_ptr<Transfer> transfer;
  std::optional<std::string> token_id;
  bool session = false;
  bool created = false;       // POST done: answer 201
  bool noop_patch = false;    // PATCH of 0 bytes on a complete upload
  bool paused_early = false;  // Early paused the message and will resume it
  std::string created_id;
};

struct Entry {
  catalog::UploadRow row;
  std::shared_ptr<Transfer> active;  // holds the lock while streaming/finishing
  bool busy = false;  // held by an operation (delete, expire, …)
  struct Waiter {
    std::function<void(bool)> fn;
    glib::SourcePtr timer;
  };
  std::deque<std::shared_ptr<Waiter>> waiters;
  bool Held() const { return active != nullptr || busy; }
};

// 1 MiB body blocks for requests read straight from the socket, recycled so
// a long upload does not fault in fresh pages for every MiB. A GBytes owns a
// block and returns it here when unreferenced (on the I/O or HTTP thread).
class BlockPool {
 public:
  static BlockPool& Get() {
    static BlockPool* pool = new BlockPool();  // lives as long as the process
    return *pool;
  }
  char* Take() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!free_.empty()) {
        char* b = free_.back();
        free_.pop_back();
        return b;
      }
    }
    // Page-aligned, so FileSink can write whole pages with O_DIRECT.
    return static_cast<char*>(std::aligned_alloc(kPageBytes, kFlushBytes));
  }
  void Give(char* b) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (free_.size() < kKeep) {
        free_.push_back(b);
        return;
      }
    }
    std::free(b);
  }
  static void Release(gpointer block) { Get().Give(static_cast<char*>(block)); }

 private:
  // What one request keeps in flight before pausing, plus the block being
  // filled.
  static constexpr size_t kKeep = (kPauseInflight / kFlushBytes) + 2;
  std::mutex mutex_;  // guards free_
  std::vector<char*> free_;
};

// A PATCH whose body vodd reads itself: libsoup's connection is stolen after
// the headers (soup_server_message_steal_connection), the body is read with
// large non-blocking reads from the stolen stream (its filter buffer, which
// may already hold the first body bytes, is drained by the first read), the
// response is written here, and the connection goes back to libsoup with
// soup_server_accept_iostream for the next request.
struct Direct {
  glib::ObjectPtr<GIOStream> stolen;  // libsoup's stream (filter buffer)
  glib::ObjectPtr<GIOStream> base;    // the connection under it
  GInputStream* in = nullptr;         // stolen's input (pollable)
  GOutputStream* out = nullptr;       // base's output (pollable)
  glib::SourcePtr watch;              // readable/writable source
  int64_t remaining = 0;              // body bytes still to read
  bool keep_alive = true;
  int fd = -1;  // the socket under `base`, for a child-less read watch
  // The block being filled (from BlockPool). Its bytes start at `skew`, the
  // file offset modulo the page size, so memory and file pages line up.
  char* block = nullptr;
  size_t skew = 0;
  size_t fill = 0;
  // Written before the body is read ("100 Continue"), then the response.
  std::string reply;
  size_t reply_sent = 0;
  bool watch_write = false;  // `watch` waits for writable, not readable
  ~Direct() {
    if (block) BlockPool::Get().Give(block);
  }
};

struct Transfer : std::enable_shared_from_this<Transfer> {
  enum class Phase { kStreaming, kFinishing, kDone };
  TusHandler::Impl* impl = nullptr;
  std::string id;
  glib::ObjectPtr<SoupServerMessage> msg;
  Phase phase = Phase::kStreaming;
  int64_t start_offset = 0;
  int64_t limit = 0;  // bytes this request may add
  TusError limit_error = TusError::kRequestTooLarge;
  std::optional<int64_t> new_length;
  std::optional<Checksum> checksum;
  bool creation = false;  // POST with body: answer 201
  std::shared_ptr<BytesList> buf = std::make_shared<BytesList>();
  size_t buffered = 0;  // bytes in buf
  int64_t received = 0;
  int64_t inflight = 0;
  bool paused = false;
  bool body_done = false;
  bool aborted = false;
  bool discard = false;  // stop storing further bytes
  std::optional<TusError> error;
  std::optional<TusError> stop_reason;
  int64_t last_read_ms = 0;
  std::shared_ptr<FileSink> sink;  // touched only on the I/O thread
  gulong chunk_handler = 0, finished_handler = 0;
  std::unique_ptr<http::PausedMessage>
      waiting;  // main handler waits for commit
  // Timeline (µs, debug log): first and last body byte received, all
  // writes done, fdatasync done, catalog commit done.
  int64_t t_first = 0, t_last = 0, t_written = 0, t_synced = 0, t_committed = 0;
  int64_t chunks = 0;              // body blocks delivered
  bool go_direct = false;          // take the connection over after admission
  std::unique_ptr<Direct> direct;  // set while vodd owns the connection
};

struct TusHandler::Impl : std::enable_shared_from_this<TusHandler::Impl> {
  HandlerOptions opts;
  storage::Layout layout;
  catalog::Writer& writer;
  MetricsRegistry* metrics = nullptr;
  GMainContext* ctx = nullptr;
  const Clock& clock;
  IoThread io;
  std::map<std::string, std::unique_ptr<Entry>> uploads;  // HTTP thread
  SessionAuthorizer session_auth;
  glib::SourcePtr idle_timer, sweep_timer, token_timer;
  std::unique_ptr<catalog::Db> token_reader;  // I/O thread only
  SoupServer* soup = nullptr;  // for handing taken-over connections back
  bool stopped = false;

  struct TokenInfo {
    std::string hash, scopes;
    std::optional<int64_t> expires_at;
    bool revoked = false;
  };
  // What a completed upload's video and job get; read on the I/O thread,
  // changed live on the HTTP thread.
  struct VideoDefaults {
    std::string policy;
    int max_attempts = 3;
  };
  mutable std::mutex defaults_mutex;  // guards video_defaults
  VideoDefaults video_defaults;
  VideoDefaults Defaults() const {
    std::lock_guard<std::mutex> lock(defaults_mutex);
    return video_defaults;
  }

  std::mutex tokens_mutex;  // guards tokens (swapped from the I/O thread)
  std::map<std::string, TokenInfo> tokens;
  std::map<std::string, int64_t> token_touched;  // HTTP thread

  Counter *created_total{}, *completed_total{}, *terminated_total{},
      *expired_total{}, *bytes_total{};
  Gauge* in_progress{};

  Impl(const HandlerOptions& o, const storage::Layout& l, catalog::Writer& w,
       MetricsRegistry* m, GMainContext* c, const Clock& clk)
      : opts(o), layout(l), writer(w), metrics(m), ctx(c), clock(clk) {
    video_defaults = {o.default_policy, o.max_attempts};
    if (!metrics) return;
    created_total = metrics->GetCounter("vodd_uploads_created_total",
                                        "tus uploads created.");
    completed_total = metrics->GetCounter("vodd_uploads_completed_total",
                                          "tus uploads completed.");
    terminated_total = metrics->GetCounter("vodd_uploads_terminated_total",
                                           "tus uploads terminated.");
    expired_total =
        metrics->GetCounter("vodd_uploads_expired_total",
                            "Unfinished tus uploads removed after expiry.");
    bytes_total = metrics->GetCounter("vodd_upload_bytes_received_total",
                                      "Upload body bytes received.");
    in_progress =
        metrics->GetGauge("vodd_uploads_in_progress",
                          "Upload requests currently streaming a body.");
  }

  int64_t MaxSize() const { return opts.upload.max_size_mib * 1024 * 1024; }
  int64_t NowMs() const { return clock.NowUnixMs(); }

  // Runs `fn` on the HTTP thread if the handler still exists.
  template <typename F>
  void OnHttp(F fn) {
    std::weak_ptr<Impl> weak = weak_from_this();
    glib::Post(ctx, [weak, fn = std::move(fn)]() mutable {
      if (auto self = weak.lock(); self && !self->stopped) fn(*self);
    });
  }

  Entry* Find(const std::string& id) {
    auto it = uploads.find(id);
    return it == uploads.end() ? nullptr : it->second.get();
  }

  std::string UploadUrl(const std::string& id) const {
    return opts.public_url + opts.base_path + id;
  }

  // ---- responses --------------------------------------------------------

  void CommonHeaders(SoupServerMessage* msg) {
    http::SetHeader(msg, "Tus-Resumable", kTusVersion);
    std::string origin = http::GetHeader(msg, "Origin");
    if (origin.empty()) return;
    const auto& allowed = opts.upload.cors_origins;
    bool any = std::find(allowed.begin(), allowed.end(), "*") != allowed.end();
    if (!any &&
        std::find(allowed.begin(), allowed.end(), origin) == allowed.end())
      return;
    http::SetHeader(msg, "Access-Control-Allow-Origin", origin);
    http::SetHeader(msg, "Vary", "Origin");
    http::SetHeader(msg, "Access-Control-Expose-Headers", kExposeHeaders);
  }

  void RespondError(SoupServerMessage* msg, TusError e) {
    const auto& info = Info(e);
    CommonHeaders(msg);
    if (e == TusError::kUnsupportedVersion)
      http::SetHeader(msg, "Tus-Version", kTusVersion);
    if (e == TusError::kLocked) http::SetHeader(msg, "Retry-After", "1");
    if (e == TusError::kUnauthorized)
      http::SetHeader(msg, "WWW-Authenticate", "Bearer");
    if (e == TusError::kNoSpace) http::SetHeader(msg, "Retry-After", "60");
    http::SetHeader(msg, "Cache-Control", "no-store");
    http::Respond(msg, info.status, "text/plain; charset=utf-8",
                  fmt::format("{}: {}\n", info.code, info.message));
    if (metrics) {
      metrics
          ->GetCounter("vodd_upload_errors_total",
                       "tus requests answered with an error.",
                       {{"code", std::string(info.code)}})
          ->Inc();
    }
  }

  void RespondEmpty(SoupServerMessage* msg, int status) {
    CommonHeaders(msg);
    http::Respond(msg, status, "", "");
    // libsoup 3.2 strips Content-Length from a 204 while writing it, then
    // reads the headers as close-delimited and drops keep-alive; tus-js-client
    // then races the close ("socket hang up"). Restore "no body" after the
    // headers are out, before libsoup decides on keep-alive.
    if (status == 204) {
      g_signal_connect(msg, "wrote-headers", G_CALLBACK(&Impl::KeepAlive204),
                       nullptr);
    }
  }

  static void KeepAlive204(SoupServerMessage* msg, gpointer) noexcept {
    soup_message_headers_set_encoding(
        soup_server_message_get_response_headers(msg), SOUP_ENCODING_NONE);
  }

  void SetExpires(SoupServerMessage* msg, const catalog::UploadRow& row) {
    if (row.state == "receiving" && row.expires_at) {
      http::SetHeader(msg, "Upload-Expires", HttpDate(*row.expires_at / 1000));
    }
  }

  void RespondHead(SoupServerMessage* msg, const Entry& e) {
    const auto& r = e.row;
    if (r.state == "terminated" || r.state == "expired") {
      RespondError(msg, TusError::kGone);
      return;
    }
    http::SetHeader(msg, "Cache-Control", "no-store");
    http::SetHeader(msg, "Upload-Offset", std::to_string(r.offset));
    if (r.length)
      http::SetHeader(msg, "Upload-Length", std::to_string(*r.length));
    else
      http::SetHeader(msg, "Upload-Defer-Length", "1");
    if (!r.metadata.empty())
      http::SetHeader(msg, "Upload-Metadata", r.metadata);
    if (r.concat == "partial") http::SetHeader(msg, "Upload-Concat", "partial");
    if (r.concat == "final" && r.concat_parts) {
      std::string v = "final;";
      size_t start = 0;
      const std::string& parts = *r.concat_parts;
      while (start < parts.size()) {
        size_t sp = parts.find(' ', start);
        if (start > 0) v += ' ';
        v += opts.base_path +
             parts.substr(start, sp == std::string::npos ? sp : sp - start);
        if (sp == std::string::npos) break;
        start = sp + 1;
      }
      http::SetHeader(msg, "Upload-Concat", v);
    }
    SetExpires(msg, r);
    RespondEmpty(msg, 200);
  }

  // ---- auth ---------------------------------------------------------------

  std::optional<TusError> Authorize(SoupServerMessage* msg, Request& req) {
    if (session_auth) {
      if (auto who = session_auth(msg)) {
        req.session = true;
        return std::nullopt;
      }
    }
    if (!opts.upload.require_token) return std::nullopt;
    auto text = BearerToken(http::GetHeader(msg, "Authorization"));
    if (!text) return TusError::kUnauthorized;
    auto parsed = ParseToken(*text);
    if (!parsed) return TusError::kUnauthorized;
    TokenInfo info;
    {
      std::lock_guard<std::mutex> lock(tokens_mutex);
      auto it = tokens.find(parsed->id);
      if (it == tokens.end()) return TusError::kUnauthorized;
      info = it->second;
    }
    if (!HashesEqual(HashSecret(parsed->secret), info.hash))
      return TusError::kUnauthorized;
    int64_t now = NowMs();
    if (info.revoked || (info.expires_at && *info.expires_at <= now)) {
      return TusError::kUnauthorized;
    }
    if (!HasScope(info.scopes, "upload")) return TusError::kForbidden;
    req.token_id = parsed->id;
    auto& touched = token_touched[parsed->id];
    if (now - touched > 60'000) {
      touched = now;
      std::string id = parsed->id;
      writer.Post<bool>([id, now](catalog::Db& db) -> Result<bool> {
        TRY(catalog::TouchToken(db, id, now));
        return true;
      });
    }
    return std::nullopt;
  }

  // Uploads created with a token belong to it; sessions see every upload.
  bool Owns(const Request& req, const Entry& e) const {
    if (!opts.upload.require_token || req.session) return true;
    return !e.row.token_id || e.row.token_id == req.token_id;
  }

  Status LoadTokens(catalog::Db& db) {
    TRY_ASSIGN(auto list, catalog::ListTokens(db));
    std::map<std::string, TokenInfo> fresh;
    for (auto& t : list) {
      fresh[t.id] = TokenInfo{t.secret_sha256, t.scopes, t.expires_at,
                              t.revoked_at.has_value()};
    }
    std::lock_guard<std::mutex> lock(tokens_mutex);
    tokens.swap(fresh);
    return Ok();
  }

  // Reloads the token cache on the I/O thread; `done` then runs on the HTTP
  // thread.
  void RefreshTokens(std::function<void()> done = {}) {
    std::weak_ptr<Impl> weak = weak_from_this();
    io.Post([weak, done] {
      auto self = weak.lock();
      if (!self) return;
      if (!self->token_reader) {
        if (auto r = catalog::OpenReader(self->writer.path())) {
          self->token_reader = std::move(*r);
        }
      }
      if (self->token_reader) {
        if (auto st = self->LoadTokens(*self->token_reader); !st) {
          LOG_WARN("upload", "token refresh: {}", st.error().message);
        }
      }
      if (done) self->OnHttp([done](Impl&) { done(); });
    });
  }

  // A well-formed token whose id the cache does not know yet (created a
  // moment ago by `vodd token create`): look it up before answering.
  bool UnknownToken(SoupServerMessage* msg) {
    if (!opts.upload.require_token) return false;
    auto text = BearerToken(http::GetHeader(msg, "Authorization"));
    if (!text) return false;
    auto parsed = ParseToken(*text);
    if (!parsed) return false;
    std::lock_guard<std::mutex> lock(tokens_mutex);
    return tokens.count(parsed->id) == 0;
  }

  // ---- locking ------------------------------------------------------------

  void WhenFree(const std::string& id, std::function<void(bool)> fn) {
    Entry* e = Find(id);
    if (!e || !e->Held()) {
      fn(true);
      return;
    }
    auto w = std::make_shared<Entry::Waiter>();
    w->fn = std::move(fn);
    std::weak_ptr<Entry::Waiter> weak_w = w;
    std::weak_ptr<Impl> weak = weak_from_this();
    w->timer = glib::AddTimer(ctx, opts.lock_wait, [weak, weak_w, id] {
      auto self = weak.lock();
      auto waiter = weak_w.lock();
      if (!self || !waiter) return false;
      if (Entry* en = self->Find(id)) {
        auto& q = en->waiters;
        q.erase(std::remove(q.begin(), q.end(), waiter), q.end());
      }
      auto f = std::move(waiter->fn);
      waiter->timer.release();  // the source is destroyed by returning false
      if (f) f(false);
      return false;
    });
    e->waiters.push_back(std::move(w));
    PreemptIfStreaming(*e);
  }

  void PreemptIfStreaming(Entry& e) {
    if (e.active && e.active->phase == Transfer::Phase::kStreaming) {
      StopTransfer(*e.active, TusError::kLocked);
    }
  }

  void Release(const std::string& id) {
    Entry* e = Find(id);
    if (!e) return;
    while (!e->Held() && !e->waiters.empty()) {
      auto w = std::move(e->waiters.front());
      e->waiters.pop_front();
      w->timer.reset();
      auto f = std::move(w->fn);
      if (f) f(true);
    }
    if (!e->waiters.empty()) PreemptIfStreaming(*e);
  }

  // ---- transfers ----------------------------------------------------------

  static void OnGotChunk(SoupServerMessage*, GBytes* chunk,
                         gpointer data) noexcept {
    auto* t = static_cast<Transfer*>(data);
    t->impl->Chunk(*t, chunk);
  }

  static void OnFinished(SoupServerMessage* msg, gpointer data) noexcept {
    auto* t = static_cast<Transfer*>(data);
    auto keep = t->shared_from_this();
    if (t->chunk_handler) g_signal_handler_disconnect(msg, t->chunk_handler);
    if (t->finished_handler)
      g_signal_handler_disconnect(msg, t->finished_handler);
    t->chunk_handler = t->finished_handler = 0;
    if (t->phase == Transfer::Phase::kStreaming) {
      t->aborted = true;
      t->impl->Finish(*t);
    }
    t->msg.reset();
  }

  void Chunk(Transfer& t, GBytes* chunk) {
    if (t.phase != Transfer::Phase::kStreaming) return;
    t.last_read_ms = clock.NowMonotonicMs();
    t.t_last = NowUs();
    if (t.chunks++ == 0) t.t_first = t.t_last;
    gsize size = g_bytes_get_size(chunk);
    if (bytes_total) bytes_total->Inc(static_cast<double>(size));
    if (t.discard) return;
    int64_t room = t.limit - t.received;
    size_t take = size;
    if (static_cast<int64_t>(size) > room) {
      take = static_cast<size_t>(std::max<int64_t>(room, 0));
      if (!t.error) t.error = t.limit_error;
      t.discard = true;
    }
    // Keep libsoup's block (a reference, no copy); the I/O thread writes
    // the collected blocks with one pwritev.
    if (take == size) {
      t.buf->push_back(g_bytes_ref(chunk));
    } else if (take > 0) {
      t.buf->push_back(g_bytes_new_from_bytes(chunk, 0, take));
    }
    t.buffered += take;
    t.received += static_cast<int64_t>(take);
    if (t.buffered >= kFlushBytes) Flush(t);
    if (t.inflight >= kPauseInflight && !t.paused && t.msg) {
      t.paused = true;
      soup_server_message_pause(t.msg.get());
    }
  }

  void Flush(Transfer& t) {
    if (t.buffered == 0) return;
    std::shared_ptr<BytesList> data = std::move(t.buf);
    t.buf = std::make_shared<BytesList>();
    int64_t n = static_cast<int64_t>(t.buffered);
    t.buffered = 0;
    t.inflight += n;
    auto self = t.shared_from_this();
    auto sink = t.sink;
    std::weak_ptr<Impl> weak = weak_from_this();
    io.Post([this, weak, self, sink, data, n] {
      std::vector<std::string_view> pieces;
      pieces.reserve(data->size());
      for (GBytes* b : *data) {
        gsize len = 0;
        const char* p = static_cast<const char*>(g_bytes_get_data(b, &len));
        pieces.emplace_back(p, len);
      }
      Status st = sink->Write(pieces);
      if (!weak.lock()) return;
      OnHttp([self, n, st](Impl& impl) { impl.Written(*self, n, st); });
    });
  }

  void Written(Transfer& t, int64_t n, const Status& st) {
    t.inflight -= n;
    if (!st) {
      if (!t.error) t.error = FromError(st.error());
      if (IsServerFault(*t.error)) {
        LOG_ERROR("upload", "{}: write failed: {}", t.id, st.error().message);
      }
      t.discard = true;
    }
    if (t.paused && t.inflight <= kResumeInflight) {
      if (t.direct) {
        t.paused = false;
        ReadDirect(t);
      } else if (t.msg) {
        t.paused = false;
        soup_server_message_unpause(t.msg.get());
      }
    }
  }

  // Cuts a streaming request: its connection is closed (a taken-over one
  // here; libsoup's by shutting its socket down, so libsoup ends the message
  // and OnFinished runs); what arrived is persisted.
  void StopTransfer(Transfer& t, TusError reason) {
    if (t.phase != Transfer::Phase::kStreaming || t.stop_reason) return;
    t.stop_reason = reason;
    t.discard = true;
    LOG_INFO("upload", "{}: stopping the streaming request ({})", t.id,
             Info(reason).code);
    if (t.direct) {
      AbortDirect(t);
      return;
    }
    if (t.go_direct) return;  // TakeOver sees stop_reason
    if (!t.msg) return;
    if (GSocket* sock = soup_server_message_get_socket(t.msg.get())) {
      g_socket_shutdown(sock, TRUE, TRUE, nullptr);
      if (t.paused) {
        t.paused = false;
        soup_server_message_unpause(t.msg.get());
      }
      return;
    }
    // A connection handed to libsoup with soup_server_accept_iostream has
    // no GSocket to shut down: take it from libsoup and close it.
    auto keep = t.shared_from_this();
    SoupServerMessage* msg = t.msg.get();
    DisconnectSignals(t);
    if (GIOStream* s = soup_server_message_steal_connection(msg)) {
      g_io_stream_close(s, nullptr, nullptr);
      g_object_unref(s);
    }
    t.aborted = true;
    Finish(t);
    t.msg.reset();
  }

  static void DisconnectSignals(Transfer& t) {
    if (!t.msg) return;
    if (t.chunk_handler)
      g_signal_handler_disconnect(t.msg.get(), t.chunk_handler);
    if (t.finished_handler)
      g_signal_handler_disconnect(t.msg.get(), t.finished_handler);
    t.chunk_handler = t.finished_handler = 0;
  }

  // ---- taken-over connections (see Direct) -------------------------------

  // Bodies with a Content-Length on HTTP/1.1 are read by vodd itself.
  static bool CanGoDirect(SoupServerMessage* msg) {
    if (soup_server_message_get_http_version(msg) != SOUP_HTTP_1_1)
      return false;
    SoupMessageHeaders* h = soup_server_message_get_request_headers(msg);
    return soup_message_headers_get_encoding(h) ==
               SOUP_ENCODING_CONTENT_LENGTH &&
           soup_message_headers_get_content_length(h) > 0;
  }

  // Runs from the main loop after admission (never inside libsoup's I/O,
  // whose got-headers may be on the stack when the PATCH is admitted).
  void TakeOver(const std::shared_ptr<http::PausedMessage>& holder,
                const std::shared_ptr<Transfer>& t) {
    SoupServerMessage* msg = holder->get();
    SoupMessageHeaders* h = soup_server_message_get_request_headers(msg);
    bool expect_continue = (soup_message_headers_get_expectations(h) &
                            SOUP_EXPECTATION_CONTINUE) != 0;
    bool close = soup_message_headers_header_contains(h, "Connection", "close");
    int64_t length = soup_message_headers_get_content_length(h);
    DisconnectSignals(*t);
    t->go_direct = false;
    auto d = std::make_unique<Direct>();
    d->stolen = glib::Adopt(soup_server_message_steal_connection(msg));
    if (d->stolen) {
      GIOStream* base = nullptr;
      if (g_object_class_find_property(G_OBJECT_GET_CLASS(d->stolen.get()),
                                       "base-iostream")) {
        g_object_get(d->stolen.get(), "base-iostream", &base, nullptr);
      }
      d->base = base ? glib::Adopt(base) : glib::Ref(d->stolen.get());
      d->in = g_io_stream_get_input_stream(d->stolen.get());
      d->out = g_io_stream_get_output_stream(d->base.get());
      if (G_IS_SOCKET_CONNECTION(d->base.get()))
        d->fd = g_socket_get_fd(
            g_socket_connection_get_socket(G_SOCKET_CONNECTION(d->base.get())));
    }
    d->remaining = length;
    d->keep_alive = !close;
    bool usable =
        d->stolen && G_IS_POLLABLE_INPUT_STREAM(d->in) &&
        g_pollable_input_stream_can_poll(G_POLLABLE_INPUT_STREAM(d->in)) &&
        G_IS_POLLABLE_OUTPUT_STREAM(d->out);
    t->direct = std::move(d);
    if (!usable) {
      LOG_WARN("upload", "{}: connection cannot be polled; closing it", t->id);
      AbortDirect(*t);
      return;
    }
    if (t->stop_reason) {
      AbortDirect(*t);
      return;
    }
    // Sent by ReadDirect without blocking, before it reads the body.
    if (expect_continue) t->direct->reply = "HTTP/1.1 100 Continue\r\n\r\n";
    ReadDirect(*t);
  }

  static gboolean OnDirectReady(GObject*, gpointer data) noexcept {
    auto* t = static_cast<Transfer*>(data);
    auto keep = t->shared_from_this();
    if (t->direct && t->phase == Transfer::Phase::kStreaming)
      t->impl->ReadDirect(*t);
    else if (t->direct)
      t->impl->WriteDirect(*t);
    return G_SOURCE_CONTINUE;
  }

  static gboolean OnDirectFd(gint, GIOCondition, gpointer data) noexcept {
    return OnDirectReady(nullptr, data);
  }

  // Watches the taken-over connection for readable (or writable) with a
  // source that never blocks around its dispatch (the callback never
  // iterates the context). A blocked source removes and re-adds its poll fd
  // and signals the context's wakeup fd. Readable is watched on the socket
  // fd itself: the pollable stream's source has a socket child source that
  // GLib still blocks and unblocks (four eventfd writes, an extra read and
  // an extra poll per 64 KiB read), and without it vodd spent 42–46 instead
  // of 49–52 CPU ticks on a 512 MiB upload (three interleaved rounds). The
  // fd is only watched after a read heard EAGAIN, so libsoup's buffer in
  // front of it is empty by then.
  void Watch(Transfer& t, bool write) {
    Direct& d = *t.direct;
    GSource* src = nullptr;
    if (write) {
      src = g_pollable_output_stream_create_source(
          G_POLLABLE_OUTPUT_STREAM(d.out), nullptr);
      g_source_set_callback(src, G_SOURCE_FUNC(&Impl::OnDirectReady), &t,
                            nullptr);
    } else if (d.fd >= 0) {
      src = g_unix_fd_source_new(
          d.fd, static_cast<GIOCondition>(G_IO_IN | G_IO_HUP | G_IO_ERR));
      g_source_set_callback(src, G_SOURCE_FUNC(&Impl::OnDirectFd), &t, nullptr);
    } else {
      src = g_pollable_input_stream_create_source(G_POLLABLE_INPUT_STREAM(d.in),
                                                  nullptr);
      g_source_set_callback(src, G_SOURCE_FUNC(&Impl::OnDirectReady), &t,
                            nullptr);
    }
    g_source_set_can_recurse(src, TRUE);
    g_source_attach(src, ctx);
    d.watch.reset(src);
    d.watch_write = write;
  }

  // Writes what is left of d.reply without blocking; on kWait a writable
  // watch is set.
  enum class Sent { kAll, kWait, kFailed };
  Sent SendPending(Transfer& t) {
    Direct& d = *t.direct;
    while (d.reply_sent < d.reply.size()) {
      GError* err = nullptr;
      gssize n = g_pollable_output_stream_write_nonblocking(
          G_POLLABLE_OUTPUT_STREAM(d.out), d.reply.data() + d.reply_sent,
          d.reply.size() - d.reply_sent, nullptr, &err);
      if (n < 0) {
        bool wait = g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
        g_error_free(err);
        if (!wait) return Sent::kFailed;
        if (!d.watch || !d.watch_write) Watch(t, true);
        return Sent::kWait;
      }
      d.reply_sent += static_cast<size_t>(n);
    }
    if (d.watch && d.watch_write) d.watch.reset();
    return Sent::kAll;
  }

  // Reads what the socket has, in blocks of kFlushBytes, until it would
  // block, the body is complete, or back-pressure pauses the request.
  void ReadDirect(Transfer& t) {
    auto keep = t.shared_from_this();
    if (t.direct) {
      Sent sent = SendPending(t);
      if (sent == Sent::kFailed) AbortDirect(t);
      if (sent != Sent::kAll) return;
    }
    while (t.direct && t.phase == Transfer::Phase::kStreaming && !t.paused &&
           t.direct->remaining > 0) {
      Direct& d = *t.direct;
      if (!d.block) {
        d.block = BlockPool::Get().Take();
        d.skew = static_cast<size_t>(t.start_offset + t.received) % kPageBytes;
        d.fill = 0;
      }
      size_t want = static_cast<size_t>(std::min<int64_t>(
          static_cast<int64_t>(kFlushBytes - d.skew - d.fill), d.remaining));
      GError* err = nullptr;
      gssize n = g_pollable_input_stream_read_nonblocking(
          G_POLLABLE_INPUT_STREAM(d.in), d.block + d.skew + d.fill, want,
          nullptr, &err);
      if (n < 0) {
        bool wait = g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
        g_error_free(err);
        if (!wait) {
          AbortDirect(t);
          return;
        }
        if (!d.watch) Watch(t, false);
        return;
      }
      if (n == 0) {  // the client went away
        AbortDirect(t);
        return;
      }
      t.last_read_ms = clock.NowMonotonicMs();
      t.t_last = NowUs();
      if (t.chunks++ == 0) t.t_first = t.t_last;
      if (bytes_total) bytes_total->Inc(static_cast<double>(n));
      d.remaining -= n;
      if (t.discard) continue;  // drain the body, keep nothing
      d.fill += static_cast<size_t>(n);
      if (d.skew + d.fill == kFlushBytes || d.remaining == 0) TakeBlock(t);
    }
    if (!t.direct || t.phase != Transfer::Phase::kStreaming) return;
    if (t.paused) {
      t.direct->watch.reset();
      return;
    }
    if (t.direct->remaining == 0) BodyDone(t);
  }

  // Hands the block being filled to the I/O thread (no copy).
  void TakeBlock(Transfer& t) {
    Direct& d = *t.direct;
    if (!d.block || d.fill == 0) return;
    t.buf->push_back(g_bytes_new_with_free_func(d.block + d.skew, d.fill,
                                                &BlockPool::Release, d.block));
    t.buffered += d.fill;
    t.received += static_cast<int64_t>(d.fill);
    d.block = nullptr;
    d.fill = 0;
    Flush(t);
    if (t.inflight >= kPauseInflight) t.paused = true;
  }

  void BodyDone(Transfer& t) {
    Direct& d = *t.direct;
    d.watch.reset();
    // Bytes after the body (a pipelined request) cannot be given back to
    // libsoup: answer, then close.
    char extra = 0;
    GError* err = nullptr;
    gssize n = g_pollable_input_stream_read_nonblocking(
        G_POLLABLE_INPUT_STREAM(d.in), &extra, 1, nullptr, &err);
    if (n < 0 && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
      // nothing more: keep-alive as the client asked
    } else {
      d.keep_alive = false;
    }
    if (err) g_error_free(err);
    t.body_done = true;
    Finish(t);
  }

  // The client went away or the request was cut: keep what arrived, close.
  void AbortDirect(Transfer& t) {
    if (!t.direct) return;
    auto keep = t.shared_from_this();
    if (t.phase == Transfer::Phase::kStreaming) TakeBlock(t);
    CloseDirect(t);
    if (t.phase == Transfer::Phase::kStreaming) {
      t.aborted = true;
      Finish(t);
    }
  }

  void CloseDirect(Transfer& t) {
    if (!t.direct) return;
    t.direct->watch.reset();
    g_io_stream_close(t.direct->base.get(), nullptr, nullptr);
    t.direct.reset();
    t.msg.reset();
  }

  // The response set on the message by Done(), as HTTP/1.1 bytes.
  static std::string SerializeResponse(SoupServerMessage* msg,
                                       bool keep_alive) {
    guint status = soup_server_message_get_status(msg);
    const char* reason = soup_server_message_get_reason_phrase(msg);
    if (!reason) reason = soup_status_get_phrase(status);
    SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
    bool no_body = status == 204 || status == 304 || status < 200;
    glib::BytesPtr body(
        soup_message_body_flatten(soup_server_message_get_response_body(msg)));
    gsize body_len = 0;
    const char* body_data =
        body ? static_cast<const char*>(g_bytes_get_data(body.get(), &body_len))
             : nullptr;
    soup_message_headers_remove(h, "Content-Length");
    soup_message_headers_remove(h, "Transfer-Encoding");
    if (!no_body)
      soup_message_headers_replace(h, "Content-Length",
                                   std::to_string(body_len).c_str());
    if (!keep_alive) soup_message_headers_replace(h, "Connection", "close");
    std::string out = fmt::format("HTTP/1.1 {} {}\r\n", status, reason);
    SoupMessageHeadersIter it;
    soup_message_headers_iter_init(&it, h);
    const char* name = nullptr;
    const char* value = nullptr;
    while (soup_message_headers_iter_next(&it, &name, &value)) {
      out += name;
      out += ": ";
      out += value;
      out += "\r\n";
    }
    out += "\r\n";
    if (!no_body && body_len > 0) out.append(body_data, body_len);
    return out;
  }

  void WriteDirect(Transfer& t) {
    Sent sent = SendPending(t);
    if (sent == Sent::kAll) {
      t.direct->watch.reset();
      HandBack(t);
    } else if (sent == Sent::kFailed) {
      CloseDirect(t);
    }
  }

  // The response is out: the connection returns to libsoup for the next
  // request (or is closed).
  void HandBack(Transfer& t) {
    std::unique_ptr<Direct> d = std::move(t.direct);
    glib::ObjectPtr<SoupServerMessage> msg = std::move(t.msg);
    // libsoup's own requests end with this signal (request metrics).
    if (soup) g_signal_emit_by_name(soup, "request-finished", msg.get());
    if (!d->keep_alive || !soup || stopped) {
      g_io_stream_close(d->base.get(), nullptr, nullptr);
      return;
    }
    GSocketAddress* local = nullptr;
    GSocketAddress* remote = nullptr;
    if (G_IS_SOCKET_CONNECTION(d->base.get())) {
      auto* c = G_SOCKET_CONNECTION(d->base.get());
      local = g_socket_connection_get_local_address(c, nullptr);
      remote = g_socket_connection_get_remote_address(c, nullptr);
    }
    GError* err = nullptr;
    if (!soup_server_accept_iostream(soup, d->base.get(), local, remote,
                                     &err)) {
      LOG_WARN("upload", "{}: handing the connection back: {}", t.id,
               glib::ErrorMessage(err));
      g_clear_error(&err);
      g_io_stream_close(d->base.get(), nullptr, nullptr);
    }
    if (local) g_object_unref(local);
    if (remote) g_object_unref(remote);
  }

  void Finish(Transfer& t) {
    if (t.phase != Transfer::Phase::kStreaming) return;
    t.phase = Transfer::Phase::kFinishing;
    Flush(t);
    bool discard =
        t.aborted || t.stop_reason.has_value() || (t.error && t.checksum);
    auto self = t.shared_from_this();
    auto sink = t.sink;
    std::weak_ptr<Impl> weak = weak_from_this();
    io.Post([this, weak, self, sink, discard] {
      int64_t written = NowUs();
      FileSink::Outcome out = sink->Finish(discard);
      int64_t synced = NowUs();
      if (!weak.lock()) return;
      OnHttp([self, out, written, synced](Impl& impl) {
        self->t_written = written;
        self->t_synced = synced;
        impl.FileDone(*self, out);
      });
    });
  }

  void FileDone(Transfer& t, const FileSink::Outcome& out) {
    Entry* e = Find(t.id);
    if (!e) return;
    if (out.error && !t.error) {
      t.error = FromError(*out.error);
      if (IsServerFault(*t.error)) {
        LOG_ERROR("upload", "{}: {}", t.id, out.error->message);
      }
    }
    int64_t durable = out.durable_offset;
    std::optional<int64_t> length =
        e->row.length ? e->row.length : t.new_length;
    bool advance = durable > e->row.offset || (t.new_length && !e->row.length);
    if (!advance) {
      Done(t, *e, out.checksum_mismatch);
      return;
    }
    bool complete = length && durable == *length;
    Commit(t.id, durable, t.new_length, complete,
           [this, self = t.shared_from_this(),
            mismatch = out.checksum_mismatch](Status st) {
             self->t_committed = NowUs();
             Entry* en = Find(self->id);
             if (!en) return;
             if (!st) {
               LOG_ERROR("upload", "{}: commit failed: {}", self->id,
                         st.error().message);
               if (!self->error) self->error = FromError(st.error());
             }
             Done(*self, *en, mismatch);
           });
  }

  // Commits a durable offset (and completion) and updates the entry.
  void Commit(const std::string& id, int64_t offset,
              std::optional<int64_t> new_length, bool complete,
              std::function<void(Status)> done) {
    Entry* e = Find(id);
    int64_t now = NowMs();
    int64_t expires = now + int64_t{opts.upload.expiry_hours} * 3600 * 1000;
    std::optional<catalog::NewVideo> video;
    if (complete && e->row.concat != "partial")
      video = MakeVideo(e->row, offset);
    int max_attempts = Defaults().max_attempts;
    writer.Post<catalog::UploadRow>(
        [id, offset, new_length, complete, now, expires, video,
         max_attempts](catalog::Db& db) -> Result<catalog::UploadRow> {
          TRY(catalog::SetUploadOffset(db, id, offset, new_length, now,
                                       expires));
          if (complete) {
            TRY(catalog::CompleteUpload(db, id, offset, video, now,
                                        max_attempts));
          }
          TRY_ASSIGN(auto row, catalog::GetUpload(db, id));
          if (!row) return MakeError(ErrorCode::kNotFound, "upload vanished");
          return *row;
        },
        [weak = weak_from_this(), id, complete,
         done](Result<catalog::UploadRow> r) {
          auto self = weak.lock();
          if (!self) return;
          self->OnHttp([id, complete, done, r = std::move(r)](Impl& impl) {
            Entry* en = impl.Find(id);
            if (r && en) {
              en->row = *r;
              if (complete && r->state == "complete") {
                if (impl.completed_total) impl.completed_total->Inc();
                LOG_INFO(
                    "upload", "{}: complete ({} bytes){}", id, r->offset,
                    r->video_id ? ", video " + *r->video_id : std::string());
              }
            }
            done(r ? Ok() : Status(tl::unexpected(r.error())));
          });
        });
  }

  catalog::NewVideo MakeVideo(const catalog::UploadRow& row, int64_t size) {
    Metadata md;
    ParseMetadata(row.metadata, SIZE_MAX, &md);
    catalog::NewVideo v;
    v.id = RandomHex(16);
    v.filename = MetadataValue(md, "filename");
    v.title = MetadataValue(md, "title");
    if (v.title.empty()) v.title = v.filename;
    v.description = MetadataValue(md, "description");
    v.source_path = "uploads/" + row.id;
    v.source_size = size;
    v.playback_policy = Defaults().policy;
    return v;
  }

  void Done(Transfer& t, Entry& e, bool mismatch) {
    t.phase = Transfer::Phase::kDone;
    if (t.t_first && t.t_synced) {
      int64_t now = NowUs();
      int64_t committed = t.t_committed ? t.t_committed : t.t_synced;
      LOG_DEBUG("upload",
                "{}: PATCH {} bytes in {} blocks: receive {} us, last byte "
                "to written {} us, fdatasync {} us, commit {} us, to 204 {} "
                "us",
                t.id, t.received, t.chunks, t.t_last - t.t_first,
                t.t_written - t.t_last, t.t_synced - t.t_written,
                committed - t.t_synced, now - committed);
    }
    if (in_progress) in_progress->Add(-1);
    if (e.active.get() == &t) e.active.reset();
    SoupServerMessage* reply_to = nullptr;
    if (t.waiting)
      reply_to = t.waiting->get();
    else if (t.direct && t.body_done && t.msg)
      reply_to = t.msg.get();
    if (reply_to) {
      SoupServerMessage* msg = reply_to;
      if (mismatch) {
        RespondError(msg, TusError::kChecksumMismatch);
      } else if (t.error) {
        RespondError(msg, *t.error);
      } else {
        http::SetHeader(msg, "Upload-Offset", std::to_string(e.row.offset));
        SetExpires(msg, e.row);
        if (t.creation) {
          http::SetHeader(msg, "Location", UploadUrl(t.id));
          RespondEmpty(msg, 201);
        } else {
          RespondEmpty(msg, 204);
        }
      }
      if (t.waiting) {
        t.waiting->Resume();
        t.waiting.reset();
      } else {
        t.direct->reply = SerializeResponse(msg, t.direct->keep_alive);
        t.direct->reply_sent = 0;
        WriteDirect(t);
      }
    }
    Release(t.id);
  }

  // Makes `t` the holder of `e` and starts streaming into it.
  void Begin(SoupServerMessage* msg, Entry& e,
             const std::shared_ptr<Transfer>& t) {
    t->impl = this;
    t->id = e.row.id;
    t->msg = glib::Ref(msg);
    t->start_offset = e.row.offset;
    t->last_read_ms = clock.NowMonotonicMs();
    FileSink::Options so;
    so.path = layout.UploadPath(e.row.id);
    so.free_space_path = layout.UploadsDir();
    so.start_offset = e.row.offset;
    so.min_free_bytes = opts.min_free_bytes;
    so.checkpoint_bytes = opts.upload.checkpoint_mib * 1024 * 1024;
    so.checksum = t->checksum;
    std::string id = e.row.id;
    auto new_length = t->new_length;
    catalog::Writer* w = &writer;
    const Clock* clk = &clock;
    so.on_checkpoint = [w, clk, id, new_length](int64_t offset) {
      w->Post<bool>([id, offset, new_length,
                     now = clk->NowUnixMs()](catalog::Db& db) -> Result<bool> {
        TRY(catalog::SetUploadOffset(db, id, offset, new_length, now,
                                     std::nullopt));
        return true;
      });
    };
    t->sink = std::make_shared<FileSink>(std::move(so));
    e.active = t;
    if (in_progress) in_progress->Add(1);
    t->chunk_handler = g_signal_connect(msg, "got-chunk",
                                        G_CALLBACK(&Impl::OnGotChunk), t.get());
    t->finished_handler = g_signal_connect(
        msg, "finished", G_CALLBACK(&Impl::OnFinished), t.get());
  }

  void CheckIdle() {
    int64_t now = clock.NowMonotonicMs();
    int64_t limit = int64_t{opts.upload.idle_timeout_s} * 1000;
    for (auto& [id, e] : uploads) {
      auto& t = e->active;
      if (t && t->phase == Transfer::Phase::kStreaming && !t->paused &&
          now - t->last_read_ms > limit) {
        LOG_INFO("upload", "{}: idle for {} s, cutting the request", id,
                 opts.upload.idle_timeout_s);
        StopTransfer(*t, TusError::kReadTimeout);
      }
    }
  }

  // ---- early handler: classification, creation, PATCH admission -----------

  static Request* GetRequest(SoupServerMessage* msg) {
    return static_cast<Request*>(g_object_get_data(G_OBJECT(msg), kRequestKey));
  }

  void Early(SoupServerMessage* msg, const std::string& path) {
    auto* req = new Request();
    g_object_set_data_full(G_OBJECT(msg), kRequestKey, req,
                           [](gpointer p) { delete static_cast<Request*>(p); });
    // Bodies are never accumulated: they stream to a FileSink or are dropped.
    soup_message_body_set_accumulate(soup_server_message_get_request_body(msg),
                                     FALSE);
    req->method = EffectiveMethod(
        http::Method(msg), http::GetHeader(msg, "X-HTTP-Method-Override"));
    bool bad = false;
    req->id = UploadIdFromPath(path, opts.base_path, &bad);
    if (bad) {
      req->verdict = TusError::kNotFound;
      return;
    }
    if (req->method == "OPTIONS") return;
    if (!VersionAcceptable(req->method, OptHeader(msg, "Tus-Resumable"))) {
      req->verdict = TusError::kUnsupportedVersion;
      return;
    }
    if (UnknownToken(msg)) {
      auto holder = std::make_shared<http::PausedMessage>(msg);
      RefreshTokens([this, holder] {
        Request* r = GetRequest(holder->get());
        Dispatch(holder->get(), *r);
        // Dispatch may have paused the message for its own wait; that
        // wait's holder resumes it.
        if (!r->paused_early) holder->Resume();
      });
      return;
    }
    Dispatch(msg, *req);
  }

  void Dispatch(SoupServerMessage* msg, Request& req) {
    if (req.method == "PATCH" && req.id) {
      if (auto err = Authorize(msg, req)) {
        req.verdict = *err;
        return;
      }
      EarlyPatch(msg, req);
    } else if (req.method == "POST" && !req.id) {
      if (auto err = Authorize(msg, req)) {
        req.verdict = *err;
        return;
      }
      EarlyCreate(msg, req);
    }
  }

  void EarlyPatch(SoupServerMessage* msg, Request& req) {
    std::string ct = http::GetHeader(msg, "Content-Type");
    if (ct.substr(0, ct.find(';')) != kOffsetOctetStream) {
      req.verdict = TusError::kInvalidContentType;
      return;
    }
    auto offset = ParseNonNegativeInt(http::GetHeader(msg, "Upload-Offset"));
    if (!offset) {
      req.verdict = TusError::kInvalidOffset;
      return;
    }
    auto t = std::make_shared<Transfer>();
    if (auto h = OptHeader(msg, "Upload-Checksum")) {
      Checksum c;
      if (auto err = ParseChecksum(*h, &c)) {
        req.verdict = *err;
        return;
      }
      t->checksum = std::move(c);
    }
    if (auto h = OptHeader(msg, "Upload-Length")) {
      auto n = ParseNonNegativeInt(*h);
      if (!n) {
        req.verdict = TusError::kInvalidLength;
        return;
      }
      t->new_length = *n;
    }
    Entry* e = Find(*req.id);
    if (!e) {
      req.verdict = TusError::kNotFound;
      return;
    }
    if (!Owns(req, *e)) {
      req.verdict = TusError::kNotFound;
      return;
    }
    int64_t want = *offset;
    auto holder = std::make_shared<http::PausedMessage>(msg);
    req.paused_early = true;
    std::string id = *req.id;
    WhenFree(id, [this, holder, t, want, id](bool ok) {
      Request* r = GetRequest(holder->get());
      if (!ok) {
        r->verdict = TusError::kLocked;
      } else {
        AdmitPatch(holder->get(), *r, id, want, t);
        if (r->transfer && CanGoDirect(holder->get())) {
          // The message stays paused: vodd reads the body itself.
          t->go_direct = true;
          std::weak_ptr<Impl> weak = weak_from_this();
          glib::Post(ctx, [weak, holder, t] {
            auto self = weak.lock();
            if (self && !self->stopped) self->TakeOver(holder, t);
          });
          return;
        }
      }
      holder->Resume();
    });
  }

  void AdmitPatch(SoupServerMessage* msg, Request& req, const std::string& id,
                  int64_t offset, const std::shared_ptr<Transfer>& t) {
    Entry* e = Find(id);
    if (!e) {
      req.verdict = TusError::kNotFound;
      return;
    }
    const auto& r = e->row;
    if (r.state == "terminated" || r.state == "expired") {
      req.verdict = TusError::kGone;
      return;
    }
    if (r.state == "receiving" && r.expires_at && *r.expires_at <= NowMs()) {
      req.verdict = TusError::kGone;
      return;
    }
    if (r.concat == "final") {
      req.verdict = TusError::kConcatFinal;
      return;
    }
    if (offset != r.offset) {
      req.verdict = TusError::kOffsetMismatch;
      return;
    }
    std::optional<int64_t> length = r.length;
    if (t->new_length) {
      if (r.length && *r.length != *t->new_length) {
        req.verdict = TusError::kLengthChange;
        return;
      }
      if (*t->new_length < r.offset) {
        req.verdict = TusError::kLengthBelowOffset;
        return;
      }
      if (*t->new_length > MaxSize()) {
        req.verdict = TusError::kTooLarge;
        return;
      }
      if (r.length)
        t->new_length.reset();
      else
        length = t->new_length;
    }
    int64_t content_length = soup_message_headers_get_content_length(
        soup_server_message_get_request_headers(msg));
    bool has_cl = soup_message_headers_get_encoding(
                      soup_server_message_get_request_headers(msg)) ==
                  SOUP_ENCODING_CONTENT_LENGTH;
    if (r.state == "complete") {
      if (has_cl && content_length == 0)
        req.noop_patch = true;
      else
        req.verdict = TusError::kRequestTooLarge;
      return;
    }
    int64_t room = length ? *length - r.offset : MaxSize() - r.offset;
    t->limit_error = length ? TusError::kRequestTooLarge : TusError::kTooLarge;
    int64_t per_request = opts.upload.max_request_mib * 1024 * 1024;
    if (per_request > 0 && per_request < room) {
      room = per_request;
      t->limit_error = TusError::kRequestTooLarge;
    }
    if (has_cl && content_length > room) {
      req.verdict = t->limit_error;
      return;
    }
    t->limit = room;
    req.transfer = t;
    Begin(msg, *e, t);
  }

  void EarlyCreate(SoupServerMessage* msg, Request& req) {
    catalog::UploadRow row;
    row.id = RandomHex(kUploadIdHexLen / 2);
    row.token_id = req.token_id;
    int64_t now = NowMs();
    row.created_at = row.updated_at = now;
    auto meta_header = OptHeader(msg, "Upload-Metadata");
    if (meta_header) {
      Metadata md;
      if (auto err = ParseMetadata(
              *meta_header, static_cast<size_t>(opts.upload.max_metadata_bytes),
              &md)) {
        req.verdict = *err;
        return;
      }
      row.metadata = RenderMetadata(md);
    }
    std::vector<std::string> parts;
    if (auto h = OptHeader(msg, "Upload-Concat")) {
      Concat c;
      if (auto err = ParseConcat(*h, opts.base_path, &c)) {
        req.verdict = *err;
        return;
      }
      if (c.kind == Concat::Kind::kFinal) {
        if (http::HasHeader(msg, "Upload-Length") ||
            http::HasHeader(msg, "Upload-Defer-Length")) {
          req.verdict = TusError::kConcatLength;
          return;
        }
        int64_t total = 0;
        for (const auto& p : c.parts) {
          Entry* pe = Find(p);
          if (!pe || !Owns(req, *pe) || pe->row.concat != "partial") {
            req.verdict = pe && pe->row.concat != "partial"
                              ? TusError::kInvalidConcat
                              : TusError::kNotFound;
            return;
          }
          if (pe->row.state != "complete") {
            req.verdict = pe->row.state == "receiving"
                              ? TusError::kPartialNotFinished
                              : TusError::kGone;
            return;
          }
          total += pe->row.offset;
        }
        if (total > MaxSize()) {
          req.verdict = TusError::kTooLarge;
          return;
        }
        row.concat = "final";
        row.length = total;
        std::string joined;
        for (const auto& p : c.parts) joined += (joined.empty() ? "" : " ") + p;
        row.concat_parts = joined;
        parts = c.parts;
      } else {
        row.concat = "partial";
      }
    }
    if (row.concat != "final") {
      CreationLength cl;
      if (auto err =
              ParseCreationLength(OptHeader(msg, "Upload-Length"),
                                  OptHeader(msg, "Upload-Defer-Length"), &cl)) {
        req.verdict = *err;
        return;
      }
      if (cl.length && *cl.length > MaxSize()) {
        req.verdict = TusError::kTooLarge;
        return;
      }
      row.length = cl.length;
      row.expires_at = now + int64_t{opts.upload.expiry_hours} * 3600 * 1000;
    }
    std::string ct = http::GetHeader(msg, "Content-Type");
    bool with_body = ct.substr(0, ct.find(';')) == kOffsetOctetStream &&
                     row.concat != "final";
    auto holder = std::make_shared<http::PausedMessage>(msg);
    req.paused_early = true;
    auto created = [this, holder, with_body](Result<catalog::UploadRow> r) {
      Request* rq = GetRequest(holder->get());
      if (!r) {
        rq->verdict = FromError(r.error());
        if (IsServerFault(*rq->verdict)) {
          LOG_ERROR("upload", "create failed: {}", r.error().message);
        }
      } else {
        auto entry = std::make_unique<Entry>();
        entry->row = *r;
        Entry& e = *entry;
        uploads[r->id] = std::move(entry);
        if (created_total) created_total->Inc();
        rq->created = true;
        rq->created_id = r->id;
        if (r->state == "complete" && completed_total) completed_total->Inc();
        if (with_body && r->state == "receiving") {
          auto t = std::make_shared<Transfer>();
          t->creation = true;
          int64_t room = r->length ? *r->length : MaxSize();
          t->limit_error =
              r->length ? TusError::kRequestTooLarge : TusError::kTooLarge;
          int64_t per_request = opts.upload.max_request_mib * 1024 * 1024;
          if (per_request > 0 && per_request < room) room = per_request;
          t->limit = room;
          rq->transfer = t;
          Begin(holder->get(), e, t);
        }
      }
      holder->Resume();
    };
    if (row.concat == "final")
      CreateFinal(std::move(row), std::move(parts), created);
    else
      CreateUpload(std::move(row), created);
  }

  // File first (created + dir fsync'ed on the I/O thread), then the row:
  // a crash in between leaves an orphan file that Start() removes.
  void CreateUpload(catalog::UploadRow row,
                    std::function<void(Result<catalog::UploadRow>)> done) {
    std::string path = layout.UploadPath(row.id);
    std::string dir = layout.UploadsDir();
    std::weak_ptr<Impl> weak = weak_from_this();
    io.Post([this, weak, path, dir, row, done] {
      Status st = Ok();
      int fd =
          open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
      if (fd < 0)
        st = ErrnoError(errno, "create " + path);
      else
        close(fd);
      if (st) st = storage::FsyncDir(dir);
      if (!weak.lock()) return;
      if (!st) {
        OnHttp([done, st](Impl&) { done(tl::unexpected(st.error())); });
        return;
      }
      bool empty = row.length && *row.length == 0;
      std::optional<catalog::NewVideo> video;
      if (empty && row.concat != "partial") video = MakeVideo(row, 0);
      int max_attempts = Defaults().max_attempts;
      writer.Post<catalog::UploadRow>(
          [row, empty, video,
           max_attempts](catalog::Db& db) -> Result<catalog::UploadRow> {
            TRY(catalog::InsertUpload(db, row));
            if (empty) {
              TRY(catalog::CompleteUpload(db, row.id, 0, video, row.created_at,
                                          max_attempts));
            }
            TRY_ASSIGN(auto r, catalog::GetUpload(db, row.id));
            if (!r)
              return MakeError(ErrorCode::kInternal, "inserted upload missing");
            return *r;
          },
          [weak, done](Result<catalog::UploadRow> r) {
            auto self = weak.lock();
            if (!self) return;
            self->OnHttp([done, r = std::move(r)](Impl&) { done(r); });
          });
    });
  }

  // Final upload: the parts are copied into a new file on the I/O thread,
  // made durable, then one transaction inserts the final row as complete
  // with its video and job and retires the parts, whose files go last.
  void CreateFinal(catalog::UploadRow row, std::vector<std::string> parts,
                   std::function<void(Result<catalog::UploadRow>)> done) {
    std::string path = layout.UploadPath(row.id);
    std::string dir = layout.UploadsDir();
    std::vector<std::string> part_paths;
    for (const auto& p : parts) part_paths.push_back(layout.UploadPath(p));
    std::weak_ptr<Impl> weak = weak_from_this();
    int64_t min_free = opts.min_free_bytes;
    io.Post([this, weak, path, dir, part_paths, parts, row, done, min_free] {
      Status st = AssembleFile(path, dir, part_paths, *row.length, min_free);
      if (!weak.lock()) return;
      if (!st) {
        unlink(path.c_str());
        OnHttp([done, st](Impl&) { done(tl::unexpected(st.error())); });
        return;
      }
      std::optional<catalog::NewVideo> video = MakeVideo(row, *row.length);
      int max_attempts = Defaults().max_attempts;
      writer.Post<catalog::UploadRow>(
          [row, video, parts,
           max_attempts](catalog::Db& db) -> Result<catalog::UploadRow> {
            TRY(catalog::InsertUpload(db, row));
            TRY(catalog::CompleteUpload(db, row.id, *row.length, video,
                                        row.created_at, max_attempts));
            for (const auto& p : parts)
              TRY(catalog::RetirePartialUpload(db, p, row.created_at));
            TRY_ASSIGN(auto r, catalog::GetUpload(db, row.id));
            if (!r)
              return MakeError(ErrorCode::kInternal, "inserted upload missing");
            return *r;
          },
          [weak, done, parts, part_paths](Result<catalog::UploadRow> r) {
            auto self = weak.lock();
            if (!self) return;
            if (r) {
              self->io.Post([part_paths] {
                for (const auto& p : part_paths) unlink(p.c_str());
              });
            }
            self->OnHttp([done, parts, r = std::move(r)](Impl& impl) {
              if (r) {
                for (const auto& p : parts) {
                  if (Entry* pe = impl.Find(p)) pe->row.state = "terminated";
                }
              }
              done(r);
            });
          });
    });
  }

  static Status AssembleFile(const std::string& path, const std::string& dir,
                             const std::vector<std::string>& parts,
                             int64_t total, int64_t min_free) {
    auto free_bytes = storage::FreeBytes(dir);
    if (!free_bytes) return tl::unexpected(free_bytes.error());
    if (*free_bytes - total < min_free) {
      return MakeError(ErrorCode::kNoSpace, "free space below the floor");
    }
    int out = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (out < 0) return ErrnoError(errno, "create " + path);
    Status st = Ok();
    for (const auto& p : parts) {
      int in = open(p.c_str(), O_RDONLY | O_CLOEXEC);
      if (in < 0) {
        st = ErrnoError(errno, "open " + p);
        break;
      }
      while (true) {
        ssize_t n = copy_file_range(in, nullptr, out, nullptr, 64 << 20, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          st = ErrnoError(errno, "copy " + p);
          if (errno == ENOSPC) st = MakeError(ErrorCode::kNoSpace, "disk full");
          break;
        }
        if (n == 0) break;
      }
      close(in);
      if (!st) break;
    }
    if (st && fdatasync(out) != 0) st = ErrnoError(errno, "fdatasync " + path);
    close(out);
    if (st) st = storage::FsyncDir(dir);
    return st;
  }

  // ---- the normal handler (after the body) --------------------------------

  void Main(SoupServerMessage* msg, const std::string&) {
    Request* req = GetRequest(msg);
    if (!req) {  // the early handler always runs; be defensive
      RespondError(msg, TusError::kInternal);
      return;
    }
    if (req->verdict) {
      RespondError(msg, *req->verdict);
      return;
    }
    if (req->transfer) {
      auto t = req->transfer;
      t->body_done = true;
      if (t->phase == Transfer::Phase::kStreaming) {
        t->waiting = std::make_unique<http::PausedMessage>(msg);
        Finish(*t);
      } else {
        // Stopped by a newer request after the body arrived: its data is
        // being persisted; tell this client to retry.
        RespondError(msg, TusError::kLocked);
      }
      return;
    }
    if (req->noop_patch) {
      Entry* e = Find(*req->id);
      http::SetHeader(msg, "Upload-Offset", std::to_string(e->row.offset));
      RespondEmpty(msg, 204);
      return;
    }
    if (req->created) {
      Entry* e = Find(req->created_id);
      http::SetHeader(msg, "Location", UploadUrl(req->created_id));
      http::SetHeader(msg, "Upload-Offset", std::to_string(e->row.offset));
      SetExpires(msg, e->row);
      RespondEmpty(msg, 201);
      return;
    }
    const std::string& m = req->method;
    if (m == "OPTIONS") return Options(msg);
    if (!req->id) {
      RespondError(msg, TusError::kMethodNotAllowed);
      return;
    }
    if (m == "HEAD" || m == "GET") {
      // GET is treated like HEAD (no download of upload data through tus).
      if (m == "GET") {
        RespondError(msg, TusError::kMethodNotAllowed);
        return;
      }
      return Head(msg, *req);
    }
    if (m == "DELETE") return Delete(msg, *req);
    RespondError(msg, TusError::kMethodNotAllowed);
  }

  void Options(SoupServerMessage* msg) {
    http::SetHeader(msg, "Tus-Version", kTusVersion);
    http::SetHeader(msg, "Tus-Extension", kTusExtensions);
    http::SetHeader(msg, "Tus-Max-Size", std::to_string(MaxSize()));
    http::SetHeader(msg, "Tus-Checksum-Algorithm", kTusChecksumAlgorithms);
    if (http::HasHeader(msg, "Access-Control-Request-Method") &&
        http::HasHeader(msg, "Origin")) {
      CommonHeaders(msg);
      if (soup_message_headers_get_one(
              soup_server_message_get_response_headers(msg),
              "Access-Control-Allow-Origin")) {
        http::SetHeader(msg, "Access-Control-Allow-Methods",
                        "POST, HEAD, PATCH, DELETE, OPTIONS");
        http::SetHeader(msg, "Access-Control-Allow-Headers", kAllowHeaders);
        http::SetHeader(msg, "Access-Control-Max-Age", "86400");
      }
    }
    RespondEmpty(msg, 204);
  }

  void Head(SoupServerMessage* msg, Request& req) {
    if (auto err = Authorize(msg, req)) return RespondError(msg, *err);
    Entry* e = Find(*req.id);
    if (!e || !Owns(req, *e)) return RespondError(msg, TusError::kNotFound);
    if (!e->Held()) return RespondHead(msg, *e);
    auto holder = std::make_shared<http::PausedMessage>(msg);
    std::string id = *req.id;
    WhenFree(id, [this, holder, id](bool ok) {
      if (!ok)
        RespondError(holder->get(), TusError::kLocked);
      else
        RespondHead(holder->get(), *Find(id));
      holder->Resume();
    });
  }

  void Delete(SoupServerMessage* msg, Request& req) {
    if (auto err = Authorize(msg, req)) return RespondError(msg, *err);
    Entry* e = Find(*req.id);
    if (!e || !Owns(req, *e)) return RespondError(msg, TusError::kNotFound);
    auto holder = std::make_shared<http::PausedMessage>(msg);
    std::string id = *req.id;
    WhenFree(id, [this, holder, id](bool ok) {
      if (!ok) {
        RespondError(holder->get(), TusError::kLocked);
        holder->Resume();
        return;
      }
      Entry* en = Find(id);
      if (en->row.state == "terminated" || en->row.state == "expired") {
        RespondError(holder->get(), TusError::kGone);
        holder->Resume();
        return;
      }
      if (en->row.state == "complete") {
        // The file now belongs to its video; delete the video instead.
        RespondError(holder->get(), TusError::kComplete);
        holder->Resume();
        return;
      }
      en->busy = true;
      Retire(id, "terminated", [this, holder, id](Status st) {
        if (!st) {
          LOG_ERROR("upload", "{}: terminate failed: {}", id,
                    st.error().message);
          RespondError(holder->get(), FromError(st.error()));
        } else {
          if (terminated_total) terminated_total->Inc();
          RespondEmpty(holder->get(), 204);
        }
        holder->Resume();
      });
    });
  }

  // receiving → terminated|expired: the row first, then the file (a crash in
  // between leaves a file that Start() removes). Entry must be busy.
  void Retire(const std::string& id, const std::string& state,
              std::function<void(Status)> done) {
    int64_t now = NowMs();
    std::string path = layout.UploadPath(id);
    std::weak_ptr<Impl> weak = weak_from_this();
    writer.Post<bool>(
        [id, state, now](catalog::Db& db) -> Result<bool> {
          TRY(catalog::SetUploadState(db, id, state, now));
          return true;
        },
        [weak, id, state, path, done](Result<bool> r) {
          auto self = weak.lock();
          if (!self) return;
          if (!r) {
            self->OnHttp([id, done, r](Impl& impl) {
              if (Entry* e = impl.Find(id)) e->busy = false;
              done(tl::unexpected(r.error()));
              impl.Release(id);
            });
            return;
          }
          self->io.Post([weak, id, state, path, done] {
            unlink(path.c_str());
            auto s2 = weak.lock();
            if (!s2) return;
            s2->OnHttp([id, state, done](Impl& impl) {
              if (Entry* e = impl.Find(id)) {
                e->row.state = state;
                e->row.expires_at.reset();
                e->busy = false;
              }
              done(Ok());
              impl.Release(id);
            });
          });
        });
  }

  void Sweep() {
    int64_t now = NowMs();
    for (auto& [id, e] : uploads) {
      if (e->row.state != "receiving" || !e->row.expires_at ||
          *e->row.expires_at > now || e->Held()) {
        continue;
      }
      e->busy = true;
      std::string uid = id;
      Retire(uid, "expired", [this, uid](Status st) {
        if (!st) {
          LOG_WARN("upload", "{}: expiry failed: {}", uid, st.error().message);
          return;
        }
        if (expired_total) expired_total->Inc();
        LOG_INFO("upload", "{}: expired and removed", uid);
      });
    }
  }

  // ---- startup reconciliation ---------------------------------------------

  Status Reconcile() {
    auto rows = writer.Call<std::vector<catalog::UploadRow>>(
        [](catalog::Db& db) { return catalog::ListUploads(db); });
    if (!rows) return tl::unexpected(rows.error());
    std::map<std::string, bool> keep_file;
    int64_t now = NowMs();
    for (auto& row : *rows) {
      std::string path = layout.UploadPath(row.id);
      struct stat st {};
      bool exists = stat(path.c_str(), &st) == 0;
      if (row.state == "receiving") {
        keep_file[row.id] = true;
        int64_t size = exists ? static_cast<int64_t>(st.st_size) : 0;
        if (!exists) {
          int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
          if (fd < 0) return ErrnoError(errno, "create " + path);
          close(fd);
        }
        if (size > row.offset) {
          // Bytes past the durable offset were never acknowledged.
          if (truncate(path.c_str(), static_cast<off_t>(row.offset)) != 0) {
            return ErrnoError(errno, "truncate " + path);
          }
          int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
          if (fd >= 0) {
            fdatasync(fd);
            close(fd);
          }
          LOG_INFO("upload", "{}: truncated {} unacknowledged bytes", row.id,
                   size - row.offset);
        } else if (size < row.offset) {
          LOG_ERROR("upload",
                    "{}: file has {} bytes but {} were acknowledged; resetting",
                    row.id, size, row.offset);
          std::string id = row.id;
          auto r = writer.Call<bool>(
              [id, size, now](catalog::Db& db) -> Result<bool> {
                TRY(catalog::ResetUploadOffset(db, id, size, now));
                return true;
              });
          if (!r) return tl::unexpected(r.error());
          row.offset = size;
        }
        if (row.length && row.offset == *row.length) {
          std::optional<catalog::NewVideo> video;
          if (row.concat != "partial") video = MakeVideo(row, row.offset);
          std::string id = row.id;
          int64_t off = row.offset;
          int max_attempts = Defaults().max_attempts;
          auto r = writer.Call<bool>([id, off, video, now, max_attempts](
                                         catalog::Db& db) -> Result<bool> {
            TRY(catalog::CompleteUpload(db, id, off, video, now, max_attempts));
            return true;
          });
          if (!r) return tl::unexpected(r.error());
          row.state = "complete";
        }
      } else if (row.state == "complete") {
        keep_file[row.id] = true;
        if (!exists)
          LOG_WARN("upload", "{}: complete upload has no file", row.id);
      }
      auto entry = std::make_unique<Entry>();
      entry->row = row;
      uploads[row.id] = std::move(entry);
    }
    // Files without a live row: orphans of a crash, terminated or expired.
    std::string dir = layout.UploadsDir();
    if (DIR* d = opendir(dir.c_str())) {
      while (dirent* de = readdir(d)) {
        std::string name = de->d_name;
        if (name == "." || name == "..") continue;
        if (IsLowerHex(name, kUploadIdHexLen) && keep_file.count(name))
          continue;
        std::string p = dir + "/" + name;
        if (unlink(p.c_str()) == 0) LOG_INFO("upload", "removed orphan {}", p);
      }
      closedir(d);
    }
    return storage::FsyncDir(dir);
  }
};

Result<std::unique_ptr<TusHandler>> TusHandler::Create(
    const HandlerOptions& opts, const storage::Layout& layout,
    catalog::Writer& writer, MetricsRegistry* metrics, GMainContext* ctx,
    const Clock& clock) {
  std::unique_ptr<TusHandler> h(new TusHandler());
  h->impl_ = std::make_shared<Impl>(opts, layout, writer, metrics, ctx, clock);
  if (h->impl_->opts.base_path.empty() ||
      h->impl_->opts.base_path.back() != '/') {
    h->impl_->opts.base_path += '/';
  }
  return h;
}

TusHandler::~TusHandler() { Stop(); }

void TusHandler::Install(http::Server& server) {
  std::string prefix =
      impl_->opts.base_path.substr(0, impl_->opts.base_path.size() - 1);
  impl_->soup = server.raw();
  std::weak_ptr<Impl> weak = impl_;
  server.HandleEarly(prefix,
                     [weak](SoupServerMessage* msg, const std::string& path) {
                       if (auto self = weak.lock()) self->Early(msg, path);
                     });
  server.Handle(prefix,
                [weak](SoupServerMessage* msg, const std::string& path) {
                  if (auto self = weak.lock())
                    self->Main(msg, path);
                  else
                    http::Respond(msg, 503, "text/plain", "shutting down\n");
                });
}

Status TusHandler::Start() {
  Impl& impl = *impl_;
  TRY(impl.Reconcile());
  auto tokens =
      impl.writer.Call<bool>([&impl](catalog::Db& db) -> Result<bool> {
        TRY(impl.LoadTokens(db));
        return true;
      });
  if (!tokens) return tl::unexpected(tokens.error());
  impl.io.Start();
  std::weak_ptr<Impl> weak = impl_;
  impl.idle_timer =
      glib::AddTimer(impl.ctx, std::chrono::milliseconds(500), [weak] {
        if (auto self = weak.lock()) self->CheckIdle();
        return true;
      });
  impl.sweep_timer = glib::AddTimer(impl.ctx, impl.opts.sweep_every, [weak] {
    if (auto self = weak.lock()) self->Sweep();
    return true;
  });
  impl.token_timer =
      glib::AddTimer(impl.ctx, impl.opts.token_refresh_every, [weak] {
        if (auto self = weak.lock()) self->RefreshTokens();
        return true;
      });
  size_t receiving = 0;
  for (auto& [id, e] : impl.uploads) receiving += e->row.state == "receiving";
  LOG_INFO("upload", "tus endpoint at {} ({} unfinished uploads)",
           impl.opts.base_path, receiving);
  return Ok();
}

void TusHandler::Stop() {
  if (!impl_ || impl_->stopped) return;
  Impl& impl = *impl_;
  impl.idle_timer.reset();
  impl.sweep_timer.reset();
  impl.token_timer.reset();
  for (auto& [id, e] : impl.uploads) {
    if (e->active) impl.StopTransfer(*e->active, TusError::kLocked);
  }
  impl.io.Stop();
  impl.stopped = true;
}

void TusHandler::SetSessionAuthorizer(SessionAuthorizer auth) {
  impl_->session_auth = std::move(auth);
}

void TusHandler::SweepNow() { impl_->Sweep(); }

void TusHandler::Reconfigure(const HandlerOptions& live) {
  Impl& impl = *impl_;
  impl.opts.upload = live.upload;
  impl.opts.min_free_bytes = live.min_free_bytes;
  impl.opts.max_attempts = live.max_attempts;
  impl.opts.default_policy = live.default_policy;
  std::lock_guard<std::mutex> lock(impl.defaults_mutex);
  impl.video_defaults = {live.default_policy, live.max_attempts};
}

}  // namespace vodd::upload
