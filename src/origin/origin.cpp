// The origin's HTTP side: routes /v/… through the strict path grammar, the
// origin-secret and token checks, then answers from the per-version manifest
// cache or the hot-segment LRU. Misses go to the loader threads (catalog
// read + render, or file read), single-flight per key, and the paused
// message is resumed from a glib::Post. See origin.h for the thread rules.
//
//   curl -i --compressed http://127.0.0.1:8080/v/<video>/1/master.m3u8
#include "vodd/origin/origin.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <functional>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "origin/files.h"
#include "origin/loader.h"
#include "origin/segment_cache.h"
#include "origin/version_entry.h"
#include "vodd/core/log.h"
#include "vodd/glib/main_context.h"
#include "vodd/origin/edgeauth.h"
#include "vodd/origin/http_rules.h"
#include "vodd/origin/path.h"

namespace vodd::origin {
namespace {

constexpr int64_t kRefreshMs = 2000;      // re-read a cached version after this
constexpr int64_t kNegativeTtlMs = 1000;  // remember "not published" this long
constexpr size_t kMaxVersions = 4096;  // cached versions (each a few manifests)
constexpr int64_t kMaxFileBytes = int64_t{1} << 30;
constexpr int kStaleIfErrorS = 86400;
constexpr const char* kImmutable = "public, max-age=31536000, immutable";
constexpr const char* kExposeHeaders =
    "Content-Length, Content-Range, ETag, Last-Modified, Date, Age";
constexpr const char* kAllowHeaders =
    "Range, If-None-Match, If-Modified-Since, If-Range";

// The one table from failures to the wire (nginx-vod's error_map).
enum class Failure {
  kBadPath,
  kNotFound,
  kMethod,
  kOriginAuth,
  kToken,
  kUnavailable,
  kInternal,
};
struct FailureRow {
  int status;
  const char* code;
  const char* cache_control;
};
FailureRow Row(Failure f) {
  switch (f) {
    case Failure::kBadPath:
      return {400, "bad_path", "no-store"};
    case Failure::kNotFound:
      return {404, "not_found", "public, max-age=10"};
    case Failure::kMethod:
      return {405, "method_not_allowed", "no-store"};
    case Failure::kOriginAuth:
      return {403, "origin_auth", "no-store"};
    case Failure::kToken:
      return {403, "token_rejected", "private, no-store"};
    case Failure::kUnavailable:
      return {503, "unavailable", "no-store"};
    case Failure::kInternal:
      return {500, "internal", "no-store"};
  }
  return {500, "internal", "no-store"};
}

struct Request {
  glib::ObjectPtr<SoupServerMessage> msg;
  std::string path;
  ObjectPath object;
  bool head = false;
  bool paused = false;
  void Pause() {
    if (!paused) soup_server_message_pause(msg.get());
    paused = true;
  }
  void Done() {
    if (paused) soup_server_message_unpause(msg.get());
    paused = false;
  }
};
using RequestPtr = std::shared_ptr<Request>;
using EntryPtr = std::shared_ptr<const VersionEntry>;
using EntryResult = Result<EntryPtr>;

void Header(SoupServerMessage* msg, const char* name,
            const std::string& value) {
  soup_message_headers_replace(soup_server_message_get_response_headers(msg),
                               name, value.c_str());
}
std::string ReqHeader(SoupServerMessage* msg, const char* name) {
  const char* v = soup_message_headers_get_one(
      soup_server_message_get_request_headers(msg), name);
  return v ? v : "";
}
bool HasReqHeader(SoupServerMessage* msg, const char* name) {
  return soup_message_headers_get_one(
             soup_server_message_get_request_headers(msg), name) != nullptr;
}

bool SameSecret(std::string_view a, std::string_view b) {
  unsigned char ha[crypto_hash_sha256_BYTES], hb[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(ha, reinterpret_cast<const unsigned char*>(a.data()),
                     a.size());
  crypto_hash_sha256(hb, reinterpret_cast<const unsigned char*>(b.data()),
                     b.size());
  return sodium_memcmp(ha, hb, sizeof ha) == 0;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// The token from the query (?<name>=…, percent-decoded once) or, failing
// that, from a cookie of the same name.
std::string TokenOf(SoupServerMessage* msg, const std::string& name) {
  GUri* uri = soup_server_message_get_uri(msg);
  const char* query = uri ? g_uri_get_query(uri) : nullptr;
  std::string_view q = query ? query : "";
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view item = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    size_t eq = item.find('=');
    if (eq != std::string_view::npos && item.substr(0, eq) == name) {
      return PercentDecode(item.substr(eq + 1)).value_or("");
    }
  }
  std::string cookies = ReqHeader(msg, "Cookie");
  std::string_view c = cookies;
  while (!c.empty()) {
    size_t semi = c.find(';');
    std::string_view item = TrimSpaces(c.substr(0, semi));
    c = semi == std::string_view::npos ? std::string_view()
                                       : c.substr(semi + 1);
    size_t eq = item.find('=');
    if (eq != std::string_view::npos && item.substr(0, eq) == name) {
      std::string_view v = item.substr(eq + 1);
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
        v = v.substr(1, v.size() - 2);
      }
      return std::string(v);
    }
  }
  return "";
}

int64_t MonotonicMs() { return g_get_monotonic_time() / 1000; }

}  // namespace

struct Origin::Impl {
  Options opts;
  const Clock* clock = nullptr;
  storage::Layout layout;
  int root_fd = -1;
  GMainContext* ctx = nullptr;
  MetricsRegistry* metrics = nullptr;
  std::unique_ptr<Loader> loader;
  SegmentCache segments;
  // Closures posted back from loader threads check this before touching
  // `this`; both run on the HTTP thread, so the check cannot race.
  std::shared_ptr<int> alive = std::make_shared<int>(0);

