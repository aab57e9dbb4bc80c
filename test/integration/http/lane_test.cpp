// The fast lane over real sockets: a Server with a lane handler under /v/
// (bytes, sendfile, replies from another thread) and libsoup routes for the
// rest, driven by a raw TCP client so keep-alive, pipelining, trickled
// requests, limits and hand-offs are visible byte for byte.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "support/test_util.h"
#include "vodd/glib/main_context.h"
#include "vodd/http/server.h"

namespace vodd::http {
namespace {

constexpr int64_t kFileSize = 8 << 20;

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

// A Server in its own thread: lane handler for /v/, libsoup routes for
// /healthz, /api/echo and /v/ (reached only on handed-off connections).
class LaneHarness {
 public:
  LaneHarness() {
    char tmpl[] = "/tmp/vodd-lane-XXXXXX";
    file_path_ = std::string(mkdtemp(tmpl)) + "/big.bin";
    {
      std::ofstream f(file_path_, std::ios::binary);
      std::string block(1 << 16, '\0');
      for (int64_t i = 0; i < kFileSize / static_cast<int64_t>(block.size());
           ++i) {
        for (size_t j = 0; j < block.size(); ++j)
          block[j] = static_cast<char>('a' + (i + j) % 26);
        f << block;
      }
    }
    file_ = std::make_shared<Fd>(open(file_path_.c_str(), O_RDONLY));
    std::promise<int> port;
    auto fut = port.get_future();
    thread_ = std::thread([this, &port] {
      ctx_ = g_main_context_new();
      g_main_context_push_thread_default(ctx_);
      loop_ = g_main_loop_new(ctx_, FALSE);
      {
        auto server = Server::Create({"127.0.0.1", 0}, &metrics_).value();
        server->HandleLane("/v/", [this](LaneRequest&& req, LaneReply reply) {
          OnLane(std::move(req), std::move(reply));
        });
        server->Handle("/v/", [](SoupServerMessage* msg, const std::string&) {
          Respond(msg, 200, "text/plain", "soup");
        });
        server->Handle("/healthz",
                       [](SoupServerMessage* msg, const std::string&) {
                         Respond(msg, 200, "text/plain", "ok\n");
                       });
        server->Handle(
            "/api/echo", [](SoupServerMessage* msg, const std::string&) {
              SoupMessageBody* body = soup_server_message_get_request_body(msg);
              GBytes* b = soup_message_body_flatten(body);
              gsize n = 0;
              const char* p = static_cast<const char*>(g_bytes_get_data(b, &n));
              Respond(msg, 200, "text/plain", std::string_view(p, n));
              g_bytes_unref(b);
            });
        if (!server->Start()) std::abort();
        server_ = server.get();
        port.set_value(server->port());
        g_main_loop_run(loop_);
        server->Stop();
        server_ = nullptr;
      }
      g_main_loop_unref(loop_);
      g_main_context_pop_thread_default(ctx_);
      g_main_context_unref(ctx_);
    });
    port_ = fut.get();
  }
  ~LaneHarness() {
    Shutdown();
    std::filesystem::remove_all(
        std::filesystem::path(file_path_).parent_path());
  }
  void Shutdown() {
    if (!thread_.joinable()) return;
    glib::Post(ctx_, [this] { g_main_loop_quit(loop_); });
    thread_.join();
  }
  int port() const { return port_; }
  int lane_requests() const { return lane_requests_.load(); }
  MetricsRegistry& metrics() { return metrics_; }

  static char FileByte(int64_t off) {
    int64_t block = off / (1 << 16), j = off % (1 << 16);
    return static_cast<char>('a' + (block + j) % 26);
  }

