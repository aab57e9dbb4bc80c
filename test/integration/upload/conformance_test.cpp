// The tus conformance checklist (/work/shared/reference/tus.md) over HTTP:
// each SECTION names its checklist row.
#include <catch2/catch.hpp>

#include "harness.h"
#include "vodd/upload/tus.h"

using namespace vodd;
using namespace vodd::test;

namespace {

const std::string kOct = "Content-Type: application/offset+octet-stream";

// Creates an upload and returns its path ("/files/<id>").
std::string Create(TusServer& s,
                   const std::string& length_header = "Upload-Length: 100",
                   std::vector<std::string> extra = {}) {
  extra.push_back(length_header);
  Resp r = Req("POST", s.Url(), extra);
  REQUIRE(r.status == 201);
  std::string loc = r.H("location");
  REQUIRE(loc.rfind("/files/", 0) == 0);
  return loc;
}

std::string IdOf(const std::string& path) {
  return path.substr(path.rfind('/') + 1);
}

Resp Patch(TusServer& s, const std::string& path, int64_t offset,
           const std::string& body, std::vector<std::string> extra = {}) {
  extra.push_back(kOct);
  extra.push_back("Upload-Offset: " + std::to_string(offset));
  return Req("PATCH", s.Url(path), extra, body);
}

std::string Offset(TusServer& s, const std::string& path) {
  return Req("HEAD", s.Url(path)).H("upload-offset");
}

}  // namespace

