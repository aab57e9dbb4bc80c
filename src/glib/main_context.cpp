#include "vodd/glib/main_context.h"

#include <memory>

namespace vodd::glib {
namespace {

using Fn = std::function<void()>;
using TimerFn = std::function<bool()>;

gboolean RunOnce(gpointer data) noexcept {
  (*static_cast<Fn*>(data))();
  return G_SOURCE_REMOVE;
}
void DeleteFn(gpointer data) noexcept { delete static_cast<Fn*>(data); }

gboolean RunTimer(gpointer data) noexcept {
  return (*static_cast<TimerFn*>(data))() ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}
void DeleteTimerFn(gpointer data) noexcept {
  delete static_cast<TimerFn*>(data);
}

}  // namespace

void Post(GMainContext* ctx, std::function<void()> fn) {
  GSource* src = g_idle_source_new();
  g_source_set_priority(src, G_PRIORITY_DEFAULT);
  g_source_set_callback(src, RunOnce, new Fn(std::move(fn)), DeleteFn);
  g_source_attach(src, ctx);
  g_source_unref(src);
}

SourcePtr AddTimer(GMainContext* ctx, std::chrono::milliseconds every,
                   std::function<bool()> fn) {
  GSource* src = g_timeout_source_new(static_cast<guint>(every.count()));
  g_source_set_callback(src, RunTimer, new TimerFn(std::move(fn)),
                        DeleteTimerFn);
  g_source_attach(src, ctx);
  return SourcePtr(src);
}

}  // namespace vodd::glib
