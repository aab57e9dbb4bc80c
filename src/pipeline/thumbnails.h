// Thumbnails from the encoded output's own keyframes: the segmenter hands
// over key samples (IDRs, which decode alone), so neither the poster nor the
// sprite reads the source again or decodes a delta frame.
//
//   appsrc (H.264 AVC IDRs) ! avdec_h264 ! videoconvert ! videoscale
//     ! video/x-raw,format=RGB,width=W,height=H ! appsink
//   appsrc (RGB) ! jpegenc ! appsink
//
// GStreamer has no tiling element, so the sprite sheet is composed here.
// Runs on the calling thread; blocks until done (worker process only).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vodd/catalog/media_types.h"
#include "vodd/core/result.h"
#include "vodd/pipeline/bmff.h"

namespace vodd::pipeline {

struct RgbImage {
  int width = 0, height = 0;
  std::vector<uint8_t> pixels;  // packed RGB, width × 3 bytes per row
};

// Decodes each key sample (AVC length-prefixed, configured by `avcc`) into an
// RGB image of width × height. Errors: kMedia when the decoder fails or
// returns a different number of frames; kTimeout after `timeout_s`.
Result<std::vector<RgbImage>> DecodeKeyframes(
    const bmff::Bytes& avcc, const std::vector<bmff::Bytes>& samples, int width,
    int height, int timeout_s = 60);

// Tiles `tiles` (all the same size) left to right, top to bottom.
RgbImage ComposeSprite(const std::vector<RgbImage>& tiles, int columns);

// JPEG bytes of `image` at `quality` (1–100). Errors: kMedia, kTimeout.
Result<bmff::Bytes> EncodeJpeg(const RgbImage& image, int quality = 85,
                               int timeout_s = 30);

// Keeps the key samples thumbnails are made from, offered in presentation
// order (Offer).
struct KeyCapture {
  // Poster: the first keyframe at or after poster_time (seconds).
  bool want_poster = false;
  double poster_time = 0;
  bmff::Bytes poster;
  // Sprite: for tile k, the first keyframe at or after k × interval.
  bool want_sprite = false;
  double interval = 0;
  std::vector<bmff::Bytes> keys;  // distinct key samples
  std::vector<size_t> tiles;      // tile k → index into keys
  bmff::Bytes last_key;

  void Offer(double t, bmff::ByteView data);
};

// A video rendition's key samples and how to decode them.
struct KeySource {
  const bmff::Bytes* avcc = nullptr;
  int width = 0, height = 0;
  const KeyCapture* capture = nullptr;
};

// Writes poster.jpg (from `top`'s poster capture) and sprite.jpg (from
// `small`'s sprite capture, tiles thumb_width wide, the last tile repeated to
// cover `duration_ms`) into `out_dir`. Errors: kMedia without keyframes, or
// from decoding/encoding; kIo writing.
Result<catalog::Thumbnails> MakeThumbnails(
    const std::string& out_dir, int sprite_interval_s, int thumb_width,
    const KeySource& top, const KeySource& small, double duration_ms);

}  // namespace vodd::pipeline