  struct Cached {
    EntryPtr entry;  // null: not published (negative entry)
    int64_t loaded_ms = 0;
  };
  std::unordered_map<std::string, Cached> versions;
  std::unordered_set<std::string> versions_loading;
  std::unordered_map<std::string,
                     std::vector<std::function<void(const EntryResult&)>>>
      version_waiters;
  std::unordered_map<std::string,
                     std::vector<std::function<void(const Result<GBytes*>&)>>>
      file_waiters;

  Counter* bytes_sent = nullptr;
  Counter* segment_hits = nullptr;
  Counter* segment_misses = nullptr;
  Counter* catalog_hits = nullptr;
  Counter* catalog_misses = nullptr;
  Counter* catalog_loads = nullptr;
  Counter* file_loads = nullptr;
  Gauge* cache_bytes = nullptr;
  std::unordered_map<int, Counter*> responses;

  Impl(const Options& o, const storage::Layout& l)
      : opts(o), layout(l), segments(o.cfg.cache_mib * 1024 * 1024) {}

  // ---- responses -------------------------------------------------------

  void CommonHeaders(SoupServerMessage* msg) {
    Header(msg, "Access-Control-Allow-Origin", "*");
    Header(msg, "Access-Control-Expose-Headers", kExposeHeaders);
    Header(msg, "Timing-Allow-Origin", "*");
    Header(msg, "X-Content-Type-Options", "nosniff");
  }

  void Count(int status, int64_t body_bytes) {
    auto it = responses.find(status);
    if (it == responses.end()) {
      it = responses
               .emplace(status,
                        metrics->GetCounter("vodd_origin_responses_total",
                                            "Origin responses by status.",
                                            {{"code", std::to_string(status)}}))
               .first;
    }
    it->second->Inc();
    if (body_bytes > 0) bytes_sent->Inc(static_cast<double>(body_bytes));
  }

