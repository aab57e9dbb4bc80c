// Unit tests of the pure tus parsing (no network, no main loop).
#include <catch2/catch.hpp>

#include "vodd/upload/client.h"
#include "vodd/upload/token.h"
#include "vodd/upload/tus.h"

using namespace vodd::upload;

TEST_CASE("base64 round trip and strict decode", "[unit][upload]") {
  CHECK(Base64Encode("world") == "d29ybGQ=");
  CHECK(Base64Encode("") == "");
  CHECK(Base64Encode("ab") == "YWI=");
  CHECK(Base64Encode("abc") == "YWJj");
  CHECK(Base64Decode("d29ybGQ=") == std::optional<std::string>("world"));
  CHECK(Base64Decode("") == std::optional<std::string>(""));
  CHECK_FALSE(Base64Decode("d29ybGQ"));   // no padding
  CHECK_FALSE(Base64Decode("d29y=GQ="));  // padding inside
  CHECK_FALSE(Base64Decode("d2!ybGQ="));  // bad char
  CHECK_FALSE(Base64Decode("YR=="));      // non-canonical bits under padding
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  CHECK(Base64Decode(Base64Encode(all)) == std::optional<std::string>(all));
  CHECK(Base64UrlEncode(std::string("\xfb\xff", 2)) == "-_8");
}

TEST_CASE("Upload-Metadata parsing", "[unit][upload]") {
  Metadata md;
  REQUIRE_FALSE(ParseMetadata("filename d29ybGQ=,is_confidential", 4096, &md));
  REQUIRE(md.size() == 2);
  CHECK(md[0] == MetadataPair{"filename", "world"});
  CHECK(md[1] == MetadataPair{"is_confidential", ""});
  CHECK(RenderMetadata(md) == "filename d29ybGQ=,is_confidential");
  CHECK(MetadataValue(md, "filename") == "world");
  CHECK(MetadataValue(md, "title") == "");

  REQUIRE_FALSE(ParseMetadata("", 4096, &md));
  CHECK(md.empty());
  // tolerate spaces after commas
  REQUIRE_FALSE(ParseMetadata("a YQ==, b Yg==", 4096, &md));
  CHECK(md.size() == 2);

  CHECK(ParseMetadata("filename notbase64!", 4096, &md) ==
        TusError::kInvalidMetadata);
  CHECK(ParseMetadata("a YQ==,a Yg==", 4096, &md) ==
        TusError::kInvalidMetadata);
  CHECK(ParseMetadata(" YQ==", 4096, &md) == TusError::kInvalidMetadata);
  CHECK(ParseMetadata(",a YQ==", 4096, &md) == TusError::kInvalidMetadata);
  CHECK(ParseMetadata("a b YQ==", 4096, &md) == TusError::kInvalidMetadata);
  CHECK(ParseMetadata("k\xc3\xa9y YQ==", 4096, &md) ==
        TusError::kInvalidMetadata);
  CHECK(ParseMetadata(std::string(5000, 'a'), 4096, &md) ==
        TusError::kMetadataTooLarge);
  std::string many;
  for (int i = 0; i < 17; ++i) many += (i ? ",k" : "k") + std::to_string(i);
  CHECK(ParseMetadata(many, 4096, &md) == TusError::kInvalidMetadata);
}

TEST_CASE("creation length headers", "[unit][upload]") {
  CreationLength cl;
  CHECK_FALSE(ParseCreationLength(std::string("100"), std::nullopt, &cl));
  CHECK(cl.length == 100);
  CHECK_FALSE(ParseCreationLength(std::nullopt, std::string("1"), &cl));
  CHECK_FALSE(cl.length);
  CHECK(ParseCreationLength(std::nullopt, std::nullopt, &cl) ==
        TusError::kMissingLength);
  CHECK(ParseCreationLength(std::string("5"), std::string("1"), &cl) ==
        TusError::kAmbiguousLength);
  CHECK(ParseCreationLength(std::nullopt, std::string("2"), &cl) ==
        TusError::kInvalidDeferLength);
  for (const char* bad :
       {"-1", "abc", "1e3", "+5", " 5", "", "99999999999999999999"}) {
    CHECK(ParseCreationLength(std::string(bad), std::nullopt, &cl) ==
          TusError::kInvalidLength);
  }
}

TEST_CASE("Upload-Checksum parsing", "[unit][upload]") {
  Checksum c;
  REQUIRE_FALSE(ParseChecksum("sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=", &c));
  CHECK(c.algo == ChecksumAlgo::kSha1);
  CHECK(c.digest.size() == 20);
  REQUIRE_FALSE(ParseChecksum("md5 XrY7u+Ae7tCTyyK7j1rNww==", &c));
  CHECK(c.algo == ChecksumAlgo::kMd5);
  CHECK(ParseChecksum("foo123 AAAA", &c) == TusError::kUnsupportedChecksum);
  CHECK(ParseChecksum("sha1", &c) == TusError::kInvalidChecksum);
  CHECK(ParseChecksum("sha1 !!!!", &c) == TusError::kInvalidChecksum);
  CHECK(ParseChecksum("sha1 AAAA", &c) ==
        TusError::kInvalidChecksum);  // wrong size
  CHECK(ParseChecksum("sha256 Kq5sNclPz7QV2+lfQIuc6R7oRu0=", &c) ==
        TusError::kInvalidChecksum);
}

