#include "vodd/core/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace vodd {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {
  std::sort(bounds_.begin(), bounds_.end());
}

void Histogram::Observe(double v) {
  size_t i =
      std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  std::lock_guard<std::mutex> lock(mutex_);
  counts_[i]++;
  sum_ += v;
}

Histogram::Snapshot Histogram::Snap() const {
  Snapshot s;
  s.bounds = bounds_;
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t acc = 0;
  for (uint64_t c : counts_) {
    acc += c;
    s.cumulative.push_back(acc);
  }
  s.sum = sum_;
  s.count = acc;
  return s;
}

namespace {
std::string Escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string Num(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

std::string WithLabel(const std::string& labels, const std::string& extra) {
  if (labels.empty()) return "{" + extra + "}";
  return labels.substr(0, labels.size() - 1) + "," + extra + "}";
}
}  // namespace

std::string RenderLabels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ",";
    out += labels[i].first + "=\"" + Escape(labels[i].second) + "\"";
  }
  return out + "}";
}

MetricsRegistry::Family& MetricsRegistry::FamilyFor(const std::string& name,
                                                    const std::string& type,
                                                    const std::string& help) {
  auto& f = families_[name];
  if (f.type.empty()) {
    f.type = type;
    f.help = help;
  }
  return f;
}

Counter* MetricsRegistry::GetCounter(const std::string& name,
                                     const std::string& help,
                                     const Labels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& slot = FamilyFor(name, "counter", help).counters[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return slot.get();
}

Gauge* MetricsRegistry::GetGauge(const std::string& name,
                                 const std::string& help,
                                 const Labels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& slot = FamilyFor(name, "gauge", help).gauges[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Gauge>();
  return slot.get();
}

Histogram* MetricsRegistry::GetHistogram(const std::string& name,
                                         const std::string& help,
                                         std::vector<double> bounds,
                                         const Labels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& slot =
      FamilyFor(name, "histogram", help).histograms[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Histogram>(std::move(bounds));
  return slot.get();
}

void MetricsRegistry::AddCallbackGauge(const std::string& name,
                                       const std::string& help,
                                       std::function<double()> fn,
                                       const Labels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  FamilyFor(name, "gauge", help).callbacks[RenderLabels(labels)] =
      std::move(fn);
}

std::string MetricsRegistry::Render() const {
  std::string out;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [name, f] : families_) {
    out +=
        fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, f.help, name, f.type);
    for (const auto& [l, c] : f.counters)
      out += name + l + " " + Num(c->Value()) + "\n";
    for (const auto& [l, g] : f.gauges)
      out += name + l + " " + Num(g->Value()) + "\n";
    for (const auto& [l, fn] : f.callbacks)
      out += name + l + " " + Num(fn()) + "\n";
    for (const auto& [l, h] : f.histograms) {
      auto s = h->Snap();
      for (size_t i = 0; i < s.bounds.size(); ++i) {
        out += name + "_bucket" +
               WithLabel(l, "le=\"" + Num(s.bounds[i]) + "\"") + " " +
               std::to_string(s.cumulative[i]) + "\n";
      }
      out += name + "_bucket" + WithLabel(l, "le=\"+Inf\"") + " " +
             std::to_string(s.count) + "\n";
      out += name + "_sum" + l + " " + Num(s.sum) + "\n";
      out += name + "_count" + l + " " + std::to_string(s.count) + "\n";
    }
  }
  out += RenderProcessMetrics();
  return out;
}

std::string RenderProcessMetrics() {
  // /proc/self/stat fields: utime(14) stime(15) starttime(22) vsize(23) rss(24)
  std::ifstream in("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  auto close = stat.rfind(')');
  if (close == std::string::npos) return "";
  std::istringstream rest(stat.substr(close + 2));
  std::vector<std::string> f;
  std::string tok;
  while (rest >> tok) f.push_back(tok);
  // f[0] is field 3 (state).
  auto field = [&](int n) -> double {
    size_t i = static_cast<size_t>(n - 3);
    return i < f.size() ? std::stod(f[i]) : 0;
  };
  double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  double boot_time = 0;
  std::ifstream sin("/proc/stat");
  std::string line;
  while (std::getline(sin, line)) {
    if (line.rfind("btime ", 0) == 0) boot_time = std::stod(line.substr(6));
  }
  int fds = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) fds++;
    closedir(d);
    fds -= 3;  // ".", ".." and the DIR's own fd
  }
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  std::string out;
  auto add = [&](const char* name, const char* type, const char* help,
                 double v) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name,
                       type, name, Num(v));
  };
  add("process_cpu_seconds_total", "counter",
      "Total user and system CPU time spent in seconds.",
      (field(14) + field(15)) / ticks);
  add("process_resident_memory_bytes", "gauge",
      "Resident memory size in bytes.", field(24) * page);
  add("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
      field(23));
  add("process_open_fds", "gauge", "Number of open file descriptors.", fds);
  add("process_max_fds", "gauge", "Maximum number of open file descriptors.",
      static_cast<double>(rl.rlim_cur));
  add("process_start_time_seconds", "gauge",
      "Start time of the process since unix epoch in seconds.",
      boot_time + field(22) / ticks);
  return out;
}

}  // namespace vodd