TEST_CASE("core protocol rows C01-C23", "[integration][upload]") {
  TusServer s;
  SECTION("C01 C05 C06 S01 OPTIONS advertises exactly what is implemented") {
    for (bool with_bad_version : {false, true}) {
      Resp r = Req("OPTIONS", s.Url(),
                   with_bad_version
                       ? std::vector<std::string>{"Tus-Resumable: 9.9.9"}
                       : std::vector<std::string>{},
                   "", false);
      CHECK(r.status == 204);
      CHECK(r.H("tus-version") == "1.0.0");
      CHECK(r.H("tus-extension") ==
            "creation,creation-with-upload,creation-defer-length,expiration,"
            "checksum,"
            "termination,concatenation");
      CHECK(r.H("tus-max-size") == std::to_string(1024LL << 20));
      CHECK(r.H("tus-checksum-algorithm").find("sha1") != std::string::npos);
      CHECK(r.H("tus-resumable") == "1.0.0");
    }
  }
  SECTION("C02 C04 unsupported or missing version: 412, nothing created") {
    for (const char* v : {"0.2.2", "2.0.0"}) {
      Resp r = Req("POST", s.Url(),
                   {std::string("Tus-Resumable: ") + v, "Upload-Length: 5"}, "",
                   false);
      CHECK(r.status == 412);
      CHECK(r.H("tus-version") == "1.0.0");
      CHECK(r.H("tus-resumable") == "1.0.0");
    }
    Resp r = Req("POST", s.Url(), {"Upload-Length: 5"}, "", false);
    CHECK(r.status == 412);
    CHECK(r.H("tus-version") == "1.0.0");
    CHECK(s.Count("SELECT count(*) FROM uploads") == 0);
  }
  SECTION("C03 PATCH with a bad version does not move the offset") {
    auto u = Create(s);
    Resp r =
        Req("PATCH", s.Url(u),
            {"Tus-Resumable: 9.9.9", kOct, "Upload-Offset: 0"}, "hello", false);
    CHECK(r.status == 412);
    CHECK(Offset(s, u) == "0");
    CHECK(Req("DELETE", s.Url(u), {}, "", false).status == 412);
  }
  SECTION("C08 HEAD of a fresh upload") {
    auto u = Create(s);
    Resp r = Req("HEAD", s.Url(u));
    CHECK(r.status == 200);
    CHECK(r.H("upload-offset") == "0");
    CHECK(r.H("upload-length") == "100");
    CHECK(r.H("cache-control") == "no-store");
    CHECK(r.H("tus-resumable") == "1.0.0");
    CHECK(r.body.empty());
    // lenient HEAD without Tus-Resumable
    CHECK(Req("HEAD", s.Url(u), {}, "", false).status == 200);
  }
  SECTION("C09 C14 C19 PATCH, HEAD, stored bytes, idempotent completion") {
    auto u = Create(s, "Upload-Length: 10");
    Resp r = Patch(s, u, 0, "hello");
    CHECK(r.status == 204);
    CHECK(r.H("upload-offset") == "5");
    CHECK(r.H("tus-resumable") == "1.0.0");
    CHECK(Offset(s, u) == "5");
    CHECK(ReadFile(s.layout().UploadPath(IdOf(u))) == "hello");
    CHECK(Patch(s, u, 5, "world").status == 204);
    Resp h = Req("HEAD", s.Url(u));
    CHECK(h.H("upload-offset") == "10");
    CHECK(h.H("upload-length") == "10");
    CHECK_FALSE(h.Has("upload-expires"));
    Resp again = Patch(s, u, 10, "");
    CHECK(again.status == 204);
    CHECK(again.H("upload-offset") == "10");
    CHECK(s.Count("SELECT count(*) FROM jobs") == 1);
  }
  SECTION("C10 C15 R03 unknown or malformed ids") {
    std::string unknown = "/files/" + std::string(32, 'a');
    Resp h = Req("HEAD", s.Url(unknown));
    CHECK(h.status == 404);
    CHECK_FALSE(h.Has("upload-offset"));
    CHECK(Patch(s, unknown, 0, "x").status == 404);
    for (const std::string& bad : std::vector<std::string>{
             "/files/..%2F..%2Fdb%2Fcatalog.db", "/files/%00",
             "/files/" + std::string(32, 'A'),
             "/files/" + std::string(200, 'a'), "/files/a%5Cb",
             "/files/" + std::string(32, 'a') + "/x"}) {
      // 404 from the handler, or 400 when libsoup already rejects the URI.
      long head = Req("HEAD", s.Url(bad)).status,
           patch = Patch(s, bad, 0, "x").status;
      CHECK((head == 404 || head == 400));
      CHECK((patch == 404 || patch == 400));
    }
  }
  SECTION("C11 wrong Content-Type: 415") {
    auto u = Create(s);
    Resp r = Req("PATCH", s.Url(u),
                 {"Content-Type: application/octet-stream", "Upload-Offset: 0"},
                 "hello");
    CHECK(r.status == 415);
    CHECK(Offset(s, u) == "0");
  }
  SECTION("C12 offset mismatch: 409, bytes unchanged") {
    auto u = Create(s);
    CHECK(Patch(s, u, 0, "abc").status == 204);
    CHECK(Patch(s, u, 0, "zzz").status == 409);
    CHECK(Patch(s, u, 5, "zzz").status == 409);
    CHECK(Offset(s, u) == "3");
    CHECK(ReadFile(s.layout().UploadPath(IdOf(u))) == "abc");
  }
  SECTION("C13 strict Upload-Offset parsing: 400") {
    auto u = Create(s);
    for (const char* v : {"-1", "abc", "1e3", "+5", "99999999999999999999"}) {
      Resp r = Req("PATCH", s.Url(u),
                   {kOct, std::string("Upload-Offset: ") + v}, "x");
      CHECK(r.status == 400);
    }
    CHECK(Req("PATCH", s.Url(u), {kOct}, "x").status == 400);
    CHECK(Offset(s, u) == "0");
  }
  SECTION("C16 chunked PATCH without Content-Length") {
    auto u = Create(s, "Upload-Length: 11");
    Raw raw(s.port());
    raw.Send(
        "PATCH " + u +
        " HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\n"
        "Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n"
        "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n "
        "world\r\n0\r\n\r\n");
    std::string resp = raw.Read(1500);
    CHECK(resp.rfind("HTTP/1.1 204", 0) == 0);
    CHECK(resp.find("Upload-Offset: 11") != std::string::npos);
    CHECK(ReadFile(s.layout().UploadPath(IdOf(u))) == "hello world");
  }
  SECTION("C17 connection cut mid-body: received bytes are stored") {
    auto u = Create(s, "Upload-Length: 100000");
    std::string data = Pattern(100000);
    {
      Raw raw(s.port());
      raw.Send(PatchHead(u, 0, 100000));
      raw.Send(data.substr(0, 30000));
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    REQUIRE(Eventually([&] { return Offset(s, u) == "30000"; }));
    CHECK(ReadFile(s.layout().UploadPath(IdOf(u))) == data.substr(0, 30000));
    CHECK(Patch(s, u, 30000, data.substr(30000)).status == 204);
    CHECK(ReadFile(s.layout().UploadPath(IdOf(u))) == data);
  }
  SECTION("C18 body larger than the rest of the upload: 413") {
    auto u = Create(s, "Upload-Length: 4");
    CHECK(Patch(s, u, 0, "hello").status == 413);
    CHECK(Offset(s, u) == "0");
  }
  SECTION("C21 C22 C23 X-HTTP-Method-Override") {
    auto u = Create(s, "Upload-Length: 5");
    Resp h = Req("POST", s.Url(u), {"X-HTTP-Method-Override: HEAD"});
    CHECK(h.status == 200);
    CHECK(h.H("upload-offset") == "0");
    Resp p =
        Req("POST", s.Url(u),
            {"X-HTTP-Method-Override: PATCH", kOct, "Upload-Offset: 0"}, "hel");
    CHECK(p.status == 204);
    CHECK(p.H("upload-offset") == "3");
    CHECK(Req("POST", s.Url(u), {"X-HTTP-Method-Override: DELETE"}).status ==
          204);
    CHECK(Req("HEAD", s.Url(u)).status == 410);
  }
}

TEST_CASE("creation rows K01-K11 and W01-W02", "[integration][upload]") {
  TusServer s;
  SECTION("K01 201 with Location; HEAD offset 0; expiry known (X01)") {
    Resp r = Req("POST", s.Url(), {"Upload-Length: 100"});
    CHECK(r.status == 201);
    CHECK(r.H("upload-offset") == "0");
    CHECK(ParseHttpDate(r.H("upload-expires")) > 0);
    CHECK(Offset(s, r.H("location")) == "0");
  }
  SECTION("K02 K03 K04 K06 bad length headers: 400 and nothing created") {
    CHECK(Req("POST", s.Url(), {}).status == 400);
    CHECK(Req("POST", s.Url(), {"Upload-Defer-Length: 2"}).status == 400);
    CHECK(Req("POST", s.Url(), {"Upload-Length: 5", "Upload-Defer-Length: 1"})
              .status == 400);
    for (const char* v : {"-1", "abc", "1e3"}) {
      CHECK(Req("POST", s.Url(), {std::string("Upload-Length: ") + v}).status ==
            400);
    }
    CHECK(s.Count("SELECT count(*) FROM uploads") == 0);
  }
  SECTION("K05 over Tus-Max-Size: 413") {
    CHECK(Req("POST", s.Url(),
              {"Upload-Length: " + std::to_string((1024LL << 20) + 1)})
              .status == 413);
  }
  SECTION("K07 zero-length upload is complete at once, one job") {
    auto u = Create(s, "Upload-Length: 0", {"Upload-Metadata: title VGFsaw=="});
    Resp h = Req("HEAD", s.Url(u));
    CHECK(h.H("upload-offset") == "0");
    CHECK(h.H("upload-length") == "0");
    CHECK(s.Row(IdOf(u))->state == "complete");
    CHECK(s.Count("SELECT count(*) FROM jobs") == 1);
    CHECK(s.Count("SELECT count(*) FROM videos WHERE title='Talk' AND "
                  "state='uploaded'") == 1);
  }
  SECTION("K08 metadata echoed, empty value kept") {
    auto u = Create(s, "Upload-Length: 1",
                    {"Upload-Metadata: filename d29ybGQ=,is_confidential"});
    Resp h = Req("HEAD", s.Url(u));
    upload::Metadata md;
    REQUIRE_FALSE(upload::ParseMetadata(h.H("upload-metadata"), 4096, &md));
    CHECK(md ==
          upload::Metadata{{"filename", "world"}, {"is_confidential", ""}});
  }
  SECTION("K09 K10 bad or oversized metadata: 400") {
    for (std::string m :
         {"filename !!!", "a YQ==,a YQ==", " YQ==", "a b YQ=="}) {
      CHECK(Req("POST", s.Url(), {"Upload-Length: 1", "Upload-Metadata: " + m})
                .status == 400);
    }
    CHECK(Req("POST", s.Url(),
              {"Upload-Length: 1",
               "Upload-Metadata: k " + std::string(8000, 'Q')})
              .status == 400);
    CHECK(s.Count("SELECT count(*) FROM uploads") == 0);
  }
  SECTION("K11 body with another Content-Type is ignored") {
    Resp r = Req("POST", s.Url(),
                 {"Upload-Length: 10", "Content-Type: text/plain"}, "hello");
    CHECK(r.status == 201);
    CHECK(r.H("upload-offset") == "0");
  }
  SECTION("W01 creation-with-upload") {
    Resp r = Req("POST", s.Url(), {"Upload-Length: 10", kOct}, "hello");
    CHECK(r.status == 201);
    CHECK(r.H("upload-offset") == "5");
    CHECK(ReadFile(s.layout().UploadPath(IdOf(r.H("location")))) == "hello");
    Resp whole = Req("POST", s.Url(), {"Upload-Length: 5", kOct}, "hello");
    CHECK(whole.H("upload-offset") == "5");
    CHECK(s.Row(IdOf(whole.H("location")))->state == "complete");
  }
  SECTION("W02 Expect: 100-continue") {
    Resp r = Req("POST", s.Url(),
                 {"Upload-Length: 10", kOct, "Expect: 100-continue"}, "hello");
    CHECK(r.status == 201);
    CHECK(r.H("upload-offset") == "5");
    auto u = r.H("location");
    Resp p = Patch(s, u, 5, "world", {"Expect: 100-continue"});
    CHECK(p.status == 204);
    CHECK(p.H("upload-offset") == "10");
  }
}

TEST_CASE("defer-length rows D01-D05", "[integration][upload]") {
  TusServer s({.max_size_mib = 1});
  auto u = Create(s, "Upload-Defer-Length: 1");
  Resp h = Req("HEAD", s.Url(u));
  CHECK(h.H("upload-defer-length") == "1");  // D01
  CHECK_FALSE(h.Has("upload-length"));
  CHECK(h.H("upload-offset") == "0");
  SECTION("D02 D03 length set once") {
    CHECK(Patch(s, u, 0, "ab").status == 204);  // still deferred
    CHECK(Patch(s, u, 2, "c", {"Upload-Length: 3"}).status == 204);
    Resp h2 = Req("HEAD", s.Url(u));
    CHECK(h2.H("upload-length") == "3");
    CHECK_FALSE(h2.Has("upload-defer-length"));
    CHECK(Patch(s, u, 3, "", {"Upload-Length: 4"}).status != 204);
    CHECK(Req("HEAD", s.Url(u)).H("upload-length") == "3");
  }
  SECTION("D03 a different length on an unfinished upload: 400") {
    CHECK(Patch(s, u, 0, "a", {"Upload-Length: 5"}).status == 204);
    CHECK(Patch(s, u, 1, "b", {"Upload-Length: 6"}).status == 400);
  }
  SECTION("D04 length below offset or above max") {
    CHECK(Patch(s, u, 0, "abc").status == 204);
    CHECK(Patch(s, u, 3, "", {"Upload-Length: 2"}).status == 400);
    CHECK(
        Patch(s, u, 3, "", {"Upload-Length: " + std::to_string((1 << 20) + 1)})
            .status == 413);
  }
  SECTION("D05 deferred upload growing past Tus-Max-Size: 413, cut at max") {
    std::string big = Pattern((1 << 20) + 10);
    CHECK(Patch(s, u, 0, big).status == 413);
    CHECK(Offset(s, u) == "0");
  }
}

TEST_CASE("checksum rows S02-S05", "[integration][upload]") {
  TusServer s;
  auto u = Create(s, "Upload-Length: 22");
  SECTION("S02 sha1 match") {
    Resp r = Patch(s, u, 0, "hello world",
                   {"Upload-Checksum: sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0="});
    CHECK(r.status == 204);
    CHECK(r.H("upload-offset") == "11");
  }
  SECTION("S03 mismatch: 460, chunk discarded") {
    CHECK(Patch(s, u, 0, "hello").status == 204);
    Resp r = Patch(s, u, 5, "hello world",
                   {"Upload-Checksum: sha1 AAAAAAAAAAAAAAAAAAAAAAAAAAA="});
    CHECK(r.status == 460);
    CHECK(Offset(s, u) == "5");
    CHECK(ReadFile(s.layout().UploadPath(IdOf(u))) == "hello");
  }
  SECTION("sha256 and md5") {
    CHECK(Patch(s, u, 0, "hello world",
                {"Upload-Checksum: sha256 "
                 "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="})
              .status == 204);
    CHECK(Patch(s, u, 11, "hello world",
                {"Upload-Checksum: md5 XrY7u+Ae7tCTyyK7j1rNww=="})
              .status == 204);
    CHECK(Offset(s, u) == "22");
  }
  SECTION("S04 S05 unsupported or malformed: 400, offset unchanged") {
    CHECK(Patch(s, u, 0, "hello", {"Upload-Checksum: foo123 AAAA"}).status ==
          400);
    CHECK(Patch(s, u, 0, "hello", {"Upload-Checksum: sha1"}).status == 400);
    CHECK(Patch(s, u, 0, "hello", {"Upload-Checksum: sha1 !!!"}).status == 400);
    CHECK(Offset(s, u) == "0");
  }
}

TEST_CASE("termination rows T01-T04", "[integration][upload]") {
  TusServer s;
  SECTION("T01 T02 DELETE removes data and state") {
    auto u = Create(s);
    CHECK(Patch(s, u, 0, "abc").status == 204);
    CHECK(Req("DELETE", s.Url(u)).status == 204);
    CHECK_FALSE(std::filesystem::exists(s.layout().UploadPath(IdOf(u))));
    CHECK(Req("HEAD", s.Url(u)).status == 410);
    CHECK(Patch(s, u, 3, "d").status == 410);
    CHECK(s.Row(IdOf(u))->state == "terminated");
  }
  SECTION("T03 DELETE while a PATCH streams") {
    auto u = Create(s, "Upload-Length: 100000");
    Raw raw(s.port());
    raw.Send(PatchHead(u, 0, 100000));
    raw.Send(Pattern(20000));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(Req("DELETE", s.Url(u)).status == 204);
    CHECK(raw.ClosedWithin(2000));
    CHECK_FALSE(std::filesystem::exists(s.layout().UploadPath(IdOf(u))));
  }
  SECTION("DELETE of a complete upload: 403 that says why, file kept") {
    auto u = Create(s, "Upload-Length: 3");
    CHECK(Patch(s, u, 0, "abc").status == 204);
    auto r = Req("DELETE", s.Url(u));
    CHECK(r.status == 403);
    CHECK(r.body.find("ERR_UPLOAD_COMPLETE") != std::string::npos);
    CHECK(r.body.find("delete the video") != std::string::npos);
    CHECK(s.Row(IdOf(u))->state == "complete");
    CHECK(Req("HEAD", s.Url(u)).status == 200);
  }
  SECTION("T04 DELETE unknown: 404") {
    CHECK(Req("DELETE", s.Url("/files/" + std::string(32, 'b'))).status == 404);
  }
}

TEST_CASE("concatenation rows N01-N06", "[integration][upload]") {
  TusServer s;
  auto a = Create(s, "Upload-Length: 5", {"Upload-Concat: partial"});
  auto b = Create(s, "Upload-Length: 6", {"Upload-Concat: partial"});
  CHECK(Req("HEAD", s.Url(a)).H("upload-concat") == "partial");  // N01
  SECTION("N03 unfinished partial: 400") {
    CHECK(
        Req("POST", s.Url(), {"Upload-Concat: final;" + a + " " + b}).status ==
        400);
  }
  SECTION("N02 N04 final upload") {
    CHECK(Patch(s, a, 0, "hello").status == 204);
    CHECK(Patch(s, b, 0, " world").status == 204);
    CHECK(s.Count("SELECT count(*) FROM jobs") == 0);  // partials make no video
    Resp f = Req("POST", s.Url(),
                 {"Upload-Concat: final;" + a + " " + s.Url(b),
                  "Upload-Metadata: filename d29ybGQ="});
    REQUIRE(f.status == 201);
    auto u = f.H("location");
    Resp h = Req("HEAD", s.Url(u));
    CHECK(h.H("upload-length") == "11");
    CHECK(h.H("upload-offset") == "11");
    CHECK(h.H("upload-concat") == "final;" + a + " " + b);
    CHECK(ReadFile(s.layout().UploadPath(IdOf(u))) == "hello world");
    CHECK(s.Count("SELECT count(*) FROM jobs") == 1);
    CHECK(Patch(s, u, 11, "x").status == 403);
    // the partials were consumed
    CHECK(Eventually([&] {
      return !std::filesystem::exists(s.layout().UploadPath(IdOf(a)));
    }));
  }
  SECTION("N05 final with Upload-Length: 400") {
    CHECK(
        Req("POST", s.Url(), {"Upload-Concat: final;" + a, "Upload-Length: 5"})
            .status == 400);
  }
  SECTION("N06 unknown or foreign parts") {
    CHECK(Req("POST", s.Url(),
              {"Upload-Concat: final;/files/" + std::string(32, 'c')})
              .status == 404);
    CHECK(Req("POST", s.Url(), {"Upload-Concat: final;/etc/passwd"}).status ==
          400);
  }
}

TEST_CASE("expiration rows X02-X04", "[integration][upload]") {
  TusServer s;
  auto u = Create(s);
  Resp p = Patch(s, u, 0, "abc");
  CHECK(ParseHttpDate(p.H("upload-expires")) > 0);  // X02
  auto done = Create(s, "Upload-Length: 1");
  CHECK(Patch(s, done, 0, "x").status == 204);
  s.clock().Advance(25LL * 3600 * 1000);  // past expiry_hours (24)
  // X03 + X04: the sweeper removes data and state; requests get 410
  REQUIRE(Eventually([&] { return s.Row(IdOf(u))->state == "expired"; }));
  CHECK(Req("HEAD", s.Url(u)).status == 410);
  CHECK(Patch(s, u, 3, "d").status == 410);
  CHECK_FALSE(std::filesystem::exists(s.layout().UploadPath(IdOf(u))));
  CHECK(s.Row(IdOf(done))->state == "complete");  // completed ones untouched
  CHECK(std::filesystem::exists(s.layout().UploadPath(IdOf(done))));
  CHECK(s.metrics().Render().find("vodd_uploads_expired_total 1") !=
        std::string::npos);
}

TEST_CASE("locking rows L01-L02: newest request wins",
          "[integration][upload]") {
  TusServer s;
  auto u = Create(s, "Upload-Length: 200000");
  std::string data = Pattern(200000);
  SECTION(
      "L01 HEAD during a streaming PATCH is answered promptly with the "
      "persisted offset") {
    Raw raw(s.port());
    raw.Send(PatchHead(u, 0, 200000));
    raw.Send(data.substr(0, 50000));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto t0 = std::chrono::steady_clock::now();
    Resp h = Req("HEAD", s.Url(u));
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - t0)
                  .count();
    CHECK(h.status == 200);
    CHECK(h.H("upload-offset") == "50000");
    CHECK(ms < 3000);
    CHECK(raw.ClosedWithin(2000));  // the old PATCH was stopped
    CHECK(ReadFile(s.layout().UploadPath(IdOf(u))) == data.substr(0, 50000));
  }
  SECTION("L02 a second PATCH stops the first; bytes never interleave") {
    Raw raw(s.port());
    raw.Send(PatchHead(u, 0, 200000));
    raw.Send(data.substr(0, 40000));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    // Same offset as the first: after the first is persisted it is stale.
    Resp stale = Patch(s, u, 0, data.substr(0, 1000));
    CHECK(stale.status == 409);
    CHECK(raw.ClosedWithin(2000));
    CHECK(Offset(s, u) == "40000");
    CHECK(Patch(s, u, 40000, data.substr(40000)).status == 204);
    CHECK(ReadFile(s.layout().UploadPath(IdOf(u))) == data);
  }
}

