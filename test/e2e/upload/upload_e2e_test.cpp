// End to end: the vodd binary, tus-js-client 4.3.1 under Node, `vodd upload`,
// kill -9 and restart, and a full disk on a small tmpfs.
#include <fcntl.h>
#include <glib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "support/test_util.h"
#include "vodd/catalog/db.h"
#include "vodd/catalog/writer.h"

namespace fs = std::filesystem;
using vodd::test::FreePort;
using vodd::test::Http;
using vodd::test::ReadFile;

namespace {

constexpr int64_t kMiB = 1 << 20;

std::string TempDir(const char* name) {
  std::string t = std::string("/tmp/vodd-e2e-") + name + "-XXXXXX";
  std::vector<char> buf(t.begin(), t.end());
  buf.push_back('\0');
  return mkdtemp(buf.data());
}

// Writes `size` bytes of a deterministic pattern (incompressible enough).
void MakeFile(const std::string& path, int64_t size) {
  std::ofstream f(path, std::ios::binary);
  std::string block(kMiB, '\0');
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int64_t done = 0; done < size; done += kMiB) {
    for (size_t i = 0; i < block.size(); i += 8) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      memcpy(&block[i], &x, 8);
    }
    f.write(block.data(),
            static_cast<std::streamsize>(std::min<int64_t>(kMiB, size - done)));
  }
}

std::string Sha256(const std::string& path) {
  GChecksum* sum = g_checksum_new(G_CHECKSUM_SHA256);
  std::ifstream f(path, std::ios::binary);
  std::string buf(kMiB, '\0');
  while (f) {
    f.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    g_checksum_update(sum, reinterpret_cast<const guchar*>(buf.data()),
                      f.gcount());
  }
  std::string hex = g_checksum_get_string(sum);
  g_checksum_free(sum);
  return hex;
}

class Daemon {
 public:
  Daemon(std::string dir, std::string data_dir, int64_t min_free_mib = 16)
      : dir_(std::move(dir)), port_(FreePort()) {
    conf_ = dir_ + "/vodd.conf";
    std::ofstream(conf_)
        << "[server]\nlisten = 127.0.0.1:" << port_
        << "\n[storage]\ndata_dir = " << data_dir
        << "\nmin_free_mib = " << min_free_mib
        << "\n[upload]\nrequire_token = true\nidle_timeout_s = 10\n"
        << "[pipeline]\nworkers = 1\n";
  }
  ~Daemon() { Kill(SIGKILL); }

  void Start() {
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open((dir_ + "/vodd.log").c_str(), O_WRONLY | O_CREAT | O_APPEND,
                    0644);
      dup2(fd, 1);
      dup2(fd, 2);
      execl(VODD_BINARY, "vodd", "serve", "-c", conf_.c_str(), nullptr);
      _exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      if (Http("HEAD", Base() + "/healthz", {}, "", 2).status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL("vodd did not become healthy; log: " << dir_ << "/vodd.log");
  }
  void Kill(int sig) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  bool Alive() const { return pid_ > 0 && kill(pid_, 0) == 0; }
  pid_t pid() const { return pid_; }
  std::string Base() const {
    return "http://127.0.0.1:" + std::to_string(port_);
  }
  const std::string& conf() const { return conf_; }

  std::string CreateToken() {
    std::string cmd =
        std::string(VODD_BINARY) + " token create --name e2e -c " + conf_;
    FILE* p = popen(cmd.c_str(), "r");
    char line[256] = {0};
    REQUIRE(fgets(line, sizeof line, p) != nullptr);
    pclose(p);
    std::string t = line;
    while (!t.empty() && (t.back() == '\n')) t.pop_back();
    return t;
  }

 private:
  std::string dir_, conf_;
  int port_;
  pid_t pid_ = -1;
};

// Runs the Node driver; `on_line` sees every output line and may act.
int RunNode(const std::string& json,
            const std::function<void(const std::string&)>& on_line) {
  std::string script =
      std::string(VODD_SOURCE_DIR) + "/test/e2e/upload/tus_upload.mjs";
  std::string cmd = "node " + script + " '" + json + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  char line[4096];
  while (fgets(line, sizeof line, p)) {
    std::string l = line;
    if (!l.empty() && l.back() == '\n') l.pop_back();
    if (l.rfind("PROGRESS", 0) != 0) UNSCOPED_INFO("node: " << l);
    on_line(l);
  }
  return pclose(p);
}

int64_t Query(const std::string& db_path, const std::string& sql) {
  auto db = vodd::catalog::OpenReader(db_path);
  REQUIRE(db);
  auto s = (*db)->Prepare(sql);
  REQUIRE(s);
  auto row = s->Step();
  REQUIRE(row);
  return *row ? s->Int(0) : -1;
}

std::string IdFromUrl(const std::string& url) {
  return url.substr(url.rfind('/') + 1);
}

struct Fixture {
  std::string dir = TempDir("upload");
  std::string data = dir + "/data";
  std::string src = dir + "/source.bin";
  Fixture() { MakeFile(src, 200 * kMiB); }
  ~Fixture() { fs::remove_all(dir); }
};

}  // namespace

