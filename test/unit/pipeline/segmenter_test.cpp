#include "vodd/pipeline/segmenter.h"

#include <catch2/catch.hpp>

#include "mp4_fixtures.h"

namespace vodd::pipeline {
namespace {

using testing::TestFragment;
using testing::TestMoov;
using testing::TestSample;

struct FakeSink : SegmentSink {
  bmff::Bytes init;
  bmff::TrackInfo track;
  std::vector<SegmentOut> segments;
  std::vector<int64_t> key_times;
  Status OnInit(const bmff::TrackInfo& t, bmff::ByteView bytes) override {
    track = t;
    init.assign(bytes.begin(), bytes.end());
    return Ok();
  }
  Status OnSegment(const SegmentOut& s) override {
    segments.push_back(s);
    return Ok();
  }
  void OnKeySample(int64_t pts, bmff::ByteView) override {
    key_times.push_back(pts);
  }
};

// Video as mp4mux writes it: 30 fps in timescale 3000, a keyframe every
// `gop` frames, B-frame style offsets (key +200), fragments of `per_frag`.
bmff::Bytes VideoStream(int frames, int gop, int per_frag) {
  bmff::Bytes out = testing::TestFtyp();
  auto moov = TestMoov(true, 3000);
  out.insert(out.end(), moov.begin(), moov.end());
  uint32_t seq = 1;
  for (int f = 0; f < frames;) {
    std::vector<TestSample> s;
    const int first = f;
    for (int i = 0; i < per_frag && f < frames; ++i, ++f) {
      const bool key = f % gop == 0;
      s.push_back({100, uint32_t(key ? 50 : 10 + f % 7), key,
                   key ? 200 : (f % 3) * 100});
    }
    auto frag = TestFragment(seq++, uint64_t(first) * 100, s, uint32_t(first));
    out.insert(out.end(), frag.begin(), frag.end());
  }
  return out;
}

// Re-parses a segment file into (moof, samples, data) triples.
struct ParsedFragment {
  size_t offset;
  bmff::Moof moof;
  bmff::ByteView data;
};
std::vector<ParsedFragment> ParseSegment(const bmff::Bytes& seg,
                                         const bmff::TrackInfo& t) {
  std::vector<ParsedFragment> out;
  size_t pos = 0;
  while (pos < seg.size()) {
    auto moof_h =
        bmff::ReadBoxHeader(bmff::ByteView(seg).subspan(pos)).value().value();
    REQUIRE(moof_h.type == bmff::FourCC("moof"));
    auto moof =
        bmff::ParseMoof(bmff::ByteView(seg).subspan(pos, moof_h.size), t)
            .value();
    auto mdat_h =
        bmff::ReadBoxHeader(bmff::ByteView(seg).subspan(pos + moof_h.size))
            .value()
            .value();
    REQUIRE(mdat_h.type == bmff::FourCC("mdat"));
    REQUIRE(moof.data_offset == moof_h.size + mdat_h.header_size);
    out.push_back(
        {pos, moof,
         bmff::ByteView(seg).subspan(pos + moof.data_offset,
                                     mdat_h.size - mdat_h.header_size)});
    pos += moof_h.size + mdat_h.size;
  }
  return out;
}

TEST_CASE(
    "segmenter: video cut at keyframes on 4 s boundaries, whatever mp4mux's "
    "fragments",
    "[segmenter]") {
  // 10 s at 30 fps, GOP 2 s, mp4mux fragments of 1 s (not aligned to GOPs),
  // pushed in awkward chunk sizes.
  const auto stream = VideoStream(300, 60, 30);
  FakeSink sink;
  Segmenter seg(SegmenterOptions{120, 30}, &sink);
  for (size_t pos = 0; pos < stream.size(); pos += 997) {
    REQUIRE(seg.Push(bmff::ByteView(stream).subspan(
        pos, std::min<size_t>(997, stream.size() - pos))));
  }
  REQUIRE(seg.Finish());

  // Init: CMAF ftyp + the moov as is.
  REQUIRE(sink.init.size() > 40);
  CHECK(std::string(sink.init.begin() + 4, sink.init.begin() + 12) ==
        "ftypiso6");
  CHECK(std::search(sink.init.begin(), sink.init.end(), "cmfc", "cmfc" + 4) !=
        sink.init.end());

  REQUIRE(sink.segments.size() == 3);
  const int64_t expected_start[] = {0, 12000, 24000};
  const int64_t expected_duration[] = {12000, 12000, 6000};
  int64_t next_time = 0;
  uint32_t next_sequence = 1;
  uint32_t frame = 0;
  for (size_t i = 0; i < 3; ++i) {
    const auto& s = sink.segments[i];
    CHECK(s.number == int64_t(i + 1));
    CHECK(s.start_time == expected_start[i]);
    CHECK(s.duration == expected_duration[i]);
    // One fragment per GOP; each starts with its keyframe, whose range is
    // recorded; tfdt and sequence numbers are continuous.
    auto frags = ParseSegment(s.bytes, sink.track);
    REQUIRE(frags.size() == s.keyframes.size());
    for (size_t f = 0; f < frags.size(); ++f) {
      const auto& fr = frags[f];
      CHECK(fr.moof.sequence == next_sequence++);
      CHECK(int64_t(fr.moof.base_decode_time) == next_time);
      REQUIRE(fr.moof.samples.size() == 60);
      CHECK(fr.moof.samples[0].key());
      CHECK(fr.moof.samples[0].cto == 0);  // first frame presented at its tfdt
      CHECK(s.keyframes[f].offset == int64_t(fr.offset));
      CHECK(s.keyframes[f].length ==
            int64_t(fr.moof.data_offset + fr.moof.samples[0].size));
      CHECK(s.keyframes[f].time == next_time);
      size_t data_pos = 0;
      for (const auto& smp : fr.moof.samples) {
        CHECK(smp.key() == (frame % 60 == 0));
        // Sample bytes carried over unchanged.
        CHECK(fr.data[data_pos] == uint8_t(frame & 0xff));
        data_pos += smp.size;
        next_time += smp.duration;
        ++frame;
      }
      CHECK(data_pos == fr.data.size());
    }
  }
  CHECK(frame == 300);
  CHECK(seg.end_time() == 30000);
  CHECK(sink.key_times == std::vector<int64_t>{0, 6000, 12000, 18000, 24000});
}

TEST_CASE("segmenter: audio cut at the sample nearest each boundary",
          "[segmenter]") {
  bmff::Bytes stream = testing::TestFtyp();
  auto moov = TestMoov(false, 48000);
  stream.insert(stream.end(), moov.begin(), moov.end());
  // 10 s of AAC frames (1024 samples each) in 47-frame fragments.
  const int frames = 469;
  uint32_t seq = 1;
  for (int f = 0; f < frames;) {
    std::vector<TestSample> s;
    const int first = f;
    for (int i = 0; i < 47 && f < frames; ++i, ++f)
      s.push_back({1024, 6, true, 0});
    auto frag = TestFragment(seq++, uint64_t(first) * 1024, s, uint32_t(first));
    stream.insert(stream.end(), frag.begin(), frag.end());
  }
  FakeSink sink;
  Segmenter seg(SegmenterOptions{4, 1}, &sink);
  REQUIRE(seg.Push(stream));
  REQUIRE(seg.Finish());
  REQUIRE(sink.segments.size() == 3);
  int64_t t = 0;
  for (size_t i = 0; i < sink.segments.size(); ++i) {
    const auto& s = sink.segments[i];
    CHECK(s.start_time == t);
    // Within half an AAC frame of k × 4 s.
    CHECK(std::abs(s.start_time - int64_t(i) * 192000) <= 512);
    auto frags = ParseSegment(s.bytes, sink.track);
    CHECK(frags.size() == 1);  // audio: one fragment per segment
    CHECK(s.keyframes.empty());
    t += s.duration;
  }
  CHECK(t == int64_t(frames) * 1024);
  CHECK(sink.key_times.empty());
}

TEST_CASE("segmenter: malformed streams fail with kMedia", "[segmenter]") {
  FakeSink sink;
  SECTION("moof before moov") {
    Segmenter seg(SegmenterOptions{}, &sink);
    auto frag = TestFragment(1, 0, {{100, 4, true, 0}}, 0);
    CHECK(seg.Push(frag).error().code == ErrorCode::kMedia);
  }
  SECTION("stream ends inside a box") {
    Segmenter seg(SegmenterOptions{}, &sink);
    auto stream = VideoStream(60, 60, 60);
    stream.resize(stream.size() - 3);
    REQUIRE(seg.Push(stream));
    CHECK(seg.Finish().error().code == ErrorCode::kMedia);
  }
  SECTION("video that does not start with a keyframe") {
    Segmenter seg(SegmenterOptions{}, &sink);
    bmff::Bytes stream = testing::TestFtyp();
    auto moov = TestMoov(true, 3000);
    stream.insert(stream.end(), moov.begin(), moov.end());
    auto frag = TestFragment(1, 0, {{100, 4, false, 0}}, 0);
    stream.insert(stream.end(), frag.begin(), frag.end());
    CHECK(seg.Push(stream).error().code == ErrorCode::kMedia);
  }
  SECTION("gap between fragments") {
    Segmenter seg(SegmenterOptions{}, &sink);
    bmff::Bytes stream = testing::TestFtyp();
    auto moov = TestMoov(true, 3000);
    stream.insert(stream.end(), moov.begin(), moov.end());
    auto a = TestFragment(1, 0, {{100, 4, true, 0}}, 0);
    auto b = TestFragment(2, 500, {{100, 4, true, 0}}, 1);
    stream.insert(stream.end(), a.begin(), a.end());
    stream.insert(stream.end(), b.begin(), b.end());
    CHECK(seg.Push(stream).error().code == ErrorCode::kMedia);
  }
  SECTION("no moov at all") {
    Segmenter seg(SegmenterOptions{}, &sink);
    CHECK(seg.Finish().error().code == ErrorCode::kMedia);
  }
}

}  // namespace
}  // namespace vodd::pipeline
