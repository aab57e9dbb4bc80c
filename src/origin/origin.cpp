// The origin's HTTP side: routes /v/… through the strict path grammar, the
// origin-secret and token checks, then answers from the per-version manifest
// cache or the open-file cache. Misses go to the loader threads (catalog
// read + render, or open + size check), single-flight per key, and the
// reply is built on whichever thread completes it. One request core
// (Impl::Handle) answers both the lane (http::LaneRequest in, LaneResponse
// out) and libsoup (HandleSoup: the message is converted, paused, and
// filled in from a glib::Post). See origin.h for the thread rules.
//
//   curl -i --compressed http://127.0.0.1:8080/v/<video>/1/master.m3u8
#include "vodd/origin/origin.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <functional>
#include <mutex>
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
  http::LaneRequest in;
  std::string path;  // decoded once: what tokens are checked against
  ObjectPath object;
  bool head = false;
  std::shared_ptr<const config::OriginConfig> cfg;
  http::LaneReply reply;
  http::LaneResponse out;
  const std::string* Req(const char* name) const { return in.Find(name); }
  std::string ReqOr(const char* name) const {
    const std::string* v = in.Find(name);
    return v ? *v : std::string();
  }
  void Header(const char* name, std::string value) {
    out.Header(name, std::move(value));
  }
  void Replace(const char* name, std::string value) {
    for (auto& [k, v] : out.headers) {
      if (k == name) {
        v = std::move(value);
        return;
      }
    }
    out.Header(name, std::move(value));
  }
};
using RequestPtr = std::shared_ptr<Request>;
using EntryPtr = std::shared_ptr<const VersionEntry>;
using EntryResult = Result<EntryPtr>;

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
std::string TokenOf(const Request& req, const std::string& name) {
  std::string_view q = req.in.query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view item = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    size_t eq = item.find('=');
    if (eq != std::string_view::npos && item.substr(0, eq) == name) {
      return PercentDecode(item.substr(eq + 1)).value_or("");
    }
  }
  std::string cookies = req.ReqOr("Cookie");
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
  // The HTTP thread's handlers check this before touching `this` from a
  // posted closure (libsoup path).
  std::shared_ptr<int> alive = std::make_shared<int>(0);

  // `mu` guards everything below it. It is held only for map lookups and
  // updates, never across a load, a render or a reply.
  std::mutex mu;
  std::shared_ptr<const config::OriginConfig> cfg;
  SegmentCache files;
  struct Cached {
    EntryPtr entry;  // null: not published (negative entry)
    int64_t loaded_ms = 0;
  };
  std::unordered_map<std::string, Cached> versions;
  std::unordered_set<std::string> versions_loading;
  std::unordered_map<std::string,
                     std::vector<std::function<void(const EntryResult&)>>>
      version_waiters;
  std::unordered_map<
      std::string, std::vector<std::function<void(const Result<OpenFilePtr>&)>>>
      file_waiters;
  std::unordered_map<int, Counter*> responses;

  Counter* bytes_sent = nullptr;
  Counter* segment_hits = nullptr;
  Counter* segment_misses = nullptr;
  Counter* catalog_hits = nullptr;
  Counter* catalog_misses = nullptr;
  Counter* catalog_loads = nullptr;
  Counter* file_loads = nullptr;
  Gauge* cache_bytes = nullptr;

  Impl(const Options& o, const storage::Layout& l)
      : opts(o),
        layout(l),
        cfg(std::make_shared<const config::OriginConfig>(o.cfg)),
        files(o.cfg.cache_mib * 1024 * 1024) {}

  // ---- responses -------------------------------------------------------

  static void CommonHeaders(Request& req) {
    req.Header("Access-Control-Allow-Origin", "*");
    req.Header("Access-Control-Expose-Headers", kExposeHeaders);
    req.Header("Timing-Allow-Origin", "*");
    req.Header("X-Content-Type-Options", "nosniff");
  }

  void Count(int status, int64_t body_bytes) {
    Counter* c = nullptr;
    {
      std::lock_guard lock(mu);
      auto it = responses.find(status);
      if (it != responses.end()) c = it->second;
    }
    if (!c) {
      c = metrics->GetCounter("vodd_origin_responses_total",
                              "Origin responses by status.",
                              {{"code", std::to_string(status)}});
      std::lock_guard lock(mu);
      responses[status] = c;
    }
    c->Inc();
    if (body_bytes > 0) bytes_sent->Inc(static_cast<double>(body_bytes));
  }

  // Sends the response: status, and unless HEAD the body; always an exact
  // Content-Length (never chunked), none on 304.
  static void Send(Request& req) {
    http::LaneReply reply = std::move(req.reply);
    reply(std::move(req.out));
  }

  void Finish(Request& req, int status, GBytes* body) {
    auto& o = req.out;
    o.status = status;
    gsize len = body ? g_bytes_get_size(body) : 0;
    o.content_length = status == 304 ? -1 : static_cast<int64_t>(len);
    o.head = req.head || status == 304;
    if (body && len > 0 && !o.head) o.body.reset(g_bytes_ref(body));
    Count(status, o.head ? 0 : static_cast<int64_t>(len));
    Send(req);
  }

  void Fail(Request& req, Failure f, std::string_view detail = "",
            const char* allow = nullptr) {
    FailureRow row = Row(f);
    req.out = http::LaneResponse();
    CommonHeaders(req);
    if (allow) req.Header("Allow", allow);
    req.Header("Cache-Control", row.cache_control);
    req.Header("Content-Type", "application/json");
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
    EntryPtr hit;
    bool have = false, refresh = false, first = false;
    {
      std::lock_guard lock(mu);
      if (auto it = versions.find(key); it != versions.end()) {
        int64_t age = now - it->second.loaded_ms;
        // The stable entry (version 0) names the current version, which a
        // publish replaces: once old it is re-read before answering, or a
        // CDN would keep the replaced version under the stable URLs for
        // another max-age. If the re-read fails, the old entry answers.
        if (o.version == 0 && it->second.entry && age >= kRefreshMs) {
          cb = [old = it->second.entry, cb = std::move(cb)](
                   const EntryResult& r) { cb(r ? r : EntryResult(old)); };
        } else if (it->second.entry || age < kNegativeTtlMs) {
          have = true;
          hit = it->second.entry;
          // Serve what we have; refresh in the background when old, so a
          // policy change or takedown is seen within kRefreshMs.
          refresh =
              hit && age >= kRefreshMs && versions_loading.insert(key).second;
        }
      }
      if (!have) {
        auto& w = version_waiters[key];
        w.push_back(std::move(cb));
        first = versions_loading.insert(key).second;
      }
    }
    if (have) {
      catalog_hits->Inc();
      if (refresh) PostVersionLoad(key, o.video, o.version);
      cb(hit);
      return;
    }
    catalog_misses->Inc();
    if (first) PostVersionLoad(key, o.video, o.version);
  }

  // `key` is already in versions_loading.
  void PostVersionLoad(const std::string& key, const std::string& video,
                       int64_t version) {
    catalog_loads->Inc();
    storage::Layout lay = layout;
    bool queued = loader->Post([this, key, video, version,
                                lay](catalog::Db* db) {
      EntryResult r =
          db ? BuildVersionEntry(*db, lay, video, version, clock->NowUnixMs(),
                                 opts.cfg.version_grace_s * 1000)
             : EntryResult(MakeError(ErrorCode::kIo, "catalog unavailable"));
      OnVersionLoaded(key, r);
    });
    if (!queued) {
      OnVersionLoaded(key,
                      MakeError(ErrorCode::kLocked, "origin loader is busy"));
    }
  }

  // Loader thread (or the caller when the loader refused the task).
  void OnVersionLoaded(const std::string& key, const EntryResult& r) {
    std::vector<std::function<void(const EntryResult&)>> waiters;
    {
      std::lock_guard lock(mu);
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
      }
      if (auto it = version_waiters.find(key); it != version_waiters.end()) {
        waiters = std::move(it->second);
        version_waiters.erase(it);
      }
    }
    if (!r) LOG_WARN("origin", "loading {}: {}", key, r.error().message);
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

  // ---- open files (single-flight, LRU) ----------------------------------

  void WithFile(const std::string& rel, int64_t size,
                std::function<void(const Result<OpenFilePtr>&)> cb) {
    OpenFilePtr hit;
    bool first = false;
    {
      std::lock_guard lock(mu);
      hit = files.Get(rel, MonotonicMs());
      if (!hit) {
        auto& waiters = file_waiters[rel];
        waiters.push_back(std::move(cb));
        first = waiters.size() == 1;
      }
    }
    if (hit) {
      segment_hits->Inc();
      cb(hit);
      return;
    }
    segment_misses->Inc();
    if (!first) return;
    file_loads->Inc();
    int fd = root_fd;
    bool queued = loader->Post([this, fd, rel, size](catalog::Db*) {
      auto r = OpenRegularBeneath(fd, rel, size);
      OnFileLoaded(rel, r ? Result<OpenFilePtr>(
                                std::make_shared<const OpenFile>(*r, size))
                          : Result<OpenFilePtr>(tl::unexpected(r.error())));
    });
    if (!queued)
      OnFileLoaded(rel, MakeError(ErrorCode::kLocked, "origin loader is busy"));
  }

  void OnFileLoaded(const std::string& rel, const Result<OpenFilePtr>& r) {
    std::vector<std::function<void(const Result<OpenFilePtr>&)>> waiters;
    {
      std::lock_guard lock(mu);
      if (r) {
        files.Put(rel, *r, MonotonicMs());
        cache_bytes->Set(static_cast<double>(files.bytes()));
      }
      if (auto it = file_waiters.find(rel); it != file_waiters.end()) {
        waiters = std::move(it->second);
        file_waiters.erase(it);
      }
    }
    if (!r) LOG_WARN("origin", "{}", r.error().message);
    for (auto& w : waiters) w(r);
  }

  // ---- request handling ------------------------------------------------

  static bool NotModified(const Request& req, const std::string& etag,
                          int64_t last_modified_s) {
    if (const std::string* inm = req.Req("If-None-Match"))
      return IfNoneMatchMatches(*inm, etag);
    if (const std::string* ims = req.Req("If-Modified-Since")) {
      int64_t t = ParseHttpDate(*ims);
      return t >= 0 && last_modified_s <= t;
    }
    return false;
  }

  // A retired version's manifests are kept no longer than its grace has
  // left: a CDN must not serve them after the origin stops serving their
  // segments.
  std::string ManifestCacheControl(const config::OriginConfig& c, bool stable,
                                   const VersionEntry& e) const {
    int64_t max_age = c.manifest_max_age_s;
    int64_t s_maxage = stable ? c.manifest_max_age_s : c.manifest_s_maxage_s;
    if (e.v.retired_at) {
      const int64_t left_ms = *e.v.retired_at +
                              int64_t{opts.cfg.version_grace_s} * 1000 -
                              clock->NowUnixMs();
      const int64_t left_s = std::max<int64_t>(0, left_ms / 1000);
      max_age = std::min(max_age, left_s);
      s_maxage = std::min(s_maxage, left_s);
    }
    return fmt::format(
        "public, max-age={}, s-maxage={}, stale-while-revalidate={}, "
        "stale-if-error={}",
        max_age, s_maxage, c.manifest_max_age_s, kStaleIfErrorS);
  }

  void ServeDoc(Request& req, const Doc& doc, const char* content_type,
                std::string cache_control, int64_t last_modified_s) {
    bool gz = AcceptsGzip(req.ReqOr("Accept-Encoding"));
    const std::string& etag = gz ? doc.etag_gz : doc.etag;
    req.Header("Content-Type", content_type);
    req.Header("Cache-Control", std::move(cache_control));
    req.Header("ETag", etag);
    req.Header("Last-Modified", HttpDate(last_modified_s));
    req.Header("Vary", "Accept-Encoding");
    if (NotModified(req, etag, last_modified_s))
      return Finish(req, 304, nullptr);
    if (gz) req.Header("Content-Encoding", "gzip");
    Finish(req, 200, gz ? doc.gz.get() : doc.body.get());
  }

  void ServeFile(const RequestPtr& req, const std::string& rel, int64_t size,
                 const std::string& hash, const char* content_type,
                 int64_t last_modified_s,
                 const std::string& cache_control = kImmutable) {
    std::string etag = fmt::format("\"{}\"", hash);
    req->Header("Content-Type", content_type);
    req->Header("Cache-Control", cache_control);
    req->Header("ETag", etag);
    req->Header("Last-Modified", HttpDate(last_modified_s));
    req->Header("Accept-Ranges", "bytes");
    if (NotModified(*req, etag, last_modified_s))
      return Finish(*req, 304, nullptr);

    RangeResult range;
    if (const std::string* r = req->Req("Range")) {
      if (IfRangeAllows(req->ReqOr("If-Range"), etag, last_modified_s))
        range = ParseRange(*r, size);
    }
    if (range.kind == RangeKind::kUnsatisfiable) {
      req->Header("Content-Range", fmt::format("bytes */{}", size));
      req->Replace("Cache-Control", "no-store");
      return Finish(*req, 416, nullptr);
    }
    int status = 200;
    int64_t first = 0, length = size;
    if (range.kind == RangeKind::kSatisfiable) {
      status = 206;
      first = range.first;
      length = range.last - range.first + 1;
      req->Header("Content-Range",
                  fmt::format("bytes {}-{}/{}", range.first, range.last, size));
    }
    auto& o = req->out;
    o.status = status;
    o.content_length = length;
    if (req->head) {
      // No file needed: the catalog knows the size.
      o.head = true;
      Count(status, 0);
      return Send(*req);
    }
    WithFile(rel, size,
             [this, req, status, first, length](const Result<OpenFilePtr>& r) {
               if (!r) {
                 return Fail(*req, r.error().code == ErrorCode::kNotFound
                                       ? Failure::kNotFound
                                   : r.error().code == ErrorCode::kLocked
                                       ? Failure::kUnavailable
                                       : Failure::kInternal);
               }
               auto& out = req->out;
               out.status = status;
               out.file_fd = (*r)->fd;
               out.file_owner = *r;
               out.file_offset = first;
               out.length = length;
               Count(status, length);
               Send(*req);
             });
  }

  TokenVerdict CheckToken(const Request& req) {
    const auto& c = *req.cfg;
    VerifyOptions vo;
    vo.hex_keys = {c.signing_key, c.signing_key_previous};
    vo.now_s = clock->NowUnixMs() / 1000;
    vo.skew_s = c.clock_skew_s;
    return VerifyToken(TokenOf(req, c.token_name), req.path, vo);
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
    const auto& c = *req->cfg;
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
    switch (o.kind) {
      case ObjectKind::kMaster:
        return ServeDoc(*req, stable ? e->stable_master : e->master,
                        "application/vnd.apple.mpegurl",
                        ManifestCacheControl(c, stable, *e), lm);
      case ObjectKind::kMpd:
        return ServeDoc(*req, stable ? e->stable_mpd : e->mpd,
                        "application/dash+xml",
                        ManifestCacheControl(c, stable, *e), lm);
      case ObjectKind::kMedia:
        return ServeDoc(*req, e->media[ri], "application/vnd.apple.mpegurl",
                        ManifestCacheControl(c, false, *e), lm);
      case ObjectKind::kIFrames:
        if (!e->iframes[ri]) return Fail(*req, Failure::kNotFound);
        return ServeDoc(*req, *e->iframes[ri], "application/vnd.apple.mpegurl",
                        ManifestCacheControl(c, false, *e), lm);
      case ObjectKind::kThumbsVtt:
        if (!e->thumbs_vtt) return Fail(*req, Failure::kNotFound);
        return ServeDoc(*req, *e->thumbs_vtt, "text/vtt", kImmutable, lm);
      default:
        break;
    }
    std::string rel = e->dir + "/" + MediaFileName(o);
    switch (o.kind) {
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
        // The stable poster follows the current version like the stable
        // manifests, so it is cached as briefly as they are.
        return ServeFile(req, rel, sprite ? t.sprite_size : t.poster_size,
                         sprite ? t.sprite_hash : t.poster_hash, "image/jpeg",
                         lm,
                         stable ? ManifestCacheControl(c, true, *e)
                                : std::string(kImmutable));
      }
      default:
        break;
    }
    Fail(*req, Failure::kInternal);
  }

  // The one request core. `escapes` says whether `in.path` is the raw
  // target (the lane) or was decoded once already (libsoup). Any thread;
  // `reply` is called exactly once, on this thread or a loader thread.
  void Handle(http::LaneRequest&& in, Escapes escapes, http::LaneReply reply) {
    auto req = std::make_shared<Request>();
    req->in = std::move(in);
    req->reply = std::move(reply);
    {
      std::lock_guard lock(mu);
      req->cfg = cfg;
    }
    const auto& c = *req->cfg;
    CommonHeaders(*req);
    const std::string& method = req->in.method;
    if (method != "GET" && method != "HEAD" && method != "OPTIONS")
      return Fail(*req, Failure::kMethod, "", "GET, HEAD, OPTIONS");
    req->head = method == "HEAD";
    if (!c.origin_secret.empty() &&
        !SameSecret(req->ReqOr("X-Vodd-Origin-Auth"), c.origin_secret)) {
      return Fail(*req, Failure::kOriginAuth);
    }
    if (method == "OPTIONS") {
      req->Header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
      req->Header("Access-Control-Allow-Headers", kAllowHeaders);
      req->Header("Access-Control-Max-Age", "86400");
      return Finish(*req, 204, nullptr);
    }
    PathResult parsed = ParseObjectPath(req->in.path, escapes);
    if (!parsed.object) {
      return Fail(*req, parsed.error == PathError::kBad ? Failure::kBadPath
                                                        : Failure::kNotFound);
    }
    req->object = std::move(*parsed.object);
    req->path = escapes == Escapes::kDecodeOnce
                    ? PercentDecode(req->in.path).value_or(req->in.path)
                    : req->in.path;
    WithVersion(req, [this, req](const EntryResult& r) { Serve(req, r); });
  }

  // libsoup: converts the message, pauses it, and fills it in on the HTTP
  // thread when the core replies. A file body is read on a loader thread
  // (this path only serves connections libsoup already owns).
  void HandleSoup(SoupServerMessage* msg, const std::string& path) {
    http::LaneRequest in;
    in.method = soup_server_message_get_method(msg);
    in.path = path;
    GUri* uri = soup_server_message_get_uri(msg);
    const char* query = uri ? g_uri_get_query(uri) : nullptr;
    if (query) in.query = query;
    SoupMessageHeadersIter iter;
    soup_message_headers_iter_init(
        &iter, soup_server_message_get_request_headers(msg));
    const char *name, *value;
    while (soup_message_headers_iter_next(&iter, &name, &value))
      in.headers.emplace_back(name, value);
    auto held =
        std::make_shared<glib::ObjectPtr<SoupServerMessage>>(glib::Ref(msg));
    soup_server_message_pause(msg);
    std::weak_ptr<int> weak = alive;
    GMainContext* c = ctx;
    Handle(std::move(in), Escapes::kAlreadyDecoded,
           [this, weak, c, held](http::LaneResponse&& r) {
             auto resp = std::make_shared<http::LaneResponse>(std::move(r));
             auto apply = [weak, c, held, resp] {
               glib::Post(c, [weak, held, resp] {
                 if (!weak.expired()) ApplySoup(held->get(), *resp);
               });
             };
             if (resp->file_fd < 0 || resp->head) return apply();
             bool queued = loader->Post([resp, apply](catalog::Db*) {
               auto bytes =
                   ReadRange(resp->file_fd, resp->file_offset, resp->length);
               if (bytes) {
                 resp->body = std::move(*bytes);
               } else {
                 resp->status = 500;
                 resp->content_length = 0;
               }
               resp->file_owner.reset();
               resp->file_fd = -1;
               apply();
             });
             if (!queued) {
               resp->status = 503;
               resp->content_length = 0;
               resp->file_owner.reset();
               resp->file_fd = -1;
               apply();
             }
           });
  }

  static void ApplySoup(SoupServerMessage* msg, http::LaneResponse& r) {
    soup_server_message_set_status(msg, static_cast<guint>(r.status), nullptr);
    auto* hdrs = soup_server_message_get_response_headers(msg);
    for (const auto& [k, v] : r.headers)
      soup_message_headers_replace(hdrs, k.c_str(), v.c_str());
    if (r.content_length >= 0)
      soup_message_headers_set_content_length(hdrs, r.content_length);
    if (r.body && !r.head) {
      soup_message_body_append_bytes(soup_server_message_get_response_body(msg),
                                     r.body.get());
    }
    // libsoup would turn a 200 for a request with Range into its own 206 or
    // multipart answer; the core has decided, so the Range is consumed.
    soup_message_headers_remove(soup_server_message_get_request_headers(msg),
                                "Range");
    soup_server_message_unpause(msg);
  }
};

Origin::Origin(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Origin::~Origin() {
  Stop();
  if (impl_->root_fd >= 0) close(impl_->root_fd);
}

void Origin::Reconfigure(const config::OriginConfig& cfg) {
  // cache_mib sized the file cache at start; it stays (restart option).
  auto next = std::make_shared<config::OriginConfig>(cfg);
  next->cache_mib = impl_->opts.cfg.cache_mib;
  std::lock_guard lock(impl_->mu);
  impl_->cfg = std::move(next);
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
  impl->cache_bytes = metrics->GetGauge(
      "vodd_origin_cache_bytes",
      "Bytes of the files held open by the origin's file cache.");
  return std::unique_ptr<Origin>(new Origin(std::move(impl)));
}

void Origin::Attach(http::Server& server) {
  server.HandleLane(
      "/v/", [this](http::LaneRequest&& req, http::LaneReply reply) {
        impl_->Handle(std::move(req), Escapes::kDecodeOnce, std::move(reply));
      });
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
  impl_->HandleSoup(msg, path);
}

void Origin::Handle(http::LaneRequest&& req, http::LaneReply reply) {
  impl_->Handle(std::move(req), Escapes::kDecodeOnce, std::move(reply));
}

}  // namespace vodd::origin
