#!/usr/bin/env bash
# The pages in a real browser: the seed's first sign-in with MFA on, clicked through in headless
# Chromium (Debian's package, driven by playwright-core pinned in tests/e2e/package-lock.json),
# then the admin page. Starts its own moto and `cargo lambda watch` on free ports, seeds them like
# infra/dev.sh, runs the browser and peer suites in tests/e2e/, then on the same stack a short
# load run (tests/load/driver.mjs), and stops everything it started, whatever the outcome.
# Screenshots and logs: target/e2e/. Part of `make test`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$root/.venv/bin:$PATH"
started=$SECONDS
out="$root/target/e2e"
# Ports, moto, the build, cargo lambda watch, warm-up and stopping it all: shared with infra/load.sh.
# shellcheck source=infra/stack.sh
source infra/stack.sh

bash infra/tools.sh
if [ ! -x /usr/bin/chromium ]; then
  echo "==> installing chromium (Debian package)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null
fi
echo "==> $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium: version unknown')"
echo "==> npm ci (tests/e2e)"
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
echo "==> npm ci (examples/quickstart/node)"
(cd examples/quickstart/node && npm ci --no-audit --no-fund --loglevel=error)

rm -rf "$out"
mkdir -p "$out"
stack_ports
stack_traps
stack_moto

echo "==> building mfa-admin and the five functions"
stack_build

echo "==> bootstrap and seed (as infra/dev.sh, plus two staff who cannot receive setup mail)"
bash infra/seed.sh --with-unreachable

echo "==> cargo lambda watch on 127.0.0.1:$http_port (log: target/e2e/lambda.log)"
stack_watch "$out/lambda.log" "${MFA_CONCURRENCY:-4}"
stack_warm

# One file after the other: oidc.mjs switches MFA back on after the seed flow switched it off,
# limits.mjs locks bob out, which the readiness steps must not see, and rollout.mjs switches MFA
# off and has the schedule switch it on again.
status=0
export MFA_ADMIN="${CARGO_TARGET_DIR:-$root/target}/debug/mfa-admin"
# E2E_ONLY="rollout.mjs" runs only the files named (while working on one; make test runs them all).
for file in ${E2E_ONLY:-seed-flow.mjs oidc.mjs federation.mjs accounts.mjs passkeys.mjs quickstart.mjs limits.mjs rollout.mjs}; do
  echo "==> node --test tests/e2e/$file"
  E2E_BASE_URL="$PUBLIC_BASE_URL" MFA_AWS_PORT="$aws_port" E2E_ARTIFACTS="$out" \
    E2E_PYTHON="$root/.venv/bin/python" \
    setsid node --test "tests/e2e/$file" < /dev/null &
  sessions+=("$!")
  wait "$!" || status=$?
  [ "$status" = 0 ] || break
done
echo "==> e2e: screenshots in target/e2e/ ($((SECONDS - started)) s)"

# Then the same stack under a short load (the full run is `make load`): 40 staff sign in with
# codes for 15 s; no answer the contract does not give, no lost audit entry, no session for a
# wrong code.
if [ "$status" = 0 ]; then
  echo "==> node tests/load/driver.mjs (40 users, 15 s)"
  E2E_BASE_URL="http://127.0.0.1:$http_port" MFA_AWS_PORT="$aws_port" LOAD_USERS=40 \
    LOAD_SECONDS=15 LOAD_LAMBDA_LOG="$out/lambda.log" LOAD_REPORT="$out/load.json" \
    LOAD_PYTHON="$root/.venv/bin/python" LOAD_WATCH_PID="$watch_pid" \
    setsid timeout --kill-after=10 600 node tests/load/driver.mjs < /dev/null &
  sessions+=("$!")
  wait "$!" || status=$?
fi
# The metric lines every function wrote meanwhile, as CloudWatch will read them (EMF).
if [ "$status" = 0 ]; then
  echo "==> metric lines (tests/examples/emf_check.rs)"
  cargo run --quiet -p staff-mfa-tests --example emf_check -- "$out/lambda.log" || status=$?
fi
# make smoke against the same stack: every check passes under its own name, and fails, with a
# clear line, under a name that is not its issuer.
if [ "$status" = 0 ]; then
  echo "==> make smoke BASE_URL=$PUBLIC_BASE_URL (SMOKE_USER=member)"
  SMOKE_USER=member SMOKE_PASSWORD="member password 2026" \
    python3 infra/smoke.py "$PUBLIC_BASE_URL" || status=$?
  echo "==> make smoke BASE_URL=http://127.0.0.1:$http_port (a name the stack does not answer as: must fail)"
  if python3 infra/smoke.py "http://127.0.0.1:$http_port" > "$out/smoke-wrong-name.txt"; then
    echo "smoke passed against a base URL that is not the issuer" >&2; status=1
  elif ! grep -q "^FAIL issuer matches BASE_URL" "$out/smoke-wrong-name.txt"; then
    cat "$out/smoke-wrong-name.txt" >&2; echo "smoke failed without naming the issuer" >&2; status=1
  else
    grep "^FAIL" "$out/smoke-wrong-name.txt"
  fi
fi
echo "==> e2e and load: $((SECONDS - started)) s"
exit "$status"
