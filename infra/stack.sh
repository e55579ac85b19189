# One local stack on free loopback ports, for scripts that need the real functions served: moto
# (emulated DynamoDB, SES v2 and Secrets Manager) and `cargo lambda watch`, both on 127.0.0.1,
# stopped whatever the outcome. Sourced, not run, by infra/e2e.sh and infra/load.sh, which set
# `set -euo pipefail`, `root` (the workspace) and cd there first, and put .venv/bin on PATH.
#
#   stack_ports                      aws_port, http_port: two distinct free ports on 127.0.0.1
#   stack_traps                      stop everything started here on exit, Ctrl-C or TERM
#   stack_stop                       stop it now (for scripts with an exit trap of their own)
#   stack_moto                       start moto; export the AWS and MFA_* variables naming it
#   stack_build [--release]          build mfa-admin and the five functions
#   stack_watch LOG CONCURRENCY [ARG ...]
#                                    `cargo lambda watch` in a session of its own (ARG: --release)
#   stack_warm                       wait until each of the five functions answers
#   sessions+=("$!")                 after `setsid CMD &`: stopped with the stack
# shellcheck shell=bash

stack_ports() {
  aws_port="$(python3 infra/free-port.py)"
  http_port="$(python3 infra/free-port.py)"
  while [ "$http_port" = "$aws_port" ]; do http_port="$(python3 infra/free-port.py)"; done
}

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
stack_stop() {
  for sid in "${sessions[@]}"; do stop_session "$sid"; done
  if [ -n "${aws_port:-}" ]; then bash infra/moto.sh stop "$aws_port"; fi
}
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stack_stop
  exit "$status"
}
stack_traps() {
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

stack_moto() {
  echo "==> moto on 127.0.0.1:$aws_port"
  bash infra/moto.sh start "$aws_port"
  export AWS_ENDPOINT_URL="http://127.0.0.1:$aws_port" AWS_REGION=us-east-1 \
         AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_EC2_METADATA_DISABLED=true \
         MFA_TABLE=staff-mfa MFA_KEYS_SECRET=staff-mfa/keys \
         PUBLIC_BASE_URL="http://localhost:$http_port" \
         MFA_SES_SEND_RATE=100
}

# mfa-admin is always the debug build (infra/seed.sh runs that one); the functions in the profile
# `cargo lambda watch` will be given, so that its first request finds them built.
# shellcheck disable=SC2120  # the profile is optional
stack_build() {
  cargo build --quiet -p mfa-admin
  cargo build --quiet "$@" -p sign-in -p setup-email -p verify-code -p settings -p oidc
}

stack_watch() { # LOG CONCURRENCY [extra cargo lambda watch arguments]
  stack_log="$1"
  local concurrency="$2"
  shift 2
  # --ignore-changes: the functions under test are the ones just built; an edit made meanwhile in
  # the work tree does not restart them halfway through the test.
  # --concurrency: several instances per function, as Lambda runs them, so races are real.
  setsid cargo lambda watch --ignore-changes --concurrency "$concurrency" "$@" \
    -A 127.0.0.1 -P "$http_port" \
    --env-var "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL" --env-var AWS_REGION=us-east-1 \
    --env-var AWS_ACCESS_KEY_ID=local --env-var AWS_SECRET_ACCESS_KEY=local \
    --env-var "MFA_TABLE=$MFA_TABLE" --env-var "MFA_KEYS_SECRET=$MFA_KEYS_SECRET" \
    --env-var "PUBLIC_BASE_URL=$PUBLIC_BASE_URL" \
    --env-var "MFA_SES_SEND_RATE=$MFA_SES_SEND_RATE" > "$stack_log" 2>&1 < /dev/null &
  sessions+=("$!")
  watch_pid=$!
}

# The first request to each function starts it (and builds it if needed): warm all five, so the
# callers' timeouts and latencies (the browser's, the load driver's) measure the functions, not
# the compiler.
warm() { # METHOD PATH EXPECTED_STATUS(regex) [BODY]
  local deadline=$((SECONDS + 300)) code
  while :; do
    code="$(curl -s -o /dev/null -w '%{http_code}' -m 120 -X "$1" \
      -H 'Content-Type: application/json' ${4:+--data "$4"} "http://127.0.0.1:$http_port$2" || true)"
    [[ "$code" =~ ^($3)$ ]] && return 0
    if ! kill -0 "$watch_pid" 2>/dev/null; then
      echo "cargo lambda watch exited:" >&2; tail -n 40 "$stack_log" >&2; return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "$1 $2 answered $code, not $3, after 5 minutes:" >&2; tail -n 40 "$stack_log" >&2
      return 1
    fi
    sleep 1
  done
}
stack_warm() {
  echo "==> waiting for the functions"
  warm GET /sign-in 200
  warm GET "/mfa/setup?token=x" 200
  warm POST /mfa/verify '400|401' '{"challenge":"x","code":"000000"}'
  warm GET /admin 200
  warm GET /jwks.json 200
}
