// The libcurl tus client. One easy handle, reset between requests, keeps the
// connection alive across PATCHes; the byte stream is read from the file in
// the read callback, so memory stays at curl's buffer size whatever the chunk
// size.
#include "vodd/upload/client.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <glib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "vodd/core/ids.h"
#include "vodd/core/strings.h"
#include "vodd/storage/storage.h"
#include "vodd/upload/tus.h"

namespace vodd::upload {
namespace {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

struct Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<Response*>(user);
  std::string line(data, size * n);
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' ||
                              value.back() == ' ')) {
      value.pop_back();
    }
    r->headers[name] = value;
  }
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<Response*>(user);
  if (r->body.size() < 4096) r->body.append(data, size * n);
  return size * n;
}

struct Source {
  int fd = -1;
  int64_t pos = 0, end = 0;
};

size_t OnRead(char* buf, size_t size, size_t n, void* user) {
  auto* s = static_cast<Source*>(user);
  int64_t want =
      std::min<int64_t>(static_cast<int64_t>(size * n), s->end - s->pos);
  if (want <= 0) return 0;
  ssize_t got =
      pread(s->fd, buf, static_cast<size_t>(want), static_cast<off_t>(s->pos));
  if (got < 0) return CURL_READFUNC_ABORT;
  s->pos += got;
  return static_cast<size_t>(got);
}

struct ProgressState {
  std::function<void(const ClientProgress&)>* cb = nullptr;
  int64_t base = 0, total = 0;
  std::chrono::steady_clock::time_point start;
  int64_t start_done = 0;
  std::chrono::steady_clock::time_point last;
};

int OnXfer(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t ulnow) {
  auto* p = static_cast<ProgressState*>(user);
  auto now = std::chrono::steady_clock::now();
  if (now - p->last < std::chrono::milliseconds(200)) return 0;
  p->last = now;
  ClientProgress cp;
  cp.done = p->base + ulnow;
  cp.total = p->total;
  double secs = std::chrono::duration<double>(now - p->start).count();
  if (secs > 0)
    cp.bytes_per_s = static_cast<double>(cp.done - p->start_done) / secs;
  if (*p->cb) (*p->cb)(cp);
  return 0;
}

class Session {
 public:
  explicit Session(const ClientOptions& o) : o_(o) {}

  Result<Response> Do(const std::string& method, const std::string& url,
                      std::vector<std::string> headers, Source* body = nullptr,
                      ProgressState* progress = nullptr) {
    if (!c_) c_.reset(curl_easy_init());
    if (!c_) return MakeError(ErrorCode::kInternal, "curl_easy_init failed");
    CURL* c = c_.get();
    curl_easy_reset(c);  // options only: the connection stays open
    Response r;
    headers.push_back(std::string("Tus-Resumable: ") +
                      std::string(kTusVersion));
    if (!o_.token.empty())
      headers.push_back("Authorization: Bearer " + o_.token);
    headers.push_back("Expect:");
    curl_slist* list = nullptr;
    for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
    SlistPtr hl(list);
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
    // Idle, not total, timeouts: below 1 byte/s for 60 s is a dead link.
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    if (method == "HEAD") {
      curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else {
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    if (body) {
      curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
      // Bigger reads, fewer callbacks and sends (curl's maximum is 2 MiB).
      curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 1L << 20);
      curl_easy_setopt(c, CURLOPT_READFUNCTION, OnRead);
      curl_easy_setopt(c, CURLOPT_READDATA, body);
      curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
                       static_cast<curl_off_t>(body->end - body->pos));
    } else if (method == "POST") {
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
    }
    if (progress) {
      curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnXfer);
      curl_easy_setopt(c, CURLOPT_XFERINFODATA, progress);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
      return MakeError(ErrorCode::kIo, fmt::format("{} {}: {}", method, url,
                                                   curl_easy_strerror(rc)));
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    return r;
  }

 private:
  const ClientOptions& o_;
  CurlPtr c_;
};

