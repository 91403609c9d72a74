#!/usr/bin/env bash
# `npm ci` from the committed lock file (npm_ci/package.json and package-lock.json, copied into the
# workspace by the test): a registry fetch, a cache under ~/.npm, a timestamped debug log.
set -euo pipefail
export npm_config_update_notifier=false npm_config_audit=false npm_config_fund=false
npm ci --no-progress --loglevel=error
node -e 'console.log(require("is-number")(42))' >out.txt