  // Sets the status and, unless HEAD, the body; always an exact
  // Content-Length (never chunked). `body` may be null for no body.
  void Finish(Request& req, int status, GBytes* body) {
    SoupServerMessage* msg = req.msg.get();
    soup_server_message_set_status(msg, static_cast<guint>(status), nullptr);
    auto* hdrs = soup_server_message_get_response_headers(msg);
    gsize len = body ? g_bytes_get_size(body) : 0;
    if (status != 304) soup_message_headers_set_content_length(hdrs, len);
    if (body && len > 0 && !req.head && status != 304) {
      soup_message_body_append_bytes(soup_server_message_get_response_body(msg),
                                     body);
    }
    Count(status, req.head ? 0 : static_cast<int64_t>(len));
    req.Done();
  }

  void Fail(Request& req, Failure f, std::string_view detail = "") {
    FailureRow row = Row(f);
    SoupServerMessage* msg = req.msg.get();
    // Drop what a half-built success response may have set.
    auto* hdrs = soup_server_message_get_response_headers(msg);
    for (const char* h : {"ETag", "Last-Modified", "Vary", "Content-Encoding",
                          "Accept-Ranges", "Content-Range"}) {
      soup_message_headers_remove(hdrs, h);
    }
    Header(msg, "Cache-Control", row.cache_control);
    Header(msg, "Content-Type", "application/json");
    std::string body =
        fmt::format(R"({{"error":{{"code":"{}","message":"{}"}}}})", row.code,
                    detail.empty() ? row.code : detail);
    glib::BytesPtr b(g_bytes_new(body.data(), body.size()));
    Finish(req, row.status, b.get());
  }

  // ---- cached versions (single-flight) ---------------------------------

  void WithVersion(const RequestPtr& req,
                   std::function<void(const EntryResult&)> cb) {
    const ObjectPath& o = req->object;
    std::string key = fmt::format("{}/{}", o.video, o.version);
    int64_t now = MonotonicMs();
    if (auto it = versions.find(key); it != versions.end()) {
      int64_t age = now - it->second.loaded_ms;
      if (it->second.entry || age < kNegativeTtlMs) {
        catalog_hits->Inc();
        // Serve what we have; refresh in the background when old, so a
        // policy change or takedown is seen within kRefreshMs.
        if (it->second.entry && age >= kRefreshMs)
          StartVersionLoad(key, o.video, o.version);
        cb(it->second.entry);
        return;
      }
    }
    catalog_misses->Inc();
    req->Pause();
    version_waiters[key].push_back(std::move(cb));
    StartVersionLoad(key, o.video, o.version);
  }

  void StartVersionLoad(const std::string& key, const std::string& video,
                        int64_t version) {
    if (!versions_loading.insert(key).second) return;
    catalog_loads->Inc();
    std::weak_ptr<int> weak = alive;
    storage::Layout lay = layout;
    GMainContext* c = ctx;
    bool queued = loader->Post([this, weak, c, key, video, version,
                                lay](catalog::Db* db) {
      EntryResult r =
          db ? BuildVersionEntry(*db, lay, video, version)
             : EntryResult(MakeError(ErrorCode::kIo, "catalog unavailable"));
      glib::Post(c, [this, weak, key, r = std::move(r)]() {
        if (!weak.expired()) OnVersionLoaded(key, r);
      });
    });
    if (!queued) {
      OnVersionLoaded(key,
                      MakeError(ErrorCode::kLocked, "origin loader is busy"));
    }
  }

  void OnVersionLoaded(const std::string& key, const EntryResult& r) {
    versions_loading.erase(key);
    int64_t now = MonotonicMs();
    if (r) {
      versions[key] = Cached{*r, now};
      if (*r && key.size() > 2 && key.compare(key.size() - 2, 2, "/0") == 0) {
        // The current version is also cached under its number.
        versions[fmt::format("{}/{}", (*r)->v.video_id, (*r)->v.version)] =
            Cached{*r, now};
      }
      Evict();
    } else {
      LOG_WARN("origin", "loading {}: {}", key, r.error().message);
    }
    auto it = version_waiters.find(key);
    if (it == version_waiters.end()) return;
    auto waiters = std::move(it->second);
    version_waiters.erase(it);
    for (auto& w : waiters) w(r);
  }

