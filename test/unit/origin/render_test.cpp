// Exact-text goldens for HLS and DASH rendered from the fixture rows. Each
// Apple MUST that applies to VOD fMP4 is visible in the text: VERSION,
// INDEPENDENT-SEGMENTS, STREAM-INF with BANDWIDTH/AVERAGE-BANDWIDTH/CODECS/
// RESOLUTION/FRAME-RATE/VIDEO-RANGE/AUDIO, EXT-X-MEDIA with LANGUAGE,
// I-frame playlists with I-FRAMES-ONLY + BYTERANGE, PLAYLIST-TYPE:VOD,
// EXT-X-MAP, TARGETDURATION and exact EXTINF.
#include <catch2/catch.hpp>

#include "unit/origin/fixture.h"
#include "vodd/origin/dash.h"
#include "vodd/origin/hls.h"

namespace vodd::origin {
namespace {

TEST_CASE("multivariant playlist", "[unit][origin][hls]") {
  auto v = testing::FixtureVersion();
  CHECK(RenderMultivariant(v) == R"golden(#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS

#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="a0/index.m3u8"

#EXT-X-STREAM-INF:BANDWIDTH=3332000,AVERAGE-BANDWIDTH=2928000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=25.000,VIDEO-RANGE=SDR,AUDIO="audio"
v720/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=1032000,AVERAGE-BANDWIDTH=878000,CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=640x360,FRAME-RATE=25.000,VIDEO-RANGE=SDR,AUDIO="audio"
v360/index.m3u8

#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=168000,CODECS="avc1.64001f",RESOLUTION=1280x720,VIDEO-RANGE=SDR,URI="v720/iframes.m3u8"
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=44000,CODECS="avc1.64001e",RESOLUTION=640x360,VIDEO-RANGE=SDR,URI="v360/iframes.m3u8"
)golden");
}

TEST_CASE("stable multivariant playlist prefixes the version",
          "[unit][origin][hls]") {
  auto v = testing::FixtureVersion();
  CHECK(RenderMultivariant(v, "3/") == R"golden(#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS

#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="3/a0/index.m3u8"

#EXT-X-STREAM-INF:BANDWIDTH=3332000,AVERAGE-BANDWIDTH=2928000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=25.000,VIDEO-RANGE=SDR,AUDIO="audio"
3/v720/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=1032000,AVERAGE-BANDWIDTH=878000,CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=640x360,FRAME-RATE=25.000,VIDEO-RANGE=SDR,AUDIO="audio"
3/v360/index.m3u8

#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=168000,CODECS="avc1.64001f",RESOLUTION=1280x720,VIDEO-RANGE=SDR,URI="3/v720/iframes.m3u8"
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=44000,CODECS="avc1.64001e",RESOLUTION=640x360,VIDEO-RANGE=SDR,URI="3/v360/iframes.m3u8"
)golden");
}

TEST_CASE("video media playlist", "[unit][origin][hls]") {
  auto v = testing::FixtureVersion();
  CHECK(RenderMediaPlaylist(v, v.renditions[0]) == R"golden(#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:4
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init.mp4"
#EXTINF:4.000,
1.m4s
#EXTINF:4.000,
2.m4s
#EXTINF:2.000,
3.m4s
#EXT-X-ENDLIST
)golden");
}

TEST_CASE(
    "audio media playlist has exact EXTINF and the shared target duration",
    "[unit][origin][hls]") {
  auto v = testing::FixtureVersion();
  CHECK(RenderMediaPlaylist(v, v.renditions[2]) == R"golden(#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:4
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init.mp4"
#EXTINF:4.010667,
1.m4s
#EXTINF:3.989333,
2.m4s
#EXTINF:2.000,
3.m4s
#EXT-X-ENDLIST
)golden");
}

TEST_CASE("I-frame playlist", "[unit][origin][hls]") {
  auto v = testing::FixtureVersion();
  CHECK(RenderIFramePlaylist(v.renditions[0]) == R"golden(#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:2
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-I-FRAMES-ONLY
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init.mp4"
#EXTINF:2.000,
#EXT-X-BYTERANGE:40000@0
1.m4s
#EXTINF:2.000,
#EXT-X-BYTERANGE:30000@700000
1.m4s
#EXTINF:2.000,
#EXT-X-BYTERANGE:42000@0
2.m4s
#EXTINF:2.000,
#EXT-X-BYTERANGE:31000@650000
2.m4s
#EXTINF:2.000,
#EXT-X-BYTERANGE:39000@0
3.m4s
#EXT-X-ENDLIST
)golden");
}

TEST_CASE("thumbnail WebVTT", "[unit][origin][hls]") {
  auto v = testing::FixtureVersion();
  CHECK(RenderThumbnailsVtt(v) == R"golden(WEBVTT

00:00:00.000 --> 00:00:04.000
sprite.jpg#xywh=0,0,160,90

00:00:04.000 --> 00:00:08.000
sprite.jpg#xywh=160,0,160,90

00:00:08.000 --> 00:00:10.000
sprite.jpg#xywh=0,90,160,90
)golden");
  v.thumbnails.reset();
  CHECK(RenderThumbnailsVtt(v).empty());
}

TEST_CASE("DASH MPD", "[unit][origin][dash]") {
  auto v = testing::FixtureVersion();
  CHECK(RenderMpd(v) == R"golden(<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="static" mediaPresentationDuration="PT10.000S" minBufferTime="PT4S">
  <Period id="0" start="PT0S">
    <AdaptationSet id="0" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1" maxWidth="1280" maxHeight="720" maxFrameRate="25">
      <Representation id="v720" bandwidth="3200000" codecs="avc1.64001f" width="1280" height="720" frameRate="25" sar="1:1">
        <SegmentTemplate timescale="12800" initialization="v720/init.mp4" media="v720/$Number$.m4s" startNumber="1">
          <SegmentTimeline>
            <S t="0" d="51200" r="1"/>
            <S d="25600"/>
          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
      <Representation id="v360" bandwidth="900000" codecs="avc1.64001e" width="640" height="360" frameRate="25" sar="1:1">
        <SegmentTemplate timescale="12800" initialization="v360/init.mp4" media="v360/$Number$.m4s" startNumber="1">
          <SegmentTimeline>
            <S t="0" d="51200" r="1"/>
            <S d="25600"/>
          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
    <AdaptationSet id="1" contentType="audio" mimeType="audio/mp4" lang="en" segmentAlignment="true" startWithSAP="1">
      <Label>English</Label>
      <Role schemeIdUri="urn:mpeg:dash:role:2011" value="main"/>
      <Representation id="a0" bandwidth="132000" codecs="mp4a.40.2" audioSamplingRate="48000">
        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="2"/>
        <SegmentTemplate timescale="48000" initialization="a0/init.mp4" media="a0/$Number$.m4s" startNumber="1">
          <SegmentTimeline>
            <S t="0" d="192512"/>
            <S d="191488"/>
            <S d="96000"/>
          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
    <AdaptationSet id="2" contentType="image" mimeType="image/jpeg">
      <SegmentTemplate media="sprite.jpg" timescale="1000" duration="16000" startNumber="1"/>
      <Representation id="thumbnails" bandwidth="19200" width="320" height="180">
        <EssentialProperty schemeIdUri="http://dashif.org/thumbnail_tile" value="2x2"/>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>
)golden");
}

TEST_CASE("stable MPD prefixes every media URL", "[unit][origin][dash]") {
  auto v = testing::FixtureVersion();
  std::string mpd = RenderMpd(v, "3/");
  CHECK(
      mpd.find(
          "initialization=\"3/v720/init.mp4\" media=\"3/v720/$Number$.m4s\"") !=
      std::string::npos);
  CHECK(mpd.find("media=\"3/sprite.jpg\"") != std::string::npos);
  CHECK(mpd.find("\"v720/") == std::string::npos);
}

TEST_CASE("target duration rounds to the nearest second",
          "[unit][origin][hls]") {
  auto v = testing::FixtureVersion();
  CHECK(TargetDuration(v) == 4);
  v.renditions[0].segments[0].duration = 12800 * 4 + 6399;  // 4.49995 s
  CHECK(TargetDuration(v) == 4);
  v.renditions[0].segments[0].duration = 12800 * 4 + 6400;  // 4.5 s
  CHECK(TargetDuration(v) == 5);
  v.renditions.clear();
  CHECK(TargetDuration(v) == 1);
}

TEST_CASE("seconds formatting", "[unit][origin][hls]") {
  CHECK(FormatSeconds(51200, 12800) == "4.000");
  CHECK(FormatSeconds(192512, 48000) == "4.010667");
  CHECK(FormatSeconds(1001, 30000) == "0.033367");
  CHECK(FormatSeconds(15, 10) == "1.500");
  CHECK(IsoDuration(10000) == "PT10.000S");
  CHECK(IsoDuration(61005) == "PT61.005S");
}

TEST_CASE("fractional frame rates", "[unit][origin][hls][dash]") {
  auto v = testing::FixtureVersion();
  v.renditions[1].frame_rate_num = 30000;
  v.renditions[1].frame_rate_den = 1001;
  CHECK(RenderMultivariant(v).find("RESOLUTION=640x360,FRAME-RATE=29.970,") !=
        std::string::npos);
  CHECK(RenderMpd(v).find("height=\"360\" frameRate=\"30000/1001\"") !=
        std::string::npos);
}

TEST_CASE("audio-only versions list each audio rendition as a variant",
          "[unit][origin][hls]") {
  auto v = testing::FixtureVersion();
  v.renditions.erase(v.renditions.begin(), v.renditions.begin() + 2);
  CHECK(RenderMultivariant(v) == R"(#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS

#EXT-X-STREAM-INF:BANDWIDTH=132000,AVERAGE-BANDWIDTH=128000,CODECS="mp4a.40.2"
a0/index.m3u8
)");
}

TEST_CASE("two audio renditions of one language get distinct names",
          "[unit][origin][hls][dash]") {
  auto v = testing::FixtureVersion();
  auto a1 = v.renditions[2];
  a1.name = "a1";
  a1.bandwidth_peak = 200000;
  a1.codecs = "mp4a.40.5";
  v.renditions.push_back(a1);
  std::string m = RenderMultivariant(v);
  CHECK(m.find("NAME=\"English (a0)\",LANGUAGE=\"en\",DEFAULT=YES") !=
        std::string::npos);
  CHECK(m.find("NAME=\"English (a1)\",LANGUAGE=\"en\",DEFAULT=NO") !=
        std::string::npos);
  // BANDWIDTH uses the largest audio peak; CODECS lists both audio codecs.
  CHECK(m.find("BANDWIDTH=3400000,AVERAGE-BANDWIDTH=2928000,"
               "CODECS=\"avc1.64001f,mp4a.40.2,mp4a.40.5\"") !=
        std::string::npos);
  // One audio AdaptationSet per language, holding both.
  std::string mpd = RenderMpd(v);
  CHECK(mpd.find("<Representation id=\"a1\"") != std::string::npos);
  CHECK(mpd.find("id=\"2\" contentType=\"audio\"") == std::string::npos);
}

TEST_CASE("timeline restates t after a gap", "[unit][origin][dash]") {
  auto v = testing::FixtureVersion();
  v.renditions[2].segments[2].start_time += 1024;
  std::string mpd = RenderMpd(v);
  CHECK(mpd.find(
            "<S d=\"191488\"/>\n            <S t=\"385024\" d=\"96000\"/>") !=
        std::string::npos);
}

TEST_CASE("audio menus show language names, not codes", "[unit][origin][hls]") {
  CHECK(LanguageName("en") == "English");
  CHECK(LanguageName("eng") == "English");
  CHECK(LanguageName("fre") == "French");  // ISO 639-2/B
  CHECK(LanguageName("fra") == "French");
  CHECK(LanguageName("de-AT") == "German");
  CHECK(LanguageName("NL") == "Dutch");
  CHECK(LanguageName("und") == "Original");
  CHECK(LanguageName("") == "Original");
  CHECK(LanguageName("tlh") == "tlh");  // unknown: the code itself
  CHECK(LanguageName("-x") == "-x");
  auto v = testing::FixtureVersion();
  auto fr = v.renditions[2];
  fr.name = "a1";
  fr.language = "fr";
  v.renditions.push_back(fr);
  std::string m = RenderMultivariant(v);
  CHECK(m.find("NAME=\"French\",LANGUAGE=\"fr\",DEFAULT=NO") !=
        std::string::npos);
}

}  // namespace
}  // namespace vodd::origin
