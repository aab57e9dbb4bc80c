// Keyframe decoding, sprite composition and JPEG encoding. See thumbnails.h.
#include "pipeline/thumbnails.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "pipeline/gst_util.h"
#include "vodd/pipeline/gst_ptr.h"

namespace vodd::pipeline {
namespace {

using glib::Adopt;
using glib::ObjectPtr;

// A small appsrc → … → appsink pipeline run to EOS on the calling thread.
class AppPipeline {
 public:
  static Result<AppPipeline> Launch(const std::string& description) {
    TRY(EnsureGstInit());
    GError* raw = nullptr;
    GstElement* p = gst_parse_launch(description.c_str(), &raw);
    glib::ErrorPtr err(raw);
    if (!p || err) {
      if (p) gst_object_unref(p);
      return MakeError(
          ErrorCode::kUnsupported,
          fmt::format("thumbnail pipeline: {}", glib::ErrorMessage(err.get())));
    }
    AppPipeline a;
    a.pipeline_ = glib::AdoptFloating(p);
    a.src_ = Adopt(gst_bin_get_by_name(GST_BIN(p), "src"));
    a.sink_ = Adopt(gst_bin_get_by_name(GST_BIN(p), "sink"));
    if (!a.src_ || !a.sink_)
      return MakeError(ErrorCode::kInternal, "thumbnail pipeline");
    return a;
  }
  AppPipeline() = default;
  AppPipeline(AppPipeline&&) = default;
  ~AppPipeline() {
    if (pipeline_) gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
  }

  Status Start() {
    if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) ==
        GST_STATE_CHANGE_FAILURE) {
      TRY(BusError());
      return MakeError(ErrorCode::kMedia, "thumbnail pipeline did not start");
    }
    return Ok();
  }
  GstAppSrc* src() { return GST_APP_SRC(src_.get()); }

  // Pulls samples until EOS; stops on the first bus error.
  Result<std::vector<MiniPtr<GstSample>>> Drain(int timeout_s) {
    std::vector<MiniPtr<GstSample>> out;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    for (;;) {
      auto sample = AdoptMini(gst_app_sink_try_pull_sample(
          GST_APP_SINK(sink_.get()), 100 * GST_MSECOND));
      if (sample) {
        out.push_back(std::move(sample));
        continue;
      }
      TRY(BusError());
      if (gst_app_sink_is_eos(GST_APP_SINK(sink_.get()))) return out;
      if (std::chrono::steady_clock::now() > deadline) {
        return MakeError(ErrorCode::kTimeout, "thumbnail pipeline stalled");
      }
    }
  }

 private:
  Status BusError() {
    auto bus = Adopt(gst_element_get_bus(pipeline_.get()));
    auto msg = AdoptMini(gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR));
    if (!msg) return Ok();
    return tl::unexpected(ErrorFromBus(msg.get(), "thumbnail"));
  }

  ObjectPtr<GstElement> pipeline_, src_, sink_;
};

MiniPtr<GstBuffer> BufferFrom(bmff::ByteView data) {
  GstBuffer* b = gst_buffer_new_allocate(nullptr, data.size(), nullptr);
  gst_buffer_fill(b, 0, data.data(), data.size());
  return AdoptMini(b);
}

}  // namespace

