// Posting work to a GMainContext from any thread (MediaMTX-style messages:
// the context's owner runs the closure). Used by background threads to hand a
// result back to the HTTP thread.
#pragma once

#include <chrono>
#include <functional>

#include <glib.h>

#include "vodd/glib/ptr.h"

namespace vodd::glib {

// Runs `fn` once on `ctx`'s thread at default priority. Thread-safe. If the
// context is never iterated again, `fn` is destroyed without running.
void Post(GMainContext* ctx, std::function<void()> fn);

// A repeating timer on `ctx`; destroying the returned SourcePtr stops it.
// `fn` returns false to stop early.
SourcePtr AddTimer(GMainContext* ctx, std::chrono::milliseconds every,
                   std::function<bool()> fn);

}  // namespace vodd::glib
