// The lane's connection loop (see vodd/http/lane.h and lane_server.h).
//
// A connection is in one of four states: kReading (peeking at the next
// request), kWaiting (the handler has it), kWriting (a response is going out)
// and kDraining (an error answer was sent; unread bytes are discarded until
// the client closes, so the close does not turn into a reset that would
// destroy the answer). Sockets are edge-triggered: after a response the loop
// looks at the socket again itself, which is what makes pipelining work.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>
#include <gio/gio.h>

#include "http/lane_server.h"
#include "vodd/core/clock.h"
#include "vodd/core/log.h"
#include "vodd/glib/main_context.h"

namespace vodd::http {

bool HeaderNameEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto x = static_cast<unsigned char>(a[i]);
    auto y = static_cast<unsigned char>(b[i]);
    if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

const std::string* LaneRequest::Find(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (HeaderNameEquals(k, name)) return &v;
  }
  return nullptr;
}

namespace {

constexpr size_t kMaxHeaderBytes = 16384;  // request line + headers
constexpr size_t kMaxLineBytes = 8192;     // request line
constexpr size_t kMaxHeaders = 100;
constexpr int64_t kIdleMs = 60000;       // keep-alive / unfinished request
constexpr int64_t kDrainMs = 2000;       // after an error answer
constexpr int64_t kSendChunk = 1 << 20;  // sendfile per call
constexpr uint64_t kListenId = 0;
constexpr uint64_t kEventId = 1;

int64_t NowMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 414:
      return "URI Too Long";
    case 416:
      return "Range Not Satisfiable";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

bool IsTokenChar(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) return false;
  return std::strchr("()<>@,;:\\\"/[]?={}", c) == nullptr;
}

