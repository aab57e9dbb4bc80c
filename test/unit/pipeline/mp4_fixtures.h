// Builds the boxes mp4mux writes (ftyp, a one-track moov, moof+mdat with
// tfhd flags 0 and a trun carrying data offset, duration, size, flags and
// composition offset), so the parser and segmenter are tested on bytes
// whose every field the test chose.
#pragma once

#include <cstdint>
#include <vector>

#include "vodd/pipeline/bmff.h"

namespace vodd::pipeline::testing {

using bmff::BoxWriter;
using bmff::Bytes;
using bmff::FourCC;

// An avcC with one SPS (profile 0x64, constraints 0x00, level 0x1f) and a PPS.
inline Bytes TestAvcC() {
  return {0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x04, 0x67,
          0x64, 0x00, 0x1f, 0x01, 0x00, 0x02, 0x68, 0xee};
}

inline Bytes TestFtyp() {
  return bmff::BuildFtyp(FourCC("mp42"), {FourCC("mp42"), FourCC("mp41"),
                                          FourCC("isom"), FourCC("iso2")});
}

// moov with one track: video ('vide', avc1 width×height) or audio ('soun',
// mp4a, AAC-LC stereo 48 kHz).
inline Bytes TestMoov(bool video, uint32_t timescale, int width = 320,
                      int height = 240) {
  BoxWriter w;
  w.Begin(FourCC("moov"));
  w.BeginFull(FourCC("mvhd"), 0, 0);
  w.Zeros(96);
  w.End();
  w.Begin(FourCC("trak"));
  w.BeginFull(FourCC("tkhd"), 0, 7);
  w.U32(0);
  w.U32(0);
  w.U32(1);  // track id
  w.Zeros(72);
  w.End();
  w.Begin(FourCC("mdia"));
  w.BeginFull(FourCC("mdhd"), 0, 0);
  w.U32(0);
  w.U32(0);
  w.U32(timescale);
  w.U32(0);
  w.U32(0x55c40000);
  w.End();
  w.BeginFull(FourCC("hdlr"), 0, 0);
  w.U32(0);
  w.U32(video ? FourCC("vide") : FourCC("soun"));
  w.Zeros(13);
  w.End();
  w.Begin(FourCC("minf"));
  w.Begin(FourCC("stbl"));
  w.BeginFull(FourCC("stsd"), 0, 0);
  w.U32(1);
  if (video) {
    w.Begin(FourCC("avc1"));
    w.Zeros(6);
    w.U16(1);
    w.Zeros(16);
    w.U16(uint16_t(width));
    w.U16(uint16_t(height));
    w.Zeros(50);
    w.Begin(FourCC("avcC"));
    w.Put(TestAvcC());
    w.End();
    w.End();
  } else {
    w.Begin(FourCC("mp4a"));
    w.Zeros(6);
    w.U16(1);
    w.Zeros(8);
    w.U16(2);
    w.U16(16);
    w.Zeros(4);
    w.U32(48000u << 16);
    w.BeginFull(FourCC("esds"), 0, 0);
    // ES_Descriptor › DecoderConfigDescriptor (0x40 = MPEG-4 audio) ›
    // AudioSpecificConfig (AOT 2 = LC, 48 kHz, stereo).
    w.Put(Bytes{0x03, 0x19, 0x00, 0x01, 0x00, 0x04, 0x11, 0x40, 0x15,
                0x00, 0x00, 0x00, 0x00, 0x01, 0xf4, 0x00, 0x00, 0x01,
                0xf4, 0x00, 0x05, 0x02, 0x11, 0x90, 0x06, 0x01, 0x02});
    w.End();
    w.End();
  }
  w.End();  // stsd
  w.End();  // stbl
  w.End();  // minf
  w.End();  // mdia
  w.End();  // trak
  w.Begin(FourCC("mvex"));
  w.BeginFull(FourCC("trex"), 0, 0);
  w.U32(1);
  w.U32(1);
  w.U32(0);
  w.U32(0);
  w.U32(0);
  w.End();
  w.End();
  w.End();  // moov
  return w.Take();
}

struct TestSample {
  uint32_t duration, size;
  bool key;
  int32_t cto;
};

// moof (as mp4mux writes it: tfhd flags 0, tfdt v0, trun 0xf01) + mdat whose
// sample i is `size` bytes of the value (first_index + i) & 0xff.
inline Bytes TestFragment(uint32_t sequence, uint64_t tfdt,
                          const std::vector<TestSample>& s,
                          uint32_t first_index) {
  BoxWriter w;
  w.Begin(FourCC("moof"));
  w.BeginFull(FourCC("mfhd"), 0, 0);
  w.U32(sequence);
  w.End();
  w.Begin(FourCC("traf"));
  w.BeginFull(FourCC("tfhd"), 0, 0);
  w.U32(1);
  w.End();
  w.BeginFull(FourCC("tfdt"), 0, 0);
  w.U32(uint32_t(tfdt));
  w.End();
  w.BeginFull(FourCC("trun"), 0, 0xf01);
  w.U32(uint32_t(s.size()));
  const size_t offset_pos = w.bytes().size();
  w.U32(0);
  for (const auto& x : s) {
    w.U32(x.duration);
    w.U32(x.size);
    w.U32(x.key ? 0x40u : 0x000100c0u);  // mp4mux's flags
    w.U32(uint32_t(x.cto));
  }
  w.End();
  w.End();
  w.End();
  Bytes out = w.Take();
  const uint32_t data_offset = uint32_t(out.size() + 8);
  for (int i = 0; i < 4; ++i)
    out[offset_pos + i] = uint8_t(data_offset >> (24 - 8 * i));
  uint64_t payload = 0;
  for (const auto& x : s) payload += x.size;
  auto mdat = bmff::MdatHeader(payload);
  out.insert(out.end(), mdat.begin(), mdat.end());
  for (size_t i = 0; i < s.size(); ++i) {
    out.insert(out.end(), s[i].size, uint8_t((first_index + i) & 0xff));
  }
  return out;
}

}  // namespace vodd::pipeline::testing
