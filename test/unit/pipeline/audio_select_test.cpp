// SelectAudio: which of a source's audio streams become renditions.
#include <catch2/catch.hpp>

#include "vodd/pipeline/media.h"

namespace vodd::pipeline {
namespace {

// Streams as the probe lists them: "en:2" is an English stereo stream.
std::vector<AudioStreamInfo> Streams(
    std::initializer_list<std::pair<const char*, int>> list) {
  std::vector<AudioStreamInfo> out;
  for (const auto& [lang, channels] : list) {
    AudioStreamInfo a;
    a.sample_rate = 48000;
    a.channels = channels;
    a.codec = "PCM";
    a.language = lang;
    a.index = int(out.size());
    out.push_back(a);
  }
  return out;
}

// "en@0", "fr@2+" (index 2, a mono pair): what the outputs are.
std::vector<std::string> Outputs(const ProbeResult& p) {
  std::vector<std::string> out;
  for (const auto* a : AudioOutputs(p)) {
    out.push_back(a->language + "@" + std::to_string(a->index) +
                  (a->mono_pair ? "+" : ""));
  }
  return out;
}

std::vector<std::string> Select(
    std::initializer_list<std::pair<const char*, int>> list) {
  ProbeResult p;
  SelectAudio(Streams(list), p);
  return Outputs(p);
}

using V = std::vector<std::string>;

TEST_CASE("audio: one rendition per language, first stream first", "[audio]") {
  CHECK(Select({}).empty());
  CHECK(Select({{"und", 2}}) == V{"und@0"});
  // A bilingual master with an English commentary: the commentary shares
  // the first language and is left out.
  CHECK(Select({{"en", 2}, {"fr", 2}, {"en", 2}}) == V{"en@0", "fr@1"});
  // Untagged later streams say nothing about what they are.
  CHECK(Select({{"en", 2}, {"und", 2}, {"de", 6}}) == V{"en@0", "de@2"});
  CHECK(Select({{"und", 2}, {"en", 2}}) == V{"und@0", "en@1"});
}

TEST_CASE("audio: mono pairs count once, in any language", "[audio]") {
  // XDCAM-style: four untagged mono tracks, the stereo mix first.
  CHECK(Select({{"und", 1}, {"und", 1}, {"und", 1}, {"und", 1}}) ==
        V{"und@0+"});
  // Two languages as two mono pairs.
  CHECK(Select({{"en", 1}, {"en", 1}, {"fr", 1}, {"fr", 1}}) ==
        V{"en@0+", "fr@2+"});
  // Two mono tracks in two languages are two programmes, not a pair.
  CHECK(Select({{"en", 1}, {"fr", 1}}) == V{"en@0", "fr@1"});
  // A lone mono track after a stereo one.
  CHECK(Select({{"en", 2}, {"es", 1}}) == V{"en@0", "es@1"});
}

TEST_CASE("audio: at most kMaxAudioOutputs renditions", "[audio]") {
  const char* langs[] = {"en", "fr", "de", "es", "it", "nl",
                         "pt", "sv", "fi", "da", "no"};
  std::vector<AudioStreamInfo> streams;
  for (const char* l : langs) {
    AudioStreamInfo a;
    a.channels = 2;
    a.language = l;
    a.index = int(streams.size());
    streams.push_back(a);
  }
  ProbeResult p;
  SelectAudio(streams, p);
  const auto out = AudioOutputs(p);
  REQUIRE(out.size() == kMaxAudioOutputs);
  CHECK(out.front()->language == "en");
  CHECK(out.back()->language == "sv");
  CHECK(AudioRenditionName(out.size() - 1) == "a7");
}

}  // namespace
}  // namespace vodd::pipeline
