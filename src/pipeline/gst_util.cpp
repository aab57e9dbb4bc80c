#include "pipeline/gst_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

#include <fmt/format.h>

#include "vodd/core/log.h"
#include "vodd/glib/ptr.h"

namespace vodd::pipeline {

Status EnsureGstInit() {
  static std::once_flag once;
  static std::string failure;
  std::call_once(once, [] {
    GError* raw = nullptr;
    if (!gst_init_check(nullptr, nullptr, &raw)) {
      glib::ErrorPtr err(raw);
      failure = glib::ErrorMessage(err.get());
    }
  });
  if (!failure.empty()) {
    return MakeError(ErrorCode::kInternal, "GStreamer init: " + failure);
  }
  return Ok();
}

Result<GstElement*> AddElement(GstBin* bin, const char* factory,
                               const char* name) {
  GstElement* e = gst_element_factory_make(factory, name);
  if (!e) {
    return MakeError(
        ErrorCode::kUnsupported,
        fmt::format("GStreamer element '{}' is not installed", factory));
  }
  if (!gst_bin_add(bin, e)) {  // sinks the floating reference
    return MakeError(ErrorCode::kInternal,
                     fmt::format("cannot add '{}'", factory));
  }
  return e;
}

Status LinkChain(std::initializer_list<GstElement*> chain) {
  GstElement* prev = nullptr;
  for (GstElement* e : chain) {
    if (prev && !gst_element_link(prev, e)) {
      return MakeError(ErrorCode::kInternal, fmt::format("cannot link {} to {}",
                                                         GST_ELEMENT_NAME(prev),
                                                         GST_ELEMENT_NAME(e)));
    }
    prev = e;
  }
  return Ok();
}

Error ErrorFromBus(GstMessage* msg, std::string_view prefix) {
  GError* raw = nullptr;
  gchar* debug = nullptr;
  gst_message_parse_error(msg, &raw, &debug);
  glib::ErrorPtr err(raw);
  glib::CharPtr dbg(debug);
  LOG_WARN("pipeline", "error from {}: {} ({})",
           GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), glib::ErrorMessage(err.get()),
           dbg ? dbg.get() : "");
  return Error{ErrorCode::kMedia,
               fmt::format("{}: {}", prefix, glib::ErrorMessage(err.get()))};
}

Status WriteWholeFile(const std::string& path, bmff::ByteView data) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return ErrnoError(errno, "open " + path);
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return ErrnoError(err, "write " + path);
    }
    done += size_t(n);
  }
  if (::close(fd) != 0) return ErrnoError(errno, "close " + path);
  return Ok();
}

std::string Sha256Hex(bmff::ByteView data) {
  GChecksum* sum = g_checksum_new(G_CHECKSUM_SHA256);
  g_checksum_update(sum, data.data(), gssize(data.size()));
  std::string hex = g_checksum_get_string(sum);
  g_checksum_free(sum);
  return hex;
}

}  // namespace vodd::pipeline
