#include "vodd/app/cli.h"

#include <gst/gst.h>
#include <sqlite3.h>

#include <cstdio>
#include <functional>
#include <iostream>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "vodd/app/app.h"
#include "vodd/app/commands.h"
#include "vodd/core/log.h"
#include "vodd/core/version.h"

namespace vodd::app {

Result<config::Config> LoadConfigOrDefaults(const std::string& path) {
  return config::Load(path);
}

namespace {

void AddServe(CLI::App& cli, std::function<int()>& run) {
  auto* cmd = cli.add_subcommand(
      "serve", "Run the daemon (HTTP, uploads, pipeline, origin).");
  auto path = std::make_shared<std::string>();
  cmd->add_option("-c,--config", *path,
                  "Config file (default: built-in defaults)");
  cmd->callback([&run, path] {
    run = [path] {
      auto cfg = LoadConfigOrDefaults(*path);
      if (!cfg) {
        fmt::print(stderr, "vodd: {}\n", cfg.error().message);
        return 2;
      }
      gst_init(nullptr, nullptr);
      auto app = App::Create(std::move(*cfg), *path);
      if (!app) {
        LOG_ERROR("app", "{}", app.error().message);
        return 1;
      }
      return (*app)->Run();
    };
  });
}

void AddCheckConfig(CLI::App& cli, std::function<int()>& run) {
  auto* cmd = cli.add_subcommand("check-config",
                                 "Validate a config file and its conf.d.");
  auto path = std::make_shared<std::string>();
  cmd->add_option("-c,--config", *path, "Config file")->required();
  cmd->callback([&run, path] {
    run = [path] {
      auto cfg = config::Load(*path);
      if (!cfg) {
        fmt::print(stderr, "vodd: {}\n", cfg.error().message);
        return 1;
      }
      fmt::print("{}: ok ({} file{})\n", *path, cfg->sources.size(),
                 cfg->sources.size() == 1 ? "" : "s");
      return 0;
    };
  });
}

void AddPrintConfig(CLI::App& cli, std::function<int()>& run) {
  auto* cmd =
      cli.add_subcommand("print-config", "Print the effective configuration.");
  auto path = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("ini");
  cmd->add_option("-c,--config", *path,
                  "Config file (default: built-in defaults)");
  cmd->add_option(
         "--format", *format,
         "ini (effective values), sample (commented defaults), markdown (docs)")
      ->check(CLI::IsMember({"ini", "sample", "markdown"}));
  cmd->callback([&run, path, format] {
    run = [path, format] {
      if (*format == "sample") {
        fmt::print("{}", config::RenderSample());
        return 0;
      }
      if (*format == "markdown") {
        fmt::print("{}", config::RenderMarkdown());
        return 0;
      }
      auto cfg = config::Load(*path);
      if (!cfg) {
        fmt::print(stderr, "vodd: {}\n", cfg.error().message);
        return 1;
      }
      fmt::print("{}", config::Render(*cfg));
      return 0;
    };
  });
}

void AddVersion(CLI::App& cli, std::function<int()>& run) {
  auto* cmd = cli.add_subcommand("version",
                                 "Print versions of vodd and its libraries.");
  cmd->callback([&run] {
    run = [] {
      fmt::print("vodd {}\n{}\nSQLite {}\n", kVersion, gst_version_string(),
                 sqlite3_libversion());
      return 0;
    };
  });
}

}  // namespace

int RunCli(int argc, char** argv) {
  CLI::App cli{"vodd: an on-prem video-on-demand appliance"};
  cli.require_subcommand(1);
  std::function<int()> run;
  AddServe(cli, run);
  AddCheckConfig(cli, run);
  AddPrintConfig(cli, run);
  AddVersion(cli, run);
  for (const auto& add : ExtraCommands()) add(cli, run);
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }
  return run ? run() : 0;
}

}  // namespace vodd::app
