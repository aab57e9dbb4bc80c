// Ladder planning: which rungs to encode for a probed source. Pure.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "vodd/pipeline/media.h"

namespace vodd::pipeline {
namespace {

int EvenDown(int v) { return std::max(2, v & ~1); }
int EvenNearest(double v) { return std::max(2, int(std::lround(v / 2.0)) * 2); }

}  // namespace

Result<LadderPlan> PlanLadder(const ProbeResult& probe,
                              const config::PipelineConfig& cfg) {
  if (!probe.video && !probe.audio) {
    return MakeError(ErrorCode::kMedia, "no audio or video stream to encode");
  }
  LadderPlan plan;
  plan.audio = probe.audio.has_value();
  plan.audio_bitrate_kbps = cfg.audio_bitrate_kbps;
  plan.segment_seconds = std::clamp(cfg.segment_seconds, 2, 6);
  plan.x264_preset = cfg.x264_preset;
  plan.sprite_interval_s = std::max(1, cfg.sprite_interval_s);
  plan.thumb_width = EvenDown(std::max(16, cfg.thumb_width));
  if (!probe.video) return plan;

  const VideoStreamInfo& v = *probe.video;
  if (v.width <= 0 || v.height <= 0) {
    return MakeError(ErrorCode::kMedia, "video stream without dimensions");
  }
  // Display size: pixel aspect ratio applied, then rotation.
  double dw = v.width, dh = v.height;
  if (v.par_num > 0 && v.par_den > 0 && v.par_num != v.par_den) {
    dw = dw * v.par_num / v.par_den;
  }
  if (v.rotation == 90 || v.rotation == 270) std::swap(dw, dh);
  const bool portrait = dh > dw;
  const double short_side = std::min(dw, dh), long_side = std::max(dw, dh);

  // Frame rate: kept, unknown (variable) becomes 30, above the cap divided
  // by a whole number so the cadence stays even (120 → 60, 90 → 45).
  int64_t num = v.fps_num, den = v.fps_den;
  if (num <= 0 || den <= 0) num = 30, den = 1;
  const int max_fps = std::max(1, cfg.max_fps);
  if (num > int64_t(max_fps) * den) {
    den *= (num + int64_t(max_fps) * den - 1) / (int64_t(max_fps) * den);
  }
  const int64_t g = std::gcd(num, den);
  plan.fps_num = int(num / g);
  plan.fps_den = int(den / g);

  std::vector<config::Rung> rungs = cfg.ladder;
  std::sort(rungs.begin(), rungs.end(),
            [](const config::Rung& a, const config::Rung& b) {
              return a.height > b.height;
            });
  auto add = [&](int s, int kbps) {
    const int l = EvenNearest(s * long_side / short_side);
    PlannedRung rung{fmt::format("v{}", s), portrait ? s : l, portrait ? l : s,
                     kbps};
    if (!plan.video.empty() && plan.video.back().name == rung.name) return;
    plan.video.push_back(rung);
  };
  const config::Rung* above = nullptr;  // the smallest rung too big to fit
  for (const auto& r : rungs) {
    const int s = EvenDown(r.height);
    if (r.height <= 0) continue;
    if (s > short_side) {  // never upscale
      above = &r;
      continue;
    }
    // A source between two rungs (PAL SD's 576 lines between 480 and 720)
    // keeps its own size as the top rung, with a bitrate between the two
    // rungs' by picture area; within 10 % of the rung below it does not.
    const int own = EvenDown(int(short_side));
    if (plan.video.empty() && above && own > s * 1.1) {
      const double lo = double(s) * s,
                   hi = double(above->height) * above->height;
      const double f = (double(own) * own - lo) / (hi - lo);
      add(own, int(std::lround(r.bitrate_kbps +
                               f * (above->bitrate_kbps - r.bitrate_kbps))));
    }
    add(s, r.bitrate_kbps);
  }
  if (plan.video.empty()) {
    // Smaller than every rung: one rung at the source size, with the smallest
    // rung's bitrate scaled by area.
    const int s = EvenDown(int(short_side)), l = EvenDown(int(long_side));
    int kbps = 500;
    if (!rungs.empty() && rungs.back().height > 0) {
      const double ref_s = rungs.back().height, ref_l = ref_s * 16 / 9;
      kbps = int(std::lround(rungs.back().bitrate_kbps * (double(s) * l) /
                             (ref_s * ref_l)));
    }
    plan.video.push_back(PlannedRung{fmt::format("v{}", s), portrait ? s : l,
                                     portrait ? l : s, std::max(100, kbps)});
  }

  // A segment is a whole number of frames, and of GOPs no longer than 2 s
  // (Apple 1.13), so keyframes land on every segment boundary.
  plan.segment_frames =
      int(std::max<int64_t>(1, (num * plan.segment_seconds * 2 / den + 1) / 2));
  const int gop_limit = int(std::max<int64_t>(1, (num * 2 * 2 / den + 1) / 2));
  plan.gop_frames = 1;
  for (int d = std::min(gop_limit, plan.segment_frames); d >= 1; --d) {
    if (plan.segment_frames % d == 0) {
      plan.gop_frames = d;
      break;
    }
  }
  return plan;
}

}  // namespace vodd::pipeline
