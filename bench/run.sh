#!/usr/bin/env bash
# Runs the benchmarks of issue 2 on SQLite and on a throwaway PostgreSQL 15, and prints the
# results as a markdown table (record them in bench/RESULTS.md).
#
#   bench/run.sh                        # full sizes: 100,000 users (bulk), 1,000,000 (list)
#   bench/run.sh --bulk-users 10000 --list-users 100000 --runs 1 --queries 500   # quick
#   bench/run.sh --sqlite-only          # no PostgreSQL
#
# Options:
#   --bulk-users N    users seeded and bulk-Enforced in the bulk-enforce scenario (100000)
#   --list-users N    users seeded for the list-users scenario (1000000)
#   --runs N          bulk-enforce runs, each on a fresh database; min and median reported (3)
#   --queries N       measured list queries, after 200 warm-up queries (2000)
#   --sqlite-only     skip PostgreSQL
#   --postgres-url U  use this PostgreSQL server instead of starting a throwaway one (each run
#                     creates a fresh database on it and drops it afterwards)
# Anything after `--` goes to every tessera-bench invocation (see `tessera-bench --help`,
# e.g. `-- --mix 70,20,10` or `-- --analyze always`).
#
# The throwaway PostgreSQL runs with fsync=off, synchronous_commit=off and
# full_page_writes=off (scripts/pg-throwaway.sh): fast, not durable; see RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

bulk_users=100000
list_users=1000000
runs=3
queries=2000
sqlite_only=0
pg_url=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bulk-users) bulk_users=$2; shift 2 ;;
    --list-users) list_users=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --queries) queries=$2; shift 2 ;;
    --sqlite-only) sqlite_only=1; shift ;;
    --postgres-url) pg_url=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done

echo "==> machine"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "nproc: $(nproc)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "ram: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "disk: $(df -h --output=source,fstype,size . | tail -1 | tr -s ' ')"
echo "rustc: $(rustc --version)"
echo "uptime: $(uptime)"

echo "==> cargo build --release -p tessera-bench --bin tessera-bench"
cargo build --release -p tessera-bench --bin tessera-bench
bin=target/release/tessera-bench

rows=()
out=$(mktemp)
trap 'rm -f "$out"' EXIT
run() {
  echo "==> tessera-bench $*"
  if "$bin" "$@" "${extra[@]}" >"$out"; then
    cat "$out"
    rows+=("$(grep '^| [a-z-]* | [a-z]* |' "$out" | tail -1)")
  else
    cat "$out"
    rows+=("| $* | **failed** (see above) |")
  fi
}

run --backend sqlite --scenario bulk-enforce --users "$bulk_users" --runs "$runs"
run --backend sqlite --scenario list-users --users "$list_users" --queries "$queries"

if [ "$sqlite_only" -eq 0 ]; then
  if [ -z "$pg_url" ]; then
    pgdir=$(mktemp -d /tmp/tessera-bench-pg.XXXXXX)
    trap 'scripts/pg-throwaway.sh stop "$pgdir"; rm -f "$out"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    pg_url=$(scripts/pg-throwaway.sh start "$pgdir")
    echo "==> throwaway PostgreSQL: $pg_url"
  fi
  run --backend postgres --database-url "$pg_url" --scenario bulk-enforce --users "$bulk_users" --runs "$runs"
  run --backend postgres --database-url "$pg_url" --scenario list-users --users "$list_users" --queries "$queries"
fi

echo
echo "==> results ($(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo "| scenario | backend | users | samples | min | p50 | p95 | p99 | max | target | result |"
echo "|---|---|---:|---|---:|---:|---:|---:|---:|---|---|"
printf '%s\n' "${rows[@]}"
