#!/usr/bin/env bash
# Browser end-to-end tests: builds the server, installs playwright-core, runs tests/ with
# Debian's Chromium. Screenshots go to e2e/screenshots/ (or $TESSERA_SCREENSHOTS).
set -euo pipefail
cd "$(dirname "$0")"
cargo build -p tessera --quiet
[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --silent
node --test --test-concurrency=1 tests/