TEST_CASE("idle timeout C20: a stalled body is cut and its bytes kept",
          "[integration][upload]") {
  TusServer s({.idle_timeout_s = 1});
  auto u = Create(s, "Upload-Length: 10000");
  Raw raw(s.port());
  raw.Send(PatchHead(u, 0, 10000));
  raw.Send(Pattern(4000));
  // Keep trickling for longer than the timeout: reads reset the idle clock.
  for (int i = 0; i < 4; ++i) {
    CHECK_FALSE(raw.ClosedWithin(500));
    raw.Send(Pattern(10, static_cast<unsigned>(i)));
  }
  // Then stall: the request is cut after ~1 s and what arrived is durable.
  CHECK(raw.ClosedWithin(4000));
  CHECK(Eventually([&] { return Offset(s, u) == "4040"; }));
}

TEST_CASE("durability: restart reconciles files with the catalog (R01 R02)",
          "[integration][upload]") {
  char tmpl[] = "/tmp/vodd-tus-restart-XXXXXX";
  std::string root = mkdtemp(tmpl);
  std::string path, id, orphan;
  {
    TusServer s({.data_dir = root});
    path = Create(s, "Upload-Length: 10");
    id = IdOf(path);
    CHECK(Patch(s, path, 0, "hello").status == 204);
  }
  // Simulate a crash after unacknowledged writes, plus an orphan file.
  {
    std::ofstream f(root + "/uploads/" + id, std::ios::app | std::ios::binary);
    f << "GARBAGE";
  }
  orphan = root + "/uploads/" + std::string(32, 'e');
  std::ofstream(orphan) << "x";
  {
    TusServer s({.data_dir = root});
    CHECK(Offset(s, path) == "5");
    CHECK(ReadFile(s.layout().UploadPath(id)) == "hello");
    CHECK_FALSE(std::filesystem::exists(orphan));
    CHECK(Patch(s, path, 5, "world").status == 204);
    CHECK(s.Count("SELECT count(*) FROM jobs") == 1);
  }
  {
    TusServer s({.data_dir = root});  // a second restart never enqueues twice
    CHECK(s.Count("SELECT count(*) FROM jobs") == 1);
    CHECK(Offset(s, path) == "10");
  }
  std::filesystem::remove_all(root);
}

