// A small Prometheus registry: counters, gauges and histograms with labels,
// rendered in the text exposition format 0.0.4. Metric objects are created
// once (at module Create) and updated lock-free from any thread; Render()
// may run on any thread. Naming follows prometheus.io: vodd_ prefix, base
// units, _total on counters.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace vodd {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Inc(double v = 1) {
    double cur = value_.load(std::memory_order_relaxed);
    while (!value_.compare_exchange_weak(cur, cur + v)) {
    }
  }
  double Value() const { return value_.load(); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v); }
  void Add(double v) {
    double cur = value_.load(std::memory_order_relaxed);
    while (!value_.compare_exchange_weak(cur, cur + v)) {
    }
  }
  double Value() const { return value_.load(); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Snap() const;

 private:
  std::vector<double> bounds_;
  mutable std::mutex mutex_;  // guards counts_, sum_
  std::vector<uint64_t> counts_;
  double sum_ = 0;
};

class MetricsRegistry {
 public:
  // Returns the series for (name, labels), creating family and series on
  // first use. The pointer stays valid for the registry's lifetime.
  Counter* GetCounter(const std::string& name, const std::string& help,
                      const Labels& labels = {});
  Gauge* GetGauge(const std::string& name, const std::string& help,
                  const Labels& labels = {});
  Histogram* GetHistogram(const std::string& name, const std::string& help,
                          std::vector<double> bounds,
                          const Labels& labels = {});
  // A gauge computed at render time (queue depth from the catalog, …). The
  // callback runs on the rendering thread and must not block for long.
  void AddCallbackGauge(const std::string& name, const std::string& help,
                        std::function<double()> fn, const Labels& labels = {});
  // Text format, families sorted by name, plus process_* metrics.
  std::string Render() const;

 private:
  struct Family {
    std::string type, help;
    std::map<std::string, std::unique_ptr<Counter>> counters;
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
    std::map<std::string, std::function<double()>> callbacks;
  };
  Family& FamilyFor(const std::string& name, const std::string& type,
                    const std::string& help);
  mutable std::mutex mutex_;  // guards families_ (structure, not values)
  std::map<std::string, Family> families_;
};

// Renders Labels as {a="x",b="y"} with escaping; "" when empty.
std::string RenderLabels(const Labels& labels);
// process_* metrics from /proc/self, in text format.
std::string RenderProcessMetrics();

}  // namespace vodd