  void Evict() {
    while (versions.size() > kMaxVersions) {
      auto oldest = versions.begin();
      for (auto it = versions.begin(); it != versions.end(); ++it) {
        if (it->second.loaded_ms < oldest->second.loaded_ms) oldest = it;
      }
      versions.erase(oldest);
    }
  }

  // ---- files (single-flight, LRU) ---------------------------------------

  void WithFile(const RequestPtr& req, const std::string& rel, int64_t size,
                std::function<void(const Result<GBytes*>&)> cb) {
    if (auto hit = segments.Get(rel)) {
      segment_hits->Inc();
      cb(hit.get());
      return;
    }
    segment_misses->Inc();
    req->Pause();
    auto& waiters = file_waiters[rel];
    waiters.push_back(std::move(cb));
    if (waiters.size() > 1) return;
    file_loads->Inc();
    std::weak_ptr<int> weak = alive;
    GMainContext* c = ctx;
    int fd = root_fd;
    bool queued = loader->Post([this, weak, c, fd, rel, size](catalog::Db*) {
      // std::function needs a copyable closure; the bytes are move-only.
      auto r = std::make_shared<Result<glib::BytesPtr>>(
          ReadBeneath(fd, rel, size, kMaxFileBytes));
      glib::Post(c, [this, weak, rel, r]() {
        if (!weak.expired()) OnFileLoaded(rel, std::move(*r));
      });
    });
    if (!queued)
      OnFileLoaded(rel, MakeError(ErrorCode::kLocked, "origin loader is busy"));
  }

  void OnFileLoaded(const std::string& rel, Result<glib::BytesPtr> r) {
    Result<GBytes*> view = r ? Result<GBytes*>((*r).get())
                             : Result<GBytes*>(tl::unexpected(r.error()));
    if (r) {
      segments.Put(rel, r->get());
      cache_bytes->Set(static_cast<double>(segments.bytes()));
    } else {
      LOG_WARN("origin", "{}", r.error().message);
    }
    auto it = file_waiters.find(rel);
    if (it == file_waiters.end()) return;
    auto waiters = std::move(it->second);
    file_waiters.erase(it);
    for (auto& w : waiters) w(view);
  }

  // ---- request handling ------------------------------------------------

  bool NotModified(Request& req, const std::string& etag,
                   int64_t last_modified_s) {
    SoupServerMessage* msg = req.msg.get();
    if (HasReqHeader(msg, "If-None-Match")) {
      return IfNoneMatchMatches(ReqHeader(msg, "If-None-Match"), etag);
    }
    if (HasReqHeader(msg, "If-Modified-Since")) {
      int64_t ims = ParseHttpDate(ReqHeader(msg, "If-Modified-Since"));
      return ims >= 0 && last_modified_s <= ims;
    }
    return false;
  }

  std::string ManifestCacheControl(bool stable) const {
    const auto& c = opts.cfg;
    int s_maxage = stable ? c.manifest_max_age_s : c.manifest_s_maxage_s;
    return fmt::format(
        "public, max-age={}, s-maxage={}, stale-while-revalidate={}, "
        "stale-if-error={}",
        c.manifest_max_age_s, s_maxage, c.manifest_max_age_s, kStaleIfErrorS);
  }

  // libsoup would turn a 200 for a request with Range into its own 206 or
  // multipart answer; once we have decided on the whole object, the Range is
  // consumed here.
  static void ConsumeRange(SoupServerMessage* msg) {
    soup_message_headers_remove(soup_server_message_get_request_headers(msg),
                                "Range");
  }

