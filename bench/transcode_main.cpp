// vodd-bench-transcode SRC OUTDIR [--ladder H:KBPS,…] [--preset P]
//                                 [--segment S] [--gop-seconds ignored]
// Runs vodd's Probe → PlanLadder → Transcode on one local file, as the worker
// does, and prints one JSON line: wall seconds, CPU seconds, media seconds and
// the renditions. For bench/transcode; not part of the daemon.
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "vodd/pipeline/media.h"

namespace {

double CpuSeconds() {
  rusage self{}, children{};
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &children);
  auto s = [](const timeval& t) {
    return double(t.tv_sec) + double(t.tv_usec) / 1e6;
  };
  return s(self.ru_utime) + s(self.ru_stime) + s(children.ru_utime) +
         s(children.ru_stime);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: %s SRC OUTDIR [--ladder H:KBPS,...] [--preset P] "
                 "[--segment S]\n",
                 argv[0]);
    return 2;
  }
  const std::string src = argv[1], out = argv[2];
  vodd::config::PipelineConfig cfg;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--preset") {
      cfg.x264_preset = value;
    } else if (flag == "--segment") {
      cfg.segment_seconds = std::atoi(value.c_str());
    } else if (flag == "--ladder") {
      cfg.ladder.clear();
      size_t pos = 0;
      while (pos < value.size()) {
        size_t end = value.find(',', pos);
        if (end == std::string::npos) end = value.size();
        const std::string item = value.substr(pos, end - pos);
        const size_t colon = item.find(':');
        if (colon == std::string::npos) {
          std::fprintf(stderr, "bad ladder item %s\n", item.c_str());
          return 2;
        }
        cfg.ladder.push_back({std::atoi(item.substr(0, colon).c_str()),
                              std::atoi(item.substr(colon + 1).c_str())});
        pos = end + 1;
      }
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  const auto start = std::chrono::steady_clock::now();
  auto probe = vodd::pipeline::Probe(src);
  if (!probe) {
    std::fprintf(stderr, "probe: %s\n", probe.error().message.c_str());
    return 1;
  }
  auto plan = vodd::pipeline::PlanLadder(*probe, cfg);
  if (!plan) {
    std::fprintf(stderr, "plan: %s\n", plan.error().message.c_str());
    return 1;
  }
  std::atomic<bool> cancel{false};
  auto result = vodd::pipeline::Transcode(src, *probe, *plan, out, nullptr,
                                          &cancel, cfg.stall_timeout_s);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (!result) {
    std::fprintf(stderr, "transcode: %s: %s\n",
                 vodd::ErrorCodeName(result.error().code),
                 result.error().message.c_str());
    return 1;
  }
  std::string renditions;
  for (const auto& r : result->renditions) {
    if (!renditions.empty()) renditions += ",";
    renditions += fmt::format(
        R"({{"name":"{}","codecs":"{}","width":{},"height":{},"segments":{},"avg_bps":{},"peak_bps":{}}})",
        r.name, r.codecs, r.width, r.height, r.segments.size(), r.bandwidth_avg,
        r.bandwidth_peak);
  }
  std::printf(
      R"({"wall_s":%.2f,"cpu_s":%.2f,"media_s":%.3f,"realtime_factor":%.3f,"renditions":[%s]})"
      "\n",
      wall, CpuSeconds(), double(result->duration_ms) / 1000.0,
      double(result->duration_ms) / 1000.0 / wall, renditions.c_str());
  return 0;
}
