// Catalog rows for tests that publish a version by hand: a video rendition
// with every field PublishVersion needs. Tests override what they assert on.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "vodd/catalog/media_types.h"

namespace vodd::test {

inline catalog::Rendition VideoRendition(std::string name, int width,
                                         int height, int frame_rate,
                                         int64_t timescale, int64_t bandwidth) {
  catalog::Rendition r;
  r.name = std::move(name);
  r.kind = "video";
  r.codecs = height > 480 ? "avc1.64001f" : "avc1.64001e";
  r.width = width;
  r.height = height;
  r.frame_rate_num = frame_rate;
  r.frame_rate_den = 1;
  r.timescale = timescale;
  r.bandwidth_peak = r.bandwidth_avg = bandwidth;
  r.init_size = 700;
  r.init_hash = "init";
  return r;
}

}  // namespace vodd::test