TEST_CASE(
    "tus-js-client: 200 MiB in 5 MiB chunks with abort and resume then "
    "parallelUploads 4",
    "[e2e][upload]") {
  Fixture fx;
  Daemon d(fx.dir, fx.data);
  d.Start();
  std::string token = d.CreateToken();
  REQUIRE(token.rfind("vodd_", 0) == 0);
  std::string want = Sha256(fx.src);

  std::string url;
  bool aborted = false;
  int rc =
      RunNode(R"({"endpoint":")" + d.Base() + R"(/files/","file":")" + fx.src +
                  R"(","chunkSize":5242880,"abortAtBytes":83886080,"token":")" +
                  token + R"("})",
              [&](const std::string& l) {
                if (l.rfind("ABORTED", 0) == 0) aborted = true;
                if (l.rfind("DONE ", 0) == 0) url = l.substr(5);
              });
  CHECK(rc == 0);
  CHECK(aborted);
  REQUIRE_FALSE(url.empty());
  std::string id = IdFromUrl(url);
  CHECK(Sha256(fx.data + "/uploads/" + id) == want);
  std::string db = fx.data + "/db/catalog.db";
  CHECK(
      Query(
          db,
          "SELECT count(*) FROM jobs j JOIN uploads u ON u.video_id=j.video_id "
          "WHERE u.id='" +
              id + "'") == 1);

  // Parallel uploads: four partials and one final upload.
  std::string purl;
  rc = RunNode(R"({"endpoint":")" + d.Base() + R"(/files/","file":")" + fx.src +
                   R"(","chunkSize":5242880,"parallelUploads":4,"token":")" +
                   token + R"("})",
               [&](const std::string& l) {
                 if (l.rfind("DONE ", 0) == 0) purl = l.substr(5);
               });
  CHECK(rc == 0);
  REQUIRE_FALSE(purl.empty());
  std::string pid = IdFromUrl(purl);
  CHECK(Sha256(fx.data + "/uploads/" + pid) == want);
  CHECK(Query(db, "SELECT count(*) FROM uploads WHERE id='" + pid +
                      "' AND concat='final' AND state='complete'") == 1);
  CHECK(Query(db,
              "SELECT count(*) FROM uploads WHERE concat='partial' AND "
              "state='terminated'") == 4);
  CHECK(
      Query(
          db,
          "SELECT count(*) FROM jobs j JOIN uploads u ON u.video_id=j.video_id "
          "WHERE u.id='" +
              pid + "'") == 1);
  std::string metrics = Http("GET", d.Base() + "/metrics").body;
  CHECK(metrics.find("vodd_uploads_completed_total 6") != std::string::npos);
  CHECK(d.Alive());
}

TEST_CASE("tus-js-client survives kill -9 of vodd mid-upload",
          "[e2e][upload]") {
  Fixture fx;
  Daemon d(fx.dir, fx.data);
  d.Start();
  std::string token = d.CreateToken();
  std::string want = Sha256(fx.src);
  std::string url;
  bool killed = false;
  int rc = RunNode(
      R"({"endpoint":")" + d.Base() + R"(/files/","file":")" + fx.src +
          R"(","chunkSize":5242880,"retryDelays":[300,600,1000,1000,2000,2000,3000,5000],"token":")" +
          token + R"("})",
      [&](const std::string& l) {
        if (!killed && l.rfind("PROGRESS ", 0) == 0 &&
            std::stoll(l.substr(9)) >= 90 * kMiB) {
          killed = true;
          d.Kill(SIGKILL);
          d.Start();  // same port and data folder
        }
        if (l.rfind("DONE ", 0) == 0) url = l.substr(5);
      });
  CHECK(killed);
  CHECK(rc == 0);
  REQUIRE_FALSE(url.empty());
  std::string id = IdFromUrl(url);
  CHECK(Sha256(fx.data + "/uploads/" + id) == want);
  std::string db = fx.data + "/db/catalog.db";
  CHECK(Query(db, "SELECT count(*) FROM jobs") == 1);
  CHECK(Query(db, "SELECT count(*) FROM uploads") == 1);
}

