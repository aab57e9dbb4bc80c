// Wiring of the upload module into the daemon (the tus endpoint at /files/)
// and the CLI: `vodd token create|list|revoke` and `vodd upload FILE`.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "vodd/app/wiring.h"
#include "vodd/catalog/tokens.h"
#include "vodd/core/clock.h"
#include "vodd/core/ids.h"
#include "vodd/upload/client.h"
#include "vodd/upload/token.h"
#include "vodd/upload/tus_handler.h"

namespace vodd::app {
namespace {

class UploadComponent final : public Component {
 public:
  explicit UploadComponent(std::unique_ptr<upload::TusHandler> h)
      : handler_(std::move(h)) {}
  Status Start() override { return handler_->Start(); }
  void Stop() override { handler_->Stop(); }

 private:
  std::unique_ptr<upload::TusHandler> handler_;
};

// Token commands open the catalog themselves (the daemon may be running:
// SQLite WAL and busy_timeout make the two writers take turns).
Result<std::unique_ptr<catalog::Writer>> OpenCatalog(
    const std::string& config_path) {
  TRY_ASSIGN(auto cfg, LoadConfigOrDefaults(config_path));
  TRY_ASSIGN(auto layout, storage::Layout::Create(cfg.storage.data_dir));
  return catalog::Writer::Create(layout.CatalogPath(), nullptr);
}

std::string FormatTime(std::optional<int64_t> ms) {
  if (!ms) return "-";
  return HttpDate(*ms / 1000);
}

void AddToken(CLI::App& cli, std::function<int()>& run) {
  auto* cmd = cli.add_subcommand("token", "Manage API tokens for uploads.");
  cmd->require_subcommand(1);
  auto config = std::make_shared<std::string>();

  auto* create =
      cmd->add_subcommand("create", "Create a token and print it once.");
  auto name = std::make_shared<std::string>();
  auto scopes = std::make_shared<std::string>("upload");
  auto days = std::make_shared<int>(0);
  create->add_option("-c,--config", *config,
                     "Config file (default: built-in defaults)");
  create->add_option("--name", *name, "A label for the token");
  create->add_option("--scopes", *scopes,
                     "Space-separated scopes (default: upload)");
  create->add_option("--expires-days", *days,
                     "Days until it expires (0: never)");
  create->callback([&run, config, name, scopes, days] {
    run = [config, name, scopes, days] {
      auto w = OpenCatalog(*config);
      if (!w) {
        fmt::print(stderr, "vodd: {}\n", w.error().message);
        return 1;
      }
      upload::NewToken t = upload::GenerateToken();
      catalog::ApiToken row;
      row.id = t.id;
      row.secret_sha256 = t.secret_sha256;
      row.name = *name;
      row.scopes = *scopes;
      row.created_at = SystemClock::Get().NowUnixMs();
      if (*days > 0)
        row.expires_at = row.created_at + int64_t{*days} * 86'400'000;
      auto r = (*w)->Call<bool>([row](catalog::Db& db) -> Result<bool> {
        TRY(catalog::InsertToken(db, row));
        return true;
      });
      (*w)->Stop();
      if (!r) {
        fmt::print(stderr, "vodd: {}\n", r.error().message);
        return 1;
      }
      fmt::print("{}\n", t.text);
      if (isatty(STDOUT_FILENO)) {
        fmt::print(stderr, "Token {} created. It is shown only this once.\n",
                   t.id);
      }
      return 0;
    };
  });

  auto* list =
      cmd->add_subcommand("list", "List tokens (never their secrets).");
  list->add_option("-c,--config", *config,
                   "Config file (default: built-in defaults)");
  list->callback([&run, config] {
    run = [config] {
      auto w = OpenCatalog(*config);
      if (!w) {
        fmt::print(stderr, "vodd: {}\n", w.error().message);
        return 1;
      }
      auto r = (*w)->Call<std::vector<catalog::ApiToken>>(
          [](catalog::Db& db) { return catalog::ListTokens(db); });
      (*w)->Stop();
      if (!r) {
        fmt::print(stderr, "vodd: {}\n", r.error().message);
        return 1;
      }
      fmt::print("{:<8}  {:<10}  {:<16}  {:<29}  {:<29}  {}\n", "ID", "STATE",
                 "SCOPES", "CREATED", "LAST USED", "NAME");
      int64_t now = SystemClock::Get().NowUnixMs();
      for (const auto& t : *r) {
        std::string state = t.revoked_at                             ? "revoked"
                            : (t.expires_at && *t.expires_at <= now) ? "expired"
                                                                     : "active";
        fmt::print("{:<8}  {:<10}  {:<16}  {:<29}  {:<29}  {}\n", t.id, state,
                   t.scopes, FormatTime(t.created_at),
                   FormatTime(t.last_used_at), t.name);
      }
      return 0;
    };
  });

  auto* revoke = cmd->add_subcommand("revoke", "Revoke a token by its id.");
  auto id = std::make_shared<std::string>();
  revoke->add_option("ID", *id, "The 8-character token id")->required();
  revoke->add_option("-c,--config", *config,
                     "Config file (default: built-in defaults)");
  revoke->callback([&run, config, id] {
    run = [config, id] {
      if (!IsLowerHex(*id, upload::kTokenIdLen)) {
        fmt::print(stderr, "vodd: not a token id: {}\n", *id);
        return 2;
      }
      auto w = OpenCatalog(*config);
      if (!w) {
        fmt::print(stderr, "vodd: {}\n", w.error().message);
        return 1;
      }
      std::string tid = *id;
      int64_t now = SystemClock::Get().NowUnixMs();
      auto r = (*w)->Call<bool>([tid, now](catalog::Db& db) {
        return catalog::RevokeToken(db, tid, now);
      });
      (*w)->Stop();
      if (!r) {
        fmt::print(stderr, "vodd: {}\n", r.error().message);
        return 1;
      }
      if (!*r) {
        fmt::print(stderr, "vodd: no active token {}\n", tid);
        return 1;
      }
      fmt::print("revoked {}\n", tid);
      return 0;
    };
  });
}

void AddUpload(CLI::App& cli, std::function<int()>& run) {
  auto* cmd =
      cli.add_subcommand("upload", "Upload a file with tus; rerun to resume.");
  auto file = std::make_shared<std::string>();
  auto opts = std::make_shared<upload::ClientOptions>();
  auto chunk_mib = std::make_shared<int64_t>(64);
  auto quiet = std::make_shared<bool>(false);
  cmd->add_option("FILE", *file, "The file to upload")->required();
  cmd->add_option("--title", opts->title,
                  "Video title (default: the file name)");
  cmd->add_option("--description", opts->description, "Video description");
  cmd->add_option("--server", opts->server, "vodd base URL")
      ->envname("VODD_SERVER")
      ->capture_default_str();
  cmd->add_option("--token", opts->token, "API token (or VODD_TOKEN)")
      ->envname("VODD_TOKEN");
  cmd->add_option("--chunk-mib", *chunk_mib, "MiB per PATCH request")
      ->capture_default_str();
  cmd->add_option("--state-file", opts->state_file,
                  "Where resumable upload URLs are kept (default: "
                  "~/.cache/vodd/uploads.json)");
  cmd->add_flag("-q,--quiet", *quiet, "No progress bar");
  auto no_checksum = std::make_shared<bool>(false);
  cmd->add_flag("--no-checksum", *no_checksum,
                "Skip the per-PATCH sha1 (Upload-Checksum), which costs an "
                "extra read of every chunk");
  cmd->callback([&run, file, opts, chunk_mib, quiet, no_checksum] {
    run = [file, opts, chunk_mib, quiet, no_checksum] {
      opts->chunk_bytes = std::max<int64_t>(1, *chunk_mib) << 20;
      opts->checksum = !*no_checksum;
      bool tty = isatty(STDERR_FILENO) && !*quiet;
      auto r = upload::UploadFile(
          *file, *opts, [tty, quiet](const upload::ClientProgress& p) {
            if (*quiet) return;
            if (tty)
              fmt::print(stderr, "\r{}\033[K", upload::ProgressLine(p));
            else
              fmt::print(stderr, "{}\n", upload::ProgressLine(p));
          });
      if (tty) fmt::print(stderr, "\n");
      if (!r) {
        fmt::print(stderr, "vodd: {}\n", r.error().message);
        fmt::print(stderr, "Run the same command again to resume.\n");
        return 1;
      }
      fmt::print("{}\n", *r);
      return 0;
    };
  });
}

upload::HandlerOptions HandlerOptionsFrom(const config::Config& cfg) {
  upload::HandlerOptions opts;
  opts.upload = cfg.upload;
  opts.min_free_bytes = cfg.storage.min_free_mib * 1024 * 1024;
  opts.public_url = cfg.server.public_url;
  while (!opts.public_url.empty() && opts.public_url.back() == '/')
    opts.public_url.pop_back();
  opts.max_attempts = cfg.pipeline.max_attempts;
  opts.default_policy = cfg.origin.default_policy;
  return opts;
}

}  // namespace

Result<std::unique_ptr<Component>> WireUpload(Context& ctx) {
  upload::HandlerOptions opts = HandlerOptionsFrom(ctx.cfg);
  TRY_ASSIGN(auto handler, upload::TusHandler::Create(
                               opts, ctx.layout, ctx.writer, &ctx.metrics,
                               ctx.main_context, SystemClock::Get()));
  handler->Install(ctx.server);
  ctx.live.Subscribe(
      [raw = handler.get()](const config::Config& next, const config::Config&) {
        raw->Reconfigure(HandlerOptionsFrom(next));
      });
  // Browser uploads from the admin page authenticate with its session.
  handler->SetSessionAuthorizer(
      [hook = ctx.admin_session](SoupServerMessage* m) {
        return *hook ? (*hook)(m) : std::nullopt;
      });
  return std::unique_ptr<Component>(new UploadComponent(std::move(handler)));
}

std::vector<AddCommand> UploadCommands() { return {AddToken, AddUpload}; }

}  // namespace vodd::app
