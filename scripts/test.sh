#!/usr/bin/env bash
# The single test command (README): format, lints, all tests on SQLite and PostgreSQL.
# Uses $TESSERA_TEST_DATABASE_URL if set; otherwise starts (and stops) a throwaway PostgreSQL.
# Runs every step even if one fails, then exits non-zero listing the failed steps.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${TESSERA_TEST_DATABASE_URL:-}" ]; then
  pgdir=$(mktemp -d /tmp/tessera-pg.XXXXXX)
  trap 'scripts/pg-throwaway.sh stop "$pgdir"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  TESSERA_TEST_DATABASE_URL=$(scripts/pg-throwaway.sh start "$pgdir")
  export TESSERA_TEST_DATABASE_URL
fi
echo "==> PostgreSQL for tests: $TESSERA_TEST_DATABASE_URL"

failed=()
step() {
  echo "==> $*"
  "$@" || failed+=("$*")
}

# Browser tests: playwright-core driving Debian's Chromium against a real server (e2e/).
# Screenshots of each page land in e2e/screenshots/.
run_e2e() {
  e2e/run.sh
}

step cargo fmt --all -- --check

if cargo clippy --version >/dev/null 2>&1; then
  step cargo clippy --workspace --all-targets -- -D warnings
else
  echo "==> note: cargo clippy not installed; skipping lints (rustup component add clippy)"
fi

if cargo nextest --version >/dev/null 2>&1; then
  step cargo nextest run --workspace --no-fail-fast
  step cargo test --workspace --doc  # nextest does not run doctests
else
  step cargo test --workspace --no-fail-fast
fi

step run_e2e

if [ ${#failed[@]} -gt 0 ]; then
  printf '==> FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "==> all checks passed"
