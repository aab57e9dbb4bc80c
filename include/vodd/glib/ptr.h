// unique_ptr with one deleter per C handle family. Ownership is spelled out at
// the call site: Adopt(p) takes a transfer-full reference, Ref(p) adds one to
// a borrowed pointer, AdoptFloating(p) sinks a fresh floating reference
// (GStreamer elements: otherwise gst_bin_add plus our unref frees twice).
#pragma once

#include <memory>
#include <string>

#include <glib-object.h>
#include <glib.h>

namespace vodd::glib {

struct GObjectDeleter {
  void operator()(gpointer p) const {
    if (p) g_object_unref(p);
  }
};
template <typename T>
using ObjectPtr = std::unique_ptr<T, GObjectDeleter>;

template <typename T>
ObjectPtr<T> Adopt(T* p) {
  return ObjectPtr<T>(p);
}
template <typename T>
ObjectPtr<T> Ref(T* p) {
  return ObjectPtr<T>(p ? static_cast<T*>(g_object_ref(p)) : nullptr);
}
template <typename T>
ObjectPtr<T> AdoptFloating(T* p) {
  return ObjectPtr<T>(p ? static_cast<T*>(g_object_ref_sink(p)) : nullptr);
}

struct GFreeDeleter {
  void operator()(gpointer p) const { g_free(p); }
};
using CharPtr = std::unique_ptr<char, GFreeDeleter>;

struct GErrorDeleter {
  void operator()(GError* e) const {
    if (e) g_error_free(e);
  }
};
using ErrorPtr = std::unique_ptr<GError, GErrorDeleter>;

struct GStrvDeleter {
  void operator()(char** v) const { g_strfreev(v); }
};
using StrvPtr = std::unique_ptr<char*, GStrvDeleter>;

struct GKeyFileDeleter {
  void operator()(GKeyFile* k) const {
    if (k) g_key_file_unref(k);
  }
};
using KeyFilePtr = std::unique_ptr<GKeyFile, GKeyFileDeleter>;

struct GMainLoopDeleter {
  void operator()(GMainLoop* l) const {
    if (l) g_main_loop_unref(l);
  }
};
using MainLoopPtr = std::unique_ptr<GMainLoop, GMainLoopDeleter>;

struct GMainContextDeleter {
  void operator()(GMainContext* c) const {
    if (c) g_main_context_unref(c);
  }
};
using MainContextPtr = std::unique_ptr<GMainContext, GMainContextDeleter>;

struct GSourceDeleter {
  void operator()(GSource* s) const {
    if (s) {
      g_source_destroy(s);
      g_source_unref(s);
    }
  }
};
// Owns an attached source: destroying the pointer detaches it.
using SourcePtr = std::unique_ptr<GSource, GSourceDeleter>;

struct GBytesDeleter {
  void operator()(GBytes* b) const {
    if (b) g_bytes_unref(b);
  }
};
using BytesPtr = std::unique_ptr<GBytes, GBytesDeleter>;

inline std::string ErrorMessage(const GError* e) {
  return e && e->message ? e->message : "unknown error";
}

}  // namespace vodd::glib
