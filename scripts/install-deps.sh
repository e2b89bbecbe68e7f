#!/usr/bin/env bash
# install-deps.sh - install the Debian 12 packages Rollcall builds and runs
# with, skipping any already present. Run as root (or with sudo available).
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates curl
  libzmq3-dev libprotobuf-c-dev protobuf-c-compiler libhiredis-dev
  libcurl4-openssl-dev libcriterion-dev libmicrohttpd-dev libjansson-dev
  libyaml-dev libjwt-dev libsodium-dev redis-server clang-format
  libssl-dev
  chromium # tests/test_dashboard.c: the dashboard in headless Chromium
)
# tests/npm runs the official gateway clients on Node; a machine may already
# have node and npm from elsewhere (NodeSource), so only when they are missing.
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root (missing: ${missing[*]})" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
