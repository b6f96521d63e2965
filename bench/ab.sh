#!/usr/bin/env bash
# A/B check for regressions: runs the benchmark binaries of two builds interleaved (old, new,
# old, new, …) on the same machine, so that a change of the machine's speed during the run
# weighs on both alike. Prints each binary's own output; compare the figures by hand and
# record them in bench/RESULTS*.md.
#
#   bench/ab.sh OLD_BIN_DIR NEW_BIN_DIR [--rounds N] [--postgres-url URL]
#
# Each BIN_DIR holds `tessera-bench`, `signin` and `ldap_bind` built with
# `cargo build --release -p tessera-bench --bins` (e.g. from `git worktree add` of the old
# commit, with its own CARGO_TARGET_DIR). Scenarios (kept short: this is a comparison, not the
# full benchmark of run.sh / signin.sh / ldap.sh):
#   bulk-enforce of 100,000 users (SQLite; PostgreSQL too with --postgres-url), one run each;
#   list-users at 200,000 users, 2,000 queries (SQLite);
#   the TOTP second factor alone, 1 and 8 tasks;
#   LDAP binds with an app password (16 clients) and a password (2 clients).
set -euo pipefail

[ $# -ge 2 ] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }
old=$1 new=$2
shift 2
rounds=2
pg_url=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --postgres-url) pg_url=$2; shift 2 ;;
    *) echo "ab.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
for d in "$old" "$new"; do
  for b in tessera-bench signin ldap_bind; do
    [ -x "$d/$b" ] || { echo "ab.sh: $d/$b is missing (cargo build --release -p tessera-bench --bins)" >&2; exit 2; }
  done
done

echo "==> $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, old=$old new=$new, $rounds rounds"
each() {
  local label=$1
  shift
  for r in $(seq "$rounds"); do
    for side in old new; do
      local dir=$old
      [ "$side" = new ] && dir=$new
      echo "==> [$label] round $r, $side (load $(cut -d' ' -f1-3 /proc/loadavg))"
      "$dir/$1" "${@:2}"
    done
  done
}

each bulk-sqlite tessera-bench --backend sqlite --scenario bulk-enforce --users 100000 --runs 1
if [ -n "$pg_url" ]; then
  each bulk-postgres tessera-bench --backend postgres --database-url "$pg_url" --scenario bulk-enforce \
    --users 100000 --runs 1
fi
each list-sqlite tessera-bench --backend sqlite --scenario list-users --users 200000 --queries 2000
each totp signin --part mfa --mfa-tasks 1 --mfa-tasks 8 --mfa-rounds 3
each ldap ldap_bind --clients 16 --password-clients 2 --secs 5 --hash-secs 2
