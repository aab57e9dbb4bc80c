// Turns the byte stream of one `mp4mux fragment-duration=… streamable=true`
// into CMAF: an init segment (ftyp with CMAF brands + mp4mux's moov) and
// numbered media segments, each one or more moof+mdat fragments that vodd
// writes itself:
//
//   mp4mux bytes ─► top-level boxes ─► samples (tfdt/trun + data) ─► cut
//     ftyp+moov ─► OnInit                     video: a fragment per keyframe
//     moof+mdat ─► samples                    segment at the first keyframe
//                                             at/after k × target
//                                             audio: one fragment per segment,
//                                             cut at the sample nearest k ×
//                                             target
//
// The init segment's creation times are cleared so that it depends only on
// the encoding settings (split chunks share one init.mp4).
//
// Rewriting the fragments (instead of copying mp4mux's) is what makes the
// output CMAF: tfhd default-base-is-moof, tfdt version 1, and composition
// offsets shifted so that the first frame is presented at time 0 (mp4mux
// writes no edit list, which would otherwise delay video by the B-frame
// reorder depth against audio). Segment boundaries do not depend on how
// mp4mux happened to fragment.
//
// Pure: no GStreamer, no I/O; the sink writes files. One thread at a time.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vodd/core/result.h"
#include "vodd/pipeline/bmff.h"

namespace vodd::pipeline {

struct SegmenterOptions {
  // Target segment duration in seconds, as a fraction: video uses
  // frames × fps_den / fps_num so that a segment is a whole number of GOPs.
  int64_t segment_num = 4;
  int64_t segment_den = 1;
  // A chunk of a split source: the first segment's number, the first
  // fragment's mfhd sequence number, and (start_den > 0) the decode time of
  // the first sample, start_num / start_den seconds, to which the stream is
  // shifted so that tfdt continues the previous chunk.
  int64_t first_number = 1;
  uint32_t first_sequence = 1;
  int64_t start_num = 0;
  int64_t start_den = 0;
};

struct KeyframeOut {
  int64_t time = 0;    // presentation time, track timescale
  int64_t offset = 0;  // of the moof within the segment
  int64_t length = 0;  // moof + mdat header + the key sample
};

struct SegmentOut {
  int64_t number = 0;      // 1-based
  int64_t start_time = 0;  // tfdt of its first fragment
  int64_t duration = 0;    // sum of sample durations
  bmff::Bytes bytes;       // moof+mdat…
  std::vector<KeyframeOut> keyframes;
};

// The consumer's interface (implemented by the transcoder's file writer and
// by tests).
class SegmentSink {
 public:
  virtual ~SegmentSink() = default;
  virtual Status OnInit(const bmff::TrackInfo& track, bmff::ByteView init) = 0;
  virtual Status OnSegment(const SegmentOut& segment) = 0;
  // Every key sample (video) with its presentation time and AVC data, for
  // thumbnails. Default: ignored.
  virtual void OnKeySample(int64_t /*pts*/, bmff::ByteView /*data*/) {}
};

class Segmenter {
 public:
  Segmenter(SegmenterOptions options, SegmentSink* sink);

  // Feeds the next bytes of mp4mux's output (any split). Errors: kMedia for
  // malformed or unexpected boxes (media before the moov, an mdat without a
  // moof, a second track), or whatever the sink returns.
  Status Push(bmff::ByteView bytes);
  // Flushes the last segment. Errors: kMedia if the stream ended inside a
  // box or before the init segment.
  Status Finish();

  bool has_init() const { return has_init_; }
  const bmff::TrackInfo& track() const { return track_; }
  // Decode time just past the last sample seen, track timescale (0 before any
  // sample); time of the first sample.
  int64_t end_time() const { return end_time_; }
  int64_t first_time() const { return first_time_; }
  int64_t segments_emitted() const {
    return next_number_ - options_.first_number;
  }

 private:
  Status HandleBox(const bmff::BoxHeader& header, bmff::ByteView box);
  Status AddSample(const bmff::Sample& sample, bmff::ByteView data);
  void CloseFragment();
  Status CloseSegment();
  int64_t Boundary(int64_t k) const;

  SegmenterOptions options_;
  SegmentSink* sink_;
  bmff::Bytes pending_;  // bytes not yet forming a whole box
  size_t pending_pos_ = 0;
  bmff::Bytes ftyp_;
  bool has_init_ = false;
  bmff::TrackInfo track_;
  bool video_ = false;
  bmff::Bytes moof_;  // the last moof, waiting for its mdat

  // Current fragment and segment.
  std::vector<bmff::Sample> frag_samples_;
  bmff::Bytes frag_data_;
  int64_t frag_start_ = 0;
  SegmentOut segment_;
  bool segment_open_ = false;
  int64_t next_k_ = 1;  // index of the next boundary
  int64_t next_number_ = 1;
  uint32_t next_sequence_ = 1;
  bool started_ = false;
  int64_t first_time_ = 0;
  int64_t end_time_ = 0;
  int32_t cto_shift_ = 0;
  int64_t time_shift_ = 0;  // added to mp4mux's decode times on output
};

}  // namespace vodd::pipeline
