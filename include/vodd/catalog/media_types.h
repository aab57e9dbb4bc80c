// The domain types of published media (renditions, segments, keyframes,
// thumbnails) without any SQLite dependency, so pure code (the origin's HLS
// and DASH renderers) can use them. media.h adds the catalog functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vodd::catalog {

struct Segment {
  int64_t number = 0;      // 1-based; file "<number>.m4s"
  int64_t start_time = 0;  // tfdt, rendition timescale
  int64_t duration = 0;    // rendition timescale
  int64_t size = 0;        // bytes
  std::string hash;        // sha256 hex
};

struct Keyframe {
  int64_t segment_number = 0;
  int64_t time = 0;    // rendition timescale
  int64_t offset = 0;  // byte offset in the segment file (start of its moof)
  int64_t length = 0;  // moof + key sample bytes
};

struct Rendition {
  int64_t id = 0;    // row id (set by PublishVersion / LoadPublished)
  std::string name;  // folder: "v1080", "v720", "a0"
  std::string kind;  // "video" | "audio"
  std::string codecs;
  int64_t width = 0, height = 0;
  int64_t frame_rate_num = 0, frame_rate_den = 1;
  int64_t sample_rate = 0, channels = 0;
  std::string language;  // audio: BCP 47, "und" if unknown
  int64_t timescale = 0;
  int64_t bandwidth_peak = 0, bandwidth_avg = 0;  // bits/s
  int64_t init_size = 0;
  std::string init_hash;
  std::vector<Segment> segments;
  std::vector<Keyframe> keyframes;  // video only
};

struct Thumbnails {
  std::string poster_hash;
  int64_t poster_size = 0;
  std::string sprite_hash;
  int64_t sprite_size = 0;
  int64_t interval_ms = 0;
  int64_t tile_width = 0, tile_height = 0;
  int64_t columns = 0, count = 0;
};

struct PublishedVersion {
  std::string video_id;
  int64_t version = 0;
  int64_t duration_ms = 0;
  int64_t published_at = 0;  // videos.ready_at, for Last-Modified
  // When a newer version replaced this one (loaded as a retired version).
  std::optional<int64_t> retired_at;
  std::string playback_policy;
  std::vector<Rendition> renditions;  // video rungs tallest first, then audio
  std::optional<Thumbnails> thumbnails;
};

}  // namespace vodd::catalog
