#!/usr/bin/env bash
# Runs the LDAP bind benchmark (issue 5, LDAP for legacy clients) on SQLite in a fresh
# temporary directory and prints the results as markdown (record them in bench/RESULTS.md,
# section "LDAP binds"):
#
#   binds/s through the LDAP listener served in-process on 127.0.0.1 (what
#   `tessera serve --ldap-listen` runs), with 1, 4, 16 and 64 concurrent clients, each bind
#   on a new connection or repeated over a persistent one; with an app password (SHA-256)
#   and, for contrast, with the password (Argon2id, 2 and 8 clients); next to the rate of
#   the app-password hash on one core and of Argon2id on every core, measured in the same run.
#
#   bench/ldap.sh                          # defaults: 8 s per level
#   bench/ldap.sh -- --secs 4 --clients 1,16   # anything after -- goes to the binary
#
# The load average is printed with each measurement: other work on the machine skews the
# figures (rerun when it is quiet).
set -euo pipefail
cd "$(dirname "$0")/.."

extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "ldap.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done

echo "==> machine"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "nproc: $(nproc)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "rustc: $(rustc --version)"

echo "==> cargo build --release -p tessera-bench --bin ldap_bind"
cargo build --release -p tessera-bench --bin ldap_bind
echo "uptime: $(uptime)"
target/release/ldap_bind "${extra[@]}"