TEST_CASE("completion: one transaction with metadata into the video row",
          "[integration][upload]") {
  TusServer s;
  auto u = Create(s, "Upload-Length: 3",
                  {"Upload-Metadata: filename Y2xpcC5tcDQ=,title "
                   "VGl0bGU=,description RGVzYw==,"
                   "filetype dmlkZW8vbXA0"});
  CHECK(Patch(s, u, 0, "abc").status == 204);
  auto row = s.Row(IdOf(u));
  REQUIRE(row->video_id);
  CHECK(
      s.Count(
          "SELECT count(*) FROM videos WHERE id='" + *row->video_id +
          "' AND title='Title' AND description='Desc' AND filename='clip.mp4' "
          "AND source_path='uploads/" +
          IdOf(u) + "' AND source_size=3") == 1);
  CHECK(s.Count("SELECT count(*) FROM jobs WHERE video_id='" + *row->video_id +
                "' AND state='queued'") == 1);
  std::string m = s.metrics().Render();
  CHECK(m.find("vodd_uploads_created_total 1") != std::string::npos);
  CHECK(m.find("vodd_uploads_completed_total 1") != std::string::npos);
  CHECK(m.find("vodd_upload_bytes_received_total 3") != std::string::npos);
}

TEST_CASE("API tokens and ownership", "[integration][upload]") {
  TusServer s({.require_token = true});
  std::string token = s.AddToken();
  std::string other = s.AddToken();
  std::string readonly = s.AddToken("catalog:read");
  auto bearer = [](const std::string& t) {
    return "Authorization: Bearer " + t;
  };
  CHECK(Req("POST", s.Url(), {"Upload-Length: 5"}).status == 401);
  CHECK(
      Req("POST", s.Url(),
          {"Upload-Length: 5", bearer("vodd_00000000_" + std::string(43, 'a'))})
          .status == 401);
  CHECK(
      Req("POST", s.Url(), {"Upload-Length: 5", bearer(token + "x")}).status ==
      401);
  CHECK(Req("POST", s.Url(), {"Upload-Length: 5", bearer(readonly)}).status ==
        403);
  Resp c = Req("POST", s.Url(), {"Upload-Length: 5", bearer(token)});
  REQUIRE(c.status == 201);
  auto u = c.H("location");
  CHECK(Req("HEAD", s.Url(u)).status == 401);
  CHECK(Req("HEAD", s.Url(u), {bearer(other)}).status == 404);  // not yours
  CHECK(Patch(s, u, 0, "hi", {bearer(other)}).status == 404);
  CHECK(Patch(s, u, 0, "hi", {bearer(token)}).status == 204);
  CHECK(s.Row(IdOf(u))->token_id == upload::ParseToken(token)->id);
  // revocation takes effect within the cache refresh
  auto id = upload::ParseToken(token)->id;
  REQUIRE(s.writer().Call<bool>(
      [id](catalog::Db& db) { return catalog::RevokeToken(db, id, 1); }));
  CHECK(Eventually(
      [&] { return Req("HEAD", s.Url(u), {bearer(token)}).status == 401; }));
  Resp opts = Req("OPTIONS", s.Url(), {}, "", false);
  CHECK(opts.status == 204);  // discovery needs no token
}

