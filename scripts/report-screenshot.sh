#!/usr/bin/env bash
# Regenerates docs/report.png: records the demo's sample agents (good, flaky, evil; scripts/demo.sh,
# 5 runs each, as the demo) with copies of the built binaries in a temporary folder (so that no path of this
# checkout shows in the picture), writes the HTML report and screenshots it in headless Chromium
# (scripts/report_screenshot.mjs; needs `npm ci` in tests/mcp/node and the Debian chromium package).
#
# Usage: scripts/report-screenshot.sh [OUT.png]   (default docs/report.png; BUILD_DIR as for demo.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-docs/report.png}
BUILD_DIR=${BUILD_DIR:-build}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/build/tools" "$TMP/build/samples"
cp "$BUILD_DIR/tools/agenttrace" "$TMP/build/tools/"
cp "$BUILD_DIR/samples/sample-agent" "$BUILD_DIR/samples/sample-mcp-server" "$TMP/build/samples/"
BUILD_DIR="$TMP/build" scripts/demo.sh --no-build --runs 5 --out "$TMP/demo" >/dev/null
node scripts/report_screenshot.mjs "$TMP/demo/reports/report.html" "$OUT"
echo "wrote $OUT ($(stat -c %s "$OUT") bytes)"
