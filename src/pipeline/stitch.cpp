// The stitch job of a split source (see split.h): no encoding, only checks
// and hard links. For each video rung it compares the chunks' init.mp4
// byte for byte, then walks the chunks' segments in order, parsing every
// moof (tfdt, trun) to check that segment numbers and decode times continue
// across each join, and collects the segment index, keyframes and bandwidths
// that Transcode's writer would have collected. The audio renditions (one
// job for the whole file, a rendition per language) are indexed the same
// way. Poster and sprite are
// decoded from the stitched key samples, the same frames Transcode picks.
//
//   chunk 0/v360/{init.mp4,1.m4s…5.m4s}  ┐
//   chunk 1/v360/{init.mp4,6.m4s…10.m4s} ├─► out/v360/{init.mp4,1…15.m4s}
//   chunk 2/v360/{init.mp4,11.m4s…15.m4s}┘   (hard links)
//   audio/a0/{init.mp4,1…15.m4s}          ──► out/a0/…
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "pipeline/gst_util.h"
#include "pipeline/thumbnails.h"
#include "pipeline/transcode_graph.h"
#include "vodd/core/log.h"
#include "vodd/pipeline/bmff.h"
#include "vodd/pipeline/split.h"

namespace vodd::pipeline {
namespace {

namespace fs = std::filesystem;
using bmff::ByteView;
using bmff::FourCC;

Result<bmff::Bytes> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoError(errno, "open " + path);
  bmff::Bytes data((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  if (in.bad()) return ErrnoError(errno, "read " + path);
  return data;
}

// Hard link; a copy only when the parts live on another file system.
Status LinkFile(const std::string& from, const std::string& to) {
  if (::link(from.c_str(), to.c_str()) == 0) return Ok();
  if (errno != EXDEV) return ErrnoError(errno, "link " + to);
  std::error_code ec;
  fs::copy_file(from, to, ec);
  if (ec) {
    return MakeError(ErrorCode::kIo,
                     fmt::format("copy {}: {}", to, ec.message()));
  }
  return Ok();
}

Status MakeDir(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) {
    return MakeError(ErrorCode::kIo,
                     fmt::format("mkdir {}: {}", path, ec.message()));
  }
  return Ok();
}

// The moov of an init segment (ftyp + moov).
Result<bmff::TrackInfo> ParseInit(ByteView init, const std::string& path) {
  size_t pos = 0;
  while (pos < init.size()) {
    TRY_ASSIGN(auto header, bmff::ReadBoxHeader(init.subspan(pos)));
    if (!header || header->size > init.size() - pos) break;
    if (header->type == FourCC("moov")) {
      return bmff::ParseMoov(init.subspan(pos, header->size));
    }
    pos += header->size;
  }
  return MakeError(ErrorCode::kMedia, path + " has no moov");
}

// Indexes one rendition across its parts; see the file comment.
class RenditionStitcher {
 public:
  RenditionStitcher(std::string name, std::string out_dir)
      : name_(std::move(name)), out_dir_(std::move(out_dir) + "/" + name_) {}

  // Takes the first part's init segment; later parts must match it.
  Status Init(const std::string& part_dir, catalog::Rendition base) {
    const std::string path = part_dir + "/" + name_ + "/init.mp4";
    TRY_ASSIGN(init_, ReadAll(path));
    TRY_ASSIGN(track_, ParseInit(init_, path));
    TRY(MakeDir(out_dir_));
    TRY(LinkFile(path, out_dir_ + "/init.mp4"));
    r_ = std::move(base);
    r_.name = name_;
    r_.codecs = track_.codecs;
    r_.timescale = track_.timescale;
    if (r_.kind == "video") {
      r_.width = track_.width;
      r_.height = track_.height;
    } else {
      r_.sample_rate = track_.sample_rate;
      r_.channels = track_.channels;
    }
    r_.init_size = int64_t(init_.size());
    r_.init_hash = Sha256Hex(init_);
    return Ok();
  }

  Status CheckInit(const std::string& part_dir, int part) {
    const std::string path = part_dir + "/" + name_ + "/init.mp4";
    TRY_ASSIGN(auto init, ReadAll(path));
    if (init != init_) {
      return MakeError(
          ErrorCode::kMedia,
          fmt::format("{}: init.mp4 of chunk {} differs from chunk 0's (the "
                      "chunks were not encoded with the same settings)",
                      name_, part));
    }
    return Ok();
  }

