// Probe: GstDiscoverer on a local file, reduced to what planning needs.
// Equivalent: `gst-discoverer-1.0 -v file.mp4`. The discoverer's own verdict
// is not trusted on its own (it reports success for text files with no
// streams), so the stream list decides.
#include <gst/gst.h>
#include <gst/pbutils/pbutils.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include "pipeline/gst_util.h"
#include "vodd/core/log.h"
#include "vodd/pipeline/bmff.h"
#include "vodd/pipeline/gst_ptr.h"
#include "vodd/pipeline/media.h"

namespace vodd::pipeline {
namespace {

using glib::Adopt;

int RotationFromTags(const GstTagList* tags) {
  if (!tags) return 0;
  gchar* orientation = nullptr;
  if (!gst_tag_list_get_string(tags, GST_TAG_IMAGE_ORIENTATION, &orientation))
    return 0;
  glib::CharPtr owned(orientation);
  const std::string o = orientation;
  if (o == "rotate-90") return 90;
  if (o == "rotate-180") return 180;
  if (o == "rotate-270") return 270;
  return 0;  // flips are applied by videoflip too but do not change the size
}

std::string CodecDescription(GstDiscovererStreamInfo* info) {
  MiniPtr<GstCaps> caps(gst_discoverer_stream_info_get_caps(info));
  if (!caps) return "unknown";
  glib::CharPtr desc(gst_pb_utils_get_codec_description(caps.get()));
  return desc ? desc.get() : "unknown";
}

// An MP4/MOV plays only with its 'moov' index. A file cut before its moov
// (an interrupted copy of a file written moov-last) has none, and qtdemux
// may then wait for it instead of failing: seen as a 30 s probe timeout on a
// loaded machine. So walk the top-level boxes first and fail at once with
// the reason. Files that do not start like ISO-BMFF pass untouched; the
// demuxers judge them.
Status CheckMp4Index(const std::string& path) {
  using bmff::FourCC;
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  std::ifstream in(path, std::ios::binary);
  if (ec || !in) return Ok();  // the probe says why in its own words
  if (size == 0) {
    return MakeError(ErrorCode::kMedia,
                     "not playable media: the file is empty (0 bytes)");
  }
  auto missing = [](std::string_view why) {
    return MakeError(
        ErrorCode::kMedia,
        fmt::format("not playable media: no 'moov' index before {} (an MP4 "
                    "or MOV cut short, e.g. an incomplete copy of a file "
                    "that keeps its index at the end)",
                    why));
  };
  uint64_t pos = 0;
  for (int box = 0; box < 1'000'000; ++box) {
    if (pos >= size) return missing("the end of the file");
    std::array<uint8_t, 16> buf{};
    in.seekg(std::streamoff(pos));
    in.read(reinterpret_cast<char*>(buf.data()),
            std::streamsize(std::min<uint64_t>(16, size - pos)));
    const auto n = in.gcount();
    in.clear();
    if (n < 8) return box == 0 ? Ok() : missing("the end of the file");
    const uint32_t type = (uint32_t(buf[4]) << 24) | (uint32_t(buf[5]) << 16) |
                          (uint32_t(buf[6]) << 8) | uint32_t(buf[7]);
    if (box == 0) {
      // ftyp, or the boxes an old QuickTime file may start with.
      bool iso = false;
      for (auto t : {"ftyp", "moov", "mdat", "wide", "free", "skip", "pnot"})
        iso = iso || type == FourCC(t);
      if (!iso) return Ok();
    }
    if (type == FourCC("moov")) return Ok();
    const uint32_t size32 = (uint32_t(buf[0]) << 24) |
                            (uint32_t(buf[1]) << 16) | (uint32_t(buf[2]) << 8) |
                            uint32_t(buf[3]);
    if (size32 == 0) {  // the box runs to the end of the file
      return missing(fmt::format("the '{}' box that ends the file",
                                 bmff::FourCCString(type)));
    }
    auto header = bmff::ReadBoxHeader(bmff::ByteView(buf.data(), size_t(n)));
    if (!header || !*header) {
      return box == 0 ? Ok() : missing("a damaged box header");
    }
    if ((*header)->size > size - pos) {
      return missing(fmt::format("the file ends inside its '{}' box",
                                 bmff::FourCCString(type)));
    }
    pos += (*header)->size;
  }
  return missing("its millionth top-level box");
}

Error ProbeTimeout(int timeout_s) {
  return Error{ErrorCode::kTimeout,
               fmt::format("probing took over {} s", timeout_s)};
}

// Takes `pipeline` to `state`, waits for `done` or an ERROR on its bus, and
// stops it. No message within the timeout is a timeout, an ERROR is the
// source's fault (with the element's own reason; a failing state change
// posts one too, so the bus decides).
Status RunUntil(GstElement* pipeline, GstState state, GstMessageType done,
                int timeout_s) {
  auto bus = Adopt(gst_element_get_bus(pipeline));
  gst_element_set_state(pipeline, state);
  auto msg = AdoptMini(gst_bus_timed_pop_filtered(
      bus.get(), GstClockTime(timeout_s) * GST_SECOND,
      GstMessageType(GST_MESSAGE_ERROR | done)));
  gst_element_set_state(pipeline, GST_STATE_NULL);
  if (!msg) return tl::unexpected(ProbeTimeout(timeout_s));
  if (GST_MESSAGE_TYPE(msg.get()) != GST_MESSAGE_ERROR) return Ok();
  return tl::unexpected(ErrorFromBus(msg.get(), "not playable media"));
}

// Prerolls `playbin` (every stream into a fakesink) and returns the first
// error. GstDiscoverer alone sometimes misses the error that a damaged file
// posts and runs into its timeout instead (seen with MP4s cut before their
// moov, under load), so this runs first: it fails fast with the demuxer's
// own reason and costs one preroll on good files.
Status PrerollCheck(const char* uri, int timeout_s) {
  auto playbin =
      glib::AdoptFloating(gst_element_factory_make("playbin", nullptr));
  if (!playbin)
    return MakeError(ErrorCode::kUnsupported, "GStreamer element 'playbin'");
  for (const char* prop : {"video-sink", "audio-sink", "text-sink"}) {
    GstElement* sink = gst_element_factory_make("fakesink", nullptr);
    if (!sink)
      return MakeError(ErrorCode::kUnsupported, "GStreamer element 'fakesink'");
    g_object_set(playbin.get(), prop, sink, nullptr);
  }
  g_object_set(playbin.get(), "uri", uri, nullptr);
  return RunUntil(playbin.get(), GST_STATE_PAUSED, GST_MESSAGE_ASYNC_DONE,
                  timeout_s);
}

// The span of a file's timestamps, read once through parsebin without
// decoding: for sources whose demuxer cannot tell the duration (tsdemux
// estimates it from the bitrate, and a TS of a few tens of KB is too small
// for that). Returns 0 when no stream had a timestamp.
struct Span {
  std::mutex mutex;
  GstClockTime first = GST_CLOCK_TIME_NONE, end = 0;
};

GstPadProbeReturn OnParsedBuffer(GstPad*, GstPadProbeInfo* info,
                                 gpointer data) noexcept {
  auto* span = static_cast<Span*>(data);
  GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
  GstClockTime ts =
      GST_BUFFER_PTS_IS_VALID(buf) ? GST_BUFFER_PTS(buf) : GST_BUFFER_DTS(buf);
  if (ts == GST_CLOCK_TIME_NONE) return GST_PAD_PROBE_OK;
  GstClockTime end =
      ts + (GST_BUFFER_DURATION_IS_VALID(buf) ? GST_BUFFER_DURATION(buf) : 0);
  std::lock_guard<std::mutex> lock(span->mutex);
  if (span->first == GST_CLOCK_TIME_NONE || ts < span->first) span->first = ts;
  span->end = std::max(span->end, end);
  return GST_PAD_PROBE_OK;
}

void OnParsedPad(GstElement* parsebin, GstPad* pad, gpointer data) noexcept {
  auto parent = Adopt(gst_element_get_parent(parsebin));
  GstElement* sink = gst_element_factory_make("fakesink", nullptr);
  if (!parent || !sink) return;
  g_object_set(sink, "sync", FALSE, "async", FALSE, nullptr);
  gst_bin_add(GST_BIN(parent.get()), sink);
  auto sink_pad = Adopt(gst_element_get_static_pad(sink, "sink"));
  gst_pad_add_probe(sink_pad.get(), GST_PAD_PROBE_TYPE_BUFFER, OnParsedBuffer,
                    data, nullptr);
  gst_element_sync_state_with_parent(sink);
  gst_pad_link(pad, sink_pad.get());
}

Result<int64_t> MeasureDurationMs(const std::string& path, int timeout_s) {
  auto pipeline = glib::AdoptFloating(gst_pipeline_new(nullptr));
  GstElement* src = gst_element_factory_make("filesrc", nullptr);
  GstElement* parse = gst_element_factory_make("parsebin", nullptr);
  if (!src || !parse) {
    if (src) gst_object_unref(src);
    if (parse) gst_object_unref(parse);
    return MakeError(ErrorCode::kUnsupported, "GStreamer element 'parsebin'");
  }
  g_object_set(src, "location", path.c_str(), nullptr);
  gst_bin_add_many(GST_BIN(pipeline.get()), src, parse, nullptr);
  gst_element_link(src, parse);
  Span span;
  g_signal_connect(parse, "pad-added", G_CALLBACK(OnParsedPad), &span);
  TRY(RunUntil(pipeline.get(), GST_STATE_PLAYING, GST_MESSAGE_EOS, timeout_s));
  std::lock_guard<std::mutex> lock(span.mutex);
  if (span.first == GST_CLOCK_TIME_NONE) return int64_t{0};
  return int64_t((span.end - span.first) / GST_MSECOND);
}

}  // namespace

std::string AudioRenditionName(size_t k) { return fmt::format("a{}", k); }

std::vector<const AudioStreamInfo*> AudioOutputs(const ProbeResult& probe) {
  std::vector<const AudioStreamInfo*> out;
  if (!probe.audio) return out;
  out.push_back(&*probe.audio);
  for (const auto& a : probe.more_audio) out.push_back(&a);
  return out;
}

void SelectAudio(const std::vector<AudioStreamInfo>& streams,
                 ProbeResult& out) {
  out.audio.reset();
  out.more_audio.clear();
  std::set<std::string> used;
  for (size_t i = 0; i < streams.size() && i < kMaxAudioStreams; ++i) {
    AudioStreamInfo a = streams[i];
    const AudioStreamInfo* next =
        i + 1 < std::min(streams.size(), kMaxAudioStreams) ? &streams[i + 1]
                                                           : nullptr;
    // Two mono tracks in different languages are two programmes, not a pair.
    a.mono_pair = a.channels == 1 && next && next->channels == 1 &&
                  next->language == a.language;
    if (!out.audio) {
      used.insert(a.language);
      out.audio = a;
    } else if (a.language != "und" && used.insert(a.language).second &&
               out.more_audio.size() + 1 < kMaxAudioOutputs) {
      out.more_audio.push_back(a);
    }
    if (a.mono_pair) ++i;  // its right track belongs to it
  }
}

Result<ProbeResult> Probe(const std::string& path, int timeout_s) {
  TRY(EnsureGstInit());
  GError* raw_error = nullptr;
  glib::CharPtr uri(gst_filename_to_uri(path.c_str(), &raw_error));
  if (!uri) {
    glib::ErrorPtr err(raw_error);
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("{}: {}", path, glib::ErrorMessage(err.get())));
  }
  TRY(CheckMp4Index(path));
  TRY(PrerollCheck(uri.get(), std::max(1, timeout_s)));
  auto discoverer = Adopt(gst_discoverer_new(
      GstClockTime(std::max(1, timeout_s)) * GST_SECOND, &raw_error));
  if (!discoverer) {
    glib::ErrorPtr err(raw_error);
    return MakeError(
        ErrorCode::kInternal,
        fmt::format("discoverer: {}", glib::ErrorMessage(err.get())));
  }
  auto info = Adopt(
      gst_discoverer_discover_uri(discoverer.get(), uri.get(), &raw_error));
  glib::ErrorPtr err(raw_error);
  if (!info) {
    return MakeError(
        ErrorCode::kMedia,
        fmt::format("not playable media: {}", glib::ErrorMessage(err.get())));
  }
  switch (gst_discoverer_info_get_result(info.get())) {
    case GST_DISCOVERER_OK:
      break;
    case GST_DISCOVERER_TIMEOUT:
      return tl::unexpected(ProbeTimeout(timeout_s));
    case GST_DISCOVERER_MISSING_PLUGINS:
      return MakeError(ErrorCode::kMedia,
                       "not playable media: a codec or container "
                       "vodd has no decoder for");
    case GST_DISCOVERER_URI_INVALID:
    case GST_DISCOVERER_BUSY:
      return MakeError(
          ErrorCode::kInternal,
          fmt::format("probe failed: {}", glib::ErrorMessage(err.get())));
    case GST_DISCOVERER_ERROR:
    default:
      return MakeError(
          ErrorCode::kMedia,
          fmt::format("not playable media: {}", glib::ErrorMessage(err.get())));
  }

