#!/usr/bin/env bash
# Schema-driven fuzzing of a local stack with schemathesis (pinned in
# infra/requirements-fuzz.txt, installed into .venv-fuzz by infra/tools.sh), generated from the
# OpenAPI description the stack serves at /openapi.json. Fixed seed, one worker, bounded: about
# 2,100 requests, 41 operations (all but GET /openapi.json). Exits non-zero on any failure or
# error, after printing the figures: operations, requests, seconds, failures by check.
#
# Checks (tests/fuzz/hooks.py): no 5xx (not_a_server_error); every error the contract says is JSON
# is {"error","message"} (error_contract); no answer names AWS, the table, the secret or a panic
# (no_internal_leak); a 4xx changes nothing in the table but for audit entries, lock-out states and
# a session's last use (refusal_changes_nothing); no route that declares a session answers 2xx
# without one (ignored_auth).
#
# Two phases: the public routes as an anonymous caller, then the routes that declare the `session`
# scheme as a system administrator (a dedicated one, created, enrolled and signed in through the
# product's own flow by tests/fuzz/admin.py, and deleted at the end; the organisation settings are
# put back as they were). The fuzzer CHANGES the stack: the stateful phase disables, resets and
# deletes the accounts it finds and registers clients: never point it at a stack you care about.
#
# Without FUZZ_BASE_URL (as `make test` runs it), on a stack of its own (infra/stack.sh), seeded
# like `make dev` and stopped at the end: a small table keeps the scan after each request cheap (on
# the browser suites' stack, thousands of audit entries made the scans 350 of 420 s). With it, on
# that running stack: FUZZ_BASE_URL (e.g. http://127.0.0.1:9400), AWS_ENDPOINT_URL (moto),
# AWS_REGION and credentials, MFA_TABLE, MFA_KEYS_SECRET. Optional: MFA_ADMIN (default
# target/debug/mfa-admin) and FUZZ_SEED. Reports: target/fuzz/{anonymous,admin}/ (schemathesis'
# JSON report and log), target/fuzz/lambda.log (its own stack's functions).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
started=$SECONDS
out="$root/target/fuzz"
rm -rf "$out"
mkdir -p "$out/anonymous" "$out/admin"

own_stack=0
if [ -z "${FUZZ_BASE_URL:-}" ]; then
  own_stack=1
  export PATH="$root/.venv/bin:$PATH"
  # shellcheck source=infra/stack.sh
  source infra/stack.sh
  bash infra/tools.sh
  stack_ports
  stack_traps
  stack_moto
  echo "==> fuzz: building mfa-admin and the five functions"
  stack_build
  echo "==> fuzz: bootstrap and seed (as infra/dev.sh)"
  bash infra/seed.sh
  echo "==> fuzz: cargo lambda watch on 127.0.0.1:$http_port (log: target/fuzz/lambda.log)"
  stack_watch "$out/lambda.log" 4
  stack_warm
  FUZZ_BASE_URL="http://127.0.0.1:$http_port"
fi
: "${FUZZ_BASE_URL:?FUZZ_BASE_URL: the running stack, e.g. http://127.0.0.1:9400}"
: "${AWS_ENDPOINT_URL:?AWS_ENDPOINT_URL: the moto endpoint of the stack}"
: "${AWS_REGION:?AWS_REGION}" "${MFA_TABLE:?MFA_TABLE}" "${MFA_KEYS_SECRET:?MFA_KEYS_SECRET}"
FUZZ_BASE_URL="${FUZZ_BASE_URL%/}"
export FUZZ_BASE_URL
export MFA_ADMIN="${MFA_ADMIN:-${CARGO_TARGET_DIR:-$root/target}/debug/mfa-admin}"
if [ ! -x "$MFA_ADMIN" ]; then
  echo "fuzz: no mfa-admin at $MFA_ADMIN (cargo build -p mfa-admin, or set MFA_ADMIN)" >&2
  exit 1
fi
# Fixed, so that a failure found here is found again by the same command. FUZZ_SEED explores.
seed="${FUZZ_SEED:-17}"
# Test cases per operation and phase (the coverage phase adds its own deterministic cases, about
# as many again). This sets the run's size, and its time: the table check scans the table once per
# request, and a moto scan costs about 30 us per item, audit entries included.
examples=30