std::string StateFile(const ClientOptions& o) {
  if (!o.state_file.empty()) return o.state_file;
  return std::string(g_get_user_cache_dir()) + "/vodd/uploads.json";
}

nlohmann::json LoadState(const std::string& path) {
  std::ifstream f(path);
  if (!f) return nlohmann::json::object();
  try {
    return nlohmann::json::parse(f);
  } catch (const std::exception&) {
    return nlohmann::json::object();
  }
}

void SaveState(const std::string& path, const nlohmann::json& j) {
  std::string dir = path.substr(0, path.rfind('/'));
  storage::MakeDirs(dir);
  storage::AtomicWriteFile(dir, path.substr(path.rfind('/') + 1), j.dump(2));
}

std::string Resolve(const std::string& server, const std::string& location) {
  if (location.find("://") != std::string::npos) return location;
  std::string base = server;
  size_t scheme = base.find("://");
  size_t slash = scheme == std::string::npos ? std::string::npos
                                             : base.find('/', scheme + 3);
  if (slash != std::string::npos) base = base.substr(0, slash);
  return base + location;
}

Error StatusError(const std::string& what, const Response& r) {
  ErrorCode code = ErrorCode::kInternal;
  if (r.status == 401 || r.status == 403)
    code = ErrorCode::kUnauthenticated;
  else if (r.status == 507)
    code = ErrorCode::kNoSpace;
  else if (r.status == 413)
    code = ErrorCode::kTooLarge;
  std::string body = r.body.substr(0, r.body.find('\n'));
  return Error{code, fmt::format("{}: HTTP {} {}", what, r.status, body)};
}

std::string Sha1Base64(int fd, int64_t from, int64_t to) {
  GChecksum* sum = g_checksum_new(G_CHECKSUM_SHA1);
  std::string buf(1 << 20, '\0');
  for (int64_t pos = from; pos < to;) {
    ssize_t n = pread(fd, buf.data(),
                      static_cast<size_t>(std::min<int64_t>(
                          static_cast<int64_t>(buf.size()), to - pos)),
                      static_cast<off_t>(pos));
    if (n <= 0) break;
    g_checksum_update(sum, reinterpret_cast<const guchar*>(buf.data()), n);
    pos += n;
  }
  guint8 digest[20];
  gsize len = sizeof digest;
  g_checksum_get_digest(sum, digest, &len);
  g_checksum_free(sum);
  return Base64Encode(
      std::string_view(reinterpret_cast<const char*>(digest), len));
}

int64_t ParseNonNegativeIntOr(const std::string& s) {
  return ParseNonNegativeInt(s).value_or(-1);
}

}  // namespace

std::string ProgressLine(const ClientProgress& p) {
  auto mib = [](double b) { return b / (1024.0 * 1024.0); };
  std::string eta = "--:--";
  if (p.bytes_per_s > 0 && p.total >= p.done) {
    // Over 100 days (a stalled link's trickle) is no estimate, and far
    // enough from int64's range to convert safely.
    const double ms =
        static_cast<double>(p.total - p.done) * 1000 / p.bytes_per_s;
    if (ms < 100.0 * 86400 * 1000)
      eta = ClockDuration(static_cast<int64_t>(ms));
  }
  int pct = p.total > 0 ? static_cast<int>(p.done * 100 / p.total) : 100;
  int bars = pct / 5;
  return fmt::format("[{}{}] {:3}% {:.1f}/{:.1f} MiB  {:.1f} MiB/s  ETA {}",
                     std::string(static_cast<size_t>(bars), '#'),
                     std::string(static_cast<size_t>(20 - bars), ' '), pct,
                     mib(static_cast<double>(p.done)),
                     mib(static_cast<double>(p.total)), mib(p.bytes_per_s),
                     eta);
}