TEST_CASE("CORS H01-H02", "[integration][upload]") {
  TusServer s;
  Resp pre = Req(
      "OPTIONS", s.Url(),
      {"Origin: https://cms.example", "Access-Control-Request-Method: PATCH",
       "Access-Control-Request-Headers: upload-offset"},
      "", false);
  CHECK((pre.status == 204 || pre.status == 200));
  CHECK(pre.H("access-control-allow-origin") == "https://cms.example");
  for (const char* m : {"POST", "HEAD", "PATCH", "DELETE", "OPTIONS"}) {
    CHECK(pre.H("access-control-allow-methods").find(m) != std::string::npos);
  }
  for (const char* h :
       {"Tus-Resumable", "Upload-Length", "Upload-Offset", "Upload-Metadata",
        "Upload-Defer-Length", "Upload-Concat", "Content-Type",
        "X-HTTP-Method-Override", "X-Requested-With", "X-Request-ID"}) {
    CHECK(pre.H("access-control-allow-headers").find(h) != std::string::npos);
  }
  Resp r =
      Req("POST", s.Url(), {"Origin: https://cms.example", "Upload-Length: 5"});
  for (const char* h :
       {"Upload-Offset", "Location", "Upload-Length", "Tus-Version",
        "Tus-Resumable", "Tus-Max-Size", "Tus-Extension", "Upload-Metadata",
        "Upload-Defer-Length", "Upload-Concat", "Upload-Expires"}) {
    CHECK(r.H("access-control-expose-headers").find(h) != std::string::npos);
  }
  Resp foreign = Req("POST", s.Url(),
                     {"Origin: https://evil.example", "Upload-Length: 5"});
  CHECK_FALSE(foreign.Has("access-control-allow-origin"));
}

