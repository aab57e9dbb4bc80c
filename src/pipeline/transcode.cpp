// Transcode: one GStreamer pipeline that decodes the source once and encodes
// every rung of the ladder plus an audio rendition per language (the probe's
// AudioOutputs) into CMAF, then the poster and sprite from the output's own
// keyframes. The graph, for a 1080p30 a+v source planned to 1080/720/480,
// 4 s segments, 2 s GOP:
//
//   filesrc location=SRC ! decodebin name=d
//   d. ! queue ! videoconvert ! deinterlace method=yadif fields=top
//      ! videoflip video-direction=auto ! videorate
//      ! video/x-raw,framerate=30/1 ! tee name=t
//   t. ! queue ! videoscale method=lanczos ! videoconvert
//      ! video/x-raw,format=I420,width=1920,height=1080,pixel-aspect-ratio=1/1,
//        colorimetry=bt709,chroma-site=mpeg2
//      ! x264enc bitrate=5000 speed-preset=veryfast key-int-max=60
//        option-string=scenecut=0 ! video/x-h264,profile=high ! h264parse
//      ! mp4mux fragment-duration=4000 streamable=true ! appsink    (×3 rungs)
//   d. ! queue ! audioconvert ! audioresample
//      ! audio/x-raw,rate=48000,channels=2 ! audiorate
//      ! voaacenc bitrate=128000
//      ! mp4mux fragment-duration=4000 streamable=true ! appsink
//
// A mono pair (two mono tracks, left and right) replaces the audio queue:
//   d. ! queue ! audioconvert ! audioresample ! audio/x-raw,channels=1 ! i.
//   d. ! queue ! audioconvert ! audioresample ! audio/x-raw,channels=1 ! i.
//   audiointerleave name=i ! audioconvert ! …
// A second language (a bilingual master) adds the same audio branch again,
// for rendition a1, and so on; decodebin's audio pads go to the branches by
// the source's stream order, as the probe counted them.
//
// The graph is built from the probe: only the branches the source has (a
// video-only file in an a+v graph never reaches EOS). The calling thread
// owns everything: it pops bus messages, pulls every appsink, feeds each
// rendition's Segmenter (which writes init.mp4 and <n>.m4s), runs the stall
// watchdog and watches the cancel flag. Streaming threads only run
// GStreamer; the one callback (decodebin pad-added) links a pad to its
// pre-built branch and records what it did.
//
// The same graph serves split-and-stitch (GraphOptions, transcode_graph.h):
// a chunk job builds only the video branch and selects a frame range with an
// accurate seek and two pad probes; the audio job only the audio branch.
//
// Not done here: fsync and publish (the caller), the catalog.
#include <gst/app/gstappsink.h>
#include <gst/audio/audio.h>
#include <gst/gst.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "pipeline/gst_util.h"
#include "pipeline/thumbnails.h"
#include "pipeline/transcode_graph.h"
#include "vodd/core/log.h"
#include "vodd/pipeline/gst_ptr.h"
#include "vodd/pipeline/media.h"
#include "vodd/pipeline/segmenter.h"

namespace vodd::pipeline {

void FillBandwidth(catalog::Rendition& r) {
  int64_t bytes = 0, ticks = 0;
  double peak = 0;
  for (const auto& s : r.segments) {
    bytes += s.size;
    ticks += s.duration;
    if (s.duration > 0) {
      peak = std::max(
          peak, double(s.size) * 8 * double(r.timescale) / double(s.duration));
    }
  }
  r.bandwidth_avg =
      ticks > 0 ? int64_t(std::llround(double(bytes) * 8 * double(r.timescale) /
                                       double(ticks)))
                : 0;
  r.bandwidth_peak = int64_t(std::llround(peak));
}
namespace {

using Clock = std::chrono::steady_clock;
using glib::Adopt;
using glib::ObjectPtr;

constexpr auto kPollInterval = 20 * GST_MSECOND;
constexpr auto kProgressInterval = std::chrono::milliseconds(250);
constexpr int kAudioRate = 48000;
constexpr auto kStopTimeout = std::chrono::seconds(10);

// Writes one rendition's files and collects its catalog entry.
class RenditionWriter : public SegmentSink {
 public:
  RenditionWriter(std::string dir, catalog::Rendition r, KeyCapture capture)
      : dir_(std::move(dir)), r_(std::move(r)), capture_(std::move(capture)) {}

  Status OnInit(const bmff::TrackInfo& track, bmff::ByteView init) override {
    TRY(WriteWholeFile(dir_ + "/init.mp4", init));
    r_.init_size = int64_t(init.size());
    r_.init_hash = Sha256Hex(init);
    r_.codecs = track.codecs;
    r_.timescale = track.timescale;
    if (r_.kind == "video") {
      r_.width = track.width;
      r_.height = track.height;
    } else {
      r_.sample_rate = track.sample_rate;
      r_.channels = track.channels;
    }
    avcc_ = track.avcc;
    return Ok();
  }

  Status OnSegment(const SegmentOut& s) override {
    TRY(WriteWholeFile(fmt::format("{}/{}.m4s", dir_, s.number), s.bytes));
    r_.segments.push_back(catalog::Segment{s.number, s.start_time, s.duration,
                                           int64_t(s.bytes.size()),
                                           Sha256Hex(s.bytes)});
    for (const auto& k : s.keyframes) {
      r_.keyframes.push_back(
          catalog::Keyframe{s.number, k.time, k.offset, k.length});
    }
    return Ok();
  }

  void OnKeySample(int64_t pts, bmff::ByteView data) override {
    capture_.Offer(double(pts) / double(std::max<int64_t>(1, r_.timescale)),
                   data);
  }