TEST_CASE("Upload-Concat parsing", "[unit][upload]") {
  const std::string a(32, 'a'), b = "0123456789abcdef0123456789abcdef";
  Concat c;
  REQUIRE_FALSE(ParseConcat("partial", "/files/", &c));
  CHECK(c.kind == Concat::Kind::kPartial);
  REQUIRE_FALSE(ParseConcat("final;/files/" + a + " http://h:1/files/" + b,
                            "/files/", &c));
  CHECK(c.kind == Concat::Kind::kFinal);
  CHECK(c.parts == std::vector<std::string>{a, b});
  CHECK(ParseConcat("final;", "/files/", &c) == TusError::kInvalidConcat);
  CHECK(ParseConcat("final;/other/" + a, "/files/", &c) ==
        TusError::kInvalidConcat);
  CHECK(ParseConcat("final;/files/../" + a, "/files/", &c) ==
        TusError::kInvalidConcat);
  CHECK(ParseConcat("whole", "/files/", &c) == TusError::kInvalidConcat);
}

TEST_CASE("upload ids from paths are validated", "[unit][upload]") {
  bool bad = false;
  const std::string id(32, 'f');
  CHECK(UploadIdFromPath("/files/" + id, "/files/", &bad) == id);
  CHECK_FALSE(bad);
  CHECK_FALSE(UploadIdFromPath("/files/", "/files/", &bad));
  CHECK_FALSE(bad);
  CHECK_FALSE(UploadIdFromPath("/files", "/files/", &bad));
  CHECK_FALSE(bad);
  for (const std::string& p : std::vector<std::string>{
           "/files/..%2F" + id, "/files/" + std::string(32, 'F'),
           "/files/" + id + "0", "/files/" + id + "/x", "/files/abc",
           "/files/" + std::string(31, 'a') + "\\", "/filesx"}) {
    UploadIdFromPath(p, "/files/", &bad);
    CHECK(bad);
  }
}

TEST_CASE("method override and version", "[unit][upload]") {
  CHECK(EffectiveMethod("POST", "patch") == "PATCH");
  CHECK(EffectiveMethod("POST", "") == "POST");
  CHECK(VersionAcceptable("OPTIONS", std::string("9.9.9")));
  CHECK(VersionAcceptable("OPTIONS", std::nullopt));
  CHECK(VersionAcceptable("POST", std::string("1.0.0")));
  CHECK_FALSE(VersionAcceptable("POST", std::string("0.2.2")));
  CHECK_FALSE(VersionAcceptable("PATCH", std::nullopt));
  CHECK(VersionAcceptable("HEAD", std::nullopt));
}

TEST_CASE("tus error table", "[unit][upload]") {
  CHECK(Info(TusError::kChecksumMismatch).status == 460);
  CHECK(Info(TusError::kUnsupportedVersion).status == 412);
  CHECK(Info(TusError::kOffsetMismatch).status == 409);
  CHECK(Info(TusError::kInvalidContentType).status == 415);
  CHECK(Info(TusError::kNoSpace).status == 507);
  CHECK(Info(TusError::kLocked).status == 423);
  CHECK(Info(TusError::kInternal).status == 500);
  for (TusError e : AllTusErrors()) {
    CHECK(Info(e).code.substr(0, 4) == "ERR_");
    CHECK(Info(e).status >= 400);
  }
  CHECK(FromError({vodd::ErrorCode::kNoSpace, ""}) == TusError::kNoSpace);
  CHECK(FromError({vodd::ErrorCode::kIo, ""}) == TusError::kStorage);
  CHECK(Info(TusError::kStorage).status == 500);
  CHECK(FromError({vodd::ErrorCode::kInternal, ""}) == TusError::kInternal);
  CHECK(IsServerFault(TusError::kStorage));
  CHECK_FALSE(IsServerFault(TusError::kNoSpace));
}

TEST_CASE("API tokens", "[unit][upload]") {
  NewToken t = GenerateToken();
  CHECK(t.text.size() == 5 + 8 + 1 + 43);
  auto p = ParseToken(t.text);
  REQUIRE(p);
  CHECK(p->id == t.id);
  CHECK(HashesEqual(HashSecret(p->secret), t.secret_sha256));
  CHECK_FALSE(HashesEqual(HashSecret(p->secret + "x"), t.secret_sha256));
  CHECK_FALSE(HashesEqual("short", t.secret_sha256));
  CHECK(GenerateToken().text != t.text);
  CHECK_FALSE(ParseToken("vodd_0123abcd_" + std::string(42, 'a')));
  CHECK_FALSE(ParseToken("vodd_0123ABCD_" + std::string(43, 'a')));
  CHECK_FALSE(ParseToken("vodx_0123abcd_" + std::string(43, 'a')));
  CHECK_FALSE(ParseToken("vodd_0123abcd_" + std::string(42, 'a') + "="));
  CHECK(ParseToken("vodd_0123abcd_" + std::string(43, 'a')));
  CHECK(BearerToken("Bearer abc") == std::optional<std::string>("abc"));
  CHECK(BearerToken("bearer  abc ") == std::optional<std::string>("abc"));
  CHECK_FALSE(BearerToken("Basic abc"));
  CHECK_FALSE(BearerToken("Bearer "));
  // SHA-256("abc") test vector
  CHECK(HashSecret("abc").substr(0, 4) == std::string("\xba\x78\x16\xbf", 4));
}

TEST_CASE("client progress line", "[unit][upload]") {
  ClientProgress p;
  p.done = 50 << 20;
  p.total = 100 << 20;
  p.bytes_per_s = 10 << 20;
  CHECK(ProgressLine(p) ==
        "[##########          ]  50% 50.0/100.0 MiB  10.0 MiB/s  ETA 0:05");
  p.bytes_per_s = 1e-9;  // a trickle: no estimate
  CHECK(ProgressLine(p) ==
        "[##########          ]  50% 50.0/100.0 MiB  0.0 MiB/s  ETA --:--");
}
