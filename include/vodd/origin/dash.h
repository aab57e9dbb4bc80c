// DASH MPD rendered from the same catalog rows and segment files as HLS
// (DASH-IF IOP timing/addressing: explicit addressing with SegmentTemplate +
// SegmentTimeline and $Number$, startNumber 1, timescale = the media's).
// Pure: no GLib, libsoup or SQLite; any thread; deterministic text.
#pragma once

#include <string>
#include <string_view>

#include "vodd/catalog/media_types.h"

namespace vodd::origin {

// A static MPD: one video AdaptationSet (every video rendition, tallest
// first), one audio AdaptationSet per language, and, when the version has a
// sprite, an image AdaptationSet with the DASH-IF thumbnail_tile property.
// `prefix` goes before every media URL ("" for the versioned URL,
// "<version>/" for the stable one).
std::string RenderMpd(const catalog::PublishedVersion& v,
                      std::string_view prefix = "");

// "PT12.345S".
std::string IsoDuration(int64_t ms);

}  // namespace vodd::origin
