#include "vodd/pipeline/bmff.h"

#include <catch2/catch.hpp>

#include "mp4_fixtures.h"

namespace vodd::pipeline {
namespace {

using bmff::FourCC;
using testing::TestFragment;
using testing::TestMoov;

TEST_CASE("bmff: box headers, 32- and 64-bit, incomplete and invalid",
          "[bmff]") {
  bmff::Bytes small = {0, 0, 0, 16, 'f', 'r', 'e', 'e'};
  auto h = bmff::ReadBoxHeader(small);
  REQUIRE(h);
  REQUIRE(*h);
  CHECK((*h)->type == FourCC("free"));
  CHECK((*h)->size == 16);
  CHECK((*h)->header_size == 8);

  bmff::Bytes large = {0, 0, 0, 1, 'm', 'd', 'a', 't', 0, 0, 0, 1, 0, 0, 0, 0};
  h = bmff::ReadBoxHeader(large);
  REQUIRE(h);
  CHECK((*h)->size == (uint64_t(1) << 32));
  CHECK((*h)->header_size == 16);

  // Not enough bytes yet: no header, no error.
  h = bmff::ReadBoxHeader(bmff::ByteView(small.data(), 5));
  REQUIRE(h);
  CHECK(!*h);

  bmff::Bytes too_small = {0, 0, 0, 4, 'm', 'o', 'o', 'f'};
  CHECK(bmff::ReadBoxHeader(too_small).error().code == ErrorCode::kMedia);
  bmff::Bytes to_eof = {0, 0, 0, 0, 'm', 'd', 'a', 't'};
  CHECK(bmff::ReadBoxHeader(to_eof).error().code == ErrorCode::kMedia);
}

TEST_CASE("bmff: codec string comes from the SPS", "[bmff]") {
  CHECK(bmff::AvcCodecString(testing::TestAvcC()).value() == "avc1.64001f");
  // Constrained baseline 3.0 (profile 66, constraint 0xc0, level 30).
  bmff::Bytes avcc = {0x01, 0x42, 0xc0, 0x1e, 0xff, 0xe1,
                      0x00, 0x04, 0x67, 0x42, 0xc0, 0x1e};
  CHECK(bmff::AvcCodecString(avcc).value() == "avc1.42c01e");
  bmff::Bytes no_sps = {0x01, 0x64, 0x00, 0x1f, 0xff, 0xe0};
  CHECK(!bmff::AvcCodecString(no_sps));
}

TEST_CASE("bmff: moov of a video and an audio track", "[bmff]") {
  auto v = bmff::ParseMoov(TestMoov(true, 3000, 640, 360));
  REQUIRE(v);
  CHECK(v->track_id == 1);
  CHECK(v->timescale == 3000);
  CHECK(v->handler == FourCC("vide"));
  CHECK(v->sample_entry == FourCC("avc1"));
  CHECK(v->codecs == "avc1.64001f");
  CHECK(v->width == 640);
  CHECK(v->height == 360);
  CHECK(v->avcc == testing::TestAvcC());

  auto a = bmff::ParseMoov(TestMoov(false, 48000));
  REQUIRE(a);
  CHECK(a->handler == FourCC("soun"));
  CHECK(a->codecs == "mp4a.40.2");
  CHECK(a->channels == 2);
  CHECK(a->sample_rate == 48000);
}

TEST_CASE("bmff: truncated or cut moov is rejected", "[bmff]") {
  auto moov = TestMoov(true, 3000);
  auto cut = moov;
  cut.resize(cut.size() - 10);
  CHECK(bmff::ParseMoov(cut).error().code == ErrorCode::kMedia);
  // A child claiming more bytes than its parent holds.
  auto lying = moov;
  lying[8 + 3] = 0xff;  // mvhd size
  CHECK(bmff::ParseMoov(lying).error().code == ErrorCode::kMedia);
}

TEST_CASE("bmff: mp4mux-style moof parses into samples", "[bmff]") {
  auto track = bmff::ParseMoov(TestMoov(true, 3000)).value();
  auto frag =
      TestFragment(7, 6000, {{100, 10, true, 200}, {100, 5, false, 0}}, 0);
  auto header = bmff::ReadBoxHeader(frag).value().value();
  auto moof = bmff::ParseMoof(bmff::ByteView(frag.data(), header.size), track);
  REQUIRE(moof);
  CHECK(moof->sequence == 7);
  CHECK(moof->base_decode_time == 6000);
  CHECK(moof->data_offset == header.size + 8);
  REQUIRE(moof->samples.size() == 2);
  CHECK(moof->samples[0].key());
  CHECK(!moof->samples[1].key());
  CHECK(moof->samples[0].cto == 200);
  CHECK(moof->samples[1].size == 5);
}

TEST_CASE("bmff: BuildMoof round-trips, signed offsets use trun v1", "[bmff]") {
  auto track = bmff::ParseMoov(TestMoov(true, 3000)).value();
  std::vector<bmff::Sample> samples = {
      {100, 10, bmff::kSampleFlagsKey, 0},
      {100, 4, bmff::kSampleFlagsNonKey, 200},
      {100, 4, bmff::kSampleFlagsNonKey, -100}};
  auto moof_bytes = bmff::BuildMoof(3, 1, 123456789012ull, samples);
  auto moof = bmff::ParseMoof(moof_bytes, track);
  REQUIRE(moof);
  CHECK(moof->base_decode_time == 123456789012ull);
  CHECK(moof->data_offset == moof_bytes.size() + 8);
  REQUIRE(moof->samples.size() == 3);
  CHECK(moof->samples[2].cto == -100);
  CHECK(moof->samples[0].key());
  CHECK(!moof->samples[1].key());
  // tfhd says default-base-is-moof.
  const auto tfhd =
      std::search(moof_bytes.begin(), moof_bytes.end(), "tfhd", "tfhd" + 4);
  REQUIRE(tfhd != moof_bytes.end());
  CHECK(tfhd[5] == 0x02);
  const auto trun =
      std::search(moof_bytes.begin(), moof_bytes.end(), "trun", "trun" + 4);
  CHECK(trun[4] == 1);  // version
}

TEST_CASE("bmff: CMAF ftyp keeps brands, adds iso6 and cmfc once, sizes right",
          "[bmff]") {
  auto ftyp = bmff::CmafFtyp(testing::TestFtyp());
  REQUIRE(ftyp);
  const bmff::Bytes expected = bmff::BuildFtyp(
      FourCC("iso6"), {FourCC("mp42"), FourCC("mp41"), FourCC("isom"),
                       FourCC("iso2"), FourCC("iso6"), FourCC("cmfc")});
  CHECK(*ftyp == expected);
  CHECK(ftyp->size() == 8 + 8 + 6 * 4);
  CHECK(ftyp->at(3) == ftyp->size());
  // Idempotent.
  CHECK(bmff::CmafFtyp(*ftyp).value() == expected);
  CHECK(!bmff::CmafFtyp(TestMoov(true, 3000)));
}

}  // namespace
}  // namespace vodd::pipeline
