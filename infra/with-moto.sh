#!/usr/bin/env bash
# Runs a command with its own moto on a free port (AWS_* variables set), stopping moto after.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
port="$(python3 "$root/infra/free-port.py")"
trap 'bash "$root/infra/moto.sh" stop "$port"' EXIT
bash "$root/infra/moto.sh" start "$port"
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=us-east-1 \
       AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_EC2_METADATA_DISABLED=true
"$@"
