// Time sources. Persisted deadlines use wall-clock Unix milliseconds; pass a
// Clock so tests can control time (FakeClock).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace vodd {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowUnixMs() const = 0;
  // Monotonic milliseconds, for in-process timeouts.
  virtual int64_t NowMonotonicMs() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowUnixMs() const override;
  int64_t NowMonotonicMs() const override;
  static const Clock& Get();
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t unix_ms = 1'700'000'000'000) : now_(unix_ms) {}
  int64_t NowUnixMs() const override { return now_.load(); }
  int64_t NowMonotonicMs() const override { return now_.load(); }
  void Advance(int64_t ms) { now_ += ms; }

 private:
  std::atomic<int64_t> now_;
};

// RFC 9110 IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
std::string HttpDate(int64_t unix_seconds);
// Parses an IMF-fixdate; returns -1 on anything else.
int64_t ParseHttpDate(const std::string& s);

}  // namespace vodd
