#!/usr/bin/env bash
# `make bench`: release binaries as Lambda gets them (cargo lambda build --release), then on a
# local stack of its own: per-function init, warm latency, CPU, RSS and size beside a boto3 handler
# (infra/bench/bench.py), argon2id timing, and the AWS requests of one complete TOTP sign-in;
# then each figure against infra/bench/budget.json (infra/bench/budget.py fails the run when one
# is over, and writes docs/figures.md).
# Last, the bounded load run (infra/load.sh, its own stack; LOAD_USERS, LOAD_SECONDS,
# LOAD_CONCURRENCY), on debug builds under `cargo lambda watch`: infra/load.sh says why.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$root/.venv/bin:$PATH"
bash infra/tools.sh
echo "==> release build of the five functions"
cargo lambda build --release --bin sign-in --bin setup-email --bin verify-code --bin settings --bin oidc
cargo build --quiet -p mfa-admin
users="${BENCH_USERS:-60}"
port="$(python3 infra/free-port.py)"
trap 'bash infra/moto.sh stop "$port"' EXIT
bash infra/moto.sh start "$port"
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=us-east-1 \
       AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_EC2_METADATA_DISABLED=true \
       MFA_TABLE=bench MFA_KEYS_SECRET=bench/keys PUBLIC_BASE_URL=http://127.0.0.1:9000 BENCH_USERS="$users"
admin="${CARGO_TARGET_DIR:-$root/target}/debug/mfa-admin"
"$admin" bootstrap > /dev/null
"$admin" settings set --org-default-email mfa@example.org --org-name Bench > /dev/null
"$admin" bootstrap --sender mfa@example.org > /dev/null
echo "==> seeding $users staff"
for i in $(seq 0 $((users - 1))); do
  u="$(printf 'bench%03d' "$i")"
  kind=staff; [ "$i" = 0 ] && kind=sysadmin
  echo "bench password 2026" | "$admin" account add --username "$u" --kind "$kind" --name-email "$u@example.org" --password-stdin > /dev/null
done
"$admin" settings set --mfa-enabled true > /dev/null
echo "==> functions (infra/bench/bench.py)"
.venv/bin/python infra/bench/bench.py
echo
echo "==> argon2id"
cargo run --quiet --release -p staff-mfa --example argon2_time
cargo run --quiet --release -p staff-mfa --example verify_cpu
echo
echo "==> a passkey's check beside a code's (CPU)"
cargo run --quiet --release -p staff-mfa --example passkey_cpu
echo
echo "==> AWS requests and cost per 1M: TOTP sign-in, OpenID Connect sign-in, single sign-on"
cargo run --quiet -p staff-mfa-tests --example flow_cost
echo
echo "==> against the budget (infra/bench/budget.json; writes docs/figures.md)"
python3 infra/bench/budget.py
echo
echo "==> busiest partition key at 10,000 sign-ins a minute (recorded requests, simulated)"
cargo run --quiet -p staff-mfa-tests --example audit_partitions
echo
echo "==> mfa-admin account import: 10,000 rows"
cargo run --quiet -p staff-mfa-tests --example import_bench
echo
echo "==> load: ${LOAD_USERS:-200} users signing in for ${LOAD_SECONDS:-60} s (infra/load.sh)"
bash infra/load.sh