  // Adds segments first … last (last < 0: as many as exist, at least one)
  // of the part in `part_dir`.
  Status AddPart(const std::string& part_dir, int part, int64_t first,
                 int64_t last, const std::vector<KeyCapture*>& captures) {
    if (first != next_number_) {
      return MakeError(ErrorCode::kMedia,
                       fmt::format("{}: chunk {} starts at segment {}, "
                                   "expected {}",
                                   name_, part, first, next_number_));
    }
    const bool join = !r_.segments.empty();
    for (int64_t n = first; last < 0 || n <= last; ++n) {
      const std::string path = fmt::format("{}/{}/{}.m4s", part_dir, name_, n);
      if (last < 0 && n > first && !fs::exists(path)) break;
      TRY_ASSIGN(auto bytes, ReadAll(path));
      TRY(AddSegment(n, bytes, join && n == first, part, captures));
      TRY(LinkFile(path, fmt::format("{}/{}.m4s", out_dir_, n)));
    }
    if (last >= 0) {
      const std::string extra =
          fmt::format("{}/{}/{}.m4s", part_dir, name_, last + 1);
      if (fs::exists(extra)) {
        return MakeError(ErrorCode::kMedia,
                         fmt::format("{}: chunk {} has segments past {}", name_,
                                     part, last));
      }
    }
    return Ok();
  }

  // Bitrates over the whole sequence, as Transcode's writer computes them.
  catalog::Rendition Finish() {
    FillBandwidth(r_);
    return r_;
  }

  double covered_ms() const {
    return double(end_time_ - first_time_) * 1000.0 /
           double(std::max<uint32_t>(1, track_.timescale));
  }
  KeySource keys(const KeyCapture* capture) const {
    return KeySource{&track_.avcc, int(r_.width), int(r_.height), capture};
  }

 private:
  Status AddSegment(int64_t number, const bmff::Bytes& bytes, bool join,
                    int part, const std::vector<KeyCapture*>& captures) {
    catalog::Segment seg{number, 0, 0, int64_t(bytes.size()), Sha256Hex(bytes)};
    size_t pos = 0;
    bool first_moof = true;
    while (pos < bytes.size()) {
      ByteView rest(bytes.data() + pos, bytes.size() - pos);
      TRY_ASSIGN(auto header, bmff::ReadBoxHeader(rest));
      if (!header || header->size > rest.size()) {
        return MakeError(
            ErrorCode::kMedia,
            fmt::format("{}: segment {} is truncated", name_, number));
      }
      if (header->type != FourCC("moof")) {
        pos += header->size;
        continue;
      }
      TRY_ASSIGN(auto moof,
                 bmff::ParseMoof(rest.subspan(0, header->size), track_));
      const int64_t tfdt = int64_t(moof.base_decode_time);
      if (started_ && tfdt != end_time_) {
        return MakeError(
            ErrorCode::kMedia,
            join && first_moof
                ? fmt::format("{}: chunk {} starts at decode time {}, the "
                              "previous chunk ends at {}",
                              name_, part, tfdt, end_time_)
                : fmt::format("{}: segment {} has a gap at decode time {} "
                              "(expected {})",
                              name_, number, tfdt, end_time_));
      }
      if (!started_) {
        started_ = true;
        first_time_ = tfdt;
      }
      if (first_moof) seg.start_time = tfdt;
      first_moof = false;
      int64_t dur = 0;
      for (const auto& s : moof.samples) dur += s.duration;
      if (r_.kind == "video" && !moof.samples.empty() &&
          moof.samples.front().key()) {
        const auto& key = moof.samples.front();
        ByteView after = rest.subspan(header->size);
        TRY_ASSIGN(auto mdat, bmff::ReadBoxHeader(after));
        if (!mdat || mdat->type != FourCC("mdat") ||
            moof.data_offset + key.size > rest.size()) {
          return MakeError(ErrorCode::kMedia,
                           fmt::format("{}: segment {}: moof without its mdat",
                                       name_, number));
        }
        r_.keyframes.push_back(catalog::Keyframe{
            number, tfdt + key.cto, int64_t(pos),
            int64_t(header->size + mdat->header_size + key.size)});
        for (KeyCapture* capture : captures) {
          capture->Offer(double(tfdt + key.cto) / double(track_.timescale),
                         rest.subspan(size_t(moof.data_offset), key.size));
        }
      }
      seg.duration += dur;
      end_time_ = tfdt + dur;
      pos += header->size;
    }
    if (first_moof) {
      return MakeError(
          ErrorCode::kMedia,
          fmt::format("{}: segment {} has no fragment", name_, number));
    }
    r_.segments.push_back(seg);
    next_number_ = number + 1;
    return Ok();
  }