TEST_CASE(
    "disk floor R04: 507 before writing past the floor and resumable after",
    "[integration][upload]") {
  // A floor just above what is free now makes the very next write fail.
  char tmpl[] = "/tmp/vodd-tus-floor-XXXXXX";
  std::string root = mkdtemp(tmpl);
  int64_t free_now = *storage::FreeBytes(root);
  std::string path;
  {
    TusServer s({.min_free_bytes = free_now + (64LL << 20), .data_dir = root});
    path = Create(s, "Upload-Length: 10");
    Resp r = Patch(s, path, 0, "hello");
    CHECK(r.status == 507);
    CHECK(Offset(s, path) == "0");
    CHECK(Req("OPTIONS", s.Url(), {}, "", false).status == 204);  // still alive
  }
  {
    TusServer s({.data_dir = root});  // space "freed": floor back to 0
    CHECK(Patch(s, path, 0, "hello").status == 204);
  }
  std::filesystem::remove_all(root);
}

TEST_CASE("every tus error maps to one status", "[integration][upload]") {
  // The statuses provoked above cover 400 401 403 404 409 410 412 413 415 460
  // 507; the table must agree with what the handler sends.
  for (auto e : upload::AllTusErrors()) {
    auto st = upload::Info(e).status;
    CHECK((st == 400 || st == 401 || st == 403 || st == 404 || st == 405 ||
           st == 408 || st == 409 || st == 410 || st == 412 || st == 413 ||
           st == 415 || st == 423 || st == 460 || st == 500 || st == 507));
  }
}

