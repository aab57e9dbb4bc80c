// The fast lane: vodd accepts connections itself and serves the requests of
// one path prefix (the origin's /v/) on a few epoll threads with sendfile(2)
// and writev(2), below libsoup. Every other request, and anything the lane
// does not implement (bodies, Expect, Upgrade, HTTP/1.0), is handed to
// libsoup with its bytes untouched: the lane only ever peeks (MSG_PEEK) at a
// request until it has decided to serve it.
//
//   curl -i http://127.0.0.1:8080/v/<video>/1/v720/1.m4s   (the lane)
//   curl -i http://127.0.0.1:8080/healthz                  (handed to libsoup)
//
// A handler runs on a lane thread and must not block; it answers by calling
// the LaneReply exactly once, from any thread, at once or later (a loader
// thread). The lane writes the status line, Date, Server, Content-Length and
// Connection; the handler supplies the rest.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vodd/glib/ptr.h"

namespace vodd::http {

struct LaneRequest {
  std::string method;  // "GET", "HEAD" or "OPTIONS"
  std::string path;    // as sent: still percent-encoded, without the query
  std::string query;   // as sent, without '?'
  std::vector<std::pair<std::string, std::string>> headers;  // in order
  // The first value of header `name` (ASCII case-insensitive), or null.
  const std::string* Find(std::string_view name) const;
};

struct LaneResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  // The Content-Length to announce; -1 for none (304).
  int64_t content_length = -1;
  // The body, unless `head`: `body` bytes, or `length` bytes of `file_fd`
  // from `file_offset` (sendfile). `file_owner` keeps the fd open.
  bool head = false;
  glib::BytesPtr body;
  std::shared_ptr<const void> file_owner;
  int file_fd = -1;
  int64_t file_offset = 0;
  int64_t length = 0;
  void Header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
};

using LaneReply = std::function<void(LaneResponse&&)>;
using LaneHandler = std::function<void(LaneRequest&& req, LaneReply reply)>;

// ASCII case-insensitive equality of header names.
bool HeaderNameEquals(std::string_view a, std::string_view b);

}  // namespace vodd::http
