// Wiring of the pipeline into the daemon (the worker-pool Supervisor as a
// Component) and its CLI: worker, ingest, jobs, videos, job
// retry|cancel|priority.
//
//   vodd ingest -c /etc/vodd/vodd.conf talk.mp4 --title "Keynote"
//   vodd jobs -c /etc/vodd/vodd.conf --watch
//
// ingest, job retry and job cancel open their own writer connection: they
// work with or without a running daemon (WAL + busy_timeout + BEGIN
// IMMEDIATE serialise the two writers).
#include <fcntl.h>
#include <gst/gst.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "vodd/app/wiring.h"
#include "vodd/catalog/jobs.h"
#include "vodd/catalog/videos.h"
#include "vodd/core/clock.h"
#include "vodd/core/ids.h"
#include "vodd/core/log.h"
#include "vodd/core/strings.h"
#include "vodd/pipeline/supervisor.h"
#include "vodd/pipeline/worker.h"

namespace vodd::app {

namespace {

class PipelineComponent final : public Component {
 public:
  explicit PipelineComponent(std::unique_ptr<pipeline::Supervisor> s)
      : supervisor_(std::move(s)) {}
  pipeline::Supervisor* supervisor() { return supervisor_.get(); }
  Status Start() override { return supervisor_->Start(); }
  void Stop() override { supervisor_->Stop(); }

 private:
  std::unique_ptr<pipeline::Supervisor> supervisor_;
};

int Fail(const Error& e) {
  fmt::print(stderr, "vodd: {}\n", e.message);
  return 1;
}

// Copies `from` to `to` through a temp name, durably (data, then rename,
// then the folder).
Status CopyFileDurably(const std::string& from, const std::string& to) {
  int in = open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return ErrnoError(errno, "open " + from);
  std::string tmp = to + ".part";
  int out = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (out < 0) {
    int err = errno;
    close(in);
    return ErrnoError(err, "create " + tmp);
  }
  Status st = Ok();
  std::vector<char> buf(1 << 20);
  while (true) {
    ssize_t n = copy_file_range(in, nullptr, out, nullptr, 1 << 30, 0);
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL)) {
      n = read(in, buf.data(), buf.size());
      if (n > 0 && write(out, buf.data(), static_cast<size_t>(n)) != n) n = -1;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      st = ErrnoError(errno, "copy to " + tmp);
      break;
    }
    if (n == 0) break;
  }
  if (st && fdatasync(out) != 0) st = ErrnoError(errno, "fdatasync " + tmp);
  close(in);
  close(out);
  if (st && rename(tmp.c_str(), to.c_str()) != 0)
    st = ErrnoError(errno, "rename " + to);
  if (!st) unlink(tmp.c_str());
  return st;
}

struct Catalog {
  config::Config cfg;
  std::optional<storage::Layout> layout;
};

Result<Catalog> OpenLayout(const std::string& config_path) {
  Catalog c;
  TRY_ASSIGN(c.cfg, LoadConfigOrDefaults(config_path));
  SetLogLevel(LogLevel::kWarn);
  TRY_ASSIGN(auto layout, storage::Layout::Create(c.cfg.storage.data_dir));
  c.layout = std::move(layout);
  return c;
}

int Ingest(const std::string& config_path, const std::string& file,
           std::string title, const std::string& description, bool link_file) {
  auto c = OpenLayout(config_path);
  if (!c) return Fail(c.error());
  struct stat st {};
  if (stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    fmt::print(stderr, "vodd: {}: not a readable regular file\n", file);
    return 1;
  }
  catalog::NewVideo v;
  v.id = RandomHex(16);
  v.filename = std::filesystem::path(file).filename().string();
  v.title = title.empty() ? std::filesystem::path(file).stem().string()
                          : std::move(title);
  v.description = description;
  v.playback_policy = c->cfg.origin.default_policy;
  v.source_path = "sources/" + v.id;
  v.source_size = static_cast<int64_t>(st.st_size);
  std::string dst = c->layout->SourcePath(v.id);
  Status placed = Ok();
  if (link_file) {
    if (::link(file.c_str(), dst.c_str()) != 0)
      placed = ErrnoError(errno, "link " + dst);
  } else {
    placed = CopyFileDurably(file, dst);
  }
  if (placed) placed = storage::FsyncDir(c->layout->SourcesDir());
  if (!placed) return Fail(placed.error());

  auto writer = catalog::Writer::Create(c->layout->CatalogPath(), nullptr);
  if (!writer) {
    unlink(dst.c_str());
    return Fail(writer.error());
  }
  int max_attempts = c->cfg.pipeline.max_attempts;
  auto job = (*writer)->Call<int64_t>([&](catalog::Db& db) {
    return catalog::CreateVideoWithJob(db, v, SystemClock::Get().NowUnixMs(),
                                       max_attempts);
  });
  (*writer)->Stop();
  if (!job) {
    unlink(dst.c_str());
    return Fail(job.error());
  }
  fmt::print("video {} queued as job {}\n", v.id, *job);
  return 0;
}