TEST_CASE(
    "L03 lock not obtained within the bound: 423 with Retry-After, never 5xx",
    "[integration][upload]") {
  // A zero bound: the streaming PATCH cannot be stopped and persisted before
  // the waiting HEAD's deadline fires.
  TusServer s({.lock_wait = std::chrono::milliseconds(0)});
  auto u = Create(s, "Upload-Length: 100000");
  Raw raw(s.port());
  raw.Send(PatchHead(u, 0, 100000));
  raw.Send(Pattern(10000));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Resp h = Req("HEAD", s.Url(u));
  CHECK(h.status == 423);
  CHECK(h.H("retry-after") == "1");
  CHECK(h.H("tus-resumable") == "1.0.0");
  // The stopped PATCH was still persisted; a retry sees its bytes.
  CHECK(Eventually([&] { return Offset(s, u) == "10000"; }));
}

TEST_CASE("checkpoints make bytes durable in the catalog while a PATCH streams",
          "[integration][upload]") {
  TusServer s({.checkpoint_mib = 1});
  auto u = Create(s, "Upload-Length: 8388608");
  std::string data = Pattern(8 << 20);
  Raw raw(s.port());
  raw.Send(PatchHead(u, 0, 8 << 20));
  raw.Send(data.substr(0, 3 << 20));
  // No HEAD here (it would stop the PATCH): read the row directly.
  CHECK(Eventually([&] { return s.Row(IdOf(u))->offset >= (2 << 20); }));
  CHECK(s.Row(IdOf(u))->offset <= (3 << 20));
  raw.Send(data.substr(3 << 20));
  std::string resp = raw.Read(3000);
  CHECK(resp.rfind("HTTP/1.1 204", 0) == 0);
  CHECK(ReadFile(s.layout().UploadPath(IdOf(u))) == data);
}

