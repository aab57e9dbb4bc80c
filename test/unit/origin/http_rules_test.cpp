#include <catch2/catch.hpp>

#include "vodd/core/clock.h"
#include "vodd/origin/http_rules.h"

namespace vodd::origin {
namespace {

void Sat(const char* h, int64_t total, int64_t first, int64_t last) {
  INFO(h);
  auto r = ParseRange(h, total);
  REQUIRE(r.kind == RangeKind::kSatisfiable);
  CHECK(r.first == first);
  CHECK(r.last == last);
}

TEST_CASE("single byte ranges", "[unit][origin][range]") {
  Sat("bytes=0-99", 1000, 0, 99);
  Sat("bytes=100-", 1000, 100, 999);
  Sat("bytes=-100", 1000, 900, 999);
  Sat("bytes=-5000", 1000, 0, 999);       // suffix longer than the object
  Sat("bytes=990-5000", 1000, 990, 999);  // last clamped
  Sat("bytes=999-999", 1000, 999, 999);
  Sat("BYTES = 5-6", 1000, 5, 6);
  Sat("bytes=0-0", 1, 0, 0);
}

TEST_CASE("unsatisfiable ranges", "[unit][origin][range]") {
  for (const char* h :
       {"bytes=1000-", "bytes=1000-2000", "bytes=-0", "bytes=5000-5001"}) {
    INFO(h);
    CHECK(ParseRange(h, 1000).kind == RangeKind::kUnsatisfiable);
  }
  CHECK(ParseRange("bytes=0-", 0).kind == RangeKind::kUnsatisfiable);
  CHECK(ParseRange("bytes=-1", 0).kind == RangeKind::kUnsatisfiable);
}

TEST_CASE("ignored ranges get the whole object", "[unit][origin][range]") {
  for (const char* h : {"", "items=0-1", "bytes=", "bytes=-", "bytes=5-1",
                        "bytes=a-b", "bytes=0-1,5-6", "bytes=1", "bytes=+1-2",
                        "bytes=0x1-2", "bytes=-1-2"}) {
    INFO(h);
    CHECK(ParseRange(h, 1000).kind == RangeKind::kNone);
  }
}

TEST_CASE("If-None-Match", "[unit][origin][conditional]") {
  CHECK(IfNoneMatchMatches("\"abc\"", "\"abc\""));
  CHECK(IfNoneMatchMatches("W/\"abc\"", "\"abc\""));  // weak comparison
  CHECK(IfNoneMatchMatches("\"x\", \"abc\"", "\"abc\""));
  CHECK(IfNoneMatchMatches("*", "\"abc\""));
  CHECK_FALSE(IfNoneMatchMatches("\"abc-gz\"", "\"abc\""));
  CHECK_FALSE(IfNoneMatchMatches("\"abc\"", "\"abc-gz\""));
  CHECK_FALSE(IfNoneMatchMatches("abc", "\"abc\""));
  CHECK_FALSE(IfNoneMatchMatches("", "\"abc\""));
}

TEST_CASE("If-Range", "[unit][origin][conditional]") {
  int64_t lm = 1700000000;
  CHECK(IfRangeAllows("", "\"abc\"", lm));
  CHECK(IfRangeAllows("\"abc\"", "\"abc\"", lm));
  CHECK_FALSE(IfRangeAllows("\"old\"", "\"abc\"", lm));
  CHECK_FALSE(IfRangeAllows("W/\"abc\"", "\"abc\"", lm));  // strong only
  CHECK(IfRangeAllows(HttpDate(lm), "\"abc\"", lm));
  CHECK_FALSE(IfRangeAllows(HttpDate(lm - 1), "\"abc\"", lm));
  CHECK_FALSE(IfRangeAllows("yesterday", "\"abc\"", lm));
}

TEST_CASE("Accept-Encoding", "[unit][origin][gzip]") {
  CHECK(AcceptsGzip("gzip"));
  CHECK(AcceptsGzip("gzip, deflate, br"));
  CHECK(AcceptsGzip("br;q=1.0, GZIP;q=0.5"));
  CHECK(AcceptsGzip("x-gzip"));
  CHECK(AcceptsGzip("*"));
  CHECK_FALSE(AcceptsGzip(""));
  CHECK_FALSE(AcceptsGzip("identity"));
  CHECK_FALSE(AcceptsGzip("br, deflate"));
  CHECK_FALSE(AcceptsGzip("gzip;q=0"));
  CHECK_FALSE(AcceptsGzip("gzip;q=0.000, *"));
  CHECK_FALSE(AcceptsGzip("*;q=0"));
  CHECK(AcceptsGzip("gzip;q=0.001"));
}

}  // namespace
}  // namespace vodd::origin
