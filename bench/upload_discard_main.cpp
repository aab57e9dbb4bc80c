// vodd-bench-discard: bench/upload's second client ceiling. A tus server in
// plain C++ that keeps nothing: POST answers 201, PATCH reads the body with
// 1 MiB read()s, throws it away and answers 204 with the new offset. It does
// no disk I/O and next to no CPU work, so a client's rate against it is the
// most that client can send on this machine; unlike the Node discard server
// it does not compete with a Node client for the same cores.
//
//   PORT=1234 vodd-bench-discard
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
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
