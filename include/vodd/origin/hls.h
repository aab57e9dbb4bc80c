// HLS playlists rendered from catalog rows (Apple "HLS Authoring
// Specification for Apple Devices"; RFC 8216). Pure: no GLib, libsoup or
// SQLite; any thread. Output is deterministic, so tests compare exact text.
//
// URIs are relative: the multivariant playlist names "<prefix><rendition>/
// index.m3u8"; media playlists name "init.mp4" and "<n>.m4s" beside them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "vodd/catalog/media_types.h"

namespace vodd::origin {

// The multivariant playlist: EXT-X-INDEPENDENT-SEGMENTS, one EXT-X-MEDIA per
// audio rendition (group "audio", LANGUAGE, CHANNELS), one EXT-X-STREAM-INF
// per video rendition (BANDWIDTH = video peak + largest audio peak,
// AVERAGE-BANDWIDTH likewise from averages, CODECS, RESOLUTION, FRAME-RATE,
// VIDEO-RANGE=SDR, AUDIO) and one EXT-X-I-FRAME-STREAM-INF per video
// rendition that has keyframes. An audio-only version gets one STREAM-INF
// per audio rendition. `prefix` is put before every URI ("" for the
// versioned URL, "<version>/" for the stable one).
std::string RenderMultivariant(const catalog::PublishedVersion& v,
                               std::string_view prefix = "");

// The VOD media playlist of `r`: EXT-X-PLAYLIST-TYPE:VOD, EXT-X-MAP, one
// EXTINF per segment with its exact duration, EXT-X-ENDLIST. The target
// duration is shared by every rendition of `v` (Apple 8.2).
std::string RenderMediaPlaylist(const catalog::PublishedVersion& v,
                                const catalog::Rendition& r);

// The I-frame playlist of video rendition `r` (EXT-X-I-FRAMES-ONLY): one
// EXT-X-BYTERANGE per keyframe covering its moof and key sample; each entry
// lasts until the next keyframe.
std::string RenderIFramePlaylist(const catalog::Rendition& r);

// WebVTT thumbnail track over the sprite ("sprite.jpg#xywh=x,y,w,h"), or an
// empty string when the version has no thumbnails.
std::string RenderThumbnailsVtt(const catalog::PublishedVersion& v);

// Target duration in whole seconds: the longest segment of any rendition,
// rounded to the nearest integer (RFC 8216 4.3.3.1), at least 1.
int64_t TargetDuration(const catalog::PublishedVersion& v);

// Peak bit rate of the I-frame playlist of `r` (bits/s): the largest
// keyframe size over its display interval.
int64_t IFramePeakBandwidth(const catalog::Rendition& r);

// "4.000", "4.010667": seconds with up to 6 decimals, at least 3.
std::string FormatSeconds(int64_t duration, int64_t timescale);

// What a player's audio menu shows for a rendition's language tag: the
// English name of common ISO 639 codes ("en", "eng" → "English"), "Original"
// for "und", else the code itself.
std::string LanguageName(std::string_view code);

}  // namespace vodd::origin
