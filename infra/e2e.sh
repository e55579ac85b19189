#!/usr/bin/env bash
# The pages in a real browser: the seed's first sign-in with MFA on, clicked through in headless
# Chromium (Debian's package, driven by playwright-core pinned in tests/e2e/package-lock.json),
# then the admin page. Starts its own moto and `cargo lambda watch` on free ports, seeds them like
# infra/dev.sh, runs `node --test tests/e2e/seed-flow.mjs`, and stops everything it started,
# whatever the outcome. Screenshots and logs: target/e2e/. Part of `make test`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$root/.venv/bin:$PATH"
started=$SECONDS
out="$root/target/e2e"

bash infra/tools.sh
if [ ! -x /usr/bin/chromium ]; then
  echo "==> installing chromium (Debian package)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null
fi
echo "==> $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium: version unknown')"
echo "==> npm ci (tests/e2e)"
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)

rm -rf "$out"
mkdir -p "$out"
aws_port="$(python3 infra/free-port.py)"
http_port="$(python3 infra/free-port.py)"
while [ "$http_port" = "$aws_port" ]; do http_port="$(python3 infra/free-port.py)"; done

# Each long-lived child runs in a session of its own (setsid without job control keeps its pid as
# the session id), so that everything it spawns (cargo lambda watch's functions, Chromium) can be
# found by session and stopped.
sessions=()
stop_session() {
  local sid="$1" pids
  pids="$(ps -s "$sid" -o pid= 2>/dev/null | tr -s ' \n' ' ')" || true
  [ -n "${pids// /}" ] || return 0
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null || true
  for _ in $(seq 1 50); do
    pids="$(ps -s "$sid" -o pid= 2>/dev/null | tr -s ' \n' ' ')" || true
    [ -n "${pids// /}" ] || return 0
    sleep 0.1
  done
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
}
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for sid in "${sessions[@]}"; do stop_session "$sid"; done
  bash infra/moto.sh stop "$aws_port"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "==> moto on 127.0.0.1:$aws_port"
bash infra/moto.sh start "$aws_port"
export AWS_ENDPOINT_URL="http://127.0.0.1:$aws_port" AWS_REGION=us-east-1 \
       AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_EC2_METADATA_DISABLED=true \
       MFA_TABLE=staff-mfa MFA_KEYS_SECRET=staff-mfa/keys \
       PUBLIC_BASE_URL="http://127.0.0.1:$http_port"

echo "==> building mfa-admin and the five functions"
cargo build --quiet -p mfa-admin
cargo build --quiet -p sign-in -p setup-email -p verify-code -p settings -p oidc

echo "==> bootstrap and seed (as infra/dev.sh, plus two staff who cannot receive setup mail)"
bash infra/seed.sh --with-unreachable

echo "==> cargo lambda watch on 127.0.0.1:$http_port (log: target/e2e/lambda.log)"
# --ignore-changes: the functions under test are the ones just built; an edit made meanwhile in
# the work tree does not restart them halfway through the test.
# --concurrency: several instances per function, as Lambda runs them, so races are real.
setsid cargo lambda watch --ignore-changes --concurrency "${MFA_CONCURRENCY:-4}" \
  -A 127.0.0.1 -P "$http_port" \
  --env-var "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL" --env-var AWS_REGION=us-east-1 \
  --env-var AWS_ACCESS_KEY_ID=local --env-var AWS_SECRET_ACCESS_KEY=local \
  --env-var "MFA_TABLE=$MFA_TABLE" --env-var "MFA_KEYS_SECRET=$MFA_KEYS_SECRET" \
  --env-var "PUBLIC_BASE_URL=$PUBLIC_BASE_URL" > "$out/lambda.log" 2>&1 < /dev/null &
sessions+=("$!")
watch_pid=$!

# The first request to each function starts it (and builds it if needed): warm all five, so the
# browser's timeouts measure the pages, not the compiler.
warm() { # METHOD PATH EXPECTED_STATUS(regex) [BODY]
  local deadline=$((SECONDS + 300)) code
  while :; do
    code="$(curl -s -o /dev/null -w '%{http_code}' -m 120 -X "$1" \
      -H 'Content-Type: application/json' ${4:+--data "$4"} "http://127.0.0.1:$http_port$2" || true)"
    [[ "$code" =~ ^($3)$ ]] && return 0
    if ! kill -0 "$watch_pid" 2>/dev/null; then
      echo "cargo lambda watch exited:" >&2; tail -n 40 "$out/lambda.log" >&2; return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "$1 $2 answered $code, not $3, after 5 minutes:" >&2; tail -n 40 "$out/lambda.log" >&2
      return 1
    fi
    sleep 1
  done
}
echo "==> waiting for the functions"
warm GET /sign-in 200
warm GET "/mfa/setup?token=x" 200
warm POST /mfa/verify '400|401' '{"challenge":"x","code":"000000"}'
warm GET /admin 200
warm GET /jwks.json 200

# One file after the other: oidc.mjs switches MFA back on after the seed flow switched it off, and
# limits.mjs locks bob out, which the readiness steps must not see.
status=0
export MFA_ADMIN="${CARGO_TARGET_DIR:-$root/target}/debug/mfa-admin"
for file in seed-flow.mjs oidc.mjs federation.mjs accounts.mjs limits.mjs; do
  echo "==> node --test tests/e2e/$file"
  E2E_BASE_URL="http://127.0.0.1:$http_port" MFA_AWS_PORT="$aws_port" E2E_ARTIFACTS="$out" \
    setsid node --test "tests/e2e/$file" < /dev/null &
  sessions+=("$!")
  wait "$!" || status=$?
  [ "$status" = 0 ] || break
done
echo "==> e2e: screenshots in target/e2e/ ($((SECONDS - started)) s)"
exit "$status"
