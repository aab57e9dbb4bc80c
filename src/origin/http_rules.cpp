// Range, conditional and Accept-Encoding rules (see http_rules.h).
#include "vodd/origin/http_rules.h"
#include "vodd/core/strings.h"

#include <optional>
#include <string>

#include "vodd/core/clock.h"
#include "vodd/core/ids.h"

namespace vodd::origin {
namespace {

std::string_view Trim(std::string_view s) { return TrimOws(s); }

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view Opaque(std::string_view tag) {
  if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
  return tag;
}

}  // namespace

RangeResult ParseRange(std::string_view header, int64_t total) {
  RangeResult none;
  header = Trim(header);
  size_t eq = header.find('=');
  if (eq == std::string_view::npos ||
      !IEquals(Trim(header.substr(0, eq)), "bytes")) {
    return none;
  }
  std::string_view spec = Trim(header.substr(eq + 1));
  if (spec.find(',') != std::string_view::npos) return none;
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return none;
  std::string_view a = Trim(spec.substr(0, dash));
  std::string_view b = Trim(spec.substr(dash + 1));
  if (a.empty()) {
    auto n = ParseNonNegativeInt(b);
    if (!n) return none;
    if (*n == 0 || total == 0) return {RangeKind::kUnsatisfiable, 0, 0};
    int64_t len = std::min(*n, total);
    return {RangeKind::kSatisfiable, total - len, total - 1};
  }
  auto first = ParseNonNegativeInt(a);
  if (!first) return none;
  int64_t last = total - 1;
  if (!b.empty()) {
    auto l = ParseNonNegativeInt(b);
    if (!l || *l < *first) return none;
    last = std::min(*l, total - 1);
  }
  if (*first >= total) return {RangeKind::kUnsatisfiable, 0, 0};
  return {RangeKind::kSatisfiable, *first, last};
}

bool IfNoneMatchMatches(std::string_view header, std::string_view etag) {
  header = Trim(header);
  if (header == "*") return true;
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view tag = Trim(header.substr(0, comma));
    if (!tag.empty() && Opaque(tag) == Opaque(etag)) return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

bool IfRangeAllows(std::string_view header, std::string_view etag,
                   int64_t last_modified_s) {
  header = Trim(header);
  if (header.empty()) return true;
  if (header.substr(0, 2) == "W/") return false;  // weak never matches
  if (header.front() == '"') return header == etag;
  int64_t t = ParseHttpDate(std::string(header));
  return t >= 0 && t == last_modified_s;
}

bool AcceptsGzip(std::string_view accept_encoding) {
  std::optional<bool> gzip, star;
  std::string_view rest = accept_encoding;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = Trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view()
                                           : rest.substr(comma + 1);
    if (item.empty()) continue;
    size_t semi = item.find(';');
    std::string_view coding = Trim(item.substr(0, semi));
    bool acceptable = true;
    if (semi != std::string_view::npos) {
      std::string_view params = Trim(item.substr(semi + 1));
      if (params.size() >= 2 && (params[0] == 'q' || params[0] == 'Q') &&
          params[1] == '=') {
        std::string_view q = Trim(params.substr(2));
        // q=0, q=0.0, q=0.00, q=0.000 refuse; anything else accepts.
        acceptable = false;
        for (char c : q) {
          if (c >= '1' && c <= '9') acceptable = true;
        }
      }
    }
    if (IEquals(coding, "gzip") || IEquals(coding, "x-gzip"))
      gzip = acceptable;
    else if (coding == "*")
      star = acceptable;
  }
  if (gzip) return *gzip;
  return star.value_or(false);
}

}  // namespace vodd::origin