std::string Bar(double fraction, int width) {
  int filled = static_cast<int>(std::clamp(fraction, 0.0, 1.0) * width + 0.5);
  return "[" + std::string(static_cast<size_t>(filled), '#') +
         std::string(static_cast<size_t>(width - filled), '.') + "]";
}

std::string RenderJobs(const std::vector<catalog::Job>& jobs) {
  std::string out = fmt::format(
      "{:>6}  {:<9}  {:<32}  {:>7}  {:<28}  {:>6}  {:>7}  {}\n", "JOB", "STATE",
      "VIDEO", "ATTEMPT", "PROGRESS", "FPS", "ETA", "LAST ERROR");
  for (const auto& j : jobs) {
    std::string progress =
        j.state == "leased" || j.state == "done"
            ? fmt::format("{} {:>3.0f}%", Bar(j.progress, 20), j.progress * 100)
            : "";
    std::string fps =
        j.state == "leased" && j.fps ? fmt::format("{:.1f}", *j.fps) : "";
    std::string eta =
        j.state == "leased" && j.eta_ms ? ClockDuration(*j.eta_ms) : "";
    out +=
        fmt::format("{:>6}  {:<9}  {:<32}  {:>7}  {:<28}  {:>6}  {:>7}  {}\n",
                    j.id, j.state == "leased" ? "running" : j.state, j.video_id,
                    fmt::format("{}/{}", j.attempts, j.max_attempts), progress,
                    fps, eta, j.last_error.value_or(""));
  }
  return out;
}

