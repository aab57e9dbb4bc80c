// vodd-bench-discard: bench/upload's second client ceiling. A tus server in
// plain C++ that keeps nothing: POST answers 201, PATCH reads the body with
// 1 MiB read()s, throws it away and answers 204 with the new offset. It does
// no disk I/O and next to no CPU work, so a client's rate against it is the
// most that client can send on this machine; unlike the Node discard server
// it does not compete with a Node client for the same cores.
//
// Two more servers for bench/upload, each writing under a folder:
// - DURABLE_DIR: a plain durable tus server. One thread per connection reads
//   each body into page-aligned 1 MiB blocks and writes them to
//   DURABLE_DIR/<id> with O_DIRECT (an fdatasync in the background every
//   2 MiB, as vodd does), then fdatasyncs the file and appends + fdatasyncs
//   the new offset to DURABLE_DIR/offsets.log before the 204: what issue #3's
//   durability rule asks, done the straightforward way.
// - IDEAL_DIR: an upper bound for any server that keeps that rule. It throws
//   the body away like the discard server, then writes only the body's last
//   4 KiB at its place in IDEAL_DIR/<id> and makes it durable with one
//   fdatasync (data and the file size, which stands for the offset, in one
//   flush). A real server must write every byte and commit the offset as
//   well, so it can only be slower.
//
//   PORT=1234 vodd-bench-discard
//   PORT=1234 DURABLE_DIR=/some/dir vodd-bench-discard
//   PORT=1234 IDEAL_DIR=/some/dir vodd-bench-discard
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

std::mutex offsets_mutex;
std::map<std::string, long long> offsets;
std::atomic<long long> next_id{0};
const char* durable_dir = nullptr;
const char* ideal_dir = nullptr;
int offsets_log = -1;

constexpr size_t kBlock = 1 << 20;
constexpr size_t kPage = 4096;
constexpr long long kEarlyFlush = 2 << 20;

// One upload's body written durably: O_DIRECT for page-aligned whole pages,
// the page cache for the rest, a background fdatasync every kEarlyFlush
// bytes so the final one has only the tail left.
class DurableBody {
 public:
  DurableBody(const std::string& id, long long offset) : off_(offset) {
    std::string path = std::string(durable_dir) + "/" + id;
    fd_ = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    dfd_ = open(path.c_str(), O_WRONLY | O_CLOEXEC | O_DIRECT);
    block_ = static_cast<char*>(std::aligned_alloc(kPage, kBlock));
    skew_ = static_cast<size_t>(off_) % kPage;
    flushed_ = off_;
  }
  ~DurableBody() {
    if (flusher_.joinable()) flusher_.join();
    std::free(block_);
    if (dfd_ >= 0) close(dfd_);
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0 && dfd_ >= 0 && block_ && !failed_; }
  // Free room in the block for the next read.
  char* room() { return block_ + skew_ + fill_; }
  size_t room_size() const { return kBlock - skew_ - fill_; }
  void Filled(size_t n) {
    fill_ += n;
    if (skew_ + fill_ == kBlock) WriteBlock();
  }
  // Writes the rest, makes it durable and commits the new offset.
  bool Finish(long long* offset) {
    WriteBlock();
    if (flusher_.joinable()) flusher_.join();
    if (fdatasync(fd_) != 0) failed_ = true;
    std::string line = std::to_string(off_) + "\n";
    {
      std::lock_guard<std::mutex> lock(offsets_mutex);
      if (write(offsets_log, line.data(), line.size()) !=
              static_cast<ssize_t>(line.size()) ||
          fdatasync(offsets_log) != 0) {
        failed_ = true;
      }
    }
    *offset = off_;
    return !failed_;
  }

 private:
  void WriteAll(int fd, const char* p, size_t n) {
    while (n > 0 && !failed_) {
      ssize_t w = pwrite(fd, p, n, static_cast<off_t>(off_));
      if (w <= 0) {
        failed_ = true;
        return;
      }
      p += w;
      n -= static_cast<size_t>(w);
      off_ += w;
    }
  }
  void WriteBlock() {
    if (fill_ == 0) return;
    size_t head = skew_ ? std::min(fill_, kPage - skew_) : 0;
    WriteAll(fd_, block_ + skew_, head);
    size_t mid = (fill_ - head) / kPage * kPage;
    WriteAll(dfd_, block_ + skew_ + head, mid);
    WriteAll(fd_, block_ + skew_ + head + mid, fill_ - head - mid);
    fill_ = 0;
    skew_ = static_cast<size_t>(off_) % kPage;
    if (off_ - flushed_ >= kEarlyFlush && !flushing_) {
      if (flusher_.joinable()) flusher_.join();
      flushed_ = off_;
      flushing_ = true;
      flusher_ = std::thread([this] {
        fdatasync(fd_);
        flushing_ = false;
      });
    }
  }
  int fd_ = -1;
  int dfd_ = -1;
  char* block_ = nullptr;
  size_t skew_ = 0;
  size_t fill_ = 0;
  long long off_ = 0;
  long long flushed_ = 0;
  std::atomic<bool> flushing_{false};
  std::thread flusher_;
  bool failed_ = false;
};

