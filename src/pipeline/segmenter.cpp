// Cuts mp4mux's fragmented output into CMAF segments. See segmenter.h for the
// rules; comments here explain only the non-obvious choices.
#include "vodd/pipeline/segmenter.h"

#include <fmt/format.h>

namespace vodd::pipeline {

using bmff::ByteView;
using bmff::FourCC;

Segmenter::Segmenter(SegmenterOptions options, SegmentSink* sink)
    : options_(options),
      sink_(sink),
      next_number_(options.first_number),
      next_sequence_(options.first_sequence) {}

Status Segmenter::Push(ByteView bytes) {
  pending_.insert(pending_.end(), bytes.begin(), bytes.end());
  for (;;) {
    ByteView rest(pending_.data() + pending_pos_,
                  pending_.size() - pending_pos_);
    TRY_ASSIGN(auto header, bmff::ReadBoxHeader(rest));
    if (!header || header->size > rest.size()) break;
    TRY(HandleBox(*header, rest.subspan(0, header->size)));
    pending_pos_ += header->size;
  }
  // Compact once the consumed prefix dominates, so copying stays linear.
  if (pending_pos_ > 0 && pending_pos_ * 2 >= pending_.size()) {
    pending_.erase(pending_.begin(),
                   pending_.begin() + ptrdiff_t(pending_pos_));
    pending_pos_ = 0;
  }
  return Ok();
}

Status Segmenter::HandleBox(const bmff::BoxHeader& header, ByteView box) {
  const uint32_t type = header.type;
  if (type == FourCC("ftyp")) {
    TRY_ASSIGN(ftyp_, bmff::CmafFtyp(box));
    return Ok();
  }
  if (type == FourCC("moov")) {
    if (has_init_)
      return MakeError(ErrorCode::kMedia, "a second moov in the stream");
    if (ftyp_.empty()) return MakeError(ErrorCode::kMedia, "moov before ftyp");
    TRY_ASSIGN(track_, bmff::ParseMoov(box));
    video_ = track_.handler == FourCC("vide");
    bmff::Bytes init = ftyp_;
    init.insert(init.end(), box.begin(), box.end());
    TRY(bmff::ClearMoovTimes(std::span<uint8_t>(init).subspan(ftyp_.size())));
    has_init_ = true;
    return sink_->OnInit(track_, init);
  }
  if (type == FourCC("moof")) {
    if (!has_init_) return MakeError(ErrorCode::kMedia, "moof before moov");
    if (!moof_.empty())
      return MakeError(ErrorCode::kMedia, "moof without mdat");
    moof_.assign(box.begin(), box.end());
    return Ok();
  }
  if (type == FourCC("mdat")) {
    if (moof_.empty()) return MakeError(ErrorCode::kMedia, "mdat without moof");
    TRY_ASSIGN(auto moof, bmff::ParseMoof(moof_, track_));
    if (moof.track_id != track_.track_id) {
      return MakeError(ErrorCode::kMedia, "fragment of an unknown track");
    }
    // The data offset counts from the moof; the mdat follows it directly.
    const uint64_t mdat_start = moof_.size();
    if (moof.data_offset < mdat_start + header.header_size) {
      return MakeError(ErrorCode::kMedia, "sample data outside its mdat");
    }
    uint64_t pos = moof.data_offset - mdat_start;
    // mp4mux's fragments are contiguous; a gap would break tfdt continuity.
    const int64_t dts = int64_t(moof.base_decode_time);
    if (started_ && dts != end_time_) {
      return MakeError(
          ErrorCode::kMedia,
          fmt::format("fragment at {} does not continue {}", dts, end_time_));
    }
    if (!started_) {
      started_ = true;
      first_time_ = dts;
      end_time_ = dts;
      if (options_.start_den > 0) {
        const int64_t ticks = options_.start_num * int64_t(track_.timescale);
        time_shift_ =
            (ticks * 2 + options_.start_den) / (options_.start_den * 2) - dts;
      }
    }
    for (const auto& s : moof.samples) {
      if (pos + s.size > box.size()) {
        return MakeError(ErrorCode::kMedia,
                         "sample data past the end of its mdat");
      }
      TRY(AddSample(s, box.subspan(pos, s.size)));
      pos += s.size;
    }
    moof_.clear();
    return Ok();
  }
  // free, skip, mfra, sidx, udta…: not part of the output.
  return Ok();
}

int64_t Segmenter::Boundary(int64_t k) const {
  // first_time + k × segment seconds × timescale, rounded to the nearest tick.
  // Fits in 64 bits: k < 10^6, segment_num < 10^6, timescale < 10^6.
  const int64_t ticks = k * options_.segment_num * int64_t(track_.timescale);
  const int64_t den = options_.segment_den;
  return first_time_ + int64_t((ticks * 2 + den) / (den * 2));
}

Status Segmenter::AddSample(const bmff::Sample& in, ByteView data) {
  bmff::Sample s = in;
  const int64_t dts = end_time_;
  const int64_t out_dts = dts + time_shift_;
  const bool first = !segment_open_;
  if (first) {
    // The first sample is the first presented one for a closed-GOP H.264
    // stream; shifting every offset by its own puts presentation at 0.
    cto_shift_ = s.cto;
  }
  s.cto -= cto_shift_;
  const bool key = !video_ || s.key();
  if (video_) s.flags = key ? bmff::kSampleFlagsKey : bmff::kSampleFlagsNonKey;

  // Cut the segment: video at a keyframe within half a frame of the boundary
  // (timestamps are rounded), audio at the sample nearest to it.
  const int64_t slack = int64_t(s.duration / 2);
  if (!first && key && dts + slack >= Boundary(next_k_)) {
    TRY(CloseSegment());
    while (Boundary(next_k_) <= dts + slack) ++next_k_;
  } else if (!first && video_ && key) {
    CloseFragment();
  }
  if (!segment_open_) {
    if (video_ && !key) {
      return MakeError(ErrorCode::kMedia,
                       "video does not start with a keyframe");
    }
    segment_ = SegmentOut{};
    segment_.number = next_number_++;
    segment_.start_time = out_dts;
    segment_open_ = true;
  }
  if (frag_samples_.empty()) frag_start_ = out_dts;
  if (video_ && key) {
    segment_.keyframes.push_back(KeyframeOut{out_dts + s.cto, 0, 0});
    sink_->OnKeySample(out_dts + s.cto, data);
  }
  frag_samples_.push_back(s);
  frag_data_.insert(frag_data_.end(), data.begin(), data.end());
  end_time_ = dts + s.duration;
  return Ok();
}

void Segmenter::CloseFragment() {
  if (frag_samples_.empty()) return;
  auto moof = bmff::BuildMoof(next_sequence_++, track_.track_id,
                              uint64_t(frag_start_), frag_samples_);
  auto mdat = bmff::MdatHeader(frag_data_.size());
  const int64_t offset = int64_t(segment_.bytes.size());
  // A video fragment starts with its keyframe: record where it lives.
  if (video_ && !segment_.keyframes.empty() &&
      segment_.keyframes.back().length == 0) {
    auto& kf = segment_.keyframes.back();
    kf.offset = offset;
    kf.length = int64_t(moof.size() + mdat.size() + frag_samples_.front().size);
  }
  for (const auto& s : frag_samples_) segment_.duration += s.duration;
  auto& out = segment_.bytes;
  out.insert(out.end(), moof.begin(), moof.end());
  out.insert(out.end(), mdat.begin(), mdat.end());
  out.insert(out.end(), frag_data_.begin(), frag_data_.end());
  frag_samples_.clear();
  frag_data_.clear();
}

Status Segmenter::CloseSegment() {
  CloseFragment();
  if (!segment_open_) return Ok();
  segment_open_ = false;
  return sink_->OnSegment(segment_);
}

Status Segmenter::Finish() {
  if (pending_.size() != pending_pos_) {
    return MakeError(
        ErrorCode::kMedia,
        fmt::format("stream ended inside a box ({} bytes left over)",
                    pending_.size() - pending_pos_));
  }
  if (!has_init_)
    return MakeError(ErrorCode::kMedia, "stream ended before its moov");
  if (!moof_.empty())
    return MakeError(ErrorCode::kMedia, "stream ended after a moof");
  return CloseSegment();
}

}  // namespace vodd::pipeline