int ListJobsCmd(const std::string& config_path, bool watch,
                const std::string& state, int limit) {
  auto c = OpenLayout(config_path);
  if (!c) return Fail(c.error());
  auto db = catalog::OpenReader(c->layout->CatalogPath());
  if (!db) return Fail(db.error());
  catalog::JobFilter filter;
  if (!state.empty()) filter.states = {state == "running" ? "leased" : state};
  filter.limit = limit;
  while (true) {
    auto jobs = catalog::ListJobs(**db, filter);
    if (!jobs) return Fail(jobs.error());
    std::string text = RenderJobs(*jobs);
    if (!watch) {
      fmt::print("{}", text);
      return 0;
    }
    auto counts = catalog::CountJobs(**db);
    std::string summary;
    if (counts) {
      for (auto& [k, n] : *counts) summary += fmt::format("{} {}  ", k, n);
    }
    // Home + clear, then the table: one refresh per second until Ctrl-C.
    fmt::print("\x1b[H\x1b[2Jvodd jobs — {}(Ctrl-C to quit)\n\n{}", summary,
               text);
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

int ListVideosCmd(const std::string& config_path, int limit) {
  auto c = OpenLayout(config_path);
  if (!c) return Fail(c.error());
  auto db = catalog::OpenReader(c->layout->CatalogPath());
  if (!db) return Fail(db.error());
  auto videos = catalog::ListVideos(**db, limit, 0);
  if (!videos) return Fail(videos.error());
  fmt::print("{:<32}  {:<10}  {:>7}  {:>8}  {:<30}  {}\n", "VIDEO", "STATE",
             "VERSION", "DURATION", "TITLE", "ERROR");
  for (const auto& v : *videos) {
    fmt::print("{:<32}  {:<10}  {:>7}  {:>8}  {:<30}  {}\n", v.id, v.state,
               v.version, v.duration_ms ? ClockDuration(*v.duration_ms) : "",
               v.title.substr(0, 30), v.error.value_or(""));
  }
  return 0;
}

int JobAction(const std::string& config_path, const std::string& action,
              int64_t id) {
  auto c = OpenLayout(config_path);
  if (!c) return Fail(c.error());
  auto writer = catalog::Writer::Create(c->layout->CatalogPath(), nullptr);
  if (!writer) return Fail(writer.error());
  auto r = (*writer)->Call<bool>([&](catalog::Db& db) -> Result<bool> {
    int64_t now = SystemClock::Get().NowUnixMs();
    if (action == "retry") {
      TRY(catalog::RetryJob(db, id, now));
    } else {
      TRY(catalog::CancelJob(db, id, now));
    }
    return true;
  });
  (*writer)->Stop();
  if (!r) return Fail(r.error());
  fmt::print("job {}: {}\n", id,
             action == "retry" ? "queued again" : "cancelled");
  return 0;
}

int ReprocessVideoCmd(const std::string& config_path,
                      const std::string& video_id) {
  auto c = OpenLayout(config_path);
  if (!c) return Fail(c.error());
  auto writer = catalog::Writer::Create(c->layout->CatalogPath(), nullptr);
  if (!writer) return Fail(writer.error());
  int max_attempts = c->cfg.pipeline.max_attempts;
  std::string root = c->layout->root();
  auto job = (*writer)->Call<int64_t>([&](catalog::Db& db) {
    return catalog::ReprocessVideo(
        db, root, video_id, SystemClock::Get().NowUnixMs(), max_attempts);
  });
  (*writer)->Stop();
  if (!job) return Fail(job.error());
  fmt::print("video {} queued for processing again as job {}\n", video_id,
             *job);
  return 0;
}

int JobPriority(const std::string& config_path, int64_t id, int64_t priority) {
  auto c = OpenLayout(config_path);
  if (!c) return Fail(c.error());
  auto writer = catalog::Writer::Create(c->layout->CatalogPath(), nullptr);
  if (!writer) return Fail(writer.error());
  auto r = (*writer)->Call<bool>([&](catalog::Db& db) -> Result<bool> {
    TRY(catalog::SetJobPriority(db, id, priority,
                                SystemClock::Get().NowUnixMs()));
    return true;
  });
  (*writer)->Stop();
  if (!r) return Fail(r.error());
  fmt::print("job {}: priority {}\n", id, priority);
  return 0;
}

void AddWorker(CLI::App& cli, std::function<int()>& run) {
  auto* cmd = cli.add_subcommand(
      "worker",
      "Run one transcode job (started by the daemon; job on stdin, "
      "JSON lines on stdout).");
  cmd->group("");  // internal: hidden from --help
  cmd->callback([&run] {
    run = [] {
      // The protocol gets a private copy of stdout; fd 1 becomes stderr so
      // that a library printing to stdout cannot corrupt the JSON lines.
      int protocol_fd = fcntl(1, F_DUPFD_CLOEXEC, 3);
      if (protocol_fd < 0 || dup2(2, 1) < 0) return 2;
      gst_init(nullptr, nullptr);
      return pipeline::RunWorker(0, protocol_fd, pipeline::RunTranscodeJob);
    };
  });
}

void AddIngest(CLI::App& cli, std::function<int()>& run) {
  auto* cmd = cli.add_subcommand(
      "ingest",
      "Add a local media file and queue it for processing, like an upload.");
  struct Args {
    std::string config, file, title, description;
    bool link = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("-c,--config", a->config,
                  "Config file (default: built-in defaults)");
  cmd->add_option("file", a->file, "The media file")->required();
  cmd->add_option("--title", a->title, "Title (default: the file name)");
  cmd->add_option("--description", a->description, "Description");
  cmd->add_flag("--link", a->link,
                "Hard-link the file into data_dir instead of copying it (same "
                "file system only)");
  cmd->callback([&run, a] {
    run = [a] {
      return Ingest(a->config, a->file, a->title, a->description, a->link);
    };
  });
}

void AddJobs(CLI::App& cli, std::function<int()>& run) {
  auto* cmd =
      cli.add_subcommand("jobs", "List processing jobs with their progress.");
  struct Args {
    std::string config, state;
    bool watch = false;
    int limit = 30;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("-c,--config", a->config,
                  "Config file (default: built-in defaults)");
  cmd->add_flag("-w,--watch", a->watch,
                "Refresh every second (live progress bars)");
  cmd->add_option("--state", a->state, "Only jobs in this state")
      ->check(CLI::IsMember({"waiting", "queued", "running", "leased", "done",
                             "dead", "cancelled"}));
  cmd->add_option("-n,--limit", a->limit, "Newest N jobs")
      ->check(CLI::Range(1, 1000));
  cmd->callback([&run, a] {
    run = [a] { return ListJobsCmd(a->config, a->watch, a->state, a->limit); };
  });
}

void AddVideos(CLI::App& cli, std::function<int()>& run) {
  auto* cmd =
      cli.add_subcommand("videos", "List videos and their processing state.");
  struct Args {
    std::string config;
    int limit = 50;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("-c,--config", a->config,
                  "Config file (default: built-in defaults)");
  cmd->add_option("-n,--limit", a->limit, "Newest N videos")
      ->check(CLI::Range(1, 1000));
  cmd->callback(
      [&run, a] { run = [a] { return ListVideosCmd(a->config, a->limit); }; });
}

void AddJob(CLI::App& cli, std::function<int()>& run) {
  auto* cmd = cli.add_subcommand("job", "Act on one job.");
  cmd->require_subcommand(1);
  for (const char* action : {"retry", "cancel"}) {
    auto* sub = cmd->add_subcommand(
        action, std::string(action) == "retry"
                    ? "Queue a dead or cancelled job again (attempts reset)"
                    : "Cancel a queued or running job (its worker is stopped)");
    struct Args {
      std::string config;
      int64_t id = 0;
    };
    auto a = std::make_shared<Args>();
    sub->add_option("-c,--config", a->config,
                    "Config file (default: built-in defaults)");
    sub->add_option("id", a->id, "Job id")->required();
    std::string act = action;
    sub->callback([&run, a, act] {
      run = [a, act] { return JobAction(a->config, act, a->id); };
    });
  }
  auto* prio = cmd->add_subcommand(
      "priority",
      "Set a queued job's priority (higher runs first; a split video's jobs "
      "move together)");
  struct PrioArgs {
    std::string config;
    int64_t id = 0, priority = 0;
  };
  auto p = std::make_shared<PrioArgs>();
  prio->add_option("-c,--config", p->config,
                   "Config file (default: built-in defaults)");
  prio->add_option("id", p->id, "Job id")->required();
  prio->add_option("priority", p->priority, "Priority")
      ->required()
      ->check(CLI::Range(catalog::kMinPriority, catalog::kMaxPriority));
  prio->callback([&run, p] {
    run = [p] { return JobPriority(p->config, p->id, p->priority); };
  });
}

void AddVideo(CLI::App& cli, std::function<int()>& run) {
  auto* cmd = cli.add_subcommand("video", "Act on one video.");
  cmd->require_subcommand(1);
  auto* sub = cmd->add_subcommand(
      "reprocess",
      "Make a ready or failed video again from its source with the current "
      "settings; the current version keeps playing until the new one is "
      "published");
  struct Args {
    std::string config, id;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("-c,--config", a->config,
                  "Config file (default: built-in defaults)");
  sub->add_option("id", a->id, "Video id")->required();
  sub->callback(
      [&run, a] { run = [a] { return ReprocessVideoCmd(a->config, a->id); }; });
}

}  // namespace

Result<std::unique_ptr<Component>> WirePipeline(Context& ctx) {
  TRY_ASSIGN(auto supervisor,
             pipeline::Supervisor::Create(pipeline::OptionsFromConfig(ctx.cfg),
                                          ctx.layout, ctx.writer, &ctx.metrics,
                                          SystemClock::Get()));
  auto component = std::make_unique<PipelineComponent>(std::move(supervisor));
  // Worker count, pipeline settings and the free-space floor apply live:
  // jobs claimed after the change use them; running jobs finish as they
  // started.
  ctx.live.Subscribe([raw = component->supervisor()](const config::Config& next,
                                                     const config::Config&) {
    raw->SetPipelineConfig(next.pipeline);
    raw->SetWorkers(next.pipeline.workers);
    raw->SetMinFreeBytes(next.storage.min_free_mib * 1024 * 1024);
  });
  return std::unique_ptr<Component>(std::move(component));
}

std::vector<AddCommand> PipelineCommands() {
  return {AddWorker, AddIngest, AddJobs, AddVideos, AddVideo, AddJob};
}

}  // namespace vodd::app