namespace {
std::string Sha1Base64(const std::string& data) {
  GChecksum* c = g_checksum_new(G_CHECKSUM_SHA1);
  g_checksum_update(c, reinterpret_cast<const guchar*>(data.data()),
                    static_cast<gssize>(data.size()));
  guint8 digest[20];
  gsize len = sizeof digest;
  g_checksum_get_digest(c, digest, &len);
  g_checksum_free(c);
  gchar* b64 = g_base64_encode(digest, len);
  std::string out(b64);
  g_free(b64);
  return out;
}

// One response (status line, headers and a Content-Length body) from `raw`.
std::string ReadResponse(Raw& raw) {
  std::string got;
  for (int i = 0; i < 100; ++i) {
    size_t end = got.find("\r\n\r\n");
    if (end != std::string::npos) {
      size_t body = 0;
      size_t p = got.find("Content-Length: ");
      if (p != std::string::npos && p < end)
        body = std::stoul(got.substr(p + 16));
      if (got.size() >= end + 4 + body) break;
    }
    got += raw.Read(50);
  }
  return got;
}
}  // namespace

TEST_CASE(
    "PATCH bodies vodd reads itself: bytes sent with the headers are kept, "
    "the connection serves the next requests",
    "[integration][upload]") {
  TusServer s;
  std::string data = Pattern(300000, 7);
  auto u = Create(s, "Upload-Length: 300000");
  Raw raw(s.port());
  // Headers and the first 100000 body bytes in one write: libsoup has
  // buffered part of the body when vodd takes the connection over. The
  // checksum fails if a byte is lost or repeated.
  std::string first = data.substr(0, 100000);
  REQUIRE(raw.Send(
      PatchHead(u, 0, 100000,
                "Upload-Checksum: sha1 " + Sha1Base64(first) + "\r\n") +
      first));
  std::string r1 = ReadResponse(raw);
  CHECK(r1.rfind("HTTP/1.1 204", 0) == 0);
  CHECK(r1.find("Upload-Offset: 100000\r\n") != std::string::npos);
  CHECK(r1.find("Tus-Resumable: 1.0.0\r\n") != std::string::npos);
  // The same connection: a HEAD (through libsoup) and two more PATCHes.
  REQUIRE(raw.Send("HEAD " + u +
                   " HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: "
                   "1.0.0\r\n\r\n"));
  std::string r2 = ReadResponse(raw);
  CHECK(r2.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(r2.find("Upload-Offset: 100000\r\n") != std::string::npos);
  REQUIRE(raw.Send(PatchHead(u, 100000, 100000) + data.substr(100000, 100000)));
  CHECK(ReadResponse(raw).find("Upload-Offset: 200000\r\n") !=
        std::string::npos);
  // A wrong checksum on the taken-over path: 460, the offset stays.
  std::string last = data.substr(200000);
  REQUIRE(raw.Send(
      PatchHead(u, 200000, 100000,
                "Upload-Checksum: sha1 " + Sha1Base64(first) + "\r\n") +
      last));
  std::string r3 = ReadResponse(raw);
  CHECK(r3.rfind("HTTP/1.1 460", 0) == 0);
  CHECK(Offset(s, u) == "200000");
  REQUIRE(
      raw.Send(PatchHead(u, 200000, 100000,
                         "Upload-Checksum: sha1 " + Sha1Base64(last) + "\r\n") +
               last));
  CHECK(ReadResponse(raw).rfind("HTTP/1.1 204", 0) == 0);
  CHECK(ReadFile(s.layout().UploadPath(IdOf(u))) == data);
  CHECK(s.Row(IdOf(u))->state == "complete");
}
