// How modules plug into the daemon: each module has one wire_<module>.cpp in
// src/app that builds its Component from the shared context and lists its CLI
// subcommands. App::Create calls the Wire* functions in dependency order.
#pragma once

#include <glib.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vodd/app/app.h"
#include "vodd/app/commands.h"

namespace vodd::app {

struct Context {
  const config::Config& cfg;
  const storage::Layout& layout;
  catalog::Writer& writer;
  MetricsRegistry& metrics;
  http::Server& server;
  GMainContext* main_context;  // the HTTP thread's context
  // The running configuration: modules subscribe to apply live options.
  config::LiveConfig& live;
  // The configuration files' values before the admin page's stored settings
  // were laid over them (`cfg`); valid while the Wire* functions run.
  const config::Config* file_cfg = nullptr;
  // The admin page's session check, for browser uploads through /files/:
  // WireAdmin fills it in, the upload endpoint calls it (HTTP thread). Empty
  // (no session accepted) until the admin module is wired.
  std::shared_ptr<std::function<std::optional<std::string>(SoupServerMessage*)>>
      admin_session = std::make_shared<
          std::function<std::optional<std::string>(SoupServerMessage*)>>();
};

// Each returns the module's component, or nullptr if it has nothing to run.
Result<std::unique_ptr<Component>> WireUpload(Context& ctx);
Result<std::unique_ptr<Component>> WirePipeline(Context& ctx);
Result<std::unique_ptr<Component>> WireOrigin(Context& ctx);
Result<std::unique_ptr<Component>> WireAdmin(Context& ctx);

std::vector<AddCommand> UploadCommands();
std::vector<AddCommand> PipelineCommands();
std::vector<AddCommand> OriginCommands();
std::vector<AddCommand> AdminCommands();
std::vector<AddCommand> BackupCommands();  // backup_command.cpp

}  // namespace vodd::app
