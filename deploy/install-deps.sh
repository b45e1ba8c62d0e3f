#!/usr/bin/env bash
# Installs what Roombridge needs on a Debian/Ubuntu machine, skipping what is
# already there. Usage: install-deps.sh run|test
#   run   libopus and pkg-config (cgo Opus), the build toolchain
#   test  the above plus the real peers the end-to-end tests talk to, and
#         Node.js/npm (the JsSIP bundle check and test peer)
# Without root or passwordless sudo it only lists what is missing; tests
# whose peer is missing skip locally (and fail under CI=true).
set -euo pipefail
mode=${1:-run}

pkgs=()
need_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed' || pkgs+=("$1"); }
need_pkg pkg-config
need_pkg libopus-dev
need_pkg libopusfile-dev
need_pkg gcc
if [ "$mode" = test ]; then
  need_pkg chromium
  need_pkg chromium-driver
  need_pkg sip-tester
  need_pkg baresip-core
  need_pkg baresip-ffmpeg   # avcodec (H.264), avformat: room-system video tests
  need_pkg ffmpeg           # decodes the video slate in gateway/video's tests
  need_pkg sox
  need_pkg espeak-ng
  need_pkg redis-server
  need_pkg iproute2
  # Node.js for the JsSIP bundle check (make lint) and the JsSIP test peer;
  # a Node from elsewhere (NodeSource) brings its own npm, which Debian's
  # npm package would conflict with.
  command -v node >/dev/null || need_pkg nodejs
  command -v npm >/dev/null || need_pkg npm
fi

if [ ${#pkgs[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
      echo "install-deps: missing Debian packages: ${pkgs[*]}" >&2
      echo "install-deps: run as root (or with sudo): apt-get install ${pkgs[*]}" >&2
      [ "$mode" = run ] && exit 1 || exit 0
    fi
  fi
  echo "install-deps: installing ${pkgs[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi

if ! command -v go >/dev/null; then
  echo "install-deps: Go 1.26 is needed (https://go.dev/dl/); put it on PATH" >&2
  exit 1
fi

# livekit-server for the LiveKit backend tests, built from the module proxy
# (about two minutes). v1.13.5 is the newest that builds here: see
# shared/deps.md. It installs as $GOPATH/bin/server.
if [ "$mode" = test ]; then
  gobin=$(go env GOPATH)/bin
  if ! command -v livekit-server >/dev/null && [ ! -x "$gobin/server" ]; then
    echo "install-deps: building livekit-server v1.13.5 into $gobin" >&2
    GOFLAGS= go install github.com/livekit/livekit-server/cmd/server@v1.13.5
  fi
fi