Result<std::vector<RgbImage>> DecodeKeyframes(
    const bmff::Bytes& avcc, const std::vector<bmff::Bytes>& samples, int width,
    int height, int timeout_s) {
  if (samples.empty()) return std::vector<RgbImage>{};
  TRY_ASSIGN(
      auto app,
      AppPipeline::Launch(fmt::format(
          "appsrc name=src format=time ! avdec_h264 ! videoconvert ! "
          "videoscale method=lanczos ! video/x-raw,format=RGB,width={},"
          "height={},pixel-aspect-ratio=1/1 ! appsink name=sink sync=false",
          width, height)));
  auto codec_data = BufferFrom(avcc);
  auto caps = AdoptMini(
      gst_caps_new_simple("video/x-h264", "stream-format", G_TYPE_STRING, "avc",
                          "alignment", G_TYPE_STRING, "au", "codec_data",
                          GST_TYPE_BUFFER, codec_data.get(), nullptr));
  gst_app_src_set_caps(app.src(), caps.get());
  TRY(app.Start());
  // Each IDR is pushed as its own frame, a second apart, so order is kept.
  for (size_t i = 0; i < samples.size(); ++i) {
    GstBuffer* b = BufferFrom(samples[i]).release();
    GST_BUFFER_PTS(b) = GST_BUFFER_DTS(b) = GstClockTime(i) * GST_SECOND;
    GST_BUFFER_DURATION(b) = GST_SECOND;
    if (gst_app_src_push_buffer(app.src(), b) != GST_FLOW_OK)
      break;  // error on the bus
  }
  gst_app_src_end_of_stream(app.src());
  TRY_ASSIGN(auto decoded, app.Drain(timeout_s));
  if (decoded.size() != samples.size()) {
    return MakeError(ErrorCode::kMedia,
                     fmt::format("decoded {} of {} keyframes", decoded.size(),
                                 samples.size()));
  }
  std::vector<RgbImage> out;
  for (auto& s : decoded) {
    GstVideoInfo info;
    if (!gst_video_info_from_caps(&info, gst_sample_get_caps(s.get()))) {
      return MakeError(ErrorCode::kInternal,
                       "decoded frame without video caps");
    }
    GstVideoFrame frame;
    if (!gst_video_frame_map(&frame, &info, gst_sample_get_buffer(s.get()),
                             GST_MAP_READ)) {
      return MakeError(ErrorCode::kInternal, "cannot map a decoded frame");
    }
    RgbImage img{GST_VIDEO_INFO_WIDTH(&info), GST_VIDEO_INFO_HEIGHT(&info), {}};
    const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
    const auto* src =
        static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
    img.pixels.resize(size_t(img.width) * img.height * 3);
    for (int y = 0; y < img.height; ++y) {
      std::memcpy(img.pixels.data() + size_t(y) * img.width * 3,
                  src + size_t(y) * stride, size_t(img.width) * 3);
    }
    gst_video_frame_unmap(&frame);
    out.push_back(std::move(img));
  }
  return out;
}

RgbImage ComposeSprite(const std::vector<RgbImage>& tiles, int columns) {
  RgbImage sheet;
  if (tiles.empty() || columns <= 0) return sheet;
  const int tw = tiles.front().width, th = tiles.front().height;
  const int rows = int((tiles.size() + size_t(columns) - 1) / size_t(columns));
  sheet.width = tw * std::min<int>(columns, int(tiles.size()));
  sheet.height = th * rows;
  sheet.pixels.assign(size_t(sheet.width) * sheet.height * 3, 0);
  for (size_t i = 0; i < tiles.size(); ++i) {
    const RgbImage& t = tiles[i];
    const int x0 = int(i % size_t(columns)) * tw,
              y0 = int(i / size_t(columns)) * th;
    const int w = std::min(tw, t.width), h = std::min(th, t.height);
    for (int y = 0; y < h; ++y) {
      std::memcpy(sheet.pixels.data() + (size_t(y0 + y) * sheet.width + x0) * 3,
                  t.pixels.data() + size_t(y) * t.width * 3, size_t(w) * 3);
    }
  }
  return sheet;
}