Result<std::string> UploadFile(
    const std::string& file, const ClientOptions& opts,
    std::function<void(const ClientProgress&)> on_progress) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "open " + file);
  struct FdCloser {
    int fd;
    ~FdCloser() { close(fd); }
  } closer{fd};
  struct stat st {};
  fstat(fd, &st);
  int64_t size = st.st_size;
  char* real = realpath(file.c_str(), nullptr);
  std::string abs = real ? real : file;
  free(real);
  std::string server = opts.server;
  while (!server.empty() && server.back() == '/') server.pop_back();
  std::string fingerprint = fmt::format("{}|{}|{}|{}", server, abs, size,
                                        static_cast<int64_t>(st.st_mtime));
  std::string state_path = StateFile(opts);
  nlohmann::json state = LoadState(state_path);
  Session s(opts);

  std::string url;
  int64_t offset = -1;
  if (state.contains(fingerprint)) {
    url = state[fingerprint].get<std::string>();
    auto r = s.Do("HEAD", url, {});
    if (r && r->status == 200 && r->headers.count("upload-offset")) {
      offset = ParseNonNegativeIntOr(r->headers["upload-offset"]);
    }
  }
  if (offset < 0) {
    std::string name = abs.substr(abs.rfind('/') + 1);
    Metadata md{{"filename", name}};
    if (!opts.title.empty()) md.push_back({"title", opts.title});
    if (!opts.description.empty())
      md.push_back({"description", opts.description});
    auto r = s.Do("POST", server + "/files/",
                  {"Upload-Length: " + std::to_string(size),
                   "Upload-Metadata: " + RenderMetadata(md)});
    if (!r) return tl::unexpected(r.error());
    if (r->status != 201 || !r->headers.count("location")) {
      return tl::unexpected(StatusError("create upload", *r));
    }
    url = Resolve(server, r->headers["location"]);
    offset = 0;
    state[fingerprint] = url;
    SaveState(state_path, state);
  }

  ProgressState ps;
  ps.cb = &on_progress;
  ps.total = size;
  ps.start = std::chrono::steady_clock::now();
  ps.start_done = offset;
  int failures = 0;
  while (offset < size) {
    int64_t end = std::min(size, offset + opts.chunk_bytes);
    Source src{fd, offset, end};
    std::vector<std::string> headers = {
        "Content-Type: application/offset+octet-stream",
        "Upload-Offset: " + std::to_string(offset)};
    if (opts.checksum)
      headers.push_back("Upload-Checksum: sha1 " + Sha1Base64(fd, offset, end));
    ps.base = offset;
    auto r = s.Do("PATCH", url, headers, &src, &ps);
    if (r && r->status == 204 && r->headers.count("upload-offset")) {
      offset = ParseNonNegativeIntOr(r->headers["upload-offset"]);
      if (offset < 0)
        return MakeError(ErrorCode::kInternal, "bad Upload-Offset from server");
      failures = 0;
      continue;
    }
    if (r && (r->status == 401 || r->status == 403 || r->status == 404 ||
              r->status == 410 || r->status == 413)) {
      if (r->status == 404 || r->status == 410) {
        state.erase(fingerprint);
        SaveState(state_path, state);
      }
      return tl::unexpected(StatusError("upload", *r));
    }
    if (++failures > opts.max_retries) {
      if (!r) return tl::unexpected(r.error());
      return tl::unexpected(StatusError("upload", *r));
    }
    // Back off, then ask the server where to continue (409, 423, 460, 5xx,
    // network errors).
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::min(500 * (1 << failures), 10000)));
    auto h = s.Do("HEAD", url, {});
    if (h && h->status == 200 && h->headers.count("upload-offset")) {
      int64_t o = ParseNonNegativeIntOr(h->headers["upload-offset"]);
      if (o >= 0) offset = o;
    }
  }
  if (on_progress) {
    double secs = std::chrono::duration<double>(
                      std::chrono::steady_clock::now() - ps.start)
                      .count();
    on_progress(
        {size, size,
         secs > 0 ? static_cast<double>(size - ps.start_done) / secs : 0});
  }
  state.erase(fingerprint);
  SaveState(state_path, state);
  return url;
}

}  // namespace vodd::upload