  std::string name_, out_dir_;
  bmff::Bytes init_;
  bmff::TrackInfo track_;
  catalog::Rendition r_;
  int64_t next_number_ = 1;
  bool started_ = false;
  int64_t first_time_ = 0, end_time_ = 0;
};

}  // namespace

Result<catalog::PublishedVersion> Stitch(
    const SplitContext& context, const SplitPlan& split,
    const std::vector<std::string>& inputs, const std::string& out_dir,
    std::function<void(const Progress&)> on_progress,
    const std::atomic<bool>* cancel) {
  const LadderPlan& plan = context.plan;
  const size_t chunks = split.chunks.size();
  if (chunks == 0 || inputs.size() != chunks + (split.audio ? 1 : 0) ||
      plan.video.empty()) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("stitch: {} inputs for {} chunks{}", inputs.size(), chunks,
                    split.audio ? " and audio" : ""));
  }
  const size_t steps = plan.video.size() * chunks + (split.audio ? 1 : 0);
  size_t done = 0;
  auto step = [&]() -> Status {
    ++done;
    if (cancel && cancel->load())
      return MakeError(ErrorCode::kCancelled, "cancelled");
    if (on_progress) {
      Progress p;
      p.fraction = double(done) / double(steps);
      on_progress(p);
    }
    return Ok();
  };

  KeyCapture poster_keys, sprite_keys;
  poster_keys.want_poster = true;
  poster_keys.poster_time =
      std::min(5.0, double(context.probe.duration_ms) / 2000.0);
  sprite_keys.want_sprite = true;
  sprite_keys.interval = plan.sprite_interval_s;

  catalog::PublishedVersion out;
  double covered_ms = 0;
  std::vector<RenditionStitcher> stitchers;
  for (size_t v = 0; v < plan.video.size(); ++v) {
    const auto& rung = plan.video[v];
    RenditionStitcher st(rung.name, out_dir);
    catalog::Rendition base;
    base.kind = "video";
    base.frame_rate_num = plan.fps_num;
    base.frame_rate_den = plan.fps_den;
    TRY(st.Init(inputs[0], base));
    for (size_t i = 1; i < chunks; ++i) TRY(st.CheckInit(inputs[i], int(i)));
    for (size_t i = 0; i < chunks; ++i) {
      // The top rung feeds the poster, the smallest the sprite (as in
      // Transcode; with one rung, both).
      std::vector<KeyCapture*> captures;
      if (v == 0) captures.push_back(&poster_keys);
      if (v + 1 == plan.video.size()) captures.push_back(&sprite_keys);
      const int64_t last =
          i + 1 < chunks ? split.chunks[i + 1].first_segment - 1 : -1;
      TRY(st.AddPart(inputs[i], int(i), split.chunks[i].first_segment, last,
                     captures));
      TRY(step());
    }
    covered_ms = std::max(covered_ms, st.covered_ms());
    stitchers.push_back(std::move(st));
  }
  for (auto& st : stitchers) out.renditions.push_back(st.Finish());

  if (split.audio) {
    // The audio job made every audio rendition in one piece.
    const auto tracks = AudioOutputs(context.probe);
    for (size_t k = 0; k < tracks.size(); ++k) {
      RenditionStitcher st(AudioRenditionName(k), out_dir);
      catalog::Rendition base;
      base.kind = "audio";
      base.language = tracks[k]->language;
      TRY(st.Init(inputs.back(), base));
      TRY(st.AddPart(inputs.back(), 0, 1, -1, {}));
      covered_ms = std::max(covered_ms, st.covered_ms());
      out.renditions.push_back(st.Finish());
    }
    TRY(step());
  }
  TRY_ASSIGN(out.thumbnails,
             MakeThumbnails(out_dir, plan.sprite_interval_s, plan.thumb_width,
                            stitchers.front().keys(&poster_keys),
                            stitchers.back().keys(&sprite_keys), covered_ms));
  out.duration_ms = int64_t(std::llround(covered_ms));
  LOG_INFO("pipeline", "stitched {} chunks into {} renditions ({:.1f} s)",
           chunks, out.renditions.size(), covered_ms / 1000.0);
  return out;
}

}  // namespace vodd::pipeline