 private:
  void OnLane(LaneRequest&& req, LaneReply reply) {
    lane_requests_++;
    LaneResponse r;
    r.head = req.method == "HEAD";
    r.Header("X-Lane", "1");
    r.Header("X-Path", req.path);
    if (req.path == "/v/file") {
      r.Header("Content-Type", "application/octet-stream");
      r.content_length = kFileSize;
      r.file_owner = file_;
      r.file_fd = file_->fd;
      r.length = kFileSize;
      return reply(std::move(r));
    }
    std::string body = "lane " + req.method + " " + req.path;
    if (const std::string* h = req.Find("x-echo")) body += " echo=" + *h;
    r.content_length = static_cast<int64_t>(body.size());
    r.body.reset(g_bytes_new(body.data(), body.size()));
    if (req.path == "/v/async") {
      // Answered later from another thread, as the origin's loaders do.
      std::thread([reply = std::move(reply), r = std::move(r)]() mutable {
        usleep(20 * 1000);
        reply(std::move(r));
      }).detach();
      return;
    }
    reply(std::move(r));
  }

  std::string file_path_;
  std::shared_ptr<Fd> file_;
  MetricsRegistry metrics_;
  std::thread thread_;
  GMainContext* ctx_ = nullptr;
  GMainLoop* loop_ = nullptr;
  Server* server_ = nullptr;
  int port_ = 0;
  std::atomic<int> lane_requests_{0};
};

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool ok = false;  // a complete response was read
  std::string Header(const std::string& n) const {
    auto it = headers.find(n);
    return it == headers.end() ? "" : it->second;
  }
};

// A raw HTTP/1.1 client on one TCP connection.
class Client {
 public:
  explicit Client(int port) {
    fd_ = vodd::test::ConnectLoopback(port);
    connected_ = fd_ >= 0;
    timeval tv{20, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Client() {
    if (fd_ >= 0) close(fd_);
  }
  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  void Send(const std::string& s) {
    size_t done = 0;
    while (done < s.size()) {
      ssize_t n = send(fd_, s.data() + done, s.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }
  // Reads one response; `head` when it answers a HEAD (no body follows).
  Reply Read(bool head = false) {
    Reply r;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return r;
    }
    std::string head_block = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    size_t eol = head_block.find("\r\n");
    std::string line = head_block.substr(0, eol);
    if (line.size() < 12) return r;
    r.status = std::atoi(line.substr(9, 3).c_str());
    size_t pos = eol == std::string::npos ? head_block.size() : eol + 2;
    while (pos < head_block.size()) {
      size_t e = head_block.find("\r\n", pos);
      if (e == std::string::npos) e = head_block.size();
      std::string h = head_block.substr(pos, e - pos);
      pos = e + 2;
      size_t colon = h.find(':');
      if (colon == std::string::npos) continue;
      std::string name = h.substr(0, colon);
      for (auto& ch : name) ch = static_cast<char>(tolower(ch));
      std::string value = h.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[name] = value;
    }
    size_t len = 0;
    if (!head && r.status != 304 && r.status != 204 &&
        r.headers.count("content-length"))
      len = std::stoul(r.headers["content-length"]);
    while (buf_.size() < len) {
      if (!Fill()) return r;
    }
    r.body = buf_.substr(0, len);
    buf_.erase(0, len);
    r.ok = true;
    return r;
  }
  // True when the server closed the connection (EOF, or a reset for one
  // still in the listen backlog) with nothing unread.
  bool Closed() {
    if (!buf_.empty()) return false;
    char c;
    ssize_t n = recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }
  size_t buffered() const { return buf_.size(); }

 private:
  bool Fill() {
    char tmp[65536];
    ssize_t n = recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

std::string Get(const std::string& path, const std::string& method = "GET",
                const std::string& extra = "") {
  return method + " " + path + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n";
}

TEST_CASE("one keep-alive connection mixes lane and libsoup requests",
          "[integration][http]") {
  LaneHarness h;
  Client c(h.port());
  REQUIRE(c.connected());
  c.Send(Get("/v/small"));
  auto a = c.Read();
  REQUIRE(a.ok);
  CHECK(a.status == 200);
  CHECK(a.Header("x-lane") == "1");
  CHECK(a.body == "lane GET /v/small");
  CHECK(a.Header("server") == "vodd");
  CHECK_FALSE(a.Header("date").empty());
  CHECK(a.Header("connection").empty());
  c.Send(Get("/v/async"));
  auto async = c.Read();
  CHECK(async.body == "lane GET /v/async");
  // Not a lane request: the connection, request unread, goes to libsoup.
  c.Send(Get("/healthz"));
  auto health = c.Read();
  REQUIRE(health.ok);
  CHECK(health.status == 200);
  CHECK(health.body == "ok\n");
  CHECK(health.Header("x-lane").empty());
  // libsoup keeps it alive and owns it from now on, /v/ included.
  c.Send(Get("/v/small"));
  auto again = c.Read();
  REQUIRE(again.ok);
  CHECK(again.body == "soup");
  c.Send(Get("/healthz"));
  CHECK(c.Read().body == "ok\n");
  CHECK(h.lane_requests() == 2);
}

TEST_CASE("pipelined requests are answered in order", "[integration][http]") {
  LaneHarness h;
  Client c(h.port());
  REQUIRE(c.connected());
  c.Send(Get("/v/a") + Get("/v/async") + Get("/v/file", "HEAD") +
         Get("/v/b", "GET", "X-Echo: 1\r\n") + Get("/healthz") +
         Get("/api/echo", "POST", "Content-Length: 5\r\n") + "hello");
  CHECK(c.Read().body == "lane GET /v/a");
  CHECK(c.Read().body == "lane GET /v/async");
  auto head = c.Read(true);
  CHECK(head.status == 200);
  CHECK(head.Header("content-length") == std::to_string(kFileSize));
  CHECK(c.Read().body == "lane GET /v/b echo=1");
  // The rest is libsoup's, the bytes the lane peeked at untouched.
  CHECK(c.Read().body == "ok\n");
  auto echo = c.Read();
  CHECK(echo.status == 200);
  CHECK(echo.body == "hello");
  CHECK(h.lane_requests() == 4);
}

TEST_CASE("a request trickled byte by byte", "[integration][http]") {
  LaneHarness h;
  Client c(h.port());
  REQUIRE(c.connected());
  std::string req = Get("/v/slow", "GET", "X-Echo: trickle\r\n");
  for (char ch : req) {
    c.Send(std::string(1, ch));
    usleep(1000);
  }
  auto r = c.Read();
  REQUIRE(r.ok);
  CHECK(r.body == "lane GET /v/slow echo=trickle");
  // The same for a request the lane hands off.
  for (char ch : Get("/healthz")) {
    c.Send(std::string(1, ch));
    usleep(1000);
  }
  CHECK(c.Read().body == "ok\n");
}

TEST_CASE("limits and garbage", "[integration][http]") {
  LaneHarness h;
  SECTION("oversized headers: 431") {
    Client c(h.port());
    c.Send(Get("/v/x", "GET", "X-Big: " + std::string(20000, 'b') + "\r\n"));
    auto r = c.Read();
    CHECK(r.status == 431);
    CHECK(r.Header("connection") == "close");
    CHECK(c.Closed());
  }
  SECTION("too many header fields: 431") {
    Client c(h.port());
    std::string many;
    for (int i = 0; i < 150; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
    c.Send(Get("/v/x", "GET", many));
    CHECK(c.Read().status == 431);
  }
  SECTION("a request line that never ends: 414") {
    Client c(h.port());
    c.Send("GET /v/" + std::string(9000, 'a'));
    CHECK(c.Read().status == 414);
  }
  SECTION("malformed lane requests: 400") {
    for (const std::string& bad :
         {std::string("GET /v/x HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n"),
          std::string("GET /v/x HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n"),
          std::string("GET /v/x y HTTP/1.1\r\nHost: x\r\n\r\n"),
          std::string("GET /v/x HTTP/1.1\r\n\r\n"),  // no Host
          std::string("GET /v/x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
          std::string("GET /v/x HTTP/9\r\nHost: x\r\n\r\n"),
          std::string("GET /v/x\nHost: x\n\n")}) {
      INFO(bad);
      Client c(h.port());
      c.Send(bad);
      auto r = c.Read();
      CHECK(r.status == 400);
      CHECK(r.Header("content-type") == "application/json");
    }
    CHECK(h.lane_requests() == 0);
  }
  SECTION("garbage that is not a lane request goes to libsoup") {
    Client c(h.port());
    c.Send(std::string("\x16\x03\x01 not http at all\r\n\r\n"));
    auto r = c.Read();
    CHECK(r.status == 400);
    CHECK(r.Header("x-lane").empty());
  }
  // The server is still fine.
  Client c(h.port());
  c.Send(Get("/v/ok"));
  CHECK(c.Read().body == "lane GET /v/ok");
}

TEST_CASE("sendfile bodies, HEAD, and clients leaving mid-body",
          "[integration][http]") {
  LaneHarness h;
  SECTION("a whole file and a HEAD on one connection") {
    Client c(h.port());
    c.Send(Get("/v/file"));
    auto r = c.Read();
    REQUIRE(r.ok);
    REQUIRE(r.body.size() == static_cast<size_t>(kFileSize));
    bool same = true;
    for (int64_t i = 0; i < kFileSize; i += 4099)
      same = same && r.body[static_cast<size_t>(i)] == LaneHarness::FileByte(i);
    CHECK(same);
    c.Send(Get("/v/file", "HEAD") + Get("/v/after"));
    auto head = c.Read(true);
    CHECK(head.status == 200);
    CHECK(head.Header("content-length") == std::to_string(kFileSize));
    // No body bytes between the HEAD answer and the next one.
    CHECK(c.Read().body == "lane GET /v/after");
  }
  SECTION("clients closing mid-sendfile") {
    for (int i = 0; i < 20; ++i) {
      Client c(h.port());
      int small = 4096;
      setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
      c.Send(Get("/v/file"));
      char buf[1000];
      CHECK(recv(c.fd(), buf, sizeof buf, 0) > 0);
      linger lg{1, 0};  // reset, not a clean close
      if (i % 2) setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    Client c(h.port());
    c.Send(Get("/v/alive"));
    CHECK(c.Read().body == "lane GET /v/alive");
  }
  SECTION("Connection: close is honoured") {
    Client c(h.port());
    c.Send(Get("/v/bye", "GET", "Connection: close\r\n"));
    auto r = c.Read();
    CHECK(r.body == "lane GET /v/bye");
    CHECK(r.Header("connection") == "close");
    CHECK(c.Closed());
  }
}

TEST_CASE("many concurrent keep-alive connections", "[integration][http]") {
  LaneHarness h;
  constexpr int kThreads = 16, kConnsPerThread = 8, kRequests = 5;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::unique_ptr<Client>> conns;
      for (int i = 0; i < kConnsPerThread; ++i)
        conns.push_back(std::make_unique<Client>(h.port()));
      for (int k = 0; k < kRequests; ++k) {
        for (int i = 0; i < kConnsPerThread; ++i) {
          std::string p = "/v/" + std::to_string(t) + "-" + std::to_string(i);
          conns[static_cast<size_t>(i)]->Send(Get(
              p, "GET", k == 2 ? "" : "X-Echo: " + std::to_string(k) + "\r\n"));
        }
        for (int i = 0; i < kConnsPerThread; ++i) {
          std::string p = "/v/" + std::to_string(t) + "-" + std::to_string(i);
          std::string want = "lane GET " + p;
          if (k != 2) want += " echo=" + std::to_string(k);
          if (conns[static_cast<size_t>(i)]->Read().body == want) good++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(good.load() == kThreads * kConnsPerThread * kRequests);
  std::string text = h.metrics().Render();
  CHECK(text.find("vodd_http_requests_total{handler=\"v\",method=\"GET\","
                  "code=\"200\"} " +
                  std::to_string(kThreads * kConnsPerThread * kRequests)) !=
        std::string::npos);
}

TEST_CASE("Stop closes the listener and lane connections",
          "[integration][http]") {
  auto h = std::make_unique<LaneHarness>();
  int port = h->port();
  Client idle(port);
  idle.Send(Get("/v/x"));
  REQUIRE(idle.Read().ok);
  Client partial(port);
  partial.Send("GET /v/x HTTP/1.1\r\n");
  h->Shutdown();
  CHECK(idle.Closed());
  CHECK(partial.Closed());
  Client late(port);
  CHECK_FALSE(late.connected());
}

}  // namespace
}  // namespace vodd::http
