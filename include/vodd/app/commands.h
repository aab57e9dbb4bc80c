// Subcommands added by later modules (token, upload, ingest, jobs, …). Each
// registers itself in ExtraCommands() in commands.cpp; the callback stores the
// work to run in `run`, which RunCli calls after parsing.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "vodd/config/config.h"
#include "vodd/core/result.h"

namespace CLI {
class App;
}

namespace vodd::app {

using AddCommand =
    std::function<void(CLI::App& cli, std::function<int()>& run)>;
const std::vector<AddCommand>& ExtraCommands();

// Shared by subcommands: the --config file or the built-in defaults.
Result<config::Config> LoadConfigOrDefaults(const std::string& path);

}  // namespace vodd::app