  void ServeDoc(Request& req, const Doc& doc, const char* content_type,
                const std::string& cache_control, int64_t last_modified_s) {
    SoupServerMessage* msg = req.msg.get();
    ConsumeRange(msg);
    bool gz = AcceptsGzip(ReqHeader(msg, "Accept-Encoding"));
    const std::string& etag = gz ? doc.etag_gz : doc.etag;
    Header(msg, "Content-Type", content_type);
    Header(msg, "Cache-Control", cache_control);
    Header(msg, "ETag", etag);
    Header(msg, "Last-Modified", HttpDate(last_modified_s));
    Header(msg, "Vary", "Accept-Encoding");
    if (NotModified(req, etag, last_modified_s))
      return Finish(req, 304, nullptr);
    if (gz) Header(msg, "Content-Encoding", "gzip");
    Finish(req, 200, gz ? doc.gz.get() : doc.body.get());
  }

  void ServeFile(const RequestPtr& req, const std::string& rel, int64_t size,
                 const std::string& hash, const char* content_type,
                 int64_t last_modified_s) {
    SoupServerMessage* msg = req->msg.get();
    std::string etag = fmt::format("\"{}\"", hash);
    Header(msg, "Content-Type", content_type);
    Header(msg, "Cache-Control", kImmutable);
    Header(msg, "ETag", etag);
    Header(msg, "Last-Modified", HttpDate(last_modified_s));
    Header(msg, "Accept-Ranges", "bytes");
    if (NotModified(*req, etag, last_modified_s))
      return Finish(*req, 304, nullptr);

    RangeResult range;
    if (HasReqHeader(msg, "Range") &&
        IfRangeAllows(ReqHeader(msg, "If-Range"), etag, last_modified_s)) {
      range = ParseRange(ReqHeader(msg, "Range"), size);
    }
    if (range.kind == RangeKind::kUnsatisfiable) {
      Header(msg, "Content-Range", fmt::format("bytes */{}", size));
      Header(msg, "Cache-Control", "no-store");
      return Finish(*req, 416, nullptr);
    }
    ConsumeRange(msg);
    int status = 200;
    int64_t first = 0, length = size;
    if (range.kind == RangeKind::kSatisfiable) {
      status = 206;
      first = range.first;
      length = range.last - range.first + 1;
      Header(msg, "Content-Range",
             fmt::format("bytes {}-{}/{}", range.first, range.last, size));
    }
    if (req->head) {
      // No bytes needed: the catalog knows the size.
      soup_server_message_set_status(msg, static_cast<guint>(status), nullptr);
      soup_message_headers_set_content_length(
          soup_server_message_get_response_headers(msg),
          static_cast<goffset>(length));
      Count(status, 0);
      return req->Done();
    }
    WithFile(req, rel, size,
             [this, req, status, first, length](const Result<GBytes*>& r) {
               if (!r) {
                 return Fail(*req, r.error().code == ErrorCode::kNotFound
                                       ? Failure::kNotFound
                                   : r.error().code == ErrorCode::kLocked
                                       ? Failure::kUnavailable
                                       : Failure::kInternal);
               }
               glib::BytesPtr slice(g_bytes_new_from_bytes(
                   *r, static_cast<gsize>(first), static_cast<gsize>(length)));
               Finish(*req, status, slice.get());
             });
  }

  TokenVerdict CheckToken(Request& req) {
    VerifyOptions vo;
    vo.hex_keys = {opts.cfg.signing_key, opts.cfg.signing_key_previous};
    vo.now_s = clock->NowUnixMs() / 1000;
    vo.skew_s = opts.cfg.clock_skew_s;
    return VerifyToken(TokenOf(req.msg.get(), opts.cfg.token_name), req.path,
                       vo);
  }