bash infra/tools.sh
python="$root/.venv-fuzz/bin/python"
schemathesis="$root/.venv-fuzz/bin/schemathesis"

echo "==> fuzz: a system administrator of its own (tests/fuzz/admin.py)"
snapshot="$out/settings-before.json"
read -r admin_user FUZZ_ADMIN_SESSION < <("$python" tests/fuzz/admin.py start "$snapshot")
export FUZZ_ADMIN_USERNAME="$admin_user" FUZZ_ADMIN_SESSION
# shellcheck disable=SC2317 # run by the EXIT trap, which shellcheck 0.9 does not follow
finish() {
  local status=$?
  trap - EXIT INT TERM
  echo "==> fuzz: settings put back, $admin_user deleted"
  "$python" tests/fuzz/admin.py finish "$snapshot" "$admin_user" || status=1
  if [ "$own_stack" = 1 ]; then stack_stop; fi
  exit "$status"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export SCHEMATHESIS_HOOKS="$root/tests/fuzz/hooks.py"
checks=not_a_server_error,error_contract,no_internal_leak,refusal_changes_nothing,ignored_auth
run_phase() { # NAME [schemathesis run arguments ...]
  local name="$1" status=0
  shift
  echo "==> fuzz: $name (log: target/fuzz/$name/schemathesis.log)"
  # Run from the phase's directory: schemathesis and hypothesis keep caches in the working
  # directory (.schemathesis/, .hypothesis/), and a cache carried over from an earlier run (its
  # crashes are tried first) would make the same seed send other requests. The time limit only
  # stops a hung run: a normal phase takes a third of it.
  (cd "$out/$name" && FUZZ_STATS="$out/$name/stats.json" timeout 600 "$schemathesis" "$@" \
    "$FUZZ_BASE_URL/openapi.json" --url "$FUZZ_BASE_URL" \
    --seed "$seed" --workers 1 --max-examples "$examples" \
    --checks "$checks" \
    --generation-database none \
    --request-timeout 30 \
    --no-color \
    --report json --report-json-path "$out/$name/report.json" \
    > "$out/$name/schemathesis.log" 2>&1) || status=$?
  # The failures and their curl repros, without the run's progress lines.
  awk '/^=+ (ERRORS|FAILURES) =+$/ { show = 1 } /^=+ (WARNINGS|SUMMARY) =+$/ { show = 0 } show' \
    "$out/$name/schemathesis.log"
  [ "$status" != 124 ] || echo "fuzz: $name did not finish in 600 s" >&2
  return "$status"
}

# The operations that declare the `session` scheme, but POST /sign-out, POST
# /account/sign-out-everywhere and POST /account/password: fuzzed as the fuzz admin. Those three
# would end the session the rest of that phase uses (a wrong current password would also count
# against the admin's password limits), so they are fuzzed anonymously (their 401 and 403;
# tests/integration covers the rest). POST /mfa/reauthenticate stays: wrong codes lock
# the admin's code entry, which ends nothing (the code given at sign-in keeps step-up 10 minutes).
as_admin='^/(session|sign-in/sites|mfa/reauthenticate|mfa/recovery-codes|mfa/passkeys|account/activity|settings|accounts|audit)'
status=0
# Every other operation, as anyone on the internet can call it. The admin routes are not sent
# here as well: their 401 without a session is what the admin phase's negative cases and
# ignored_auth's probes (no or an invalid session, after each 2xx) check, and each anonymous
# admin call is an audit entry that every later table scan would read.
run_phase anonymous run --exclude-path-regex "$as_admin" || status=$?
# As an administrator, with the fuzz admin's bearer session (tests/fuzz/admin.toml).
run_phase admin --config-file "$root/tests/fuzz/admin.toml" run --include-path-regex "$as_admin" \
  || status=$?

"$python" tests/fuzz/summary.py "$out/anonymous" anonymous "$out/admin" admin
echo "==> fuzz: $((SECONDS - started)) s in all, seed $seed"
exit "$status"
