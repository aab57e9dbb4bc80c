// `vodd backup DEST`: a consistent copy of what a restore needs, safe while
// the daemon runs. It does not stop the service, copy in-progress uploads or
// job staging (clients resume or restart uploads; jobs run again), or
// compress anything.
//
//   runuser -u vodd -- vodd backup --config /etc/vodd/vodd.conf /srv/bk/1
//
// DEST (new, or an empty folder) gets:
//   db/catalog.db     SQLite online backup (sqlite3_backup_*) of the catalog:
//                     one read snapshot, so the daemon keeps writing (WAL)
//   media/, sources/  published media and ingested originals, hard links
//                     where DEST is on the same file system (those files are
//                     immutable once published), copies otherwise
//   config/           the config file and conf.d drop-ins that were read
//   BACKUP            what was copied, from which version and schema
//
// Order: media pass, catalog snapshot, media pass again. Everything the
// snapshot references was published before it, so it is in one of the two
// passes unless it was deleted in the moment between snapshot and second
// pass. Files deleted during the first pass may be copied without a catalog
// row; the daemon's garbage collection removes them after a restore.
//
// Run as root, it first drops to the owner of data_dir (creating DEST for
// it), so nothing under data_dir ever becomes root-owned.
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "vodd/app/commands.h"
#include "vodd/app/wiring.h"
#include "vodd/catalog/db.h"
#include "vodd/core/version.h"
#include "vodd/storage/storage.h"

namespace vodd::app {
namespace {

struct CopyStats {
  int64_t linked = 0;
  int64_t copied = 0;
  int64_t bytes = 0;
};

struct FdCloser {
  int fd = -1;
  ~FdCloser() {
    if (fd >= 0) close(fd);
  }
};

Status CopyFile(const std::string& src, const std::string& dst, mode_t mode) {
  FdCloser in{open(src.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) return ErrnoError(errno, "open " + src);
  FdCloser out{
      open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 0777)};
  if (out.fd < 0) return ErrnoError(errno, "create " + dst);
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = read(in.fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, "read " + src);
    if (n == 0) break;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(out.fd, buf.data() + off, n - off);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return ErrnoError(errno, "write " + dst);
      off += w;
    }
  }
  return Ok();
}