  // Fills the bitrates once all segments are in.
  catalog::Rendition Finish() {
    FillBandwidth(r_);
    return r_;
  }

  const catalog::Rendition& rendition() const { return r_; }
  const bmff::Bytes& avcc() const { return avcc_; }
  KeySource keys() const {
    return KeySource{&avcc_, int(r_.width), int(r_.height), &capture_};
  }

 private:
  std::string dir_;
  catalog::Rendition r_;
  KeyCapture capture_;
  bmff::Bytes avcc_;
};

struct Output {
  GstElement* appsink = nullptr;  // owned by the pipeline
  std::unique_ptr<RenditionWriter> writer;
  std::unique_ptr<Segmenter> segmenter;
};

// What the decodebin pad-added callback may touch: the pre-built branch
// inputs and flags the calling thread reads.
struct DecodeLinks {
  GstElement* video_in = nullptr;  // branch heads (owned by the pipeline)
  // Audio branch heads by the source's audio stream index: a rendition's
  // track, or a mono pair's second; null for streams left out.
  std::array<GstElement*, kMaxAudioStreams> audio_in{};
  std::array<std::atomic<bool>, kMaxAudioStreams> audio_linked{};
  std::atomic<size_t> audio_pads{0};  // audio pads seen so far
  std::atomic<bool> video_linked{false}, link_failed{false};
  std::atomic<bool> no_more_pads{false};
  // A head (video or audio) that decodebin never gave a stream to.
  bool Missing() const {
    if (video_in && !video_linked) return true;
    for (size_t i = 0; i < audio_in.size(); ++i) {
      if (audio_in[i] && !audio_linked[i]) return true;
    }
    return false;
  }
};

void LinkDecodedPad(DecodeLinks* links, GstPad* pad, GstElement* target,
                    std::atomic<bool>& linked) {
  if (!target || linked.exchange(true))
    return;  // only the first stream of a kind
  auto sink = Adopt(gst_element_get_static_pad(target, "sink"));
  if (gst_pad_link(pad, sink.get()) != GST_PAD_LINK_OK)
    links->link_failed = true;
}

void OnPadAdded(GstElement*, GstPad* pad, gpointer user_data) noexcept {
  DecodeLinks* links =
      static_cast<std::shared_ptr<DecodeLinks>*>(user_data)->get();
  auto caps = AdoptMini(gst_pad_get_current_caps(pad));
  if (!caps) caps = AdoptMini(gst_pad_query_caps(pad, nullptr));
  if (!caps || gst_caps_is_empty(caps.get())) return;
  const char* name =
      gst_structure_get_name(gst_caps_get_structure(caps.get(), 0));
  if (g_str_has_prefix(name, "video/x-raw")) {
    LinkDecodedPad(links, pad, links->video_in, links->video_linked);
  } else if (g_str_has_prefix(name, "audio/x-raw")) {
    // decodebin exposes its pads in the demuxer's order, as the probe saw.
    const size_t i = links->audio_pads.fetch_add(1);
    if (i < kMaxAudioStreams)
      LinkDecodedPad(links, pad, links->audio_in[i], links->audio_linked[i]);
  }
  // Other streams (subtitles, audio tracks the probe left out) stay
  // unlinked; decodebin keeps going as long as one of its streams is linked.
}

// Connects `callback` with its own reference to `data`, released when the
// handler is disconnected (when `instance` is finalized).
void ConnectShared(GstElement* instance, const char* signal, GCallback callback,
                   const std::shared_ptr<DecodeLinks>& data) {
  g_signal_connect_data(
      instance, signal, callback, new std::shared_ptr<DecodeLinks>(data),
      [](gpointer p, GClosure*) {
        delete static_cast<std::shared_ptr<DecodeLinks>*>(p);
      },
      GConnectFlags(0));
}

void OnNoMorePads(GstElement*, gpointer user_data) noexcept {
  (*static_cast<std::shared_ptr<DecodeLinks>*>(user_data))->no_more_pads = true;
}

// Stops the pipeline (state NULL) when the scope ends, however it ends, but
// waits at most kStopTimeout: a streaming thread blocked in a read (a hung
// network mount, a pipe) keeps set_state(NULL) from returning, and the
// failure must still be reported. The pipeline then finishes stopping on a
// thread of its own; nothing it references belongs to this scope.
class StopOnExit {
 public:
  explicit StopOnExit(GstElement* pipeline) : pipeline_(glib::Ref(pipeline)) {}
  ~StopOnExit() {
    auto done = std::make_shared<std::promise<void>>();
    auto stopped = done->get_future();
    std::thread([p = std::move(pipeline_), done]() mutable {
      gst_element_set_state(p.get(), GST_STATE_NULL);
      p.reset();
      done->set_value();
    }).detach();
    if (stopped.wait_for(kStopTimeout) != std::future_status::ready) {
      LOG_ERROR("pipeline",
                "pipeline did not stop within {} s; left to finish on its own",
                kStopTimeout.count());
    }
  }
  StopOnExit(const StopOnExit&) = delete;
  StopOnExit& operator=(const StopOnExit&) = delete;

