// The media core of the pipeline: probe a source, plan its ladder, and
// transcode it into a folder of CMAF renditions plus thumbnails, returning
// the segment index. No catalog, no HTTP: the worker process calls this; the
// daemon publishes the result.
//
// Output layout written by Transcode under `out_dir`:
//   <rendition>/init.mp4, <rendition>/<n>.m4s   (n from 1)
//   poster.jpg, sprite.jpg                      (when the source has video)
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "vodd/catalog/media.h"
#include "vodd/config/config.h"
#include "vodd/core/result.h"

namespace vodd::pipeline {

struct VideoStreamInfo {
  int width = 0, height = 0;  // as coded, before rotation
  int fps_num = 0, fps_den = 1;
  int par_num = 1, par_den = 1;  // pixel aspect ratio
  int rotation = 0;              // 0, 90, 180, 270 (clockwise, from tags)
  std::string codec;             // human-readable, e.g. "H.264 (High Profile)"
};

struct AudioStreamInfo {
  int sample_rate = 0, channels = 0;
  std::string codec;
  std::string language;  // from tags, "und" if none
  // This stream is mono and the next audio stream is mono too, in the same
  // language: the pair is left and right (a broadcast MXF or MOV master
  // carries one mono track per channel, the stereo mix first).
  bool mono_pair = false;
  int index = 0;  // position among the source's audio streams
};

// At most this many audio renditions per video (a0 … a7), chosen among the
// source's first kMaxAudioStreams audio streams.
constexpr size_t kMaxAudioOutputs = 8;
constexpr size_t kMaxAudioStreams = 64;

// "a0", "a1", …: audio rendition `k`'s name (and folder).
std::string AudioRenditionName(size_t k);

struct ProbeResult {
  int64_t duration_ms = 0;
  std::string container;
  std::optional<VideoStreamInfo> video;  // first video stream
  std::optional<AudioStreamInfo> audio;  // first audio stream (index 0)
  // Later audio streams that become renditions of their own: each in a
  // language (tagged, not "und") that no earlier one has, such as a second
  // language of a bilingual master. A mono pair counts once. Streams in a
  // language already used (a commentary, the M&E pair of a broadcast
  // master) are left out.
  std::vector<AudioStreamInfo> more_audio;
};

// The audio renditions a probe leads to, in order: a0 is `audio`, a1… the
// entries of `more_audio`. Empty without audio.
std::vector<const AudioStreamInfo*> AudioOutputs(const ProbeResult& probe);

// Sets `out.audio` and `out.more_audio` from a source's audio streams in
// their order (what Probe does with what GstDiscoverer found), marking mono
// pairs.
void SelectAudio(const std::vector<AudioStreamInfo>& streams, ProbeResult& out);

// GstDiscoverer on a local file. Anything without a playable audio or video
// stream fails with kMedia and a human-readable reason ("This appears to be a
// text file", "no playable streams", …).
Result<ProbeResult> Probe(const std::string& path, int timeout_s = 30);

struct PlannedRung {
  std::string name;           // "v1080"
  int width = 0, height = 0;  // even, aspect kept, after rotation
  int bitrate_kbps = 0;
};

struct LadderPlan {
  std::vector<PlannedRung> video;  // tallest first; empty for audio-only
  bool audio = false;
  int audio_bitrate_kbps = 128;
  int fps_num = 0, fps_den = 1;  // output frame rate (capped)
  int segment_seconds = 4;
  int segment_frames = 0;  // video frames per segment, round(fps × seconds)
  int gop_frames = 0;      // keyframe interval, divides segment_frames
  std::string x264_preset = "veryfast";
  int sprite_interval_s = 10;
  int thumb_width = 160;
};

// Pure: never upscale, even dimensions, portrait sources get a portrait
// ladder, rotation applied, frame rate capped. Errors: kMedia when there is
// nothing to encode.
Result<LadderPlan> PlanLadder(const ProbeResult& probe,
                              const config::PipelineConfig& cfg);

struct Progress {
  double fraction = 0;  // 0..1 of the source duration
  double fps = 0;       // frames encoded per second, top rung
  double speed = 0;     // media seconds per wall second
};

// Decodes `source` once and encodes every rung of `plan` into `out_dir`
// (which must exist and be empty), laid out as at the top of this file; files
// are written but not fsynced (the publisher runs FsyncTree). Blocks the
// calling thread, which owns the pipeline: run it in the worker process,
// never on an HTTP thread. `on_progress` (may be empty) is called on the
// calling thread about four times a second and should be quick. Setting
// `*cancel` (may be null) stops the pipeline within ~20 ms (kCancelled).
// No new output for `stall_timeout_s` fails with kTimeout. Errors: kMedia
// for the first error message on the bus, a malformed muxer stream, or output
// that does not cover the probed duration (a truncated file); kUnsupported
// for a missing GStreamer element; kIo/kNoSpace writing files. On error,
// `out_dir` holds partial output for the caller to remove. The returned
// PublishedVersion has duration_ms, renditions (video rungs tallest first,
// then "a0") and thumbnails filled; video_id, version, published_at and
// playback_policy are left for the caller.
Result<catalog::PublishedVersion> Transcode(
    const std::string& source, const ProbeResult& probe, const LadderPlan& plan,
    const std::string& out_dir,
    std::function<void(const Progress&)> on_progress,
    const std::atomic<bool>* cancel, int stall_timeout_s);

}  // namespace vodd::pipeline
