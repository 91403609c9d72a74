#!/usr/bin/env bash
# Installs the Debian 12 packages agenttrace builds and tests with, when any is missing.
# Idempotent: does nothing (and needs no network) when everything is present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  capnproto libcapnp-dev
  libzstd-dev zstd
  liblmdb-dev
  libcli11-dev
  libgtest-dev libgmock-dev
  libexpat1-dev
  libbenchmark-dev
  libyaml-cpp-dev
  libre2-dev
  nlohmann-json3-dev
  libsodium-dev
  libseccomp-dev
  strace
  # HTTP: the MCP Streamable HTTP proxy (server side, cpp-httplib; TLS upstream via OpenSSL) and the
  # OTLP exporter (client, libcurl).
  libcpp-httplib-dev libssl-dev libcurl4-openssl-dev
  nodejs npm
  # Browser tests of the HTML report (tests/mcp/node: playwright-core drives it headless).
  chromium
  # The real-task suite (tests/e2e/real_tasks_test.cc) records these tools at work.
  make sed python3
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# A machine with its own node (not Debian's) does not need Debian's nodejs/npm.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do
    [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p")
  done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi

if ((${#missing[@]} == 0)); then
  echo "setup-deps: all packages present"
  exit 0
fi

echo "setup-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