TEST_CASE("vodd upload: interrupted then rerun resumes from the server offset",
          "[e2e][upload]") {
  Fixture fx;
  Daemon d(fx.dir, fx.data);
  d.Start();
  std::string token = d.CreateToken();
  std::string state = fx.dir + "/client-state.json";
  std::string cmd = std::string(VODD_BINARY) + " upload " + fx.src +
                    " --title E2E --server " + d.Base() + " --token " + token +
                    " --chunk-mib 8 --state-file " + state;
  // First run: killed once the state file exists and some bytes are durable.
  pid_t client = fork();
  if (client == 0) {
    execl("/bin/sh", "sh", "-c",
          ("exec " + cmd + " -q > " + fx.dir + "/client1.log 2>&1").c_str(),
          nullptr);
    _exit(127);
  }
  std::string db = fx.data + "/db/catalog.db";
  bool progressed = false;
  for (int i = 0; i < 400 && !progressed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    progressed =
        fs::exists(state) && fs::exists(db) &&
        Query(db, "SELECT coalesce(max(offset),0) FROM uploads") >= 16 * kMiB;
  }
  kill(client, SIGKILL);
  waitpid(client, nullptr, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  INFO("first client log: " << ReadFile(fx.dir + "/client1.log"));
  REQUIRE(progressed);
  // Second run resumes the same upload.
  FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r");
  char line[512] = {0};
  REQUIRE(fgets(line, sizeof line, p) != nullptr);
  CHECK(pclose(p) == 0);
  std::string url = line;
  url.pop_back();
  CHECK(Query(db, "SELECT count(*) FROM uploads") == 1);
  std::string id = IdFromUrl(url);
  CHECK(Sha256(fx.data + "/uploads/" + id) == Sha256(fx.src));
  CHECK(Query(db,
              "SELECT count(*) FROM videos WHERE title='E2E' AND "
              "filename='source.bin'") == 1);
  CHECK(Query(db, "SELECT count(*) FROM jobs") == 1);
}

TEST_CASE(
    "disk full on a 64 MiB tmpfs: 507 with the daemon alive then resume after "
    "freeing space",
    "[e2e][upload]") {
  std::string dir = TempDir("diskfull");
  struct RemoveDir {
    std::string dir;
    ~RemoveDir() { fs::remove_all(dir); }
  } remove_dir{dir};
  std::string mnt = dir + "/mnt";
  vodd::test::ScopedTmpfs tmpfs(mnt, "64m");
  if (!tmpfs.mounted()) {
    WARN("skipped: cannot mount a tmpfs here (" << tmpfs.error() << ")");
    return;
  }
  std::string data = mnt + "/data";
  std::string src = dir + "/source.bin";
  MakeFile(src, 24 * kMiB);
  Daemon d(dir, data, /*min_free_mib=*/8);
  d.Start();
  std::string token = d.CreateToken();
  // Ballast leaves ~12 MiB above the 8 MiB floor: the upload cannot finish.
  MakeFile(mnt + "/ballast", 44 * kMiB);
  // A watcher frees the space once vodd has answered 507 at least once.
  std::atomic<bool> saw_507{false}, alive_then{false};
  std::thread watcher([&] {
    for (int i = 0; i < 300 && !saw_507; ++i) {
      if (Http("GET", d.Base() + "/metrics")
              .body.find("ERR_INSUFFICIENT_STORAGE") != std::string::npos) {
        alive_then =
            d.Alive() &&
            Http("HEAD", d.Base() + "/healthz", {}, "", 2).status == 200;
        saw_507 = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        fs::remove(mnt + "/ballast");
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  std::string url;
  int rc = RunNode(
      R"({"endpoint":")" + d.Base() + R"(/files/","file":")" + src +
          R"(","chunkSize":4194304,"retryDelays":[500,500,1000,1000,1000,1000,2000,2000,2000,2000],"token":")" +
          token + R"("})",
      [&](const std::string& l) {
        if (l.rfind("DONE ", 0) == 0) url = l.substr(5);
      });
  watcher.join();
  CHECK(saw_507);
  CHECK(alive_then);
  CHECK(rc == 0);
  REQUIRE_FALSE(url.empty());
  CHECK(Sha256(data + "/uploads/" + IdFromUrl(url)) == Sha256(src));
  d.Kill(SIGTERM);
}

TEST_CASE(
    "an fdatasync error on the upload file: 500 ERR_STORAGE, the offset stays, "
    "the daemon serves on and the upload then finishes",
    "[e2e][upload]") {
  std::string dir = TempDir("eio");
  struct Cleanup {
    std::string dir;
    ~Cleanup() { fs::remove_all(dir); }
  } cleanup{dir};
  std::string data = dir + "/data";
  std::string src = dir + "/source.bin";
  MakeFile(src, 8 * kMiB);
  std::string bytes = ReadFile(src);
  Daemon d(dir, data);
  d.Start();
  std::vector<std::string> auth = {"Tus-Resumable: 1.0.0",
                                   "Authorization: Bearer " + d.CreateToken()};
  auto headers = [&](std::vector<std::string> more) {
    more.insert(more.end(), auth.begin(), auth.end());
    return more;
  };
  auto patch = [&](int64_t from, int64_t n, const std::string& url) {
    return Http("PATCH", url,
                headers({"Content-Type: application/offset+octet-stream",
                         "Upload-Offset: " + std::to_string(from)}),
                bytes.substr(static_cast<size_t>(from), static_cast<size_t>(n)),
                30);
  };
  auto created = Http("POST", d.Base() + "/files/",
                      headers({"Upload-Length: " + std::to_string(8 * kMiB)}));
  REQUIRE(created.status == 201);
  std::string url = d.Base() + created.headers["location"];
  std::string id = IdFromUrl(url);
  REQUIRE(patch(0, 3 * kMiB, url).status == 204);

  // Every fdatasync on this upload's file fails with EIO from now on: the
  // early flushes' and the final one's.
  std::string path = data + "/uploads/" + id;
  std::string err_log = dir + "/strace.err";
  pid_t tracer = fork();
  if (tracer == 0) {
    int fd = open(err_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    std::string target = std::to_string(d.pid());
    execlp("strace", "strace", "-f", "-p", target.c_str(), "-P", path.c_str(),
           "-e", "trace=fdatasync", "-e", "inject=fdatasync:error=EIO", "-o",
           (dir + "/strace.out").c_str(), nullptr);
    _exit(127);
  }
  bool attached = false;
  for (int i = 0; i < 200 && !attached; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    attached = ReadFile(err_log).find("attached") != std::string::npos;
  }
  INFO("strace: " << ReadFile(err_log));
  if (!attached &&
      ReadFile(err_log).find("Operation not permitted") != std::string::npos) {
    WARN("skipped: ptrace is not allowed here (" << ReadFile(err_log) << ")");
    kill(tracer, SIGKILL);
    waitpid(tracer, nullptr, 0);
    return;
  }
  REQUIRE(attached);

  auto failed = patch(3 * kMiB, 3 * kMiB, url);
  CHECK(failed.status == 500);
  CHECK(failed.body.find("ERR_STORAGE") != std::string::npos);
  auto head = Http("HEAD", url, headers({}));
  CHECK(head.status == 200);
  CHECK(head.headers["upload-offset"] == std::to_string(3 * kMiB));
  CHECK(Http("GET", d.Base() + "/healthz").status == 200);
  CHECK(ReadFile(dir + "/strace.out").find("(INJECTED)") != std::string::npos);

  kill(tracer, SIGINT);  // strace detaches and leaves vodd running
  waitpid(tracer, nullptr, 0);
  CHECK(d.Alive());
  auto rest = patch(3 * kMiB, 5 * kMiB, url);
  CHECK(rest.status == 204);
  CHECK(rest.headers["upload-offset"] == std::to_string(8 * kMiB));
  CHECK(Sha256(path) == Sha256(src));
  CHECK(Query(data + "/db/catalog.db", "SELECT count(*) FROM jobs") == 1);
  std::string metrics = Http("GET", d.Base() + "/metrics").body;
  CHECK(metrics.find("ERR_STORAGE") != std::string::npos);
}