 private:
  ObjectPtr<GstElement> pipeline_;
};

Status MakeDir(const std::string& path) {
  if (g_mkdir_with_parents(path.c_str(), 0750) != 0)
    return ErrnoError(errno, "mkdir " + path);
  return Ok();
}

Result<GstElement*> AddCaps(GstBin* bin, const std::string& caps) {
  TRY_ASSIGN(GstElement * f, AddElement(bin, "capsfilter"));
  auto c = AdoptMini(gst_caps_from_string(caps.c_str()));
  if (!c) return MakeError(ErrorCode::kInternal, "bad caps " + caps);
  g_object_set(f, "caps", c.get(), nullptr);
  return f;
}

// mp4mux ! appsink at the end of a branch.
Result<std::pair<GstElement*, GstElement*>> AddMuxSink(GstBin* bin,
                                                       guint fragment_ms) {
  TRY_ASSIGN(GstElement * mux, AddElement(bin, "mp4mux"));
  g_object_set(mux, "fragment-duration", fragment_ms, "streamable", TRUE,
               nullptr);
  TRY_ASSIGN(GstElement * sink, AddElement(bin, "appsink"));
  // Unbounded on purpose: the calling thread drains it every poll, and a
  // bound would stall the encoder instead of the writer.
  g_object_set(sink, "sync", FALSE, "max-buffers", 0u, "drop", FALSE,
               "emit-signals", FALSE, nullptr);
  TRY(LinkChain({mux, sink}));
  return std::make_pair(mux, sink);
}

Status BuildVideoBranch(GstBin* bin, const LadderPlan& plan, GstElement*& head,
                        GstElement*& grid, std::vector<GstElement*>& sinks) {
  TRY_ASSIGN(GstElement * q, AddElement(bin, "queue", "video_in"));
  TRY_ASSIGN(GstElement * convert, AddElement(bin, "videoconvert"));
  // Interlaced sources (1080i broadcast masters, DV, MPEG-2 from tape) are
  // deinterlaced frame for frame: one progressive frame per interlaced one,
  // so the planned frame rate and GOP stay the probe's. Progressive frames
  // pass through untouched (mode auto follows the caps and, for "mixed"
  // streams, each buffer's flags). yadif interpolates from both fields of
  // the neighbouring frames, where the default (linear) only doubles lines.
  TRY_ASSIGN(GstElement * deint, AddElement(bin, "deinterlace"));
  gst_util_set_object_arg(G_OBJECT(deint), "method", "yadif");
  gst_util_set_object_arg(G_OBJECT(deint), "fields", "top");
  TRY_ASSIGN(GstElement * flip, AddElement(bin, "videoflip"));
  gst_util_set_object_arg(G_OBJECT(flip), "video-direction", "auto");
  TRY_ASSIGN(GstElement * rate, AddElement(bin, "videorate"));
  TRY_ASSIGN(GstElement * fps,
             AddCaps(bin, fmt::format("video/x-raw,framerate={}/{}",
                                      plan.fps_num, plan.fps_den)));
  TRY_ASSIGN(GstElement * tee, AddElement(bin, "tee"));
  TRY(LinkChain({q, convert, deint, flip, rate, fps, tee}));
  head = q;
  grid = fps;
  const guint fragment_ms = guint(plan.segment_seconds * 1000);
  for (const auto& rung : plan.video) {
    TRY_ASSIGN(GstElement * rq, AddElement(bin, "queue"));
    TRY_ASSIGN(GstElement * scale, AddElement(bin, "videoscale"));
    gst_util_set_object_arg(G_OBJECT(scale), "method", "lanczos");
    TRY_ASSIGN(GstElement * conv, AddElement(bin, "videoconvert"));
    // Pinned: without format the encoder picks 4:4:4, without colorimetry the
    // small rungs come out BT.601 (reference/gstreamer.md).
    TRY_ASSIGN(
        GstElement * raw,
        AddCaps(bin, fmt::format("video/x-raw,format=I420,width={},height={},"
                                 "pixel-aspect-ratio=1/1,colorimetry=bt709,"
                                 "chroma-site=mpeg2",
                                 rung.width, rung.height)));
    TRY_ASSIGN(GstElement * enc, AddElement(bin, "x264enc"));
    g_object_set(enc, "bitrate", guint(rung.bitrate_kbps), "key-int-max",
                 guint(plan.gop_frames), "option-string",
                 "scenecut=0:open-gop=0", nullptr);
    gst_util_set_object_arg(G_OBJECT(enc), "speed-preset",
                            plan.x264_preset.c_str());
    TRY_ASSIGN(GstElement * h264, AddCaps(bin, "video/x-h264,profile=high"));
    TRY_ASSIGN(GstElement * parse, AddElement(bin, "h264parse"));
    TRY_ASSIGN(auto mux_sink, AddMuxSink(bin, fragment_ms));
    TRY(LinkChain(
        {tee, rq, scale, conv, raw, enc, h264, parse, mux_sink.first}));
    sinks.push_back(mux_sink.second);
  }
  return Ok();
}

// Multichannel audio without channel positions: qtdemux does not read a
// MOV's 'chan' atom, so the 8-channel PCM of a ProRes master arrives as
// channels=8, channel-mask=0. audioconvert cannot downmix unpositioned
// channels, and such jobs failed with "Internal data stream error". Up to
// 8 channels get the default layout for their count, as ffmpeg assumes
// (2 → left, right; 6 → 5.1; 8 → 7.1). More than 8 (a 16-channel master)
// have no default: the first pair becomes left and right, the stereo mix
// in EBU R 123 layouts. On audioconvert's sink pad, before the caps reach
// it.
GstPadProbeReturn PositionChannels(GstPad*, GstPadProbeInfo* info,
                                   gpointer user_data) noexcept {
  GstEvent* ev = GST_PAD_PROBE_INFO_EVENT(info);
  if (GST_EVENT_TYPE(ev) != GST_EVENT_CAPS) return GST_PAD_PROBE_OK;
  GstCaps* caps = nullptr;
  gst_event_parse_caps(ev, &caps);
  const GstStructure* st = gst_caps_get_structure(caps, 0);
  gint channels = 0;
  guint64 mask = 0;
  if (!st || !gst_structure_get_int(st, "channels", &channels) ||
      channels < 2 ||
      (gst_structure_get(st, "channel-mask", GST_TYPE_BITMASK, &mask,
                         nullptr) &&
       mask != 0)) {
    return GST_PAD_PROBE_OK;
  }
  if (channels <= 8) {
    GstCaps* fixed = gst_caps_copy(caps);
    gst_caps_set_simple(fixed, "channel-mask", GST_TYPE_BITMASK,
                        gst_audio_channel_get_fallback_mask(channels), nullptr);
    GstEvent* out = gst_event_new_caps(fixed);
    gst_caps_unref(fixed);
    gst_event_set_seqnum(out, gst_event_get_seqnum(ev));
    gst_event_unref(ev);
    GST_PAD_PROBE_INFO_DATA(info) = out;
    return GST_PAD_PROBE_OK;
  }
  GValue matrix = G_VALUE_INIT;
  gst_value_array_init(&matrix, 2);
  for (int out = 0; out < 2; ++out) {
    GValue row = G_VALUE_INIT;
    gst_value_array_init(&row, guint(channels));
    for (int in = 0; in < channels; ++in) {
      GValue v = G_VALUE_INIT;
      g_value_init(&v, G_TYPE_FLOAT);
      g_value_set_float(&v, in == out ? 1.0f : 0.0f);
      gst_value_array_append_and_take_value(&row, &v);
    }
    gst_value_array_append_and_take_value(&matrix, &row);
  }
  g_object_set_property(G_OBJECT(user_data), "mix-matrix", &matrix);
  g_value_unset(&matrix);
  return GST_PAD_PROBE_OK;
}

// The name of audio rendition `k`'s first queue ("audio_in", "audio_in_1",
// …), or of its mono pair's second track's (`right`).
std::string AudioQueueName(size_t k, bool right) {
  std::string name = right ? "audio_right_in" : "audio_in";
  return k == 0 ? name : fmt::format("{}_{}", name, k);
}

// A mono pair's two tracks as one stereo stream: each track to 48 kHz mono,
// then interleaved (positions left, right from PositionChannels).
Status BuildMonoPair(GstBin* bin, size_t k, GstElement*& left,
                     GstElement*& right, GstElement*& out) {
  TRY_ASSIGN(out, AddElement(bin, "audiointerleave"));
  g_object_set(out, "channel-positions-from-input", FALSE, nullptr);
  GstElement* heads[2] = {};
  for (int i = 0; i < 2; ++i) {
    TRY_ASSIGN(heads[i],
               AddElement(bin, "queue", AudioQueueName(k, i == 1).c_str()));
    TRY_ASSIGN(GstElement * convert, AddElement(bin, "audioconvert"));
    TRY_ASSIGN(GstElement * resample, AddElement(bin, "audioresample"));
    TRY_ASSIGN(GstElement * mono,
               AddCaps(bin, fmt::format("audio/x-raw,rate={},channels=1",
                                        kAudioRate)));
    TRY(LinkChain({heads[i], convert, resample, mono}));
    auto src = Adopt(gst_element_get_static_pad(mono, "src"));
    auto sink = Adopt(gst_element_request_pad_simple(out, "sink_%u"));
    if (!sink || gst_pad_link(src.get(), sink.get()) != GST_PAD_LINK_OK)
      return MakeError(ErrorCode::kInternal, "cannot link audiointerleave");
  }
  left = heads[0];
  right = heads[1];
  return Ok();
}

// Audio rendition `k`; `right` is null unless its track is a mono pair.
Status BuildAudioBranch(GstBin* bin, const LadderPlan& plan, size_t k,
                        bool mono_pair, GstElement*& head, GstElement*& right,
                        GstElement*& sink) {
  GstElement* q = nullptr;
  if (mono_pair) {
    TRY(BuildMonoPair(bin, k, head, right, q));
  } else {
    TRY_ASSIGN(q, AddElement(bin, "queue", AudioQueueName(k, false).c_str()));
    head = q;
  }
  TRY_ASSIGN(GstElement * convert, AddElement(bin, "audioconvert"));
  TRY_ASSIGN(GstElement * resample, AddElement(bin, "audioresample"));
  TRY_ASSIGN(
      GstElement * raw,
      AddCaps(bin, fmt::format("audio/x-raw,rate={},channels=2", kAudioRate)));
  // Silence where the source has no audio: before its first sample (audio
  // that starts after the video) and in gaps (a broadcast capture's
  // discontinuities), so the track stays on the video's timeline
  // (ToRunningTime puts it there).
  TRY_ASSIGN(GstElement * fill, AddElement(bin, "audiorate"));
  TRY_ASSIGN(GstElement * enc, AddElement(bin, "voaacenc"));
  g_object_set(enc, "bitrate", gint(plan.audio_bitrate_kbps * 1000), nullptr);
  TRY_ASSIGN(auto mux_sink,
             AddMuxSink(bin, guint(plan.segment_seconds * 1000)));
  TRY(LinkChain({q, convert, resample, raw, fill, enc, mux_sink.first}));
  auto convert_sink = Adopt(gst_element_get_static_pad(convert, "sink"));
  gst_pad_add_probe(convert_sink.get(), GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
                    PositionChannels, convert, nullptr);
  sink = mux_sink.second;
  return Ok();
}

// On the audio branch's first queue: puts the audio on the pipeline's
// running time. Every SEGMENT becomes a plain [0, ∞) segment and every
// buffer's PTS its running time under the segment it came with. Each
// rendition has its own single-track mp4mux, which starts its track at the
// first buffer's time, so audio that starts after the video (0.4 s in a
// broadcast TS, an MP4 edit list that delays the audio) came out starting
// at 0 anyway: early by that much. Now the gap before the first sample is
// a gap at the start of a [0, ∞) segment, which audiorate fills with
// silence. The video needs no such probe: its first frame is at running
// time 0 (decoders start at the segment's start) or videorate fills from
// the segment's start with the first frame (a TS whose audio comes first).
GstPadProbeReturn ToRunningTime(GstPad*, GstPadProbeInfo* info,
                                gpointer user_data) noexcept {
  auto* segment = static_cast<GstSegment*>(user_data);
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
    if (!GST_BUFFER_PTS_IS_VALID(buf) || segment->format != GST_FORMAT_TIME)
      return GST_PAD_PROBE_OK;
    const guint64 rt = gst_segment_to_running_time(segment, GST_FORMAT_TIME,
                                                   GST_BUFFER_PTS(buf));
    if (rt == GST_CLOCK_TIME_NONE) return GST_PAD_PROBE_DROP;  // clipped
    buf = gst_buffer_make_writable(buf);
    GST_BUFFER_PTS(buf) = rt;
    GST_BUFFER_DTS(buf) = GST_CLOCK_TIME_NONE;
    GST_PAD_PROBE_INFO_DATA(info) = buf;
    return GST_PAD_PROBE_OK;
  }
  GstEvent* ev = GST_PAD_PROBE_INFO_EVENT(info);
  if (GST_EVENT_TYPE(ev) == GST_EVENT_GAP) {  // a timestamp like a buffer's
    GstClockTime ts = GST_CLOCK_TIME_NONE, duration = GST_CLOCK_TIME_NONE;
    gst_event_parse_gap(ev, &ts, &duration);
    const guint64 rt =
        segment->format == GST_FORMAT_TIME
            ? gst_segment_to_running_time(segment, GST_FORMAT_TIME, ts)
            : GST_CLOCK_TIME_NONE;
    if (rt == GST_CLOCK_TIME_NONE) return GST_PAD_PROBE_DROP;
    GstEvent* out = gst_event_new_gap(rt, duration);
    gst_event_set_seqnum(out, gst_event_get_seqnum(ev));
    gst_event_unref(ev);
    GST_PAD_PROBE_INFO_DATA(info) = out;
    return GST_PAD_PROBE_OK;
  }
  if (GST_EVENT_TYPE(ev) != GST_EVENT_SEGMENT) return GST_PAD_PROBE_OK;
  gst_event_copy_segment(ev, segment);
  if (segment->format != GST_FORMAT_TIME) return GST_PAD_PROBE_OK;
  GstSegment plain;
  gst_segment_init(&plain, GST_FORMAT_TIME);
  GstEvent* out = gst_event_new_segment(&plain);
  gst_event_set_seqnum(out, gst_event_get_seqnum(ev));
  gst_event_unref(ev);
  GST_PAD_PROBE_INFO_DATA(info) = out;
  return GST_PAD_PROBE_OK;
}

void AddRunningTimeProbe(GstElement* queue) {
  auto pad = Adopt(gst_element_get_static_pad(queue, "src"));
  auto* segment = gst_segment_new();
  gst_segment_init(segment, GST_FORMAT_TIME);
  gst_pad_add_probe(pad.get(),
                    GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER |
                                    GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                    ToRunningTime, segment, [](gpointer p) {
                      gst_segment_free(static_cast<GstSegment*>(p));
                    });
}

// Chunk mode (GraphOptions::range): which decoded frames reach the encoders.
// Shared with two pad probes, which may outlive this scope like DecodeLinks.
struct RangeState {
  int64_t first = 0, end = -1;  // frame indices on the plan's grid
  int fps_num = 1, fps_den = 1;
  // SelectFrames' pad only (its streaming thread): the current segment, to
  // read frame times as stream time (an edit list makes pts start later).
  GstSegment segment{};
  // Before the seek's flush, decoded frames come from the start of the file.
  std::atomic<bool> flushed{false};
  enum { kNone, kPushing, kSent };
  std::atomic<int> eos{kNone};
};

// On the video branch's first queue: drops frames decoded before the seek,
// and the seek's flush itself (nothing downstream has data to flush).
GstPadProbeReturn DropUntilSeeked(GstPad*, GstPadProbeInfo* info,
                                  gpointer user_data) noexcept {
  auto* st = static_cast<std::shared_ptr<RangeState>*>(user_data)->get();
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    return st->flushed ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
  }
  GstEvent* ev = GST_PAD_PROBE_INFO_EVENT(info);
  if (GST_EVENT_TYPE(ev) == GST_EVENT_FLUSH_STOP) {
    st->flushed = true;
    return GST_PAD_PROBE_DROP;
  }
  if (GST_EVENT_TYPE(ev) == GST_EVENT_FLUSH_START) return GST_PAD_PROBE_DROP;
  return GST_PAD_PROBE_OK;
}

