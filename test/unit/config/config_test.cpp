#include <catch2/catch.hpp>

#include "support/test_util.h"
#include "vodd/config/config.h"

using namespace vodd;
using vodd::test::ReadFile;
using vodd::test::TempDir;
using vodd::test::WriteFile;

namespace {
std::string ErrorOf(const std::string& text) {
  auto r = config::ParseText(text, "test.conf", config::Defaults());
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ErrorCode::kInvalidArgument);
  return r.error().message;
}
}  // namespace

TEST_CASE("config/vodd.conf is the generated sample and equals the defaults",
          "[unit]") {
  std::string sample = ReadFile(VODD_SOURCE_DIR "/config/vodd.conf");
  INFO("regenerate with: vodd print-config --format sample > config/vodd.conf");
  CHECK(sample == config::RenderSample());
  auto parsed = config::ParseText(sample, "vodd.conf", config::Defaults());
  REQUIRE(parsed);
  CHECK(*parsed == config::Defaults());
  // Every option appears uncommented in the sample.
  for (const auto& o : config::Options()) {
    INFO(o.section << "." << o.key);
    CHECK(sample.find("\n" + o.key + " = ") != std::string::npos);
  }
}

TEST_CASE("docs/configuration.md lists every option with its default",
          "[unit]") {
  std::string doc = ReadFile(VODD_SOURCE_DIR "/docs/configuration.md");
  INFO("regenerate the block with: vodd print-config --format markdown");
  CHECK(doc.find(config::RenderMarkdown()) != std::string::npos);
}

TEST_CASE("values override defaults", "[unit]") {
  auto r = config::ParseText(
      "[server]\nlisten = 0.0.0.0:9000\nlog_level = debug\n"
      "[pipeline]\nladder = 720:3000, 1080:5000\nsegment_seconds = 6\n"
      "[upload]\ncors_origins = https://a.example, https://b.example\n",
      "t.conf", config::Defaults());
  REQUIRE(r);
  CHECK(r->server.listen_host == "0.0.0.0");
  CHECK(r->server.listen_port == 9000);
  CHECK(r->server.log_level == LogLevel::kDebug);
  REQUIRE(r->pipeline.ladder.size() == 2);
  CHECK(r->pipeline.ladder[0] ==
        config::Rung{1080, 5000});  // sorted tallest first
  CHECK(r->pipeline.segment_seconds == 6);
  CHECK(r->upload.cors_origins ==
        std::vector<std::string>{"https://a.example", "https://b.example"});
  CHECK(r->sources == std::vector<std::string>{"t.conf"});
}

TEST_CASE("errors name file, line, section and key", "[unit]") {
  CHECK(ErrorOf("[server]\n\n# c\nlisten = nowhere\n") ==
        "test.conf:4: [server] listen: expected host:port");
  CHECK(ErrorOf("[pipeline]\nsegment_seconds = 8\n") ==
        "test.conf:2: [pipeline] segment_seconds: expected an integer in [2, "
        "6], got \"8\"");
  CHECK(ErrorOf("[pipeline]\nworkers = -1\n")
            .find("test.conf:2: [pipeline] workers:") == 0);
  CHECK(ErrorOf("[upload]\nrequire_token = yes\n") ==
        "test.conf:2: [upload] require_token: expected true or false, got "
        "\"yes\"");
  CHECK(ErrorOf("[server]\nlisten_adress = 1.2.3.4:5\n") ==
        "test.conf:2: [server] listen_adress: unknown key");
  CHECK(ErrorOf("[nope]\n") == "test.conf:1: unknown section [nope]");
  CHECK(ErrorOf("listen = 1\n") ==
        "test.conf:1: key \"listen\" outside a [section]");
  CHECK(ErrorOf("[server]\nthis is not ini\n") ==
        "test.conf:2: expected key = value, got \"this is not ini\"");
  CHECK(ErrorOf("[server\n") ==
        "test.conf:1: malformed section header \"[server\"");
  CHECK(ErrorOf("[storage]\nmin_free_mib = 1\nmin_free_mib = 2\n") ==
        "test.conf:3: [storage] min_free_mib: set twice (first on line 2)");
  CHECK(ErrorOf("[pipeline]\nladder = 1080:5000,1080:3000\n")
            .find("appears twice") != std::string::npos);
  CHECK(
      ErrorOf("[pipeline]\nladder = 1081:5000\n").find("height must be even") !=
      std::string::npos);
  CHECK(ErrorOf("[origin]\nsigning_key = xyz\n").find("hex") !=
        std::string::npos);
  CHECK(ErrorOf("[origin]\ndefault_policy = private\n") ==
        "test.conf:2: [origin] default_policy: expected one of public, signed, "
        "got "
        "\"private\"");
}

TEST_CASE("conf.d drop-ins are read in lexical order, later wins", "[unit]") {
  TempDir dir;
  std::filesystem::create_directories(dir / "conf.d");
  WriteFile(dir / "vodd.conf",
            "[pipeline]\nworkers = 1\nsegment_seconds = 2\n");
  WriteFile(dir / "conf.d/20-b.conf", "[pipeline]\nworkers = 3\n");
  WriteFile(dir / "conf.d/10-a.conf",
            "[pipeline]\nworkers = 2\nsegment_seconds = 6\n");
  WriteFile(dir / "conf.d/ignored.txt", "[pipeline]\nworkers = 9\n");
  auto r = config::Load(dir / "vodd.conf");
  REQUIRE(r);
  CHECK(r->pipeline.workers == 3);
  CHECK(r->pipeline.segment_seconds == 6);
  CHECK(r->sources.size() == 3);

  WriteFile(dir / "conf.d/30-bad.conf", "[upload]\nexpiry_hours = 0\n");
  auto bad = config::Load(dir / "vodd.conf");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find(
            "conf.d/30-bad.conf:2: [upload] expiry_hours:") !=
        std::string::npos);
}

TEST_CASE("a missing config file is an error, no file means defaults",
          "[unit]") {
  auto r = config::Load("/nonexistent/vodd.conf");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ErrorCode::kNotFound);
  auto d = config::Load("");
  REQUIRE(d);
  CHECK(*d == config::Defaults());
}

TEST_CASE("Render round-trips through ParseText", "[unit]") {
  auto c = config::ParseText(
      "[pipeline]\nworkers = 7\n[origin]\norigin_secret = s3cret\n", "a",
      config::Defaults());
  REQUIRE(c);
  auto again = config::ParseText(config::Render(*c), "b", config::Defaults());
  REQUIRE(again);
  CHECK(*again == *c);
}
