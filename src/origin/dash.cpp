// DASH MPD rendering. Addressing is SegmentTemplate + SegmentTimeline with
// $Number$ (DASH-IF "explicit addressing"): the timeline lists the exact tfdt
// and duration of every segment, so players never guess at a tail segment.
#include "vodd/origin/dash.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "vodd/origin/hls.h"

namespace vodd::origin {
namespace {

using catalog::PublishedVersion;
using catalog::Rendition;

std::string Xml(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string DashFrameRate(const Rendition& r) {
  if (r.frame_rate_den <= 1) return std::to_string(r.frame_rate_num);
  return fmt::format("{}/{}", r.frame_rate_num, r.frame_rate_den);
}

std::string Timeline(const Rendition& r, std::string_view indent) {
  std::string out = fmt::format("{}<SegmentTimeline>\n", indent);
  const auto& segs = r.segments;
  size_t i = 0;
  int64_t expected = -1;
  while (i < segs.size()) {
    size_t j = i + 1;
    while (j < segs.size() && segs[j].duration == segs[i].duration &&
           segs[j].start_time ==
               segs[j - 1].start_time + segs[j - 1].duration) {
      ++j;
    }
    out += fmt::format("{}  <S", indent);
    if (segs[i].start_time != expected) {
      out += fmt::format(" t=\"{}\"", segs[i].start_time);
    }
    out += fmt::format(" d=\"{}\"", segs[i].duration);
    if (j - i > 1) out += fmt::format(" r=\"{}\"", j - i - 1);
    out += "/>\n";
    expected = segs[j - 1].start_time + segs[j - 1].duration;
    i = j;
  }
  out += fmt::format("{}</SegmentTimeline>\n", indent);
  return out;
}

std::string Template(const Rendition& r, std::string_view prefix) {
  return fmt::format(
      "        <SegmentTemplate timescale=\"{}\" "
      "initialization=\"{}{}/init.mp4\" "
      "media=\"{}{}/$Number$.m4s\" startNumber=\"1\">\n{}"
      "        </SegmentTemplate>\n",
      r.timescale, Xml(prefix), Xml(r.name), Xml(prefix), Xml(r.name),
      Timeline(r, "          "));
}

int64_t DurationMs(const PublishedVersion& v) {
  if (v.duration_ms > 0) return v.duration_ms;
  int64_t ms = 0;
  for (const auto& r : v.renditions) {
    if (r.segments.empty() || r.timescale <= 0) continue;
    int64_t end = r.segments.back().start_time + r.segments.back().duration;
    ms = std::max(ms, end * 1000 / r.timescale);
  }
  return ms;
}

}  // namespace

std::string IsoDuration(int64_t ms) {
  return fmt::format("PT{}.{:03}S", ms / 1000, ms % 1000);
}

std::string RenderMpd(const PublishedVersion& v, std::string_view prefix) {
  int64_t duration_ms = DurationMs(v);
  std::string out = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" "
      "profiles=\"urn:mpeg:dash:profile:isoff-live:2011\" type=\"static\" "
      "mediaPresentationDuration=\"{}\" minBufferTime=\"PT{}S\">\n"
      "  <Period id=\"0\" start=\"PT0S\">\n",
      IsoDuration(duration_ms), TargetDuration(v));
  int set_id = 0;

  std::vector<const Rendition*> video;
  std::map<std::string, std::vector<const Rendition*>> audio_by_lang;
  std::vector<std::string> lang_order;
  for (const auto& r : v.renditions) {
    if (r.kind == "video") {
      video.push_back(&r);
    } else if (r.kind == "audio") {
      std::string lang = r.language.empty() ? "und" : r.language;
      if (!audio_by_lang.count(lang)) lang_order.push_back(lang);
      audio_by_lang[lang].push_back(&r);
    }
  }

