#!/usr/bin/env bash
# Installs every Debian 12 package vodd's build, daemon and tests need, and the
# npm packages the tests use (pinned by test/package-lock.json). Idempotent:
# a second run installs nothing and takes a few seconds.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

PKGS=(
  # build
  build-essential cmake pkg-config ninja-build clang-format git
  libglib2.0-dev libsoup-3.0-dev libsqlite3-dev sqlite3 libcurl4-openssl-dev
  libcli11-dev libfmt-dev catch2 nlohmann-json3-dev libsodium-dev
  libexpected-dev libsystemd-dev zlib1g-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  # runtime media stack
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  # tests: stream checks, browsers, proxies, packaging
  ffmpeg chromium nginx-light curl procps psmisc wrk
  dpkg-dev rpm lintian systemd openssl
  # a test that hangs prints every thread's stack (test_util.h HangGuard);
  # the upload e2e injects fdatasync errors with strace
  gdb strace
  # the admin page's Firefox e2e (puppeteer-core over WebDriver BiDi); its
  # H.264/AAC playback needs libavcodec (a Recommends, so named here)
  firefox-esr libavcodec59
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node.js: the machine image ships one; install Debian's only if none is present.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi

# npm packages for tests and the admin page bundle, exactly as locked.
for dir in test www; do
  if [ -f "$here/$dir/package-lock.json" ]; then
    stamp="$here/$dir/node_modules/.vodd-lock-sha"
    want="$(sha256sum "$here/$dir/package-lock.json" | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
      (cd "$here/$dir" && npm ci --no-audit --no-fund --loglevel=error)
      echo "$want" > "$stamp"
    fi
  fi
done
