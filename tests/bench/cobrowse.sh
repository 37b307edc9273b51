#!/usr/bin/env bash
# The co-browsing benchmark (issue 5), run by tests/bench/run against its
# private stack: tests/bench/cobrowse.mjs (Chromium through playwright-core,
# the ws client of tests/). COBROWSE_SESSIONS (100), COBROWSE_SECONDS (10).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -d tests/node_modules ] || [ tests/package-lock.json -nt tests/node_modules ]; then
	(cd tests && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
VB_TEST_URL=$VB_PUBLIC_URL VBCTL=$BUILD/vbctl node tests/bench/cobrowse.mjs