  ProbeResult r;
  r.duration_ms =
      int64_t(gst_discoverer_info_get_duration(info.get()) / GST_MSECOND);
  if (auto* top = gst_discoverer_info_get_stream_info(info.get())) {
    auto owned_top = Adopt(top);
    if (GST_IS_DISCOVERER_CONTAINER_INFO(top))
      r.container = CodecDescription(top);
  }

  GList* videos = gst_discoverer_info_get_video_streams(info.get());
  for (GList* l = videos; l; l = l->next) {
    auto* v = GST_DISCOVERER_VIDEO_INFO(l->data);
    if (gst_discoverer_video_info_is_image(v)) continue;
    VideoStreamInfo vi;
    vi.width = int(gst_discoverer_video_info_get_width(v));
    vi.height = int(gst_discoverer_video_info_get_height(v));
    vi.fps_num = int(gst_discoverer_video_info_get_framerate_num(v));
    vi.fps_den = int(gst_discoverer_video_info_get_framerate_denom(v));
    vi.par_num = int(gst_discoverer_video_info_get_par_num(v));
    vi.par_den = int(gst_discoverer_video_info_get_par_denom(v));
    if (vi.par_num <= 0 || vi.par_den <= 0) vi.par_num = vi.par_den = 1;
    vi.rotation = RotationFromTags(
        gst_discoverer_stream_info_get_tags(GST_DISCOVERER_STREAM_INFO(v)));
    vi.codec = CodecDescription(GST_DISCOVERER_STREAM_INFO(v));
    r.video = vi;
    break;
  }
  gst_discoverer_stream_info_list_free(videos);