Result<bmff::Bytes> EncodeJpeg(const RgbImage& image, int quality,
                               int timeout_s) {
  if (image.width <= 0 || image.height <= 0) {
    return MakeError(ErrorCode::kInvalidArgument, "empty image");
  }
  TRY_ASSIGN(auto app, AppPipeline::Launch(fmt::format(
                           "appsrc name=src format=time ! jpegenc quality={} ! "
                           "appsink name=sink sync=false",
                           std::clamp(quality, 1, 100))));
  GstVideoInfo info;
  gst_video_info_set_format(&info, GST_VIDEO_FORMAT_RGB, guint(image.width),
                            guint(image.height));
  GST_VIDEO_INFO_FPS_N(&info) = 1;
  GST_VIDEO_INFO_FPS_D(&info) = 1;
  auto caps = AdoptMini(gst_video_info_to_caps(&info));
  gst_app_src_set_caps(app.src(), caps.get());
  TRY(app.Start());
  // GStreamer's RGB rows are padded to 4 bytes.
  const int stride = GST_VIDEO_INFO_PLANE_STRIDE(&info, 0);
  GstBuffer* b =
      gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&info), nullptr);
  GstMapInfo map;
  if (!gst_buffer_map(b, &map, GST_MAP_WRITE)) {
    gst_buffer_unref(b);
    return MakeError(ErrorCode::kInternal, "cannot map a buffer");
  }
  for (int y = 0; y < image.height; ++y) {
    std::memcpy(map.data + size_t(y) * stride,
                image.pixels.data() + size_t(y) * image.width * 3,
                size_t(image.width) * 3);
  }
  gst_buffer_unmap(b, &map);
  GST_BUFFER_PTS(b) = 0;
  GST_BUFFER_DURATION(b) = GST_SECOND;
  gst_app_src_push_buffer(app.src(), b);
  gst_app_src_end_of_stream(app.src());
  TRY_ASSIGN(auto out, app.Drain(timeout_s));
  if (out.size() != 1)
    return MakeError(ErrorCode::kMedia, "jpegenc produced no image");
  BufferMap m(gst_sample_get_buffer(out.front().get()));
  if (!m.ok()) return MakeError(ErrorCode::kInternal, "cannot map the JPEG");
  return bmff::Bytes(m.data(), m.data() + m.size());
}

void KeyCapture::Offer(double t, bmff::ByteView data) {
  if (want_poster && poster.empty() && t >= poster_time) {
    poster.assign(data.begin(), data.end());
  }
  if (want_sprite) {
    bool stored = false;
    while (double(tiles.size()) * interval <= t + 1e-6) {
      if (!stored) keys.emplace_back(data.begin(), data.end());
      stored = true;
      tiles.push_back(keys.size() - 1);
    }
  }
  last_key.assign(data.begin(), data.end());
}

Result<catalog::Thumbnails> MakeThumbnails(
    const std::string& out_dir, int sprite_interval_s, int thumb_width,
    const KeySource& top, const KeySource& small, double duration_ms) {
  constexpr int kSpriteMaxColumns = 10;
  catalog::Thumbnails th;
  const bmff::Bytes& poster =
      top.capture->poster.empty() ? top.capture->last_key : top.capture->poster;
  if (poster.empty())
    return MakeError(ErrorCode::kMedia, "no keyframe for a poster");
  TRY_ASSIGN(auto poster_img,
             DecodeKeyframes(*top.avcc, {poster}, top.width, top.height));
  TRY_ASSIGN(auto poster_jpg, EncodeJpeg(poster_img.front()));
  TRY(WriteWholeFile(out_dir + "/poster.jpg", poster_jpg));
  th.poster_size = int64_t(poster_jpg.size());
  th.poster_hash = Sha256Hex(poster_jpg);

  const KeyCapture& cap = *small.capture;
  const int tile_w = std::min<int>(thumb_width, small.width & ~1);
  const int tile_h =
      std::max(2, int(std::lround(double(tile_w) * double(small.height) /
                                  double(small.width) / 2.0)) *
                      2);
  TRY_ASSIGN(auto frames,
             DecodeKeyframes(*small.avcc, cap.keys, tile_w, tile_h));
  std::vector<RgbImage> tiles;
  for (size_t k : cap.tiles) tiles.push_back(frames.at(k));
  // Past the last keyframe the last tile repeats, so the sheet covers the
  // whole duration (the WebVTT track has a cue per interval).
  const double interval_ms = sprite_interval_s * 1000.0;
  while (!frames.empty() && double(tiles.size()) * interval_ms < duration_ms) {
    tiles.push_back(frames.back());
  }
  const int columns = std::min<int>(kSpriteMaxColumns, int(tiles.size()));
  TRY_ASSIGN(auto sprite_jpg, EncodeJpeg(ComposeSprite(tiles, columns)));
  TRY(WriteWholeFile(out_dir + "/sprite.jpg", sprite_jpg));
  th.sprite_size = int64_t(sprite_jpg.size());
  th.sprite_hash = Sha256Hex(sprite_jpg);
  th.interval_ms = int64_t(sprite_interval_s) * 1000;
  th.tile_width = tile_w;
  th.tile_height = tile_h;
  th.columns = columns;
  th.count = int64_t(tiles.size());
  return th;
}

}  // namespace vodd::pipeline
