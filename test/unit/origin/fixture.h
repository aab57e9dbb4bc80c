// A published version as the pipeline would record it: two video rungs and
// one audio rendition over 10 s (4 s + 4 s + 2 s segments), keyframes every
// 2 s, and a 2-column sprite. Shared by the origin's unit and integration
// tests.
#pragma once

#include <string>

#include "vodd/catalog/media_types.h"

namespace vodd::origin::testing {

inline std::string Hash(char c) { return std::string(64, c); }

inline catalog::PublishedVersion FixtureVersion() {
  catalog::PublishedVersion v;
  v.video_id = "0123456789abcdef0123456789abcdef";
  v.version = 3;
  v.duration_ms = 10000;
  v.published_at = 1700000000123;
  v.playback_policy = "public";

  catalog::Rendition v720;
  v720.name = "v720";
  v720.kind = "video";
  v720.codecs = "avc1.64001f";
  v720.width = 1280;
  v720.height = 720;
  v720.frame_rate_num = 25;
  v720.frame_rate_den = 1;
  v720.timescale = 12800;
  v720.bandwidth_peak = 3200000;
  v720.bandwidth_avg = 2800000;
  v720.init_size = 800;
  v720.init_hash = Hash('a');
  v720.segments = {{1, 0, 51200, 1500000, Hash('1')},
                   {2, 51200, 51200, 1400000, Hash('2')},
                   {3, 102400, 25600, 600000, Hash('3')}};
  v720.keyframes = {{1, 0, 0, 40000},
                    {1, 25600, 700000, 30000},
                    {2, 51200, 0, 42000},
                    {2, 76800, 650000, 31000},
                    {3, 102400, 0, 39000}};

  catalog::Rendition v360 = v720;
  v360.name = "v360";
  v360.codecs = "avc1.64001e";
  v360.width = 640;
  v360.height = 360;
  v360.bandwidth_peak = 900000;
  v360.bandwidth_avg = 750000;
  v360.init_size = 780;
  v360.init_hash = Hash('b');
  v360.segments = {{1, 0, 51200, 400000, Hash('4')},
                   {2, 51200, 51200, 380000, Hash('5')},
                   {3, 102400, 25600, 160000, Hash('6')}};
  v360.keyframes = {
      {1, 0, 0, 12000}, {2, 51200, 0, 12500}, {3, 102400, 0, 11000}};

  catalog::Rendition a0;
  a0.name = "a0";
  a0.kind = "audio";
  a0.codecs = "mp4a.40.2";
  a0.sample_rate = 48000;
  a0.channels = 2;
  a0.language = "en";
  a0.timescale = 48000;
  a0.bandwidth_peak = 132000;
  a0.bandwidth_avg = 128000;
  a0.init_size = 700;
  a0.init_hash = Hash('c');
  a0.segments = {{1, 0, 192512, 64000, Hash('7')},
                 {2, 192512, 191488, 63500, Hash('8')},
                 {3, 384000, 96000, 32000, Hash('9')}};

  v.renditions = {v720, v360, a0};
  catalog::Thumbnails t;
  t.poster_hash = Hash('d');
  t.poster_size = 15000;
  t.sprite_hash = Hash('e');
  t.sprite_size = 24000;
  t.interval_ms = 4000;
  t.tile_width = 160;
  t.tile_height = 90;
  t.columns = 2;
  t.count = 3;
  v.thumbnails = t;
  return v;
}

}  // namespace vodd::origin::testing
