#!/usr/bin/env bash
# Runs the sign-in benchmarks (issue "sign-in that enforces per-user MFA") on SQLite in a fresh
# temporary directory and prints the results as markdown (record them in
# bench/RESULTS-signin.md):
#
#   1. sign-ins/s through POST /api/v1/auth/token (the app served in-process on 127.0.0.1)
#      with 2, 4 and 8 concurrent clients, password only and password + TOTP, against the
#      Argon2id verification rate measured in the same run; target: overhead under 10%.
#   2. the TOTP second factor alone (Tessera::check_second_factor, fake clock), with 1, 2, 4
#      and 8 concurrent tasks, and a per-call time breakdown; target: over 5,000/s.
#
#   bench/signin.sh                    # defaults: 10 s per level, 2,000 users x 3 rounds
#   bench/signin.sh -- --secs 5 --part mfa   # anything after -- goes to the binary
#
# The load average is printed before each measurement: other work on the machine skews
# the figures (rerun when it is quiet).
set -euo pipefail
cd "$(dirname "$0")/.."

extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "signin.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done

echo "==> machine"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "nproc: $(nproc)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "ram: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "disk: $(df -h --output=source,fstype,size "${TMPDIR:-/tmp}" | tail -1 | tr -s ' ')"
echo "rustc: $(rustc --version)"

echo "==> cargo build --release -p tessera-bench --bin signin"
cargo build --release -p tessera-bench --bin signin
echo "uptime: $(uptime)"
target/release/signin "${extra[@]}"
