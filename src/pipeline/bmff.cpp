// ISO-BMFF reading and writing for the segmenter. Pure; see bmff.h.
#include "vodd/pipeline/bmff.h"

#include <fmt/format.h>

#include <algorithm>

namespace vodd::pipeline::bmff {
namespace {

// Bounds-checked big-endian reader over one box's payload.
class Reader {
 public:
  explicit Reader(ByteView data) : data_(data) {}
  bool Has(size_t n) const { return pos_ + n <= data_.size(); }
  size_t pos() const { return pos_; }
  size_t left() const { return data_.size() - pos_; }
  bool Skip(size_t n) {
    if (!Has(n)) return false;
    pos_ += n;
    return true;
  }
  bool U8(uint8_t& v) {
    if (!Has(1)) return false;
    v = data_[pos_++];
    return true;
  }
  bool U16(uint16_t& v) {
    if (!Has(2)) return false;
    v = uint16_t(data_[pos_] << 8 | data_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool U32(uint32_t& v) {
    if (!Has(4)) return false;
    v = uint32_t(data_[pos_]) << 24 | uint32_t(data_[pos_ + 1]) << 16 |
        uint32_t(data_[pos_ + 2]) << 8 | uint32_t(data_[pos_ + 3]);
    pos_ += 4;
    return true;
  }
  bool U64(uint64_t& v) {
    uint32_t hi = 0, lo = 0;
    if (!U32(hi) || !U32(lo)) return false;
    v = uint64_t(hi) << 32 | lo;
    return true;
  }
  ByteView Rest() const { return data_.subspan(pos_); }

 private:
  ByteView data_;
  size_t pos_ = 0;
};

tl::unexpected<Error> Malformed(std::string_view what) {
  return MakeError(ErrorCode::kMedia, fmt::format("malformed MP4: {}", what));
}

struct Child {
  uint32_t type;
  ByteView box;      // whole box
  ByteView payload;  // after the header
};

// The child boxes laid out back to back in `data`.
Result<std::vector<Child>> Children(ByteView data) {
  std::vector<Child> out;
  size_t pos = 0;
  while (pos < data.size()) {
    TRY_ASSIGN(auto header, ReadBoxHeader(data.subspan(pos)));
    if (!header || header->size > data.size() - pos) {
      return Malformed("box runs past its parent");
    }
    ByteView box = data.subspan(pos, header->size);
    out.push_back({header->type, box, box.subspan(header->header_size)});
    pos += header->size;
  }
  return out;
}

std::optional<Child> Find(const std::vector<Child>& children, uint32_t type) {
  for (const auto& c : children) {
    if (c.type == type) return c;
  }
  return std::nullopt;
}

Result<Child> Need(const std::vector<Child>& children, uint32_t type) {
  auto c = Find(children, type);
  if (!c) return Malformed(fmt::format("no '{}' box", FourCCString(type)));
  return *c;
}

// Walks a path of container boxes from `payload`.
Result<Child> Path(ByteView payload,
                   std::initializer_list<std::string_view> path) {
  Child current{0, payload, payload};
  for (auto name : path) {
    TRY_ASSIGN(auto children, Children(current.payload));
    TRY_ASSIGN(current, Need(children, FourCC(name)));
  }
  return current;
}

// MPEG-4 descriptor length: up to four 7-bit groups.
bool DescriptorLength(Reader& r, uint32_t& len) {
  len = 0;
  for (int i = 0; i < 4; ++i) {
    uint8_t b = 0;
    if (!r.U8(b)) return false;
    len = len << 7 | (b & 0x7f);
    if (!(b & 0x80)) return true;
  }
  return true;
}

// "mp4a.40.<audio object type>" from an esds payload.
Result<std::string> AacCodecString(ByteView esds) {
  Reader r(esds);
  uint8_t tag = 0;
  uint32_t len = 0;
  if (!r.Skip(4) || !r.U8(tag) || tag != 0x03 || !DescriptorLength(r, len)) {
    return Malformed("esds without an ES descriptor");
  }
  uint8_t es_flags = 0;
  if (!r.Skip(2) || !r.U8(es_flags)) return Malformed("short ES descriptor");
  if (es_flags & 0x80 && !r.Skip(2)) return Malformed("short ES descriptor");
  if (es_flags & 0x40) {
    uint8_t url_len = 0;
    if (!r.U8(url_len) || !r.Skip(url_len))
      return Malformed("short ES descriptor");
  }
  if (es_flags & 0x20 && !r.Skip(2)) return Malformed("short ES descriptor");
  uint8_t object_type = 0;
  if (!r.U8(tag) || tag != 0x04 || !DescriptorLength(r, len) ||
      !r.U8(object_type) || !r.Skip(12)) {
    return Malformed("esds without a decoder config");
  }
  uint8_t first = 0;
  if (!r.U8(tag) || tag != 0x05 || !DescriptorLength(r, len) || len < 1 ||
      !r.U8(first)) {
    // No AudioSpecificConfig: the object type alone.
    return fmt::format("mp4a.{:02x}", object_type);
  }
  int aot = first >> 3;
  if (aot == 31) {
    uint8_t second = 0;
    if (!r.U8(second)) return Malformed("short AudioSpecificConfig");
    aot = 32 + ((first & 0x07) << 3 | second >> 5);
  }
  return fmt::format("mp4a.{:02x}.{}", object_type, aot);
}

}  // namespace

std::string FourCCString(uint32_t type) {
  std::string s(4, ' ');
  for (int i = 0; i < 4; ++i) {
    char c = char((type >> (24 - 8 * i)) & 0xff);
    s[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return s;
}

Result<std::optional<BoxHeader>> ReadBoxHeader(ByteView data) {
  Reader r(data);
  uint32_t size32 = 0, type = 0;
  if (!r.U32(size32) || !r.U32(type)) return std::optional<BoxHeader>();
  BoxHeader h{type, size32, 8};
  if (size32 == 1) {
    uint64_t size64 = 0;
    if (!r.U64(size64)) return std::optional<BoxHeader>();
    h.size = size64;
    h.header_size = 16;
  } else if (size32 == 0) {
    return Malformed(
        fmt::format("'{}' box without a size", FourCCString(type)));
  }
  if (h.size < h.header_size) {
    return Malformed(
        fmt::format("'{}' box smaller than its header", FourCCString(type)));
  }
  return std::optional<BoxHeader>(h);
}

namespace {

Status ClearTimesIn(std::span<uint8_t> payload) {
  TRY_ASSIGN(auto children, Children(payload));
  for (const auto& c : children) {
    // The child as a mutable span of `payload`.
    const size_t at = size_t(c.payload.data() - payload.data());
    std::span<uint8_t> body = payload.subspan(at, c.payload.size());
    if (c.type == FourCC("trak") || c.type == FourCC("mdia")) {
      TRY(ClearTimesIn(body));
    } else if (c.type == FourCC("mvhd") || c.type == FourCC("tkhd") ||
               c.type == FourCC("mdhd")) {
      // version, flags, then creation and modification time (32 or 64 bit).
      const size_t field = !body.empty() && body[0] == 1 ? 8 : 4;
      if (body.size() < 4 + 2 * field) return Malformed("short time header");
      std::fill(body.begin() + 4, body.begin() + 4 + long(2 * field), 0);
    }
  }
  return Ok();
}

}  // namespace

Status ClearMoovTimes(std::span<uint8_t> moov) {
  TRY_ASSIGN(auto header, ReadBoxHeader(moov));
  if (!header || header->type != FourCC("moov") || header->size != moov.size())
    return Malformed("not a whole moov box");
  return ClearTimesIn(moov.subspan(header->header_size));
}

Result<std::string> AvcCodecString(ByteView avcc) {
  Reader r(avcc);
  uint8_t version = 0, sps_count = 0;
  uint16_t sps_len = 0;
  if (!r.U8(version) || version != 1 || !r.Skip(4) || !r.U8(sps_count) ||
      (sps_count & 0x1f) == 0 || !r.U16(sps_len) || sps_len < 4 ||
      !r.Has(sps_len)) {
    return Malformed("avcC without an SPS");
  }
  ByteView sps = r.Rest().subspan(0, sps_len);
  if ((sps[0] & 0x1f) != 7)
    return Malformed("avcC's first parameter set is not an SPS");
  return fmt::format("avc1.{:02x}{:02x}{:02x}", sps[1], sps[2], sps[3]);
}

Result<TrackInfo> ParseMoov(ByteView moov) {
  TRY_ASSIGN(auto top, ReadBoxHeader(moov));
  if (!top || top->type != FourCC("moov") || top->size != moov.size()) {
    return Malformed("not a whole moov box");
  }
  ByteView payload = moov.subspan(top->header_size);
  TrackInfo t;

  TRY_ASSIGN(auto tkhd, Path(payload, {"trak", "tkhd"}));
  {
    Reader r(tkhd.payload);
    uint8_t version = 0;
    if (!r.U8(version) || !r.Skip(3) || !r.Skip(version == 1 ? 16 : 8) ||
        !r.U32(t.track_id)) {
      return Malformed("short tkhd");
    }
  }
  TRY_ASSIGN(auto mdhd, Path(payload, {"trak", "mdia", "mdhd"}));
  {
    Reader r(mdhd.payload);
    uint8_t version = 0;
    if (!r.U8(version) || !r.Skip(3) || !r.Skip(version == 1 ? 16 : 8) ||
        !r.U32(t.timescale) || t.timescale == 0) {
      return Malformed("mdhd without a timescale");
    }
  }
  TRY_ASSIGN(auto hdlr, Path(payload, {"trak", "mdia", "hdlr"}));
  {
    Reader r(hdlr.payload);
    if (!r.Skip(8) || !r.U32(t.handler)) return Malformed("short hdlr");
  }
  TRY_ASSIGN(auto stsd,
             Path(payload, {"trak", "mdia", "minf", "stbl", "stsd"}));
  {
    Reader r(stsd.payload);
    uint32_t count = 0;
    if (!r.Skip(4) || !r.U32(count) || count < 1)
      return Malformed("empty stsd");
    TRY_ASSIGN(auto entries, Children(r.Rest()));
    if (entries.empty()) return Malformed("empty stsd");
    const Child& entry = entries.front();
    t.sample_entry = entry.type;
    Reader e(entry.payload);
    if (entry.type == FourCC("avc1")) {
      uint16_t w = 0, h = 0;
      if (!e.Skip(24) || !e.U16(w) || !e.U16(h) || !e.Skip(50)) {
        return Malformed("short avc1 sample entry");
      }
      t.width = w;
      t.height = h;
      TRY_ASSIGN(auto children, Children(e.Rest()));
      TRY_ASSIGN(auto avcc, Need(children, FourCC("avcC")));
      t.avcc.assign(avcc.payload.begin(), avcc.payload.end());
      TRY_ASSIGN(t.codecs, AvcCodecString(avcc.payload));
    } else if (entry.type == FourCC("mp4a")) {
      uint16_t channels = 0;
      uint32_t rate = 0;
      if (!e.Skip(16) || !e.U16(channels) || !e.Skip(6) || !e.U32(rate)) {
        return Malformed("short mp4a sample entry");
      }
      t.channels = channels;
      t.sample_rate = int(rate >> 16);
      TRY_ASSIGN(auto children, Children(e.Rest()));
      TRY_ASSIGN(auto esds, Need(children, FourCC("esds")));
      TRY_ASSIGN(t.codecs, AacCodecString(esds.payload));
    } else if (entry.type == FourCC("avc3")) {
      return MakeError(
          ErrorCode::kUnsupported,
          "H.264 in an 'avc3' sample entry; CMAF for HLS wants 'avc1'");
    } else {
      return MakeError(
          ErrorCode::kUnsupported,
          fmt::format("sample entry '{}'", FourCCString(entry.type)));
    }
  }
  // trex is optional in general, but mp4mux's fragmented moov carries one.
  if (auto trex = Path(payload, {"mvex", "trex"})) {
    Reader r(trex->payload);
    uint32_t id = 0;
    if (!r.Skip(4) || !r.U32(id) || !r.Skip(4) || !r.U32(t.default_duration) ||
        !r.U32(t.default_size) || !r.U32(t.default_flags)) {
      return Malformed("short trex");
    }
  }
  return t;
}

Result<Moof> ParseMoof(ByteView moof, const TrackInfo& track) {
  TRY_ASSIGN(auto top, ReadBoxHeader(moof));
  if (!top || top->type != FourCC("moof") || top->size != moof.size()) {
    return Malformed("not a whole moof box");
  }
  Moof m;
  TRY_ASSIGN(auto children, Children(moof.subspan(top->header_size)));
  TRY_ASSIGN(auto mfhd, Need(children, FourCC("mfhd")));
  {
    Reader r(mfhd.payload);
    if (!r.Skip(4) || !r.U32(m.sequence)) return Malformed("short mfhd");
  }
  int trafs = 0;
  for (const auto& c : children) trafs += c.type == FourCC("traf");
  if (trafs != 1)
    return Malformed(fmt::format("moof with {} track fragments", trafs));
  TRY_ASSIGN(auto traf, Need(children, FourCC("traf")));
  TRY_ASSIGN(auto traf_children, Children(traf.payload));

  TRY_ASSIGN(auto tfhd, Need(traf_children, FourCC("tfhd")));
  uint32_t def_duration = track.default_duration, def_size = track.default_size,
           def_flags = track.default_flags;
  {
    Reader r(tfhd.payload);
    uint32_t vflags = 0;
    if (!r.U32(vflags) || !r.U32(m.track_id)) return Malformed("short tfhd");
    uint32_t flags = vflags & 0xffffff;
    if (flags & 0x000001) {
      return MakeError(ErrorCode::kUnsupported,
                       "tfhd with an absolute base-data-offset");
    }
    if (flags & 0x000002 && !r.Skip(4)) return Malformed("short tfhd");
    if (flags & 0x000008 && !r.U32(def_duration))
      return Malformed("short tfhd");
    if (flags & 0x000010 && !r.U32(def_size)) return Malformed("short tfhd");
    if (flags & 0x000020 && !r.U32(def_flags)) return Malformed("short tfhd");
  }
  if (auto tfdt = Find(traf_children, FourCC("tfdt"))) {
    Reader r(tfdt->payload);
    uint8_t version = 0;
    uint32_t t32 = 0;
    if (!r.U8(version) || !r.Skip(3)) return Malformed("short tfdt");
    if (version == 1) {
      if (!r.U64(m.base_decode_time)) return Malformed("short tfdt");
    } else {
      if (!r.U32(t32)) return Malformed("short tfdt");
      m.base_decode_time = t32;
    }
  } else {
    return Malformed("traf without tfdt");
  }

  bool first_run = true;
  uint64_t next_offset = 0;
  for (const auto& c : traf_children) {
    if (c.type != FourCC("trun")) continue;
    Reader r(c.payload);
    uint32_t vflags = 0, count = 0;
    if (!r.U32(vflags) || !r.U32(count)) return Malformed("short trun");
    const uint8_t version = uint8_t(vflags >> 24);
    const uint32_t flags = vflags & 0xffffff;
    uint64_t offset = next_offset;
    if (flags & 0x000001) {
      uint32_t raw = 0;
      if (!r.U32(raw)) return Malformed("short trun");
      int64_t signed_offset = int32_t(raw);
      if (signed_offset < 0) return Malformed("negative trun data offset");
      offset = uint64_t(signed_offset);
    } else if (first_run) {
      return MakeError(ErrorCode::kUnsupported, "trun without a data offset");
    }
    if (!first_run && offset != next_offset) {
      return MakeError(ErrorCode::kUnsupported, "non-contiguous track runs");
    }
    if (first_run) m.data_offset = offset;
    uint32_t first_flags = 0;
    const bool has_first_flags = flags & 0x000004;
    if (has_first_flags && !r.U32(first_flags)) return Malformed("short trun");
    // Each entry is at least 0 bytes, so bound the count by what is left.
    const size_t entry_size =
        4 * (((flags & 0x100) != 0) + ((flags & 0x200) != 0) +
             ((flags & 0x400) != 0) + ((flags & 0x800) != 0));
    if (entry_size > 0 && uint64_t(count) * entry_size > r.left()) {
      return Malformed("trun runs past its box");
    }
    if (count > (1u << 24)) return Malformed("trun sample count out of range");
    for (uint32_t i = 0; i < count; ++i) {
      Sample s{def_duration, def_size, def_flags, 0};
      if (flags & 0x100 && !r.U32(s.duration)) return Malformed("short trun");
      if (flags & 0x200 && !r.U32(s.size)) return Malformed("short trun");
      if (flags & 0x400) {
        if (!r.U32(s.flags)) return Malformed("short trun");
      } else if (i == 0 && has_first_flags) {
        s.flags = first_flags;
      }
      if (flags & 0x800) {
        uint32_t raw = 0;
        if (!r.U32(raw)) return Malformed("short trun");
        s.cto = version == 0 ? int32_t(std::min<uint32_t>(raw, INT32_MAX))
                             : int32_t(raw);
      }
      offset += s.size;
      m.samples.push_back(s);
    }
    next_offset = offset;
    first_run = false;
  }
  if (first_run) return Malformed("traf without trun");
  return m;
}

void BoxWriter::U16(uint16_t v) {
  U8(uint8_t(v >> 8));
  U8(uint8_t(v));
}
void BoxWriter::U32(uint32_t v) {
  U16(uint16_t(v >> 16));
  U16(uint16_t(v));
}
void BoxWriter::U64(uint64_t v) {
  U32(uint32_t(v >> 32));
  U32(uint32_t(v));
}
void BoxWriter::Begin(uint32_t type) {
  open_.push_back(out_.size());
  U32(0);
  U32(type);
}
void BoxWriter::BeginFull(uint32_t type, uint8_t version, uint32_t flags) {
  Begin(type);
  U32(uint32_t(version) << 24 | (flags & 0xffffff));
}
void BoxWriter::End() {
  const size_t start = open_.back();
  open_.pop_back();
  const uint32_t size = uint32_t(out_.size() - start);
  for (int i = 0; i < 4; ++i) out_[start + i] = uint8_t(size >> (24 - 8 * i));
}

Bytes BuildFtyp(uint32_t major, const std::vector<uint32_t>& brands) {
  BoxWriter w;
  w.Begin(FourCC("ftyp"));
  w.U32(major);
  w.U32(0);
  for (uint32_t b : brands) w.U32(b);
  w.End();
  return w.Take();
}

Result<Bytes> CmafFtyp(ByteView ftyp) {
  TRY_ASSIGN(auto header, ReadBoxHeader(ftyp));
  if (!header || header->type != FourCC("ftyp") ||
      header->size != ftyp.size()) {
    return Malformed("not a whole ftyp box");
  }
  Reader r(ftyp.subspan(header->header_size));
  uint32_t major = 0;
  if (!r.U32(major) || !r.Skip(4) || r.left() % 4 != 0)
    return Malformed("short ftyp");
  std::vector<uint32_t> brands;
  uint32_t b = 0;
  while (r.U32(b)) {
    if (std::find(brands.begin(), brands.end(), b) == brands.end())
      brands.push_back(b);
  }
  for (auto extra : {FourCC("iso6"), FourCC("cmfc")}) {
    if (std::find(brands.begin(), brands.end(), extra) == brands.end())
      brands.push_back(extra);
  }
  return BuildFtyp(FourCC("iso6"), brands);
}

Bytes BuildMoof(uint32_t sequence, uint32_t track_id, uint64_t base_decode_time,
                const std::vector<Sample>& samples) {
  const bool negative = std::any_of(samples.begin(), samples.end(),
                                    [](const Sample& s) { return s.cto < 0; });
  BoxWriter w;
  w.Begin(FourCC("moof"));
  w.BeginFull(FourCC("mfhd"), 0, 0);
  w.U32(sequence);
  w.End();
  w.Begin(FourCC("traf"));
  w.BeginFull(FourCC("tfhd"), 0, 0x020000);  // default-base-is-moof
  w.U32(track_id);
  w.End();
  w.BeginFull(FourCC("tfdt"), 1, 0);
  w.U64(base_decode_time);
  w.End();
  w.BeginFull(FourCC("trun"), negative ? 1 : 0,
              0x000001 | 0x100 | 0x200 | 0x400 | 0x800);
  w.U32(uint32_t(samples.size()));
  const size_t data_offset_pos = w.bytes().size();
  w.U32(0);  // patched below
  for (const auto& s : samples) {
    w.U32(s.duration);
    w.U32(s.size);
    w.U32(s.flags);
    w.U32(uint32_t(s.cto));
  }
  w.End();
  w.End();  // traf
  w.End();  // moof
  Bytes out = w.Take();
  uint64_t payload = 0;
  for (const auto& s : samples) payload += s.size;
  const uint32_t data_offset =
      uint32_t(out.size() + MdatHeader(payload).size());
  for (int i = 0; i < 4; ++i)
    out[data_offset_pos + i] = uint8_t(data_offset >> (24 - 8 * i));
  return out;
}

Bytes MdatHeader(uint64_t payload_size) {
  BoxWriter w;
  if (payload_size + 8 <= UINT32_MAX) {
    w.U32(uint32_t(payload_size + 8));
    w.U32(FourCC("mdat"));
  } else {
    w.U32(1);
    w.U32(FourCC("mdat"));
    w.U64(payload_size + 16);
  }
  return w.Take();
}

}  // namespace vodd::pipeline::bmff