// After videorate: passes frames first … end-1 of the grid; at the first
// frame past the end, ends the stream downstream (sending EOS into the next
// element from the streaming thread that owns this pad) so the encoders
// finish without waiting for the demuxer.
GstPadProbeReturn SelectFrames(GstPad* pad, GstPadProbeInfo* info,
                               gpointer user_data) noexcept {
  auto* st = static_cast<std::shared_ptr<RangeState>*>(user_data)->get();
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
    if (!GST_BUFFER_PTS_IS_VALID(buf)) return GST_PAD_PROBE_DROP;
    const guint64 t = gst_segment_to_stream_time(&st->segment, GST_FORMAT_TIME,
                                                 GST_BUFFER_PTS(buf));
    if (t == GST_CLOCK_TIME_NONE) return GST_PAD_PROBE_DROP;
    const int64_t n = int64_t(gst_util_uint64_scale_round(
        t, guint64(st->fps_num), guint64(st->fps_den) * GST_SECOND));
    if (n < st->first || st->eos != RangeState::kNone)
      return GST_PAD_PROBE_DROP;
    if (st->end >= 0 && n >= st->end) {
      // Sent into the peer, not pushed on this pad: a pad that pushed EOS is
      // flagged EOS and refuses every later sticky event before any probe
      // sees it, so the next tag (h264parse's bitrate updates) or segment
      // from upstream would fail with GST_FLOW_ERROR, and the demuxer
      // would stop with "Internal data stream error" (-5).
      st->eos = RangeState::kPushing;
      if (auto peer = Adopt(gst_pad_get_peer(pad))) {
        gst_pad_send_event(peer.get(), gst_event_new_eos());
      }
      st->eos = RangeState::kSent;
      return GST_PAD_PROBE_DROP;
    }
    return GST_PAD_PROBE_OK;
  }
  // Past the end nothing more goes downstream: tags, segments and the
  // demuxer's own EOS are dropped (and count as handled upstream).
  if (st->eos == RangeState::kSent) return GST_PAD_PROBE_DROP;
  GstEvent* ev = GST_PAD_PROBE_INFO_EVENT(info);
  if (GST_EVENT_TYPE(ev) == GST_EVENT_SEGMENT) {
    gst_event_copy_segment(ev, &st->segment);
  }
  return GST_PAD_PROBE_OK;
}

