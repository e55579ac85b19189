#!/usr/bin/env bash
# `make load`: a bounded load run on loopback. Starts its own moto and `cargo lambda watch` on free
# ports (infra/stack.sh, as infra/e2e.sh does), seeds them like infra/dev.sh, and runs
# tests/load/driver.mjs: LOAD_USERS staff (default 200) enrol their authenticator through the
# public routes, then each loops complete sign-ins (password, then code; some wrong codes first)
# for LOAD_SECONDS (default 60). Fails on any answer the contract does not give for that request,
# any audit entry missing from the table, any session the driver was not given. Stops everything it
# started, whatever the outcome. LOAD_CONCURRENCY (default 4): instances per function.
# LOAD_RELEASE=1 serves release builds (see below). Logs and report.json: target/load/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$root/.venv/bin:$PATH"
out="$root/target/load"
# shellcheck source=infra/stack.sh
source infra/stack.sh

users="${LOAD_USERS:-200}"
seconds="${LOAD_SECONDS:-60}"
concurrency="${LOAD_CONCURRENCY:-4}"
# Debug builds by default, the binaries `make test` and infra/e2e.sh already built: what this run
# checks (answers, audit entries, sessions under concurrency) does not depend on the profile; on
# two cores the throughput is bounded by moto (Python, one request at a time) and by argon2id,
# which the dev profile optimises too (Cargo.toml); and a release `cargo lambda watch` compiles a
# second fat-LTO tree for the host (not the one `cargo lambda build --release` makes for Lambda):
# many minutes on two cores. LOAD_RELEASE=1 does that. The per-request latencies of the
# release binaries are infra/bench/bench.py's.
profile=()
if [ "${LOAD_RELEASE:-0}" = 1 ]; then profile=(--release); fi

bash infra/tools.sh
# The driver shares the browser suites' helpers (tests/e2e/support.mjs) and their pinned packages:
# installed here too, so that `make bench` works on a machine where `make test` has not run.
echo "==> npm ci (tests/e2e)"
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
rm -rf "$out"
mkdir -p "$out"
stack_ports
stack_traps
# A transaction's rollback copy in moto: the items it names, not the whole table, which the run
# grows by thousands of audit entries (infra/moto_server.py says what it cost). Same isolation.
export MOTO_ITEM_ROLLBACK=1
stack_moto

echo "==> building mfa-admin and the five functions${profile[*]:+ (${profile[*]})}"
stack_build "${profile[@]}"

echo "==> bootstrap and seed (as infra/dev.sh)"
bash infra/seed.sh

echo "==> cargo lambda watch --concurrency $concurrency on 127.0.0.1:$http_port (log: target/load/lambda.log)"
stack_watch "$out/lambda.log" "$concurrency" "${profile[@]}"
stack_warm

export MFA_ADMIN="${CARGO_TARGET_DIR:-$root/target}/debug/mfa-admin"
echo "==> node tests/load/driver.mjs"
# timeout: a backstop beside the driver's own deadline, so the run always ends by itself.
E2E_BASE_URL="http://127.0.0.1:$http_port" MFA_AWS_PORT="$aws_port" LOAD_USERS="$users" \
  LOAD_SECONDS="$seconds" LOAD_LAMBDA_LOG="$out/lambda.log" LOAD_REPORT="$out/report.json" \
  LOAD_PYTHON="$root/.venv/bin/python" LOAD_WATCH_PID="$watch_pid" \
  setsid timeout --kill-after=10 "$((seconds + 1200))" node tests/load/driver.mjs < /dev/null &
sessions+=("$!")
status=0
wait "$!" || status=$?
exit "$status"