  void Serve(const RequestPtr& req, const EntryResult& r) {
    if (!r) {
      return Fail(*req, r.error().code == ErrorCode::kLocked
                            ? Failure::kUnavailable
                            : Failure::kInternal);
    }
    const EntryPtr& e = *r;
    if (!e) return Fail(*req, Failure::kNotFound);
    if (e->v.playback_policy == "signed") {
      TokenVerdict verdict = CheckToken(*req);
      if (verdict != TokenVerdict::kOk) {
        metrics
            ->GetCounter("vodd_token_rejections_total",
                         "Playback tokens rejected, by reason.",
                         {{"reason", TokenVerdictName(verdict)}})
            ->Inc();
        return Fail(*req, Failure::kToken, TokenVerdictName(verdict));
      }
    }
    const ObjectPath& o = req->object;
    bool stable = o.version == 0;
    int64_t lm = e->last_modified_s;
    const catalog::Rendition* rendition = nullptr;
    size_t ri = 0;
    if (!o.rendition.empty()) {
      auto it = e->by_name.find(o.rendition);
      if (it == e->by_name.end()) return Fail(*req, Failure::kNotFound);
      ri = it->second;
      rendition = &e->v.renditions[ri];
    }
    std::string rel = e->dir + "/" + MediaFileName(o);
    switch (o.kind) {
      case ObjectKind::kMaster:
        return ServeDoc(*req, stable ? e->stable_master : e->master,
                        "application/vnd.apple.mpegurl",
                        ManifestCacheControl(stable), lm);
      case ObjectKind::kMpd:
        return ServeDoc(*req, stable ? e->stable_mpd : e->mpd,
                        "application/dash+xml", ManifestCacheControl(stable),
                        lm);
      case ObjectKind::kMedia:
        return ServeDoc(*req, e->media[ri], "application/vnd.apple.mpegurl",
                        ManifestCacheControl(false), lm);
      case ObjectKind::kIFrames:
        if (!e->iframes[ri]) return Fail(*req, Failure::kNotFound);
        return ServeDoc(*req, *e->iframes[ri], "application/vnd.apple.mpegurl",
                        ManifestCacheControl(false), lm);
      case ObjectKind::kThumbsVtt:
        if (!e->thumbs_vtt) return Fail(*req, Failure::kNotFound);
        return ServeDoc(*req, *e->thumbs_vtt, "text/vtt", kImmutable, lm);
      case ObjectKind::kInit:
        return ServeFile(req, rel, rendition->init_size, rendition->init_hash,
                         rendition->kind == "audio" ? "audio/mp4" : "video/mp4",
                         lm);
      case ObjectKind::kSegment: {
        const auto& segs = rendition->segments;
        const catalog::Segment* seg = nullptr;
        auto n = static_cast<size_t>(o.segment);
        if (n >= 1 && n <= segs.size() && segs[n - 1].number == o.segment) {
          seg = &segs[n - 1];
        } else {
          for (const auto& s : segs) {
            if (s.number == o.segment) seg = &s;
          }
        }
        if (!seg) return Fail(*req, Failure::kNotFound);
        return ServeFile(req, rel, seg->size, seg->hash, "video/iso.segment",
                         lm);
      }
      case ObjectKind::kSprite:
      case ObjectKind::kPoster: {
        if (!e->v.thumbnails) return Fail(*req, Failure::kNotFound);
        const auto& t = *e->v.thumbnails;
        bool sprite = o.kind == ObjectKind::kSprite;
        return ServeFile(req, rel, sprite ? t.sprite_size : t.poster_size,
                         sprite ? t.sprite_hash : t.poster_hash, "image/jpeg",
                         lm);
      }
    }
    Fail(*req, Failure::kInternal);
  }