  GList* audios = gst_discoverer_info_get_audio_streams(info.get());
  std::vector<AudioStreamInfo> streams;
  for (GList* l = audios; l; l = l->next) {
    auto* a = GST_DISCOVERER_AUDIO_INFO(l->data);
    AudioStreamInfo ai;
    ai.sample_rate = int(gst_discoverer_audio_info_get_sample_rate(a));
    ai.channels = int(gst_discoverer_audio_info_get_channels(a));
    ai.codec = CodecDescription(GST_DISCOVERER_STREAM_INFO(a));
    const gchar* lang = gst_discoverer_audio_info_get_language(a);
    ai.language = lang && *lang ? lang : "und";
    ai.index = int(streams.size());
    streams.push_back(std::move(ai));
  }
  gst_discoverer_stream_info_list_free(audios);
  SelectAudio(streams, r);
  // decodebin leaves out a stream it has no decoder for, and the transcode
  // links audio streams by their order: with anything missing, only the
  // first audio rendition is made.
  if (!r.more_audio.empty()) {
    const gchar** missing =
        gst_discoverer_info_get_missing_elements_installer_details(info.get());
    if (missing && *missing) {
      LOG_WARN("pipeline",
               "{}: a decoder is missing ({}); only the first audio track is "
               "used",
               path, *missing);
      r.more_audio.clear();
    }
  }

  if (!r.video && !r.audio) {
    return MakeError(ErrorCode::kMedia,
                     "not playable media: no audio or video stream");
  }
  if (r.duration_ms <= 0) {
    TRY_ASSIGN(r.duration_ms, MeasureDurationMs(path, std::max(1, timeout_s)));
  }
  if (r.duration_ms <= 0) {
    return MakeError(ErrorCode::kMedia, "not playable media: no duration");
  }
  LOG_INFO(
      "pipeline", "probed {}: {} ms, {}{}", path, r.duration_ms,
      r.video ? fmt::format("video {}x{} {}/{} fps rot {} ({}) ",
                            r.video->width, r.video->height, r.video->fps_num,
                            r.video->fps_den, r.video->rotation, r.video->codec)
              : std::string("no video "),
      r.audio ? fmt::format("audio {} Hz {} ch ({}){}{}", r.audio->sample_rate,
                            r.audio->channels, r.audio->codec,
                            r.audio->mono_pair ? " + a mono right track" : "",
                            r.more_audio.empty()
                                ? std::string()
                                : fmt::format(" + {} more language(s)",
                                              r.more_audio.size()))
              : std::string("no audio"));
  return r;
}

}  // namespace vodd::pipeline
