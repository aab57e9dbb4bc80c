#include <catch2/catch.hpp>

#include "vodd/core/clock.h"
#include "vodd/core/ids.h"
#include "vodd/core/metrics.h"
#include "vodd/core/result.h"
#include "vodd/core/strings.h"

using namespace vodd;

TEST_CASE("ParseNonNegativeInt is strict", "[unit]") {
  CHECK(ParseNonNegativeInt("0") == 0);
  CHECK(ParseNonNegativeInt("007") == 7);
  CHECK(ParseNonNegativeInt("9223372036854775807") == INT64_MAX);
  for (const char* bad :
       {"", "-1", "+5", "1e3", " 5", "5 ", "abc", "9223372036854775808",
        "99999999999999999999", "0x10"}) {
    INFO(bad);
    CHECK_FALSE(ParseNonNegativeInt(bad).has_value());
  }
}

TEST_CASE("ClockDuration rounds to the nearest second", "[unit]") {
  CHECK(ClockDuration(0) == "0:00");
  CHECK(ClockDuration(-20) == "0:00");
  CHECK(ClockDuration(499) == "0:00");
  CHECK(ClockDuration(4999) == "0:05");  // a 5 s source's 4.999 s of AAC
  CHECK(ClockDuration(59500) == "1:00");
  CHECK(ClockDuration(3599499) == "59:59");
  CHECK(ClockDuration(3599500) == "1:00:00");
  CHECK(ClockDuration(7325000) == "2:02:05");
}

TEST_CASE("RandomHex and IsLowerHex", "[unit]") {
  auto a = RandomHex(16), b = RandomHex(16);
  CHECK(a.size() == 32);
  CHECK(IsLowerHex(a, 32));
  CHECK(a != b);
  CHECK_FALSE(IsLowerHex("ABCDEF", 6));
  CHECK_FALSE(IsLowerHex("../etc", 6));
  CHECK_FALSE(IsLowerHex("abc", 4));
}

TEST_CASE("HTTP dates round-trip in IMF-fixdate", "[unit]") {
  CHECK(HttpDate(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777);
  CHECK(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT") == -1);
  CHECK(ParseHttpDate("garbage") == -1);
}

TEST_CASE("TRY propagates the first error", "[unit]") {
  auto fails = []() -> Result<int> {
    return MakeError(ErrorCode::kNotFound, "nope");
  };
  auto outer = [&]() -> Status {
    TRY(fails());
    return Ok();
  };
  auto r = outer();
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ErrorCode::kNotFound);
  CHECK(r.error().message == "nope");
}

TEST_CASE("Metrics render in Prometheus text format", "[unit]") {
  MetricsRegistry m;
  m.GetCounter("vodd_things_total", "Things.", {{"kind", "a\"b"}})->Inc(2);
  m.GetGauge("vodd_level", "Level.")->Set(1.5);
  auto* h = m.GetHistogram("vodd_wait_seconds", "Wait.", {0.1, 1});
  h->Observe(0.05);
  h->Observe(0.5);
  h->Observe(5);
  std::string out = m.Render();
  CHECK(out.find("# TYPE vodd_things_total "
                 "counter\nvodd_things_total{kind=\"a\\\"b\"} 2\n") !=
        std::string::npos);
  CHECK(out.find("vodd_level 1.5\n") != std::string::npos);
  CHECK(out.find("vodd_wait_seconds_bucket{le=\"0.1\"} 1\n") !=
        std::string::npos);
  CHECK(out.find("vodd_wait_seconds_bucket{le=\"1\"} 2\n") !=
        std::string::npos);
  CHECK(out.find("vodd_wait_seconds_bucket{le=\"+Inf\"} 3\n") !=
        std::string::npos);
  CHECK(out.find("vodd_wait_seconds_count 3\n") != std::string::npos);
  CHECK(out.find("process_resident_memory_bytes ") != std::string::npos);
  CHECK(out.find("process_open_fds ") != std::string::npos);
  CHECK(out.find("process_start_time_seconds ") != std::string::npos);
}