  void Handle(SoupServerMessage* msg, const std::string& path) {
    auto req = std::make_shared<Request>();
    req->msg = glib::Ref(msg);
    req->path = path;
    CommonHeaders(msg);
    std::string method = soup_server_message_get_method(msg);
    if (method != "GET" && method != "HEAD" && method != "OPTIONS") {
      Header(msg, "Allow", "GET, HEAD, OPTIONS");
      return Fail(*req, Failure::kMethod);
    }
    req->head = method == "HEAD";
    if (!opts.cfg.origin_secret.empty() &&
        !SameSecret(ReqHeader(msg, "X-Vodd-Origin-Auth"),
                    opts.cfg.origin_secret)) {
      return Fail(*req, Failure::kOriginAuth);
    }
    if (method == "OPTIONS") {
      Header(msg, "Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
      Header(msg, "Access-Control-Allow-Headers", kAllowHeaders);
      Header(msg, "Access-Control-Max-Age", "86400");
      return Finish(*req, 204, nullptr);
    }
    // libsoup has decoded the target once and removed dot segments.
    PathResult parsed = ParseObjectPath(path, Escapes::kAlreadyDecoded);
    if (!parsed.object) {
      return Fail(*req, parsed.error == PathError::kBad ? Failure::kBadPath
                                                        : Failure::kNotFound);
    }
    req->object = std::move(*parsed.object);
    WithVersion(req, [this, req](const EntryResult& r) { Serve(req, r); });
  }
};

Origin::Origin(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Origin::~Origin() {
  Stop();
  if (impl_->root_fd >= 0) close(impl_->root_fd);
}

void Origin::Reconfigure(const config::OriginConfig& cfg) {
  // cache_mib sized the segment cache at start; it stays (restart option).
  int64_t cache_mib = impl_->opts.cfg.cache_mib;
  impl_->opts.cfg = cfg;
  impl_->opts.cfg.cache_mib = cache_mib;
}

Result<std::unique_ptr<Origin>> Origin::Create(const Options& opts,
                                               const storage::Layout& layout,
                                               MetricsRegistry* metrics,
                                               GMainContext* ctx) {
  if (sodium_init() < 0)
    return MakeError(ErrorCode::kInternal, "sodium_init failed");
  for (const auto* key :
       {&opts.cfg.signing_key, &opts.cfg.signing_key_previous}) {
    if (!key->empty() && !SignToken(*key, std::nullopt, 1, "/").has_value()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "origin signing key must be hex");
    }
  }
  auto impl = std::make_unique<Impl>(opts, layout);
  impl->clock = opts.clock ? opts.clock : &SystemClock::Get();
  impl->ctx = ctx;
  impl->metrics = metrics;
  impl->root_fd =
      open(layout.MediaRoot().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (impl->root_fd < 0) return ErrnoError(errno, "open " + layout.MediaRoot());
  impl->loader =
      std::make_unique<Loader>(opts.catalog_path, opts.loader_threads);
  impl->bytes_sent = metrics->GetCounter("vodd_origin_bytes_sent_total",
                                         "Body bytes the origin sent.");
  const char* hits = "Origin cache hits, by cache.";
  const char* misses = "Origin cache misses, by cache.";
  impl->segment_hits = metrics->GetCounter("vodd_origin_cache_hits_total", hits,
                                           {{"cache", "segment"}});
  impl->catalog_hits = metrics->GetCounter("vodd_origin_cache_hits_total", hits,
                                           {{"cache", "catalog"}});
  impl->segment_misses = metrics->GetCounter("vodd_origin_cache_misses_total",
                                             misses, {{"cache", "segment"}});
  impl->catalog_misses = metrics->GetCounter("vodd_origin_cache_misses_total",
                                             misses, {{"cache", "catalog"}});
  const char* loads =
      "Loads run on the origin's loader threads (after single-flight).";
  impl->catalog_loads = metrics->GetCounter("vodd_origin_loads_total", loads,
                                            {{"kind", "catalog"}});
  impl->file_loads =
      metrics->GetCounter("vodd_origin_loads_total", loads, {{"kind", "file"}});
  impl->cache_bytes = metrics->GetGauge("vodd_origin_cache_bytes",
                                        "Bytes held by the hot-segment cache.");
  return std::unique_ptr<Origin>(new Origin(std::move(impl)));
}

void Origin::Attach(http::Server& server) {
  server.Handle("/v/", [this](SoupServerMessage* msg, const std::string& path) {
    Handle(msg, path);
  });
}

Status Origin::Start() {
  impl_->loader->Start();
  return Ok();
}

void Origin::Stop() {
  if (impl_->loader) impl_->loader->Stop();
}

void Origin::Handle(SoupServerMessage* msg, const std::string& path) {
  impl_->Handle(msg, path);
}

}  // namespace vodd::origin
