// Wiring of the admin module into the daemon (/api/v1/, /admin/, the webhook
// sender) and the CLI: `vodd admin passwd USER` and `vodd admin setup-url`.
#include <termios.h>
#include <unistd.h>

#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "vodd/admin/admin.h"
#include "vodd/admin/auth.h"
#include "vodd/app/wiring.h"
#include "vodd/catalog/admin.h"
#include "vodd/core/clock.h"

namespace vodd::app {
namespace {

class AdminComponent final : public Component {
 public:
  explicit AdminComponent(std::unique_ptr<admin::Admin> a)
      : admin_(std::move(a)) {}
  Status Start() override { return admin_->Start(); }
  void Stop() override { admin_->Stop(); }

 private:
  std::unique_ptr<admin::Admin> admin_;
};

Result<std::unique_ptr<catalog::Writer>> OpenCatalog(
    const config::Config& cfg) {
  TRY_ASSIGN(auto layout, storage::Layout::Create(cfg.storage.data_dir));
  return catalog::Writer::Create(layout.CatalogPath(), nullptr);
}

std::string DefaultBase(const config::Config& cfg) {
  if (!cfg.server.public_url.empty()) return cfg.server.public_url;
  return fmt::format("http://{}:{}", cfg.server.listen_host,
                     cfg.server.listen_port);
}

// A line from stdin; without echo when it is a terminal.
std::string ReadSecret(const char* prompt) {
  bool tty = isatty(STDIN_FILENO);
  termios old{};
  if (tty) {
    fmt::print(stderr, "{}", prompt);
    tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    fmt::print(stderr, "\n");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

void AddAdmin(CLI::App& cli, std::function<int()>& run) {
  auto* cmd = cli.add_subcommand("admin", "Manage admin page users.");
  cmd->require_subcommand(1);
  auto config = std::make_shared<std::string>();
  cmd->add_option("-c,--config", *config,
                  "Config file (default: built-in defaults)");

  auto* passwd = cmd->add_subcommand(
      "passwd",
      "Set (or create) an admin user's password; reads it from stdin. Logs "
      "the user out everywhere.");
  auto user = std::make_shared<std::string>();
  passwd->add_option("USER", *user, "The user name")->required();
  passwd->callback([&run, config, user] {
    run = [config, user] {
      if (!admin::ValidUserName(*user)) {
        fmt::print(stderr,
                   "vodd: user names are 1-64 of a-z 0-9 . _ - starting "
                   "with a letter or digit\n");
        return 2;
      }
      std::string pw = ReadSecret("New password: ");
      if (isatty(STDIN_FILENO) && ReadSecret("Again: ") != pw) {
        fmt::print(stderr, "vodd: the passwords differ\n");
        return 1;
      }
      if (auto why = admin::PasswordProblem(pw)) {
        fmt::print(stderr, "vodd: the password {}\n", *why);
        return 1;
      }
      auto cfg = LoadConfigOrDefaults(*config);
      if (!cfg) {
        fmt::print(stderr, "vodd: {}\n", cfg.error().message);
        return 1;
      }
      auto hash = admin::HashPassword(pw);
      auto w = hash ? OpenCatalog(*cfg)
                    : Result<std::unique_ptr<catalog::Writer>>(
                          tl::unexpected(hash.error()));
      if (!w) {
        fmt::print(stderr, "vodd: {}\n", w.error().message);
        return 1;
      }
      std::string name = *user, h = *hash;
      int64_t now = SystemClock::Get().NowUnixMs();
      auto r =
          (*w)->Call<bool>([name, h, now](catalog::Db& db) -> Result<bool> {
            TRY(catalog::UpsertAdminUser(db, name, h, now));
            return true;
          });
      (*w)->Stop();
      if (!r) {
        fmt::print(stderr, "vodd: {}\n", r.error().message);
        return 1;
      }
      fmt::print("password of {} set; its sessions were logged out\n", name);
      return 0;
    };
  });

  auto* setup = cmd->add_subcommand(
      "setup-url",
      "Print a new one-time link (valid 24 h) that creates an admin user "
      "in the browser.");
  auto force = std::make_shared<bool>(false);
  setup->add_flag("--force", *force, "Even if admin users exist already");
  setup->callback([&run, config, force] {
    run = [config, force] {
      auto cfg = LoadConfigOrDefaults(*config);
      if (!cfg) {
        fmt::print(stderr, "vodd: {}\n", cfg.error().message);
        return 1;
      }
      auto w = OpenCatalog(*cfg);
      if (!w) {
        fmt::print(stderr, "vodd: {}\n", w.error().message);
        return 1;
      }
      std::string base = DefaultBase(*cfg);
      int64_t now = SystemClock::Get().NowUnixMs();
      bool f = *force;
      auto r = (*w)->Call<std::string>(
          [base, now, f](catalog::Db& db) -> Result<std::string> {
            TRY_ASSIGN(int64_t users, catalog::CountAdminUsers(db));
            if (users > 0 && !f) {
              return MakeError(ErrorCode::kFailedPrecondition,
                               "admin users exist; log in, or use "
                               "`vodd admin passwd USER` (or --force)");
            }
            return admin::CreateSetupLink(db, base, now);
          });
      (*w)->Stop();
      if (!r) {
        fmt::print(stderr, "vodd: {}\n", r.error().message);
        return 1;
      }
      fmt::print("{}\n", *r);
      return 0;
    };
  });
}

}  // namespace

Result<std::unique_ptr<Component>> WireAdmin(Context& ctx) {
  admin::Options opts;
  // The store lays the catalog's settings over the files' values itself, so
  // that resetting an option returns to the file's value.
  opts.cfg = ctx.file_cfg ? *ctx.file_cfg : ctx.cfg;
  opts.catalog_path = ctx.layout.CatalogPath();
  TRY_ASSIGN(auto a, admin::Admin::Create(opts, ctx.layout, ctx.writer,
                                          &ctx.metrics, ctx.main_context));
  a->Attach(ctx.server);
  // The upload endpoint accepts the page's session (plus CSRF and Origin
  // checks for writes); the component outlives every request (the server
  // stops first).
  *ctx.admin_session = [raw = a.get()](SoupServerMessage* m) {
    return raw->SessionUser(m);
  };
  // Settings saved on the page and re-read config files (SIGHUP) meet in the
  // store; every new effective config goes to the live subscribers.
  a->settings().Subscribe(
      [&live = ctx.live](const config::Config& next) { live.Publish(next); });
  ctx.live.OnFilesReloaded([raw = a.get()](const config::Config& files) {
    raw->settings().SetFileConfig(files);
  });
  return std::unique_ptr<Component>(new AdminComponent(std::move(a)));
}

std::vector<AddCommand> AdminCommands() { return {AddAdmin}; }

}  // namespace vodd::app
