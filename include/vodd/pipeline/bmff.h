// ISO-BMFF (MP4) boxes, just as much as vodd needs to turn mp4mux's
// fragmented output into CMAF: read top-level box headers, parse an init
// segment's moov (timescale, handler, sample entry, codec string), parse a
// moof's tfhd/tfdt/trun into samples, and write ftyp/moof/mdat back.
//
// Pure: no GLib, no GStreamer, no I/O. Every parser takes the bytes of one
// whole box (header included) and returns kMedia on malformed input; nothing
// here trusts a size field without checking it against the bytes it has.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vodd/core/result.h"

namespace vodd::pipeline::bmff {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

constexpr uint32_t FourCC(std::string_view s) {
  return (uint32_t(uint8_t(s[0])) << 24) | (uint32_t(uint8_t(s[1])) << 16) |
         (uint32_t(uint8_t(s[2])) << 8) | uint32_t(uint8_t(s[3]));
}
std::string FourCCString(uint32_t type);

struct BoxHeader {
  uint32_t type = 0;
  uint64_t size = 0;         // whole box, header included
  uint32_t header_size = 0;  // 8, or 16 with a 64-bit size
};

// The header of the box starting at data[0]. nullopt when fewer bytes than
// the header are present; kMedia for a size smaller than its header or a
// size-0 ("to end of file") box, which a stream of boxes cannot delimit.
Result<std::optional<BoxHeader>> ReadBoxHeader(ByteView data);

// Sample flags (ISO/IEC 14496-12 8.8.3.1).
constexpr uint32_t kSampleIsNonSync = 0x00010000;
constexpr uint32_t kSampleFlagsKey = 0x02000000;  // depends on no other
constexpr uint32_t kSampleFlagsNonKey =
    0x01010000;  // depends on others, non-sync

struct TrackInfo {
  uint32_t track_id = 0;
  uint32_t timescale = 0;             // mdhd
  uint32_t handler = 0;               // 'vide' or 'soun'
  uint32_t sample_entry = 0;          // 'avc1', 'mp4a', …
  std::string codecs;                 // RFC 6381: "avc1.64001f", "mp4a.40.2"
  int width = 0, height = 0;          // visual sample entry
  int channels = 0, sample_rate = 0;  // audio sample entry
  Bytes avcc;  // avcC payload (H.264 decoder configuration)
  // trex defaults, used when a fragment leaves a field out.
  uint32_t default_duration = 0, default_size = 0, default_flags = 0;
};

// Parses a moov box holding exactly one track (mp4mux writes one per file).
// Errors: kMedia for malformed boxes, no track, or a track without a sample
// entry; kUnsupported for H.264 in 'avc3' entries (parameter sets in band,
// which Apple's authoring spec rules out) and for unknown sample entries.
Result<TrackInfo> ParseMoov(ByteView moov);

// Sets the creation and modification times of the mvhd, tkhd and mdhd boxes
// in `moov` (a whole moov box, edited in place) to 0 ("unknown"): mp4mux
// writes the wall clock there, and chunks encoded at different times must
// share one byte-identical init segment. Errors: kMedia for malformed boxes.
Status ClearMoovTimes(std::span<uint8_t> moov);

// "avc1.PPCCLL" from an avcC payload: profile_idc, constraint flags and
// level_idc read from its first SPS NAL unit.
Result<std::string> AvcCodecString(ByteView avcc);

struct Sample {
  uint32_t duration = 0;  // track timescale
  uint32_t size = 0;      // bytes
  uint32_t flags = 0;
  int32_t cto = 0;  // composition time offset
  bool key() const { return (flags & kSampleIsNonSync) == 0; }
};

struct Moof {
  uint32_t sequence = 0;
  uint32_t track_id = 0;
  uint64_t base_decode_time = 0;  // tfdt
  // Offset of the first sample's data from the first byte of the moof.
  uint64_t data_offset = 0;
  std::vector<Sample> samples;
};

// Parses a moof with one traf (one track) and any number of truns whose
// samples are contiguous. Field defaults come from tfhd, then from `track`'s
// trex values. Errors: kMedia; kUnsupported for an absolute
// base-data-offset or non-contiguous runs.
Result<Moof> ParseMoof(ByteView moof, const TrackInfo& track);

// ftyp with `major`, minor 0 and `brands` as compatible brands.
Bytes BuildFtyp(uint32_t major, const std::vector<uint32_t>& brands);
// The ftyp box `ftyp` rewritten for CMAF: its brands plus 'iso6' and 'cmfc'
// (each once), major brand 'iso6'. Errors: kMedia if it is not an ftyp.
Result<Bytes> CmafFtyp(ByteView ftyp);

// A moof (mfhd + traf(tfhd default-base-is-moof, tfdt v1, trun)) describing
// `samples`, whose data follows in an mdat right after it. Every sample
// field is written explicitly; trun is version 1 (signed composition
// offsets) when any offset is negative.
Bytes BuildMoof(uint32_t sequence, uint32_t track_id, uint64_t base_decode_time,
                const std::vector<Sample>& samples);
// An mdat header for `payload_size` bytes of sample data (8 or 16 bytes).
Bytes MdatHeader(uint64_t payload_size);

// Big-endian box writer; Begin/End nest and patch sizes.
class BoxWriter {
 public:
  void U8(uint8_t v) { out_.push_back(v); }
  void U16(uint16_t v);
  void U32(uint32_t v);
  void U64(uint64_t v);
  void Put(ByteView bytes) {
    out_.insert(out_.end(), bytes.begin(), bytes.end());
  }
  void Zeros(size_t n) { out_.insert(out_.end(), n, 0); }
  // Opens a box (optionally a full box with version and flags).
  void Begin(uint32_t type);
  void BeginFull(uint32_t type, uint8_t version, uint32_t flags);
  void End();
  Bytes Take() { return std::move(out_); }
  const Bytes& bytes() const { return out_; }

 private:
  Bytes out_;
  std::vector<size_t> open_;
};

}  // namespace vodd::pipeline::bmff