  if (!video.empty()) {
    int64_t max_w = 0, max_h = 0;
    for (const auto* r : video) {
      max_w = std::max(max_w, r->width);
      max_h = std::max(max_h, r->height);
    }
    out += fmt::format(
        "    <AdaptationSet id=\"{}\" contentType=\"video\" "
        "mimeType=\"video/mp4\" "
        "segmentAlignment=\"true\" startWithSAP=\"1\" maxWidth=\"{}\" "
        "maxHeight=\"{}\" maxFrameRate=\"{}\">\n",
        set_id++, max_w, max_h, DashFrameRate(*video.front()));
    for (const auto* r : video) {
      out += fmt::format(
          "      <Representation id=\"{}\" bandwidth=\"{}\" codecs=\"{}\" "
          "width=\"{}\" height=\"{}\" frameRate=\"{}\" sar=\"1:1\">\n",
          Xml(r->name), r->bandwidth_peak, Xml(r->codecs), r->width, r->height,
          DashFrameRate(*r));
      out += Template(*r, prefix);
      out += "      </Representation>\n";
    }
    out += "    </AdaptationSet>\n";
  }

  bool first_audio = true;
  for (const auto& lang : lang_order) {
    out += fmt::format(
        "    <AdaptationSet id=\"{}\" contentType=\"audio\" "
        "mimeType=\"audio/mp4\" "
        "lang=\"{}\" segmentAlignment=\"true\" startWithSAP=\"1\">\n"
        // Label belongs to RepresentationBaseType, so it comes before Role.
        "      <Label>{}</Label>\n"
        "      <Role schemeIdUri=\"urn:mpeg:dash:role:2011\" value=\"{}\"/>\n",
        set_id++, Xml(lang), Xml(LanguageName(lang)),
        first_audio ? "main" : "alternate");
    first_audio = false;
    for (const auto* r : audio_by_lang[lang]) {
      out += fmt::format(
          "      <Representation id=\"{}\" bandwidth=\"{}\" codecs=\"{}\" "
          "audioSamplingRate=\"{}\">\n"
          "        <AudioChannelConfiguration "
          "schemeIdUri=\"urn:mpeg:dash:23003:3:"
          "audio_channel_configuration:2011\" value=\"{}\"/>\n",
          Xml(r->name), r->bandwidth_peak, Xml(r->codecs), r->sample_rate,
          r->channels);
      out += Template(*r, prefix);
      out += "      </Representation>\n";
    }
    out += "    </AdaptationSet>\n";
  }

  if (v.thumbnails && v.thumbnails->columns > 0 && v.thumbnails->count > 0 &&
      v.thumbnails->interval_ms > 0) {
    const auto& t = *v.thumbnails;
    int64_t rows = (t.count + t.columns - 1) / t.columns;
    int64_t span_ms = t.columns * rows * t.interval_ms;
    int64_t bandwidth =
        duration_ms > 0
            ? (t.sprite_size * 8 * 1000 + duration_ms - 1) / duration_ms
            : t.sprite_size * 8;
    out += fmt::format(
        "    <AdaptationSet id=\"{}\" contentType=\"image\" "
        "mimeType=\"image/jpeg\">\n"
        "      <SegmentTemplate media=\"{}sprite.jpg\" timescale=\"1000\" "
        "duration=\"{}\" startNumber=\"1\"/>\n"
        "      <Representation id=\"thumbnails\" bandwidth=\"{}\" width=\"{}\" "
        "height=\"{}\">\n"
        "        <EssentialProperty "
        "schemeIdUri=\"http://dashif.org/thumbnail_tile\" "
        "value=\"{}x{}\"/>\n"
        "      </Representation>\n"
        "    </AdaptationSet>\n",
        set_id++, Xml(prefix), span_ms, bandwidth, t.columns * t.tile_width,
        rows * t.tile_height, t.columns, rows);
  }
  out += "  </Period>\n</MPD>\n";
  return out;
}

}  // namespace vodd::origin