// Mirrors `src` into `dst`: folders are created, files hard-linked or copied;
// files already in `dst` are kept (the second pass only adds new ones).
Status MirrorTree(const std::string& src, const std::string& dst,
                  CopyStats& stats) {
  if (mkdir(dst.c_str(), 0750) != 0 && errno != EEXIST) {
    return ErrnoError(errno, "mkdir " + dst);
  }
  std::error_code ec;
  std::filesystem::directory_iterator it(src, ec);
  if (ec) return MakeError(ErrorCode::kIo, src + ": " + ec.message());
  for (const auto& entry : it) {
    std::string from = entry.path().string();
    std::string to = dst + "/" + entry.path().filename().string();
    struct stat st {};
    if (lstat(from.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;  // deleted while we walk: fine
      return ErrnoError(errno, "stat " + from);
    }
    if (S_ISDIR(st.st_mode)) {
      TRY(MirrorTree(from, to, stats));
      continue;
    }
    if (!S_ISREG(st.st_mode)) {
      fmt::print(stderr, "vodd backup: skipping {} (not a regular file)\n",
                 from);
      continue;
    }
    struct stat existing {};
    if (lstat(to.c_str(), &existing) == 0) continue;
    if (link(from.c_str(), to.c_str()) == 0) {
      ++stats.linked;
      stats.bytes += st.st_size;
      continue;
    }
    if (errno == ENOENT) continue;
    if (errno != EXDEV && errno != EPERM && errno != EMLINK &&
        errno != EACCES) {
      return ErrnoError(errno, "link " + to);
    }
    TRY(CopyFile(from, to, st.st_mode));
    ++stats.copied;
    stats.bytes += st.st_size;
  }
  return Ok();
}

// One sqlite3_backup_step(-1): the whole catalog from a single read snapshot.
// Under WAL the daemon's writer is not blocked meanwhile. Returns the
// schema version (user_version) of the copy after a quick_check.
Result<int> BackupCatalog(const std::string& src_path,
                          const std::string& dst_path) {
  TRY_ASSIGN(auto src,
             catalog::Db::Open(src_path, catalog::Db::Mode::kReadOnly));
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(dst_path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  std::unique_ptr<sqlite3, catalog::SqliteCloser> dst(raw);
  if (rc != SQLITE_OK) {
    return MakeError(ErrorCode::kIo,
                     fmt::format("open {}: {}", dst_path, sqlite3_errstr(rc)));
  }
  sqlite3_backup* b =
      sqlite3_backup_init(dst.get(), "main", src->raw(), "main");
  if (!b) {
    return MakeError(ErrorCode::kIo, fmt::format("backup {}: {}", src_path,
                                                 sqlite3_errmsg(dst.get())));
  }
  for (int tries = 0;; ++tries) {
    rc = sqlite3_backup_step(b, -1);
    if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && tries < 100) {
      sqlite3_sleep(100);
      continue;
    }
    break;
  }
  int finish_rc = sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE || finish_rc != SQLITE_OK) {
    return MakeError(
        ErrorCode::kIo,
        fmt::format("backup {}: {}", src_path,
                    sqlite3_errstr(rc != SQLITE_DONE ? rc : finish_rc)));
  }
  sqlite3_stmt* st = nullptr;
  std::string check;
  if (sqlite3_prepare_v2(dst.get(), "PRAGMA quick_check", -1, &st, nullptr) ==
          SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    check = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  if (check != "ok") {
    return MakeError(ErrorCode::kDataLoss,
                     fmt::format("quick_check of {}: {}", dst_path, check));
  }
  int version = -1;
  if (sqlite3_prepare_v2(dst.get(), "PRAGMA user_version", -1, &st, nullptr) ==
          SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    version = sqlite3_column_int(st, 0);
  }
  sqlite3_finalize(st);
  return version;
}

// Creates DEST (absent or empty) with mode 0750.
Status MakeDest(const std::string& dest) {
  if (mkdir(dest.c_str(), 0750) == 0) return Ok();
  if (errno != EEXIST) return ErrnoError(errno, "mkdir " + dest);
  std::error_code ec;
  if (!std::filesystem::is_directory(dest, ec) ||
      !std::filesystem::is_empty(dest, ec)) {
    return MakeError(ErrorCode::kAlreadyExists,
                     dest + " exists and is not an empty folder");
  }
  return Ok();
}

// As root, become the owner of data_dir so the daemon's files keep their
// owner; DEST is created first and given to that user.
Status DropToDataOwner(const std::string& data_dir, const std::string& dest) {
  if (geteuid() != 0) return Ok();
  struct stat st {};
  if (stat(data_dir.c_str(), &st) != 0) {
    return ErrnoError(errno, "stat " + data_dir);
  }
  if (st.st_uid == 0) return Ok();
  TRY(MakeDest(dest));
  if (chown(dest.c_str(), st.st_uid, st.st_gid) != 0) {
    return ErrnoError(errno, "chown " + dest);
  }
  struct passwd* pw = getpwuid(st.st_uid);
  if (pw ? initgroups(pw->pw_name, st.st_gid) != 0
         : setgroups(0, nullptr) != 0) {
    return ErrnoError(errno, "setgroups");
  }
  if (setgid(st.st_gid) != 0) return ErrnoError(errno, "setgid");
  if (setuid(st.st_uid) != 0) return ErrnoError(errno, "setuid");
  return Ok();
}

Status CopyConfig(const std::vector<std::string>& sources,
                  const std::string& dest) {
  if (sources.empty()) return Ok();
  std::string dir = dest + "/config";
  TRY(storage::MakeDirs(dir + "/conf.d"));
  for (size_t i = 0; i < sources.size(); ++i) {
    // The first source is the main file; the rest come from its conf.d/.
    std::string name = std::filesystem::path(sources[i]).filename().string();
    std::string to = i == 0 ? dir + "/" + name : dir + "/conf.d/" + name;
    TRY(CopyFile(sources[i], to, 0640));
  }
  return Ok();
}

std::string UtcNow() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Status RunBackup(const std::string& config_path, const std::string& dest_arg) {
  TRY_ASSIGN(config::Config cfg, LoadConfigOrDefaults(config_path));
  std::error_code ec;
  std::string dest = std::filesystem::absolute(dest_arg, ec).string();
  if (ec) return MakeError(ErrorCode::kInvalidArgument, dest_arg);
  // Layout::Create would make a missing data_dir; a backup must not.
  struct stat data_st {};
  if (stat(cfg.storage.data_dir.c_str(), &data_st) != 0 ||
      !S_ISDIR(data_st.st_mode)) {
    return MakeError(ErrorCode::kNotFound,
                     "no data folder " + cfg.storage.data_dir);
  }
  TRY(DropToDataOwner(cfg.storage.data_dir, dest));
  TRY(MakeDest(dest));
  TRY_ASSIGN(storage::Layout layout,
             storage::Layout::Create(cfg.storage.data_dir));

  CopyStats stats;
  const std::vector<std::pair<std::string, std::string>> trees = {
      {layout.MediaRoot(), dest + "/media"},
      {layout.SourcesDir(), dest + "/sources"}};
  for (const auto& [from, to] : trees) TRY(MirrorTree(from, to, stats));
  TRY(storage::MakeDirs(dest + "/db"));
  TRY_ASSIGN(int schema,
             BackupCatalog(layout.CatalogPath(), dest + "/db/catalog.db"));
  for (const auto& [from, to] : trees) TRY(MirrorTree(from, to, stats));
  TRY(CopyConfig(cfg.sources, dest));

  std::string manifest = fmt::format(
      "vodd backup\nvodd_version = {}\ncreated = {}\ndata_dir = {}\n"
      "schema_version = {}\nfiles_linked = {}\nfiles_copied = {}\n"
      "bytes = {}\n",
      kVersion, UtcNow(), layout.root(), schema, stats.linked, stats.copied,
      stats.bytes);
  TRY(storage::AtomicWriteFile(dest, "BACKUP", manifest));
  TRY(storage::FsyncTree(dest));
  fmt::print(
      "backup of {} in {}: catalog schema {}, {} files ({:.1f} MiB): "
      "{} hard-linked, {} copied\n",
      layout.root(), dest, schema, stats.linked + stats.copied,
      static_cast<double>(stats.bytes) / (1024.0 * 1024.0), stats.linked,
      stats.copied);
  return Ok();
}

void AddBackup(CLI::App& cli, std::function<int()>& run) {
  auto* cmd = cli.add_subcommand(
      "backup",
      "Copy the catalog (SQLite online backup), media and sources to a new "
      "folder; safe while the daemon runs.");
  auto path = std::make_shared<std::string>();
  auto dest = std::make_shared<std::string>();
  cmd->add_option("-c,--config", *path,
                  "Config file (default: built-in defaults)");
  cmd->add_option("DEST", *dest, "New or empty folder for the backup")
      ->required();
  cmd->callback([&run, path, dest] {
    run = [path, dest] {
      if (auto s = RunBackup(*path, *dest); !s) {
        fmt::print(stderr, "vodd backup: {}\n", s.error().message);
        return 1;
      }
      return 0;
    };
  });
}

}  // namespace

std::vector<AddCommand> BackupCommands() { return {AddBackup}; }

}  // namespace vodd::app
