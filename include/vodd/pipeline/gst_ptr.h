// unique_ptr deleters for GStreamer handles, in the style of vodd/glib/ptr.h:
// GstObject-derived handles (elements, pads, buses) use glib::ObjectPtr with
// Adopt/Ref/AdoptFloating; mini objects (buffers, samples, messages, caps,
// events) use MiniPtr below.
#pragma once

#include <memory>

#include <gst/gst.h>

#include "vodd/glib/ptr.h"

namespace vodd::pipeline {

struct GstMiniObjectDeleter {
  void operator()(void* p) const {
    if (p) gst_mini_object_unref(GST_MINI_OBJECT_CAST(p));
  }
};
template <typename T>
using MiniPtr = std::unique_ptr<T, GstMiniObjectDeleter>;

// Takes a transfer-full mini object reference.
template <typename T>
MiniPtr<T> AdoptMini(T* p) {
  return MiniPtr<T>(p);
}

// Maps a GstBuffer for reading; unmaps when destroyed.
class BufferMap {
 public:
  explicit BufferMap(GstBuffer* buffer) : buffer_(buffer) {
    ok_ = buffer_ && gst_buffer_map(buffer_, &info_, GST_MAP_READ);
  }
  ~BufferMap() {
    if (ok_) gst_buffer_unmap(buffer_, &info_);
  }
  BufferMap(const BufferMap&) = delete;
  BufferMap& operator=(const BufferMap&) = delete;
  bool ok() const { return ok_; }
  const uint8_t* data() const { return info_.data; }
  size_t size() const { return info_.size; }

 private:
  GstBuffer* buffer_;
  GstMapInfo info_{};
  bool ok_ = false;
};

}  // namespace vodd::pipeline