void AddRangeProbe(GstElement* element, const char* pad_name,
                   GstPadProbeType mask, GstPadProbeCallback callback,
                   const std::shared_ptr<RangeState>& state) {
  auto pad = Adopt(gst_element_get_static_pad(element, pad_name));
  gst_pad_add_probe(
      pad.get(), mask, callback, new std::shared_ptr<RangeState>(state),
      [](gpointer p) { delete static_cast<std::shared_ptr<RangeState>*>(p); });
}

// decodebin: streams of a kind this job does not encode stay encoded (and
// unlinked) instead of being decoded for nothing.
constexpr uintptr_t kSkipVideo = 1, kSkipAudio = 2;
gboolean ContinueUnlessSkipped(GstElement*, GstPad* pad, GstCaps* caps,
                               gpointer user_data) noexcept {
  const auto skip = reinterpret_cast<uintptr_t>(user_data);
  if (!caps || gst_caps_is_empty(caps) || gst_caps_is_any(caps)) return TRUE;
  // Only a demuxer's streams: the container itself has "video/" caps too
  // (video/quicktime).
  auto parent = Adopt(gst_pad_get_parent_element(pad));
  GstElementFactory* factory =
      parent ? gst_element_get_factory(parent.get()) : nullptr;
  const char* klass = factory ? gst_element_factory_get_metadata(
                                    factory, GST_ELEMENT_METADATA_KLASS)
                              : nullptr;
  if (!klass || !strstr(klass, "Demux")) return TRUE;
  const char* name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  if ((skip & kSkipVideo) && g_str_has_prefix(name, "video/")) return FALSE;
  if ((skip & kSkipAudio) && g_str_has_prefix(name, "audio/")) return FALSE;
  return TRUE;
}

}  // namespace

