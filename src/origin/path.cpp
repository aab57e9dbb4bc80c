// Strict URL grammar for /v/… (see path.h). Decoding happens once per part;
// a part that still carries '%' after decoding, or that decodes to '/', '\',
// NUL or a dot segment, is a traversal attempt and answered 400.
#include "vodd/origin/path.h"

#include <vector>

#include "vodd/core/ids.h"

namespace vodd::origin {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Positive decimal without leading zeros, at most 9 digits.
std::optional<int64_t> ParseNumber(std::string_view s) {
  if (s.empty() || s.size() > 9 || s[0] == '0') return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

bool IsRenditionName(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

// A decoded part that can only be hostile: it would change the folder or
// smuggle bytes no legitimate URL of ours contains.
bool IsHostilePart(std::string_view s) {
  if (s == "." || s == "..") return true;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '/' || c == '\\' || c == '%' || u < 0x20 || u >= 0x7f) return true;
  }
  return false;
}

std::optional<ObjectKind> VersionFile(std::string_view name) {
  if (name == "master.m3u8") return ObjectKind::kMaster;
  if (name == "manifest.mpd") return ObjectKind::kMpd;
  if (name == "thumbs.vtt") return ObjectKind::kThumbsVtt;
  if (name == "sprite.jpg") return ObjectKind::kSprite;
  if (name == "poster.jpg") return ObjectKind::kPoster;
  return std::nullopt;
}

}  // namespace

std::optional<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

PathResult ParseObjectPath(std::string_view raw, Escapes escapes) {
  PathResult bad{std::nullopt, PathError::kBad};
  PathResult not_found{std::nullopt, PathError::kNotFound};
  if (raw.substr(0, 3) != "/v/") return not_found;
  std::vector<std::string> parts;
  size_t pos = 3;
  while (true) {
    size_t slash = raw.find('/', pos);
    std::string_view enc =
        raw.substr(pos, slash == std::string_view::npos ? std::string_view::npos
                                                        : slash - pos);
    auto dec = escapes == Escapes::kDecodeOnce
                   ? PercentDecode(enc)
                   : std::optional<std::string>(enc);
    if (!dec || IsHostilePart(*dec)) return bad;
    parts.push_back(std::move(*dec));
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  if (parts.size() < 2 || parts.size() > 4) return not_found;
  ObjectPath p;
  if (!IsLowerHex(parts[0], 32)) return not_found;
  p.video = parts[0];
  if (parts.size() == 2) {
    if (parts[1] == "master.m3u8")
      p.kind = ObjectKind::kMaster;
    else if (parts[1] == "manifest.mpd")
      p.kind = ObjectKind::kMpd;
    else if (parts[1] == "poster.jpg")
      p.kind = ObjectKind::kPoster;  // for <video poster>, web pages, CMSes
    else
      return not_found;
    return {p, PathError::kNotFound};
  }
  auto version = ParseNumber(parts[1]);
  if (!version) return not_found;
  p.version = *version;
  if (parts.size() == 3) {
    auto kind = VersionFile(parts[2]);
    if (!kind) return not_found;
    p.kind = *kind;
    return {p, PathError::kNotFound};
  }
  if (!IsRenditionName(parts[2])) return not_found;
  p.rendition = parts[2];
  const std::string& file = parts[3];
  if (file == "index.m3u8") {
    p.kind = ObjectKind::kMedia;
  } else if (file == "iframes.m3u8") {
    p.kind = ObjectKind::kIFrames;
  } else if (file == "init.mp4") {
    p.kind = ObjectKind::kInit;
  } else if (file.size() > 4 && file.compare(file.size() - 4, 4, ".m4s") == 0) {
    auto n = ParseNumber(std::string_view(file).substr(0, file.size() - 4));
    if (!n) return not_found;
    p.kind = ObjectKind::kSegment;
    p.segment = *n;
  } else {
    return not_found;
  }
  return {p, PathError::kNotFound};
}

std::string MediaFileName(const ObjectPath& p) {
  switch (p.kind) {
    case ObjectKind::kInit:
      return p.rendition + "/init.mp4";
    case ObjectKind::kSegment:
      return p.rendition + "/" + std::to_string(p.segment) + ".m4s";
    case ObjectKind::kSprite:
      return "sprite.jpg";
    case ObjectKind::kPoster:
      return "poster.jpg";
    default:
      return "";
  }
}

}  // namespace vodd::origin
