#!/usr/bin/env bash
# `make test`: a fresh machine to every test passing. Installs the pinned tools, starts its own
# moto on a free port, runs fmt, clippy, cfn-lint and every test, stops moto whatever the outcome,
# then runs the browser and peer suites with a short load run (infra/e2e.sh), and the fuzzer
# (infra/fuzz.sh): each starts and stops a stack of its own. After the cargo tests, a cold-start
# check (infra/cold_start_check.py) traces each function's init.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash infra/tools.sh
port="$(python3 infra/free-port.py)"
trap 'bash infra/moto.sh stop "$port"' EXIT
bash infra/moto.sh start "$port"
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=us-east-1 \
       AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_EC2_METADATA_DISABLED=true
echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "==> cfn-lint template.yaml"
.venv/bin/cfn-lint template.yaml examples/protected-api/template.yaml
echo "==> sam validate --lint (both templates; no AWS call)"
for t in template.yaml examples/protected-api/template.yaml; do
  SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 .venv-sam/bin/sam validate --lint --template "$t"
done
echo "==> cargo test (against moto on 127.0.0.1:$port)"
cargo test --workspace
echo "==> cold start: no function reads the trust store during its init"
cargo build --workspace --quiet
MFA_TABLE=coldstart MFA_KEYS_SECRET=coldstart/keys \
  "${CARGO_TARGET_DIR:-$root/target}/debug/mfa-admin" bootstrap > /dev/null
MFA_TABLE=coldstart MFA_KEYS_SECRET=coldstart/keys \
  python3 infra/cold_start_check.py "${CARGO_TARGET_DIR:-$root/target}/debug"
bash infra/e2e.sh
bash infra/fuzz.sh
