#!/usr/bin/env bash
# Builds agenttrace and runs every test. Installs what the build and tests need on Debian 12 first.
# Usage: scripts/test.sh   (env: BUILD_DIR, default build; JOBS, default nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh
if [[ -f tests/mcp/node/package-lock.json ]]; then
  (cd tests/mcp/node && npm ci --no-audit --no-fund --loglevel=error)
fi
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAGENTTRACE_WERROR=ON >/dev/null
cmake --build "$BUILD_DIR" -j"$JOBS"
cd "$BUILD_DIR"
ctest --output-on-failure -j"$JOBS" --timeout 600
