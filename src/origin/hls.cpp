// HLS rendering from catalog rows. Every Apple MUST that a VOD fMP4 stream
// can meet from the catalog is emitted here; see hls.h for the shape and
// test/unit/origin/hls_test.cpp for the exact text.
#include "vodd/origin/hls.h"

#include <algorithm>
#include <cctype>
#include <set>

#include <fmt/format.h>

namespace vodd::origin {
namespace {

using catalog::PublishedVersion;
using catalog::Rendition;

constexpr int kHlsVersion = 7;
constexpr std::string_view kAudioGroup = "audio";

int64_t RoundedSeconds(int64_t duration, int64_t timescale) {
  if (timescale <= 0) return 0;
  return (2 * duration + timescale) / (2 * timescale);
}

int64_t RenditionEnd(const Rendition& r) {
  if (r.segments.empty()) return 0;
  return r.segments.back().start_time + r.segments.back().duration;
}

std::string FrameRate(const Rendition& r) {
  if (r.frame_rate_num <= 0 || r.frame_rate_den <= 0) return "";
  return fmt::format("{:.3f}", static_cast<double>(r.frame_rate_num) /
                                   static_cast<double>(r.frame_rate_den));
}

std::vector<const Rendition*> OfKind(const PublishedVersion& v,
                                     std::string_view kind) {
  std::vector<const Rendition*> out;
  for (const auto& r : v.renditions) {
    if (r.kind == kind) out.push_back(&r);
  }
  return out;
}

std::string AudioName(const std::vector<const Rendition*>& audio,
                      const Rendition& r) {
  std::string lang = r.language.empty() ? "und" : r.language;
  int same = 0;
  for (const auto* a : audio) {
    if ((a->language.empty() ? "und" : a->language) == lang) ++same;
  }
  std::string name = LanguageName(lang);
  return same > 1 ? fmt::format("{} ({})", name, r.name) : name;
}

// ISO 639-1 and -2 (T and B) codes of the languages European broadcasters
// and their neighbours dub and subtitle into most often.
struct Language {
  const char* two;
  const char* three;
  const char* three_b;  // ISO 639-2/B where it differs, else ""
  const char* name;
};
constexpr Language kLanguages[] = {
    {"ar", "ara", "", "Arabic"},     {"bg", "bul", "", "Bulgarian"},
    {"ca", "cat", "", "Catalan"},    {"cs", "ces", "cze", "Czech"},
    {"cy", "cym", "wel", "Welsh"},   {"da", "dan", "", "Danish"},
    {"de", "deu", "ger", "German"},  {"el", "ell", "gre", "Greek"},
    {"en", "eng", "", "English"},    {"es", "spa", "", "Spanish"},
    {"et", "est", "", "Estonian"},   {"eu", "eus", "baq", "Basque"},
    {"fi", "fin", "", "Finnish"},    {"fr", "fra", "fre", "French"},
    {"ga", "gle", "", "Irish"},      {"gd", "gla", "", "Scottish Gaelic"},
    {"gl", "glg", "", "Galician"},   {"he", "heb", "", "Hebrew"},
    {"hi", "hin", "", "Hindi"},      {"hr", "hrv", "", "Croatian"},
    {"hu", "hun", "", "Hungarian"},  {"is", "isl", "ice", "Icelandic"},
    {"it", "ita", "", "Italian"},    {"ja", "jpn", "", "Japanese"},
    {"ko", "kor", "", "Korean"},     {"lt", "lit", "", "Lithuanian"},
    {"lv", "lav", "", "Latvian"},    {"nl", "nld", "dut", "Dutch"},
    {"no", "nor", "", "Norwegian"},  {"pl", "pol", "", "Polish"},
    {"pt", "por", "", "Portuguese"}, {"ro", "ron", "rum", "Romanian"},
    {"ru", "rus", "", "Russian"},    {"sk", "slk", "slo", "Slovak"},
    {"sl", "slv", "", "Slovenian"},  {"sr", "srp", "", "Serbian"},
    {"sv", "swe", "", "Swedish"},    {"tr", "tur", "", "Turkish"},
    {"uk", "ukr", "", "Ukrainian"},  {"zh", "zho", "chi", "Chinese"},
};

std::string Header() {
  return fmt::format("#EXTM3U\n#EXT-X-VERSION:{}\n", kHlsVersion);
}

std::string Timestamp(int64_t ms) {
  return fmt::format("{:02}:{:02}:{:02}.{:03}", ms / 3600000, ms / 60000 % 60,
                     ms / 1000 % 60, ms % 1000);
}

}  // namespace

std::string LanguageName(std::string_view code) {
  if (code.empty() || code == "und") return "Original";
  // "en-GB": the name of the primary subtag.
  std::string_view primary = code.substr(0, code.find_first_of("-_"));
  if (primary.empty()) return std::string(code);
  std::string lower(primary);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  for (const auto& l : kLanguages) {
    if (lower == l.two || lower == l.three || lower == l.three_b) {
      return l.name;
    }
  }
  return std::string(code);
}

std::string FormatSeconds(int64_t duration, int64_t timescale) {
  if (timescale <= 0) return "0.000";
  int64_t micros = (duration * 1000000 + timescale / 2) / timescale;
  std::string frac = fmt::format("{:06}", micros % 1000000);
  while (frac.size() > 3 && frac.back() == '0') frac.pop_back();
  return fmt::format("{}.{}", micros / 1000000, frac);
}

int64_t TargetDuration(const PublishedVersion& v) {
  int64_t target = 1;
  for (const auto& r : v.renditions) {
    for (const auto& s : r.segments) {
      target = std::max(target, RoundedSeconds(s.duration, r.timescale));
    }
  }
  return target;
}

int64_t IFramePeakBandwidth(const Rendition& r) {
  int64_t peak = 0;
  int64_t end = RenditionEnd(r);
  for (size_t i = 0; i < r.keyframes.size(); ++i) {
    int64_t next = i + 1 < r.keyframes.size() ? r.keyframes[i + 1].time : end;
    int64_t dur = next - r.keyframes[i].time;
    if (dur <= 0) continue;
    int64_t bits = r.keyframes[i].length * 8 * r.timescale;
    peak = std::max(peak, (bits + dur - 1) / dur);
  }
  return peak;
}

std::string RenderMultivariant(const PublishedVersion& v,
                               std::string_view prefix) {
  auto video = OfKind(v, "video");
  auto audio = OfKind(v, "audio");
  std::string out = Header();
  out += "#EXT-X-INDEPENDENT-SEGMENTS\n";

  if (video.empty()) {
    // Audio only: every audio rendition is a variant of its own.
    for (const auto* a : audio) {
      out += fmt::format(
          "\n#EXT-X-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},CODECS=\"{}"
          "\"\n"
          "{}{}/index.m3u8\n",
          a->bandwidth_peak, a->bandwidth_avg, a->codecs, prefix, a->name);
    }
    return out;
  }

  int64_t audio_peak = 0, audio_avg = 0;
  std::set<std::string> audio_codecs;
  if (!audio.empty()) out += "\n";
  for (size_t i = 0; i < audio.size(); ++i) {
    const Rendition& a = *audio[i];
    audio_peak = std::max(audio_peak, a.bandwidth_peak);
    audio_avg = std::max(audio_avg, a.bandwidth_avg);
    audio_codecs.insert(a.codecs);
    out += fmt::format(
        "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"{}\",NAME=\"{}\",LANGUAGE=\"{}\","
        "DEFAULT={},AUTOSELECT=YES,CHANNELS=\"{}\",URI=\"{}{}/index.m3u8\"\n",
        kAudioGroup, AudioName(audio, a),
        a.language.empty() ? "und" : a.language, i == 0 ? "YES" : "NO",
        a.channels, prefix, a.name);
  }
  std::string audio_codec_list;
  for (const auto& c : audio_codecs) audio_codec_list += "," + c;

  out += "\n";
  for (const auto* r : video) {
    out += fmt::format(
        "#EXT-X-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},CODECS=\"{}{}\","
        "RESOLUTION={}x{},FRAME-RATE={},VIDEO-RANGE=SDR",
        r->bandwidth_peak + audio_peak, r->bandwidth_avg + audio_avg, r->codecs,
        audio_codec_list, r->width, r->height, FrameRate(*r));
    if (!audio.empty()) out += fmt::format(",AUDIO=\"{}\"", kAudioGroup);
    out += fmt::format("\n{}{}/index.m3u8\n", prefix, r->name);
  }
  bool iframes_header = false;
  for (const auto* r : video) {
    if (r->keyframes.empty()) continue;
    if (!iframes_header) out += "\n";
    iframes_header = true;
    out += fmt::format(
        "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH={},CODECS=\"{}\",RESOLUTION={}x{},"
        "VIDEO-RANGE=SDR,URI=\"{}{}/iframes.m3u8\"\n",
        IFramePeakBandwidth(*r), r->codecs, r->width, r->height, prefix,
        r->name);
  }
  return out;
}

std::string RenderMediaPlaylist(const PublishedVersion& v, const Rendition& r) {
  std::string out = Header();
  out += fmt::format(
      "#EXT-X-TARGETDURATION:{}\n#EXT-X-PLAYLIST-TYPE:VOD\n"
      "#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"init.mp4\"\n",
      TargetDuration(v));
  for (const auto& s : r.segments) {
    out += fmt::format("#EXTINF:{},\n{}.m4s\n",
                       FormatSeconds(s.duration, r.timescale), s.number);
  }
  out += "#EXT-X-ENDLIST\n";
  return out;
}

std::string RenderIFramePlaylist(const Rendition& r) {
  int64_t end = RenditionEnd(r);
  int64_t target = 1;
  std::vector<int64_t> durations;
  for (size_t i = 0; i < r.keyframes.size(); ++i) {
    int64_t next = i + 1 < r.keyframes.size() ? r.keyframes[i + 1].time : end;
    durations.push_back(std::max<int64_t>(0, next - r.keyframes[i].time));
    target = std::max(target, RoundedSeconds(durations.back(), r.timescale));
  }
  std::string out = Header();
  out += fmt::format(
      "#EXT-X-TARGETDURATION:{}\n#EXT-X-PLAYLIST-TYPE:VOD\n"
      "#EXT-X-I-FRAMES-ONLY\n#EXT-X-INDEPENDENT-SEGMENTS\n"
      "#EXT-X-MAP:URI=\"init.mp4\"\n",
      target);
  for (size_t i = 0; i < r.keyframes.size(); ++i) {
    const auto& k = r.keyframes[i];
    out += fmt::format("#EXTINF:{},\n#EXT-X-BYTERANGE:{}@{}\n{}.m4s\n",
                       FormatSeconds(durations[i], r.timescale), k.length,
                       k.offset, k.segment_number);
  }
  out += "#EXT-X-ENDLIST\n";
  return out;
}

std::string RenderThumbnailsVtt(const PublishedVersion& v) {
  if (!v.thumbnails) return "";
  const auto& t = *v.thumbnails;
  std::string out = "WEBVTT\n";
  if (t.interval_ms <= 0 || t.columns <= 0) return out;
  for (int64_t i = 0; i < t.count; ++i) {
    int64_t start = i * t.interval_ms;
    if (v.duration_ms > 0 && start >= v.duration_ms) break;
    int64_t end = start + t.interval_ms;
    if (v.duration_ms > 0) end = std::min(end, v.duration_ms);
    out += fmt::format(
        "\n{} --> {}\nsprite.jpg#xywh={},{},{},{}\n", Timestamp(start),
        Timestamp(end), i % t.columns * t.tile_width,
        i / t.columns * t.tile_height, t.tile_width, t.tile_height);
  }
  return out;
}

}  // namespace vodd::origin
