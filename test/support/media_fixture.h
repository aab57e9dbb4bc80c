// Catalog rows for tests that publish a version by hand: a video rendition
// with every field PublishVersion needs. Tests override what they assert on.
// And the reverse: a published rendition's files joined into one MP4.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <fstream>
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

// Writes init.mp4 and every segment of rendition `r` (under out_dir/r.name)
// to `path`, one after the other: a file ffmpeg/ffprobe play as a whole.
inline void JoinRendition(const std::string& out_dir,
                          const catalog::Rendition& r,
                          const std::string& path) {
  const std::string dir = out_dir + "/" + r.name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  auto append = [&](const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    out << in.rdbuf();
  };
  append(dir + "/init.mp4");
  for (const auto& s : r.segments)
    append(fmt::format("{}/{}.m4s", dir, s.number));
}

}  // namespace vodd::test