// "close" among the comma-separated tokens of a Connection header.
bool HasCloseToken(std::string_view v) {
  while (!v.empty()) {
    size_t comma = v.find(',');
    std::string_view t = v.substr(0, comma);
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t'))
      t.remove_prefix(1);
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t'))
      t.remove_suffix(1);
    if (HeaderNameEquals(t, "close")) return true;
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return false;
}

// A socket owned by a closure: closed unless taken.
struct FdHolder {
  int fd = -1;
  ~FdHolder() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

// What every worker shares: options, and the hand-off target (touched on
// the HTTP thread only, after the lane threads are gone as well).
struct LaneServer::Shared {
  Options opts;
  glib::ObjectPtr<SoupServer> soup;
  bool stopped = false;  // HTTP thread
};

struct LaneServer::Worker {
  enum class State { kReading, kWaiting, kWriting, kDraining };
  struct Conn {
    int fd = -1;
    uint64_t id = 0;
    State state = State::kReading;
    int64_t last_ms = 0;
    bool close_after = false;
    std::string method;
    // The response being written.
    std::string head;
    size_t head_off = 0;
    glib::BytesPtr body;
    size_t body_off = 0, body_len = 0;
    std::shared_ptr<const void> file_owner;
    int file_fd = -1;
    off_t file_off = 0;
    int64_t file_left = 0;
  };
  // Replies from any thread, picked up by the worker's loop.
  struct Inbox {
    std::mutex mu;
    std::vector<std::pair<uint64_t, LaneResponse>> items;
    int efd = -1;
    std::thread::id owner;
  };

  std::shared_ptr<Shared> shared;
  int ep = -1;
  std::shared_ptr<Inbox> inbox = std::make_shared<Inbox>();
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns;
  std::vector<uint64_t> runnable;  // connections to look at again
  uint64_t next_id = 2;
  std::map<std::pair<std::string, int>, Counter*> counters;
  std::atomic<bool> stop_flag{false};
  std::string date;
  int64_t date_s = -1;

  explicit Worker(std::shared_ptr<Shared> s) : shared(std::move(s)) {
    ep = epoll_create1(EPOLL_CLOEXEC);
    inbox->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kEventId;
    epoll_ctl(ep, EPOLL_CTL_ADD, inbox->efd, &ev);
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.u64 = kListenId;
    epoll_ctl(ep, EPOLL_CTL_ADD, shared->opts.listen_fd, &ev);
  }
  ~Worker() {
    for (auto& [id, c] : conns) close(c->fd);
    if (ep >= 0) close(ep);
    // The eventfd stays open while replies may still be posted to it; the
    // Inbox closes nothing itself, so close it here after marking it dead.
    std::lock_guard lock(inbox->mu);
    if (inbox->efd >= 0) close(inbox->efd);
    inbox->efd = -1;
  }

  void Wake() {
    uint64_t one = 1;
    std::lock_guard lock(inbox->mu);
    if (inbox->efd >= 0) (void)!write(inbox->efd, &one, sizeof one);
  }

  // ---- the loop --------------------------------------------------------

  void Run() {
    inbox->owner = std::this_thread::get_id();
    epoll_event events[128];
    int64_t last_sweep = NowMs();
    while (!stop_flag.load()) {
      int n = epoll_wait(ep, events, 128, 1000);
      if (n < 0 && errno != EINTR) {
        LOG_ERROR("http", "lane epoll_wait: {}", std::strerror(errno));
        break;
      }
      for (int i = 0; i < n; ++i) {
        uint64_t id = events[i].data.u64;
        uint32_t ev = events[i].events;
        if (id == kListenId) {
          Accept();
        } else if (id == kEventId) {
          uint64_t v;
          (void)!read(inbox->efd, &v, sizeof v);
        } else {
          OnEvent(id, ev);
        }
      }
      Pump();
      int64_t now = NowMs();
      if (now - last_sweep >= 1000) {
        last_sweep = now;
        Sweep(now);
      }
    }
  }

  void Pump() {
    while (true) {
      std::vector<std::pair<uint64_t, LaneResponse>> items;
      {
        std::lock_guard lock(inbox->mu);
        items.swap(inbox->items);
      }
      std::vector<uint64_t> run;
      run.swap(runnable);
      if (items.empty() && run.empty()) return;
      for (auto& [id, resp] : items) {
        Conn* c = Find(id);
        if (c && c->state == State::kWaiting) StartResponse(*c, resp);
      }
      for (uint64_t id : run) {
        Conn* c = Find(id);
        if (c && c->state == State::kReading) TryRequest(*c);
      }
    }
  }

  Conn* Find(uint64_t id) {
    auto it = conns.find(id);
    return it == conns.end() ? nullptr : it->second.get();
  }

  void Accept() {
    while (true) {
      int fd = accept4(shared->opts.listen_fd, nullptr, nullptr,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
          LOG_WARN("http", "accept: {}", std::strerror(errno));
        return;
      }
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto c = std::make_unique<Conn>();
      c->fd = fd;
      c->id = next_id++;
      c->last_ms = NowMs();
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
      ev.data.u64 = c->id;
      if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(fd);
        continue;
      }
      conns.emplace(c->id, std::move(c));
    }
  }

  void OnEvent(uint64_t id, uint32_t ev) {
    Conn* c = Find(id);
    if (!c) return;
    if (ev & EPOLLERR) return Close(*c);
    if (c->state == State::kWriting && (ev & (EPOLLOUT | EPOLLHUP))) {
      Flush(*c);
      return;
    }
    if (c->state == State::kReading && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)))
      return TryRequest(*c);
    if (c->state == State::kDraining &&
        (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)))
      return Drain(*c);
    if (ev & EPOLLHUP) {
      // Both directions gone: nothing can be delivered any more.
      if (c->state != State::kWaiting) Close(*c);
    }
  }

  void Sweep(int64_t now) {
    std::vector<uint64_t> dead;
    for (auto& [id, c] : conns) {
      int64_t limit = c->state == State::kDraining ? kDrainMs : kIdleMs;
      if (c->state != State::kWaiting && now - c->last_ms > limit)
        dead.push_back(id);
    }
    for (uint64_t id : dead) Close(*conns[id]);
  }

  void Close(Conn& c) {
    uint64_t id = c.id;
    epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
    close(c.fd);
    conns.erase(id);
  }

  // ---- requests ----------------------------------------------------------

  // Gives the connection, bytes unread, to libsoup on the HTTP thread.
  void HandOff(Conn& c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
    auto holder = std::make_shared<FdHolder>();
    holder->fd = c.fd;
    uint64_t id = c.id;
    conns.erase(id);
    std::shared_ptr<Shared> s = shared;
    glib::Post(s->opts.ctx, [s, holder] {
      if (s->stopped) return;
      GError* err = nullptr;
      GSocket* sock = g_socket_new_from_fd(holder->fd, &err);
      if (!sock) {
        LOG_WARN("http", "hand-off: {}", err ? err->message : "?");
        g_clear_error(&err);
        return;
      }
      holder->fd = -1;  // the GSocket owns it now
      GSocketConnection* conn =
          g_socket_connection_factory_create_connection(sock);
      GSocketAddress* local = g_socket_get_local_address(sock, nullptr);
      GSocketAddress* remote = g_socket_get_remote_address(sock, nullptr);
      if (!soup_server_accept_iostream(s->soup.get(), G_IO_STREAM(conn), local,
                                       remote, &err)) {
        LOG_WARN("http", "hand-off: {}", err ? err->message : "?");
        g_clear_error(&err);
      }
      if (local) g_object_unref(local);
      if (remote) g_object_unref(remote);
      g_object_unref(conn);
      g_object_unref(sock);
    });
  }

  // An answer the lane makes itself (400, 414, 431); the connection is
  // closed after it.
  void ErrorResponse(Conn& c, int status, const char* code) {
    LaneResponse r;
    r.status = status;
    std::string body = fmt::format(
        R"({{"error":{{"code":"{}","message":"{}"}}}})", code, Reason(status));
    r.Header("Content-Type", "application/json");
    r.Header("Cache-Control", "no-store");
    r.content_length = static_cast<int64_t>(body.size());
    r.body.reset(g_bytes_new(body.data(), body.size()));
    c.close_after = true;
    c.method = "other";
    StartResponse(c, r);
  }

  // Decides what the bytes waiting on `c` are, without consuming them
  // unless the lane serves the request.
  void TryRequest(Conn& c) {
    char buf[kMaxHeaderBytes + 1];
    ssize_t n = recv(c.fd, buf, sizeof buf, MSG_PEEK);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      return Close(c);
    }
    if (n == 0) return Close(c);
    c.last_ms = NowMs();
    std::string_view data(buf, static_cast<size_t>(n));
    const std::string& prefix = shared->opts.prefix;
    if (prefix.empty()) return HandOff(c);
    // Is it (or could it still become) GET|HEAD|OPTIONS <prefix>…?
    bool maybe = false, lane = false;
    for (const char* m : {"GET ", "HEAD ", "OPTIONS "}) {
      std::string want = std::string(m) + prefix;
      size_t k = std::min(want.size(), data.size());
      if (data.compare(0, k, want, 0, k) == 0) {
        maybe = true;
        lane = data.size() >= want.size();
      }
    }
    if (!maybe) return HandOff(c);
    size_t line_end = data.find("\r\n");
    if (line_end == std::string_view::npos) {
      if (data.size() > kMaxLineBytes)
        return ErrorResponse(c, 414, "uri_too_long");
      if (data.find('\n') != std::string_view::npos)
        return ErrorResponse(c, 400, "bad_request");
      return;  // wait for more
    }
    if (!lane) return HandOff(c);
    if (line_end > kMaxLineBytes) return ErrorResponse(c, 414, "uri_too_long");
    size_t end = data.find("\r\n\r\n");
    if (end == std::string_view::npos) {
      if (data.size() > kMaxHeaderBytes)
        return ErrorResponse(c, 431, "headers_too_large");
      return;
    }
    size_t total = end + 4;
    // The request line: METHOD SP target SP HTTP/1.1.
    std::string_view line = data.substr(0, line_end);
    size_t sp1 = line.find(' ');
    size_t sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != line.npos)
      return ErrorResponse(c, 400, "bad_request");
    std::string_view version = line.substr(sp2 + 1);
    if (version != "HTTP/1.1") {
      if (version.size() == 8 && version.substr(0, 5) == "HTTP/")
        return HandOff(c);  // HTTP/1.0 and friends: libsoup's
      return ErrorResponse(c, 400, "bad_request");
    }
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    for (char ch : target) {
      auto u = static_cast<unsigned char>(ch);
      if (u <= 0x20 || u >= 0x7f) return ErrorResponse(c, 400, "bad_request");
    }
    LaneRequest req;
    req.method = std::string(line.substr(0, sp1));
    size_t q = target.find('?');
    size_t hash = target.find('#');
    if (hash != std::string_view::npos) target = target.substr(0, hash);
    req.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos)
      req.query = std::string(target.substr(q + 1));
    // Header fields.
    size_t pos = line_end + 2;
    bool has_host = false, close_after = false;
    while (pos < end + 2) {
      size_t eol = data.find("\r\n", pos);
      std::string_view h = data.substr(pos, eol - pos);
      pos = eol + 2;
      if (h.empty()) break;
      size_t colon = h.find(':');
      if (colon == 0 || colon == std::string_view::npos)
        return ErrorResponse(c, 400, "bad_request");
      std::string_view name = h.substr(0, colon);
      for (char ch : name) {
        if (!IsTokenChar(ch)) return ErrorResponse(c, 400, "bad_request");
      }
      std::string_view value = h.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
      for (char ch : value) {
        auto u = static_cast<unsigned char>(ch);
        if ((u < 0x20 && ch != '\t') || u == 0x7f)
          return ErrorResponse(c, 400, "bad_request");
      }
      if (req.headers.size() >= kMaxHeaders)
        return ErrorResponse(c, 431, "headers_too_large");
      if (HeaderNameEquals(name, "Host")) {
        if (has_host) return ErrorResponse(c, 400, "bad_request");
        has_host = true;
      } else if (HeaderNameEquals(name, "Connection")) {
        close_after = close_after || HasCloseToken(value);
      } else if (HeaderNameEquals(name, "Content-Length")) {
        if (value != "0") return HandOff(c);  // a body: libsoup's
      } else if (HeaderNameEquals(name, "Transfer-Encoding") ||
                 HeaderNameEquals(name, "Expect") ||
                 HeaderNameEquals(name, "Upgrade")) {
        return HandOff(c);
      }
      req.headers.emplace_back(std::string(name), std::string(value));
    }
    if (!has_host) return ErrorResponse(c, 400, "bad_request");
    // Ours: consume exactly the request's bytes.
    size_t got = 0;
    while (got < total) {
      ssize_t r = recv(c.fd, buf, total - got, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return Close(c);
      got += static_cast<size_t>(r);
    }
    c.close_after = close_after;
    c.method = req.method;
    c.state = State::kWaiting;
    std::shared_ptr<Inbox> box = inbox;
    uint64_t id = c.id;
    shared->opts.handler(std::move(req), [box, id](LaneResponse&& r) {
      std::lock_guard lock(box->mu);
      box->items.emplace_back(id, std::move(r));
      if (std::this_thread::get_id() != box->owner && box->efd >= 0) {
        uint64_t one = 1;
        (void)!write(box->efd, &one, sizeof one);
      }
    });
  }

  // ---- responses -----------------------------------------------------------

  const std::string& Date() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != date_s) {
      date_s = ts.tv_sec;
      date = HttpDate(date_s);
    }
    return date;
  }

  void CountResponse(const std::string& method, int status) {
    if (!shared->opts.metrics) return;
    auto key = std::make_pair(method, status);
    auto it = counters.find(key);
    if (it == counters.end()) {
      std::string handler = shared->opts.prefix;
      handler.erase(std::remove(handler.begin(), handler.end(), '/'),
                    handler.end());
      if (method == "other") handler = "other";
      it = counters
               .emplace(key, shared->opts.metrics->GetCounter(
                                 "vodd_http_requests_total",
                                 "HTTP requests answered.",
                                 {{"handler", handler},
                                  {"method", method},
                                  {"code", std::to_string(status)}}))
               .first;
    }
    it->second->Inc();
  }

  void StartResponse(Conn& c, LaneResponse& r) {
    CountResponse(c.method, r.status);
    std::string& h = c.head;
    h.clear();
    h.reserve(512);
    fmt::format_to(std::back_inserter(h),
                   "HTTP/1.1 {} {}\r\nDate: {}\r\nServer: vodd\r\n", r.status,
                   Reason(r.status), Date());
    for (const auto& [k, v] : r.headers) {
      h += k;
      h += ": ";
      h += v;
      h += "\r\n";
    }
    if (r.content_length >= 0)
      fmt::format_to(std::back_inserter(h), "Content-Length: {}\r\n",
                     r.content_length);
    if (c.close_after) h += "Connection: close\r\n";
    h += "\r\n";
    c.head_off = 0;
    c.body.reset();
    c.body_off = c.body_len = 0;
    c.file_owner.reset();
    c.file_fd = -1;
    c.file_left = 0;
    if (!r.head) {
      if (r.body) {
        c.body = std::move(r.body);
        c.body_len = g_bytes_get_size(c.body.get());
      } else if (r.file_fd >= 0 && r.length > 0) {
        c.file_owner = std::move(r.file_owner);
        c.file_fd = r.file_fd;
        c.file_off = static_cast<off_t>(r.file_offset);
        c.file_left = r.length;
      }
    }
    c.state = State::kWriting;
    Flush(c);
  }

  void Flush(Conn& c) {
    c.last_ms = NowMs();
    while (c.head_off < c.head.size() || c.body_off < c.body_len) {
      iovec iov[2];
      int cnt = 0;
      if (c.head_off < c.head.size()) {
        iov[cnt].iov_base = c.head.data() + c.head_off;
        iov[cnt++].iov_len = c.head.size() - c.head_off;
      }
      if (c.body_off < c.body_len) {
        gsize size = 0;
        const auto* p =
            static_cast<const char*>(g_bytes_get_data(c.body.get(), &size));
        iov[cnt].iov_base = const_cast<char*>(p + c.body_off);
        iov[cnt++].iov_len = c.body_len - c.body_off;
      }
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = static_cast<size_t>(cnt);
      int flags = MSG_NOSIGNAL | (c.file_left > 0 ? MSG_MORE : 0);
      ssize_t n = sendmsg(c.fd, &msg, flags);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        return Close(c);
      }
      auto left = static_cast<size_t>(n);
      size_t from_head = std::min(left, c.head.size() - c.head_off);
      c.head_off += from_head;
      c.body_off += left - from_head;
    }
    while (c.file_left > 0) {
      ssize_t n =
          sendfile(c.fd, c.file_fd, &c.file_off,
                   static_cast<size_t>(std::min(c.file_left, kSendChunk)));
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        return Close(c);
      }
      if (n == 0) return Close(c);  // the file shrank under us
      c.file_left -= n;
    }
    // Done.
    c.body.reset();
    c.file_owner.reset();
    c.file_fd = -1;
    if (c.close_after) {
      shutdown(c.fd, SHUT_WR);
      c.state = State::kDraining;
      return Drain(c);
    }
    c.state = State::kReading;
    runnable.push_back(c.id);  // a pipelined request may already be there
  }

  void Drain(Conn& c) {
    char buf[4096];
    while (true) {
      ssize_t n = recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      return Close(c);
    }
  }
};

LaneServer::LaneServer(Options opts) : shared_(std::make_shared<Shared>()) {
  shared_->soup = glib::Ref(opts.soup);
  shared_->opts = std::move(opts);
  int n = std::max(1, shared_->opts.threads);
  for (int i = 0; i < n; ++i)
    workers_.push_back(std::make_unique<Worker>(shared_));
}

LaneServer::~LaneServer() { Stop(); }

void LaneServer::Start() {
  for (auto& w : workers_) {
    Worker* raw = w.get();
    threads_.emplace_back([raw] {
      // A peer that closes mid-sendfile must give EPIPE, not kill vodd.
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &set, nullptr);
      raw->Run();
    });
  }
}

void LaneServer::Stop() {
  shared_->stopped = true;
  for (auto& w : workers_) {
    w->stop_flag.store(true);
    w->Wake();
  }
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  workers_.clear();
}

}  // namespace vodd::http