Result<catalog::PublishedVersion> Transcode(
    const std::string& source, const ProbeResult& probe, const LadderPlan& plan,
    const std::string& out_dir,
    std::function<void(const Progress&)> on_progress,
    const std::atomic<bool>* cancel, int stall_timeout_s) {
  GraphOptions options;
  options.expect_ms = probe.duration_ms;
  return RunTranscodeGraph(source, probe, plan, out_dir, options,
                           std::move(on_progress), cancel, stall_timeout_s);
}

Result<catalog::PublishedVersion> RunTranscodeGraph(
    const std::string& source, const ProbeResult& probe, const LadderPlan& plan,
    const std::string& out_dir, const GraphOptions& options,
    std::function<void(const Progress&)> on_progress,
    const std::atomic<bool>* cancel, int stall_timeout_s) {
  TRY(EnsureGstInit());
  const bool with_video = options.video && !plan.video.empty();
  const bool with_audio = options.audio && plan.audio;
  if (!with_video && !with_audio) {
    return MakeError(ErrorCode::kInvalidArgument, "empty plan");
  }
  if (!plan.video.empty() && (plan.fps_num <= 0 || plan.gop_frames <= 0 ||
                              plan.segment_frames % plan.gop_frames != 0)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "plan without a valid frame rate or GOP");
  }
  if (options.range && (!with_video || with_audio)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "a frame range needs video only");
  }
  const auto started = Clock::now();

  auto pipeline = glib::AdoptFloating(gst_pipeline_new("transcode"));
  GstBin* bin = GST_BIN(pipeline.get());
  TRY_ASSIGN(GstElement * src, AddElement(bin, "filesrc"));
  g_object_set(src, "location", source.c_str(), nullptr);
  TRY_ASSIGN(GstElement * decode, AddElement(bin, "decodebin"));
  TRY(LinkChain({src, decode}));
  const uintptr_t skip =
      (with_video ? 0 : kSkipVideo) | (with_audio ? 0 : kSkipAudio);
  if (skip != 0) {
    g_signal_connect(decode, "autoplug-continue",
                     G_CALLBACK(ContinueUnlessSkipped),
                     reinterpret_cast<gpointer>(skip));
  }

  // Segment length in seconds as a fraction: whole frames for video.
  SegmenterOptions seg_opts;
  if (!plan.video.empty()) {
    seg_opts.segment_num = int64_t(plan.segment_frames) * plan.fps_den;
    seg_opts.segment_den = plan.fps_num;
    if (options.range) {
      seg_opts.first_number = options.first_segment;
      seg_opts.first_sequence =
          uint32_t((options.first_segment - 1) *
                       (plan.segment_frames / plan.gop_frames) +
                   1);
      seg_opts.start_num = options.first_frame * plan.fps_den;
      seg_opts.start_den = plan.fps_num;
    }
  } else {
    seg_opts.segment_num = plan.segment_seconds;
    seg_opts.segment_den = 1;
  }

  // Shared with decodebin's signal handlers, which may outlive this scope
  // when a pipeline cannot be stopped in time.
  auto links_owner = std::make_shared<DecodeLinks>();
  DecodeLinks& links = *links_owner;
  std::vector<Output> outputs;
  auto range = std::make_shared<RangeState>();
  if (with_video) {
    std::vector<GstElement*> sinks;
    GstElement* grid = nullptr;
    TRY(BuildVideoBranch(bin, plan, links.video_in, grid, sinks));
    if (options.range) {
      gst_segment_init(&range->segment, GST_FORMAT_TIME);
      range->first = options.first_frame;
      range->end = options.end_frame;
      range->fps_num = plan.fps_num;
      range->fps_den = plan.fps_den;
      AddRangeProbe(links.video_in, "sink",
                    GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER |
                                    GST_PAD_PROBE_TYPE_EVENT_FLUSH),
                    DropUntilSeeked, range);
      AddRangeProbe(grid, "src",
                    GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER |
                                    GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                    SelectFrames, range);
    }
    for (size_t i = 0; i < plan.video.size(); ++i) {
      const auto& rung = plan.video[i];
      catalog::Rendition r;
      r.name = rung.name;
      r.kind = "video";
      r.frame_rate_num = plan.fps_num;
      r.frame_rate_den = plan.fps_den;
      KeyCapture cap;
      if (i == 0 && options.thumbnails) {
        cap.want_poster = true;
        cap.poster_time = std::min(5.0, double(probe.duration_ms) / 2000.0);
      }
      if (i + 1 == plan.video.size() && options.thumbnails) {
        cap.want_sprite = true;
        cap.interval = plan.sprite_interval_s;
      }
      const std::string dir = out_dir + "/" + rung.name;
      TRY(MakeDir(dir));
      Output o;
      o.appsink = sinks[i];
      o.writer =
          std::make_unique<RenditionWriter>(dir, std::move(r), std::move(cap));
      o.segmenter = std::make_unique<Segmenter>(seg_opts, o.writer.get());
      outputs.push_back(std::move(o));
    }
  }
  if (with_audio) {
    // One rendition per language the probe kept (a0, a1, …).
    const auto tracks = AudioOutputs(probe);
    for (size_t k = 0; k < tracks.size(); ++k) {
      const AudioStreamInfo& track = *tracks[k];
      const size_t index = size_t(track.index);
      if (index + (track.mono_pair ? 1 : 0) >= kMaxAudioStreams ||
          links.audio_in[index] ||
          (track.mono_pair && links.audio_in[index + 1])) {
        return MakeError(ErrorCode::kInvalidArgument,
                         fmt::format("bad audio stream index {}", index));
      }
      GstElement *head = nullptr, *right = nullptr, *sink = nullptr;
      TRY(BuildAudioBranch(bin, plan, k, track.mono_pair, head, right, sink));
      links.audio_in[index] = head;
      AddRunningTimeProbe(head);
      if (right) {
        links.audio_in[index + 1] = right;
        AddRunningTimeProbe(right);
      }
      catalog::Rendition r;
      r.name = AudioRenditionName(k);
      r.kind = "audio";
      r.language = track.language;
      const std::string dir = out_dir + "/" + r.name;
      TRY(MakeDir(dir));
      Output o;
      o.appsink = sink;
      o.writer =
          std::make_unique<RenditionWriter>(dir, std::move(r), KeyCapture{});
      o.segmenter = std::make_unique<Segmenter>(seg_opts, o.writer.get());
      outputs.push_back(std::move(o));
    }
  }
  ConnectShared(decode, "pad-added", G_CALLBACK(OnPadAdded), links_owner);
  ConnectShared(decode, "no-more-pads", G_CALLBACK(OnNoMorePads), links_owner);

  auto bus = Adopt(gst_element_get_bus(pipeline.get()));
  StopOnExit stop(pipeline.get());
  if (gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    if (auto msg =
            AdoptMini(gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR))) {
      return tl::unexpected(ErrorFromBus(msg.get(), "media error"));
    }
    return MakeError(ErrorCode::kMedia, "the pipeline did not start");
  }

  auto last_activity = Clock::now();
  auto last_report = Clock::now() - kProgressInterval;
  const Output& lead = outputs.front();  // top rung, or the audio
  // Chunk mode: one frame before the first (so videorate can pick the
  // nearest source frame for it) up to a second past the end (the demuxer
  // stops at `stop` in decode order, and B-frames just before the end need
  // the reference after them); SelectFrames cuts exactly.
  bool seeked = !options.range;
  int seek_attempts = 0;
  bool eos = false;
  while (!eos) {
    if (!seeked && links.video_linked) {
      const guint64 frame_ns = guint64(plan.fps_den) * GST_SECOND;
      const gint64 start = gint64(gst_util_uint64_scale(
          guint64(std::max<int64_t>(0, options.first_frame - 1)), frame_ns,
          guint64(plan.fps_num)));
      const gint64 stop_at =
          options.end_frame < 0
              ? -1
              : gint64(gst_util_uint64_scale(guint64(options.end_frame),
                                             frame_ns, guint64(plan.fps_num)) +
                       GST_SECOND);
      seeked = gst_element_send_event(
          links.video_in,
          gst_event_new_seek(
              1.0, GST_FORMAT_TIME,
              GstSeekFlags(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE),
              GST_SEEK_TYPE_SET, start,
              stop_at < 0 ? GST_SEEK_TYPE_NONE : GST_SEEK_TYPE_SET, stop_at));
      // The pad may be flagged linked a moment before the link is made.
      if (!seeked && ++seek_attempts > 100) {
        return MakeError(ErrorCode::kMedia, "cannot seek in the source");
      }
    }
    if (auto msg = AdoptMini(gst_bus_timed_pop(bus.get(), kPollInterval))) {
      switch (GST_MESSAGE_TYPE(msg.get())) {
        case GST_MESSAGE_ERROR:
          return tl::unexpected(ErrorFromBus(msg.get(), "media error"));
        case GST_MESSAGE_EOS:
          eos = true;
          break;
        case GST_MESSAGE_WARNING: {
          GError* raw = nullptr;
          gst_message_parse_warning(msg.get(), &raw, nullptr);
          glib::ErrorPtr err(raw);
          LOG_WARN("pipeline", "{}: {}",
                   GST_OBJECT_NAME(GST_MESSAGE_SRC(msg.get())),
                   glib::ErrorMessage(err.get()));
          break;
        }
        default:
          break;
      }
    }
    // Drain every appsink (after EOS too: their queues hold the tail).
    bool progressed = false;
    for (auto& o : outputs) {
      while (auto sample = AdoptMini(
                 gst_app_sink_try_pull_sample(GST_APP_SINK(o.appsink), 0))) {
        BufferMap map(gst_sample_get_buffer(sample.get()));
        if (!map.ok())
          return MakeError(ErrorCode::kInternal, "cannot map mp4mux output");
        TRY(o.segmenter->Push(bmff::ByteView(map.data(), map.size())));
        progressed = true;
      }
    }
    if (links.link_failed) {
      return MakeError(ErrorCode::kMedia,
                       "cannot connect a decoded stream to the encoders");
    }
    if (links.no_more_pads && links.Missing()) {
      return MakeError(
          ErrorCode::kMedia,
          fmt::format(
              "the decoder found no {} stream the probe reported",
              links.video_linked || !links.video_in ? "audio" : "video"));
    }
    if (cancel && cancel->load())
      return MakeError(ErrorCode::kCancelled, "cancelled");
    const auto now = Clock::now();
    if (progressed) {
      last_activity = now;
    } else if (now - last_activity > std::chrono::seconds(stall_timeout_s)) {
      return MakeError(ErrorCode::kTimeout,
                       fmt::format("no progress for {} s; pipeline stopped",
                                   stall_timeout_s));
    }
    if (on_progress && (now - last_report >= kProgressInterval || eos) &&
        lead.segmenter->has_init()) {
      last_report = now;
      const double media_s =
          double(lead.segmenter->end_time() - lead.segmenter->first_time()) /
          double(std::max<uint32_t>(1, lead.segmenter->track().timescale));
      const double wall_s =
          std::chrono::duration<double>(now - started).count();
      Progress p;
      p.fraction =
          options.expect_ms > 0
              ? std::min(1.0, media_s * 1000.0 / double(options.expect_ms))
              : 0;
      p.speed = wall_s > 0 ? media_s / wall_s : 0;
      p.fps = plan.video.empty() ? 0 : p.speed * plan.fps_num / plan.fps_den;
      on_progress(p);
    }
  }
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);

  catalog::PublishedVersion out;
  double covered_ms = 0;
  for (auto& o : outputs) {
    TRY(o.segmenter->Finish());
    if (o.segmenter->segments_emitted() == 0) {
      return MakeError(ErrorCode::kMedia,
                       fmt::format("rendition {} produced no media",
                                   o.writer->rendition().name));
    }
    covered_ms =
        std::max(covered_ms,
                 double(o.segmenter->end_time() - o.segmenter->first_time()) *
                     1000.0 / double(o.segmenter->track().timescale));
  }
  // A truncated faststart file plays its first part and ends with a clean
  // EOS, while the container still claims the full duration.
  const double tolerance_ms =
      std::max(1000.0, double(options.expect_ms) * 0.005);
  if (covered_ms + tolerance_ms < double(options.expect_ms)) {
    return MakeError(
        ErrorCode::kMedia,
        fmt::format(
            "output covers {:.1f} s of the source's {:.1f} s: the file is "
            "truncated or damaged",
            covered_ms / 1000.0, double(options.expect_ms) / 1000.0));
  }
  out.duration_ms = int64_t(std::llround(covered_ms));
  for (auto& o : outputs) out.renditions.push_back(o.writer->Finish());

  if (with_video && options.thumbnails) {
    TRY_ASSIGN(out.thumbnails,
               MakeThumbnails(out_dir, plan.sprite_interval_s, plan.thumb_width,
                              outputs.front().writer->keys(),
                              outputs[plan.video.size() - 1].writer->keys(),
                              covered_ms));
  }
  const double wall_s =
      std::chrono::duration<double>(Clock::now() - started).count();
  LOG_INFO("pipeline",
           "transcoded {} ({:.1f} s of media) into {} renditions in {:.1f} s",
           source, covered_ms / 1000.0, out.renditions.size(), wall_s);
  return out;
}

}  // namespace vodd::pipeline
