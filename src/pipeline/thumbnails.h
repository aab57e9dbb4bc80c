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
#include <vector>

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

}  // namespace vodd::pipeline