bool SendAll(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = write(fd, s.data() + done, s.size() - done);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Case-insensitive header value from a request head, or "".
std::string Header(const std::string& head, const std::string& name) {
  size_t pos = 0;
  while ((pos = head.find("\r\n", pos)) != std::string::npos) {
    pos += 2;
    if (head.size() - pos > name.size() && head[pos + name.size()] == ':' &&
        strncasecmp(head.c_str() + pos, name.c_str(), name.size()) == 0) {
      size_t v = pos + name.size() + 1;
      while (v < head.size() && head[v] == ' ') ++v;
      return head.substr(v, head.find("\r\n", v) - v);
    }
  }
  return "";
}

void Serve(int fd) {
  std::vector<char> buf(1 << 20);
  std::string pending;
  for (;;) {
    size_t end;
    while ((end = pending.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = read(fd, buf.data(), buf.size());
      if (n <= 0) return (void)close(fd);
      pending.append(buf.data(), static_cast<size_t>(n));
    }
    std::string head = pending.substr(0, end + 2);
    pending.erase(0, end + 4);
    std::string method = head.substr(0, head.find(' '));
    size_t path_at = method.size() + 1;
    std::string path = head.substr(path_at, head.find(' ', path_at) - path_at);
    std::string id = path.substr(path.rfind('/') + 1);
    std::string length = Header(head, "Content-Length");
    if (!Header(head, "Transfer-Encoding").empty()) {
      fprintf(stderr, "chunked request bodies are not supported\n");
      return (void)close(fd);
    }
    long long left = length.empty() ? 0 : atoll(length.c_str());
    if (durable_dir && method == "PATCH") {
      long long start;
      {
        std::lock_guard<std::mutex> lock(offsets_mutex);
        start = offsets[id];
      }
      DurableBody out(id, start);
      while (left > 0 && out.ok()) {
        size_t want = static_cast<size_t>(
            std::min<long long>(left, static_cast<long long>(out.room_size())));
        size_t n = std::min(want, pending.size());
        if (n > 0) {
          memcpy(out.room(), pending.data(), n);
          pending.erase(0, n);
        } else {
          ssize_t r = read(fd, out.room(), want);
          if (r <= 0) return (void)close(fd);
          n = static_cast<size_t>(r);
        }
        left -= static_cast<long long>(n);
        out.Filled(n);
      }
      long long offset = 0;
      if (!out.ok() || !out.Finish(&offset)) {
        fprintf(stderr, "durable write failed: %s\n", strerror(errno));
        return (void)close(fd);
      }
      {
        std::lock_guard<std::mutex> lock(offsets_mutex);
        offsets[id] = offset;
      }
      std::string reply =
          "HTTP/1.1 204 No Content\r\nTus-Resumable: 1.0.0\r\n"
          "Content-Length: 0\r\nUpload-Offset: " +
          std::to_string(offset) + "\r\nCache-Control: no-store\r\n\r\n";
      if (!SendAll(fd, reply)) return (void)close(fd);
      continue;
    }
    long long got = std::min<long long>(left, pending.size());
    pending.erase(0, static_cast<size_t>(got));
    left -= got;
    long long body = got;
    while (left > 0) {
      ssize_t n = read(fd, buf.data(),
                       static_cast<size_t>(std::min<long long>(
                           left, static_cast<long long>(buf.size()))));
      if (n <= 0) return (void)close(fd);
      left -= n;
      body += n;
    }
    if (ideal_dir && method == "PATCH" && body > 0) {
      long long body_end;
      {
        std::lock_guard<std::mutex> lock(offsets_mutex);
        body_end = offsets[id] + body;
      }
      std::string file = std::string(ideal_dir) + "/" + id;
      int out = open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      size_t tail = static_cast<size_t>(std::min<long long>(body, kPage));
      bool ok =
          out >= 0 &&
          pwrite(out, buf.data(), tail,
                 static_cast<off_t>(body_end) - static_cast<off_t>(tail)) ==
              static_cast<ssize_t>(tail) &&
          fdatasync(out) == 0;
      if (out >= 0) close(out);
      if (!ok) {
        fprintf(stderr, "ideal write failed: %s\n", strerror(errno));
        return (void)close(fd);
      }
    }
    std::string reply = "HTTP/1.1 ";
    std::string base = "Tus-Resumable: 1.0.0\r\nContent-Length: 0\r\n";
    if (method == "OPTIONS") {
      reply += "204 No Content\r\n" + base + "Tus-Version: 1.0.0\r\n";
    } else if (method == "POST") {
      std::string new_id = std::to_string(++next_id);
      std::lock_guard<std::mutex> lock(offsets_mutex);
      offsets[new_id] = body;
      reply += "201 Created\r\n" + base + "Location: /files/" + new_id +
               "\r\nUpload-Offset: " + std::to_string(body) + "\r\n";
    } else if (method == "PATCH" || method == "HEAD") {
      std::lock_guard<std::mutex> lock(offsets_mutex);
      long long offset = offsets[id] += body;
      reply += std::string(method == "PATCH" ? "204 No Content" : "200 OK") +
               "\r\n" + base + "Upload-Offset: " + std::to_string(offset) +
               "\r\nCache-Control: no-store\r\n";
    } else {
      reply += "405 Method Not Allowed\r\n" + base;
    }
    if (!SendAll(fd, reply + "\r\n")) return (void)close(fd);
  }
}

}  // namespace

int main() {
  const char* port = getenv("PORT");
  if (!port) {
    fprintf(stderr, "usage: PORT=N vodd-bench-discard\n");
    return 2;
  }
  durable_dir = getenv("DURABLE_DIR");
  ideal_dir = getenv("IDEAL_DIR");
  if (durable_dir) {
    std::string log = std::string(durable_dir) + "/offsets.log";
    offsets_log =
        open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (offsets_log < 0) {
      perror(log.c_str());
      return 1;
    }
  }
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(atoi(port)));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(s, 64) != 0) {
    perror("listen");
    return 1;
  }
  printf("listening\n");
  fflush(stdout);
  for (;;) {
    int c = accept(s, nullptr, nullptr);
    if (c < 0) continue;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::thread(Serve, c).detach();
  }
}
