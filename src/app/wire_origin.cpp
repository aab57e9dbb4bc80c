// Wiring of the origin into the daemon (/v/ on the shared server, loader
// threads as a Component) and the CLI (`vodd sign-url`).
//
//   vodd sign-url 0123456789abcdef0123456789abcdef --ttl 3600 -c
//   /etc/vodd/vodd.conf
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "vodd/app/wiring.h"
#include "vodd/core/clock.h"
#include "vodd/core/ids.h"
#include "vodd/origin/edgeauth.h"
#include "vodd/origin/origin.h"

namespace vodd::app {
namespace {

class OriginComponent final : public Component {
 public:
  explicit OriginComponent(std::unique_ptr<origin::Origin> o)
      : origin_(std::move(o)) {}
  Status Start() override { return origin_->Start(); }
  void Stop() override { origin_->Stop(); }

 private:
  std::unique_ptr<origin::Origin> origin_;
};

void AddSignUrl(CLI::App& cli, std::function<int()>& run) {
  auto* cmd = cli.add_subcommand("sign-url",
                                 "Print a playback URL signed with an EdgeAuth "
                                 "2.0 token (acl=/v/VIDEO/*).");
  auto video = std::make_shared<std::string>();
  auto ttl = std::make_shared<int64_t>(3600);
  auto config = std::make_shared<std::string>();
  auto dash = std::make_shared<bool>(false);
  cmd->add_option("VIDEO", *video, "Video id (32 lowercase hex)")->required();
  cmd->add_option("--ttl", *ttl,
                  "Seconds the token stays valid (default 3600)");
  cmd->add_option("-c,--config", *config,
                  "Config file (default: built-in defaults)");
  cmd->add_flag("--dash", *dash, "Sign the DASH manifest URL instead of HLS");
  cmd->callback([&run, video, ttl, config, dash] {
    run = [video, ttl, config, dash] {
      auto cfg = LoadConfigOrDefaults(*config);
      if (!cfg) {
        fmt::print(stderr, "vodd: {}\n", cfg.error().message);
        return 2;
      }
      if (!IsLowerHex(*video, 32)) {
        fmt::print(stderr, "vodd: VIDEO must be 32 lowercase hex characters\n");
        return 2;
      }
      if (*ttl <= 0) {
        fmt::print(stderr, "vodd: --ttl must be positive\n");
        return 2;
      }
      if (cfg->origin.signing_key.empty()) {
        fmt::print(stderr, "vodd: [origin] signing_key is not set\n");
        return 2;
      }
      int64_t now = SystemClock::Get().NowUnixMs() / 1000;
      auto token = origin::SignToken(cfg->origin.signing_key, now, now + *ttl,
                                     origin::VideoAcl(*video));
      if (!token) {
        fmt::print(stderr, "vodd: {}\n", token.error().message);
        return 2;
      }
      const auto& s = cfg->server;
      std::string base = s.public_url;
      if (base.empty()) {
        std::string host =
            s.listen_host == "0.0.0.0" ? "127.0.0.1" : s.listen_host;
        if (host.find(':') != std::string::npos) host = "[" + host + "]";
        base = fmt::format("http://{}:{}", host, s.listen_port);
      }
      while (!base.empty() && base.back() == '/') base.pop_back();
      fmt::print("{}/v/{}/{}?{}={}\n", base, *video,
                 *dash ? "manifest.mpd" : "master.m3u8", cfg->origin.token_name,
                 *token);
      return 0;
    };
  });
}

}  // namespace

Result<std::unique_ptr<Component>> WireOrigin(Context& ctx) {
  origin::Options opts;
  opts.cfg = ctx.cfg.origin;
  opts.catalog_path = ctx.writer.path();
  TRY_ASSIGN(auto o, origin::Origin::Create(opts, ctx.layout, &ctx.metrics,
                                            ctx.main_context));
  o->Attach(ctx.server);
  ctx.live.Subscribe(
      [raw = o.get()](const config::Config& next, const config::Config&) {
        raw->Reconfigure(next.origin);
      });
  return std::unique_ptr<Component>(new OriginComponent(std::move(o)));
}

std::vector<AddCommand> OriginCommands() { return {AddSignUrl}; }

}  // namespace vodd::app
